//! [`SecurityStore`] on the SQLCipher file.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    SqlCipherStore, db_error, from_unix_seconds, is_primary_key_violation, is_unique_violation,
    uuid_from_row,
};
use crate::store::StoreError;
use crate::store::security::{
    CREDENTIAL_COLUMNS, CredentialKind, EVENT_COLUMNS, SecurityEventQuery, SecurityEventRow,
    SecurityStore, ServiceCredentialRow, UnlockOutcome, kind_from_db, scopes_from_db, scopes_to_db,
    secret_hash_from_db,
};

fn optional_uuid(column: usize, bytes: Option<Vec<u8>>) -> rusqlite::Result<Option<Uuid>> {
    bytes.map(|bytes| uuid_from_row(column, bytes)).transpose()
}

fn event_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SecurityEventRow> {
    Ok(SecurityEventRow {
        id: uuid_from_row(0, row.get(0)?)?,
        user_id: optional_uuid(1, row.get(1)?)?,
        kind: row.get(2)?,
        severity: row.get(3)?,
        details: row.get(4)?,
        client_address: row.get(5)?,
        created_at: from_unix_seconds(6, row.get(6)?)?,
        reviewed: row.get(7)?,
    })
}

/// A credential row with its kind and hash still raw, checked afterwards.
struct RawCredential(ServiceCredentialRow, String, Vec<u8>);

fn credential_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawCredential> {
    let revoked_at: Option<i64> = row.get(8)?;
    let scopes: String = row.get(5)?;
    Ok(RawCredential(
        ServiceCredentialRow {
            id: uuid_from_row(0, row.get(0)?)?,
            kind: CredentialKind::ApiKey,
            name: row.get(2)?,
            lookup_id: row.get(3)?,
            secret_hash: [0u8; 32],
            scopes: scopes_from_db(&scopes),
            created_by: optional_uuid(6, row.get(6)?)?,
            created_at: from_unix_seconds(7, row.get(7)?)?,
            revoked_at: revoked_at
                .map(|seconds| from_unix_seconds(8, seconds))
                .transpose()?,
        },
        row.get(1)?,
        row.get(4)?,
    ))
}

fn finish_credential(raw: RawCredential) -> Result<ServiceCredentialRow, StoreError> {
    let RawCredential(mut row, kind, hash) = raw;
    row.kind = kind_from_db(row.id, &kind)?;
    row.secret_hash = secret_hash_from_db(row.id, &hash)?;
    Ok(row)
}

