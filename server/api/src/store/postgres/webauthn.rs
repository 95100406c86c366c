//! [`WebauthnStore`] on PostgreSQL. Taking a ceremony is one
//! `DELETE ... RETURNING`, so of two parallel calls, on one instance or
//! several, only one gets the row.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, pg_error, unique_constraint, whole_seconds};
use crate::store::StoreError;
use crate::store::webauthn::{
    CeremonyTaken, WebauthnCeremonyRow, WebauthnCredentialRow, WebauthnStore,
};

const CREDENTIAL_COLUMNS: &str =
    "id, user_id, credential_id, kind, credential, name, created_at, last_used_at";

fn credential_from_row(row: &Row) -> Result<WebauthnCredentialRow, StoreError> {
    Ok(WebauthnCredentialRow {
        id: row.try_get(0).map_err(pg_error)?,
        user_id: row.try_get(1).map_err(pg_error)?,
        credential_id: row.try_get(2).map_err(pg_error)?,
        kind: row.try_get(3).map_err(pg_error)?,
        credential: row.try_get(4).map_err(pg_error)?,
        name: row.try_get(5).map_err(pg_error)?,
        created_at: row.try_get(6).map_err(pg_error)?,
        last_used_at: row.try_get(7).map_err(pg_error)?,
    })
}

#[async_trait]
impl WebauthnStore for PostgresStore {
    async fn insert_ceremony(
        &self,
        ceremony: WebauthnCeremonyRow,
        max_open_per_user: u32,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        transaction
            .execute(
                "DELETE FROM webauthn_ceremonies WHERE expires_at <= $1",
                &[&now],
            )
            .await
            .map_err(pg_error)?;
        let keep = i64::from(max_open_per_user.saturating_sub(1));
        // UUIDv7 ids sort by creation time, so the lowest ids are the oldest.
        transaction
            .execute(
                "DELETE FROM webauthn_ceremonies WHERE user_id = $1 AND id NOT IN (
                     SELECT id FROM webauthn_ceremonies WHERE user_id = $1
                     ORDER BY id DESC LIMIT $2)",
                &[&ceremony.user_id, &keep],
            )
            .await
            .map_err(pg_error)?;
        transaction
            .execute(
                "INSERT INTO webauthn_ceremonies (id, user_id, kind, state, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &ceremony.id,
                    &ceremony.user_id,
                    &ceremony.kind,
                    &ceremony.state,
                    &whole_seconds(ceremony.expires_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)
    }

    async fn take_ceremony(
        &self,
        id: Uuid,
        user_id: Uuid,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<CeremonyTaken, StoreError> {
        let client = self.client().await?;
        let taken = client
            .query_opt(
                "DELETE FROM webauthn_ceremonies WHERE id = $1 AND user_id = $2 AND kind = $3
                 RETURNING state, expires_at",
                &[&id, &user_id, &kind],
            )
            .await
            .map_err(pg_error)?;
        if let Some(row) = taken {
            let expires_at: OffsetDateTime = row.try_get(1).map_err(pg_error)?;
            if expires_at <= now {
                return Ok(CeremonyTaken::Expired);
            }
            return Ok(CeremonyTaken::Taken(WebauthnCeremonyRow {
                id,
                user_id,
                kind: kind.to_owned(),
                state: row.try_get(0).map_err(pg_error)?,
                expires_at,
            }));
        }
        let exists = client
            .query_opt("SELECT 1 FROM webauthn_ceremonies WHERE id = $1", &[&id])
            .await
            .map_err(pg_error)?;
        Ok(match exists {
            Some(_) => CeremonyTaken::Mismatch,
            None => CeremonyTaken::NotFound,
        })
    }

    async fn insert_webauthn_credential(
        &self,
        credential: WebauthnCredentialRow,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                &format!(
                    "INSERT INTO webauthn_credentials ({CREDENTIAL_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                &[
                    &credential.id,
                    &credential.user_id,
                    &credential.credential_id,
                    &credential.kind,
                    &credential.credential,
                    &credential.name,
                    &whole_seconds(credential.created_at),
                    &credential.last_used_at.map(whole_seconds),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match unique_constraint(&e).as_deref() {
                Some("webauthn_credentials_pkey") => Err(StoreError::DuplicateId),
                Some(_) => Err(StoreError::Duplicate("credential id")),
                None => Err(pg_error(e)),
            },
        }
    }

    async fn list_webauthn_credentials(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<WebauthnCredentialRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM webauthn_credentials
                     WHERE user_id = $1 ORDER BY created_at, id"
                ),
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(credential_from_row).collect()
    }

    async fn delete_webauthn_credential(
        &self,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let count = client
            .execute(
                "DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2",
                &[&id, &user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(count == 1)
    }

    async fn record_webauthn_use(
        &self,
        user_id: Uuid,
        id: Uuid,
        credential: &str,
        used_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let count = client
            .execute(
                "UPDATE webauthn_credentials SET credential = $1, last_used_at = $2
                 WHERE id = $3 AND user_id = $4",
                &[&credential, &whole_seconds(used_at), &id, &user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(count == 1)
    }
}
