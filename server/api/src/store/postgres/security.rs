//! [`SecurityStore`] on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, pg_error, unique_constraint, whole_seconds};
use crate::store::StoreError;
use crate::store::security::{
    CREDENTIAL_COLUMNS, CredentialKind, EVENT_COLUMNS, SecurityEventQuery, SecurityEventRow,
    SecurityStore, ServiceCredentialRow, UnlockOutcome, kind_from_db, scopes_from_db, scopes_to_db,
    secret_hash_from_db,
};

fn event_from_row(row: &Row) -> SecurityEventRow {
    SecurityEventRow {
        id: row.get(0),
        user_id: row.get(1),
        kind: row.get(2),
        severity: row.get(3),
        details: row.get(4),
        client_address: row.get(5),
        created_at: row.get(6),
        reviewed: row.get(7),
    }
}

fn credential_from_row(row: &Row) -> Result<ServiceCredentialRow, StoreError> {
    let id: Uuid = row.get(0);
    let kind: String = row.get(1);
    let hash: Vec<u8> = row.get(4);
    let scopes: String = row.get(5);
    Ok(ServiceCredentialRow {
        id,
        kind: kind_from_db(id, &kind)?,
        name: row.get(2),
        lookup_id: row.get(3),
        secret_hash: secret_hash_from_db(id, &hash)?,
        scopes: scopes_from_db(&scopes),
        created_by: row.get(6),
        created_at: row.get(7),
        revoked_at: row.get(8),
    })
}

#[async_trait]
impl SecurityStore for PostgresStore {
    async fn insert_security_event(&self, event: SecurityEventRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO security_events ({EVENT_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                &[
                    &event.id,
                    &event.user_id,
                    &event.kind,
                    &event.severity,
                    &event.details,
                    &event.client_address,
                    &whole_seconds(event.created_at),
                    &event.reviewed,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn list_security_events(
        &self,
        query: SecurityEventQuery,
    ) -> Result<Vec<SecurityEventRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM security_events
                     WHERE ($1::uuid IS NULL OR user_id = $1)
                       AND ($2::text IS NULL OR severity = $2)
                       AND ($3::text IS NULL OR kind = $3)
                       AND ($4::uuid IS NULL OR id > $4)
                     ORDER BY id LIMIT $5"
                ),
                &[
                    &query.user_id,
                    &query.severity,
                    &query.kind,
                    &query.after,
                    &i64::from(query.limit),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(rows.iter().map(event_from_row).collect())
    }

    async fn has_security_event_since(
        &self,
        user_id: Uuid,
        kind: &str,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM security_events
                 WHERE user_id = $1 AND kind = $2 AND created_at >= $3)",
                &[&user_id, &kind, &whole_seconds(since)],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.get(0))
    }

    async fn lock_account(
        &self,
        user_id: Uuid,
        event_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let count = client
            .execute(
                "INSERT INTO account_locks (user_id, security_event_id, locked_at)
                 VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
                &[&user_id, &event_id, &whole_seconds(now)],
            )
            .await
            .map_err(pg_error)?;
        Ok(count == 1)
    }

    async fn account_lock(&self, user_id: Uuid) -> Result<Option<Uuid>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT security_event_id FROM account_locks WHERE user_id = $1",
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn unlock_account(&self, user_id: Uuid) -> Result<UnlockOutcome, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let unlocked = transaction
            .execute("DELETE FROM account_locks WHERE user_id = $1", &[&user_id])
            .await
            .map_err(pg_error)?;
        let reviewed = transaction
            .execute(
                "UPDATE security_events SET reviewed = TRUE
                 WHERE user_id = $1 AND NOT reviewed",
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(UnlockOutcome {
            was_locked: unlocked == 1,
            reviewed_events: reviewed,
        })
    }

    async fn insert_service_credential(
        &self,
        credential: ServiceCredentialRow,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                &format!(
                    "INSERT INTO service_credentials ({CREDENTIAL_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                &[
                    &credential.id,
                    &credential.kind.as_str(),
                    &credential.name,
                    &credential.lookup_id,
                    &credential.secret_hash.as_slice(),
                    &scopes_to_db(&credential.scopes),
                    &credential.created_by,
                    &whole_seconds(credential.created_at),
                    &credential.revoked_at.map(whole_seconds),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match unique_constraint(&e) {
                Some(constraint) if constraint.ends_with("_pkey") => Err(StoreError::DuplicateId),
                Some(_) => Err(StoreError::Duplicate("lookup id")),
                None => Err(pg_error(e)),
            },
        }
    }

    async fn find_service_credential(
        &self,
        kind: CredentialKind,
        lookup_id: &str,
    ) -> Result<Option<ServiceCredentialRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM service_credentials
                     WHERE kind = $1 AND lookup_id = $2"
                ),
                &[&kind.as_str(), &lookup_id],
            )
            .await
            .map_err(pg_error)?;
        row.as_ref().map(credential_from_row).transpose()
    }

    async fn list_service_credentials(
        &self,
        kind: CredentialKind,
    ) -> Result<Vec<ServiceCredentialRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM service_credentials
                     WHERE kind = $1 ORDER BY created_at, id"
                ),
                &[&kind.as_str()],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(credential_from_row).collect()
    }

    async fn revoke_service_credential(
        &self,
        kind: CredentialKind,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let count = client
            .execute(
                "UPDATE service_credentials SET revoked_at = $1
                 WHERE id = $2 AND kind = $3 AND revoked_at IS NULL",
                &[&whole_seconds(now), &id, &kind.as_str()],
            )
            .await
            .map_err(pg_error)?;
        Ok(count == 1)
    }
}