#[async_trait]
impl SecurityStore for SqlCipherStore {
    async fn insert_security_event(&self, event: SecurityEventRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    &format!(
                        "INSERT INTO security_events ({EVENT_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    params![
                        event.id.as_bytes().as_slice(),
                        event.user_id.map(|id| id.as_bytes().to_vec()),
                        event.kind,
                        event.severity,
                        event.details,
                        event.client_address,
                        event.created_at.unix_timestamp(),
                        event.reviewed
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn list_security_events(
        &self,
        query: SecurityEventQuery,
    ) -> Result<Vec<SecurityEventRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {EVENT_COLUMNS} FROM security_events
                     WHERE (?1 IS NULL OR user_id = ?1)
                       AND (?2 IS NULL OR severity = ?2)
                       AND (?3 IS NULL OR kind = ?3)
                       AND (?4 IS NULL OR id > ?4)
                     ORDER BY id LIMIT ?5"
                ))
                .map_err(db_error)?;
            let rows = statement
                .query_map(
                    params![
                        query.user_id.map(|id| id.as_bytes().to_vec()),
                        query.severity,
                        query.kind,
                        query.after.map(|id| id.as_bytes().to_vec()),
                        i64::from(query.limit)
                    ],
                    event_from_row,
                )
                .map_err(db_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
        })
        .await
    }

    async fn has_security_event_since(
        &self,
        user_id: Uuid,
        kind: &str,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let kind = kind.to_owned();
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM security_events
                     WHERE user_id = ?1 AND kind = ?2 AND created_at >= ?3)",
                    params![user_id.as_bytes().as_slice(), kind, since.unix_timestamp()],
                    |row| row.get(0),
                )
                .map_err(db_error)
        })
        .await
    }

    async fn lock_account(
        &self,
        user_id: Uuid,
        event_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO account_locks (user_id, security_event_id, locked_at)
                     VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO NOTHING",
                    params![
                        user_id.as_bytes().as_slice(),
                        event_id.as_bytes().as_slice(),
                        now.unix_timestamp()
                    ],
                )
                .map(|count| count == 1)
                .map_err(db_error)
        })
        .await
    }

    async fn account_lock(&self, user_id: Uuid) -> Result<Option<Uuid>, StoreError> {
        self.with_connection(move |connection| {
            let event: Option<Vec<u8>> = connection
                .query_row(
                    "SELECT security_event_id FROM account_locks WHERE user_id = ?1",
                    params![user_id.as_bytes().as_slice()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            event
                .map(|bytes| uuid_from_row(0, bytes))
                .transpose()
                .map_err(db_error)
        })
        .await
    }

    async fn unlock_account(&self, user_id: Uuid) -> Result<UnlockOutcome, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let user = user_id.as_bytes().as_slice();
            let unlocked = transaction
                .execute(
                    "DELETE FROM account_locks WHERE user_id = ?1",
                    params![user],
                )
                .map_err(db_error)?;
            let reviewed = transaction
                .execute(
                    "UPDATE security_events SET reviewed = 1
                     WHERE user_id = ?1 AND reviewed = 0",
                    params![user],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(UnlockOutcome {
                was_locked: unlocked == 1,
                reviewed_events: reviewed as u64,
            })
        })
        .await
    }

    async fn insert_service_credential(
        &self,
        credential: ServiceCredentialRow,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let result = connection.execute(
                &format!(
                    "INSERT INTO service_credentials ({CREDENTIAL_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ),
                params![
                    credential.id.as_bytes().as_slice(),
                    credential.kind.as_str(),
                    credential.name,
                    credential.lookup_id,
                    credential.secret_hash.as_slice(),
                    scopes_to_db(&credential.scopes),
                    credential.created_by.map(|id| id.as_bytes().to_vec()),
                    credential.created_at.unix_timestamp(),
                    credential.revoked_at.map(OffsetDateTime::unix_timestamp)
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_primary_key_violation(&e) => Err(StoreError::DuplicateId),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate("lookup id")),
                Err(e) => Err(db_error(e)),
            }
        })
        .await
    }

    async fn find_service_credential(
        &self,
        kind: CredentialKind,
        lookup_id: &str,
    ) -> Result<Option<ServiceCredentialRow>, StoreError> {
        let lookup_id = lookup_id.to_owned();
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!(
                        "SELECT {CREDENTIAL_COLUMNS} FROM service_credentials
                         WHERE kind = ?1 AND lookup_id = ?2"
                    ),
                    params![kind.as_str(), lookup_id],
                    credential_from_row,
                )
                .optional()
                .map_err(db_error)?
                .map(finish_credential)
                .transpose()
        })
        .await
    }

    async fn list_service_credentials(
        &self,
        kind: CredentialKind,
    ) -> Result<Vec<ServiceCredentialRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM service_credentials
                     WHERE kind = ?1 ORDER BY created_at, id"
                ))
                .map_err(db_error)?;
            let rows = statement
                .query_map(params![kind.as_str()], credential_from_row)
                .map_err(db_error)?;
            let mut credentials = Vec::new();
            for row in rows {
                credentials.push(finish_credential(row.map_err(db_error)?)?);
            }
            Ok(credentials)
        })
        .await
    }

    async fn revoke_service_credential(
        &self,
        kind: CredentialKind,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE service_credentials SET revoked_at = ?1
                     WHERE id = ?2 AND kind = ?3 AND revoked_at IS NULL",
                    params![
                        now.unix_timestamp(),
                        id.as_bytes().as_slice(),
                        kind.as_str()
                    ],
                )
                .map(|count| count == 1)
                .map_err(db_error)
        })
        .await
    }
}
