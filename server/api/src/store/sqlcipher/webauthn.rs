//! [`WebauthnStore`] on the SQLCipher file. Taking a ceremony is one
//! `DELETE ... RETURNING` under the store's single connection, so a
//! ceremony is finished at most once.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SqlCipherStore, db_error, from_unix_seconds, is_unique_violation, uuid_from_row};
use crate::store::StoreError;
use crate::store::webauthn::{
    CeremonyTaken, WebauthnCeremonyRow, WebauthnCredentialRow, WebauthnStore,
};

const CREDENTIAL_COLUMNS: &str =
    "id, user_id, credential_id, kind, credential, name, created_at, last_used_at";

fn credential_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<WebauthnCredentialRow> {
    let last_used_at: Option<i64> = row.get(7)?;
    Ok(WebauthnCredentialRow {
        id: uuid_from_row(0, row.get(0)?)?,
        user_id: uuid_from_row(1, row.get(1)?)?,
        credential_id: row.get(2)?,
        kind: row.get(3)?,
        credential: row.get(4)?,
        name: row.get(5)?,
        created_at: from_unix_seconds(6, row.get(6)?)?,
        last_used_at: last_used_at
            .map(|seconds| from_unix_seconds(7, seconds))
            .transpose()?,
    })
}

fn insert_ceremony_row(
    connection: &mut Connection,
    ceremony: &WebauthnCeremonyRow,
    max_open_per_user: u32,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    transaction
        .execute(
            "DELETE FROM webauthn_ceremonies WHERE expires_at <= ?1",
            params![now.unix_timestamp()],
        )
        .map_err(db_error)?;
    let user = ceremony.user_id.as_bytes().as_slice();
    let keep = i64::from(max_open_per_user.saturating_sub(1));
    // UUIDv7 ids sort by creation time, so the lowest ids are the oldest.
    transaction
        .execute(
            "DELETE FROM webauthn_ceremonies WHERE user_id = ?1 AND id NOT IN (
                 SELECT id FROM webauthn_ceremonies WHERE user_id = ?1
                 ORDER BY id DESC LIMIT ?2)",
            params![user, keep],
        )
        .map_err(db_error)?;
    transaction
        .execute(
            "INSERT INTO webauthn_ceremonies (id, user_id, kind, state, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                ceremony.id.as_bytes().as_slice(),
                user,
                ceremony.kind,
                ceremony.state,
                ceremony.expires_at.unix_timestamp()
            ],
        )
        .map_err(db_error)?;
    transaction.commit().map_err(db_error)
}

fn take_ceremony_row(
    connection: &mut Connection,
    id: Uuid,
    user_id: Uuid,
    kind: &str,
    now: OffsetDateTime,
) -> Result<CeremonyTaken, StoreError> {
    let taken = connection
        .query_row(
            "DELETE FROM webauthn_ceremonies WHERE id = ?1 AND user_id = ?2 AND kind = ?3
             RETURNING state, expires_at",
            params![
                id.as_bytes().as_slice(),
                user_id.as_bytes().as_slice(),
                kind
            ],
            |row| Ok((row.get::<_, String>(0)?, from_unix_seconds(1, row.get(1)?)?)),
        )
        .optional()
        .map_err(db_error)?;
    if let Some((state, expires_at)) = taken {
        if expires_at <= now {
            return Ok(CeremonyTaken::Expired);
        }
        return Ok(CeremonyTaken::Taken(WebauthnCeremonyRow {
            id,
            user_id,
            kind: kind.to_owned(),
            state,
            expires_at,
        }));
    }
    let exists = connection
        .query_row(
            "SELECT 1 FROM webauthn_ceremonies WHERE id = ?1",
            params![id.as_bytes().as_slice()],
            |_| Ok(()),
        )
        .optional()
        .map_err(db_error)?;
    Ok(match exists {
        Some(()) => CeremonyTaken::Mismatch,
        None => CeremonyTaken::NotFound,
    })
}

#[async_trait]
impl WebauthnStore for SqlCipherStore {
    async fn insert_ceremony(
        &self,
        ceremony: WebauthnCeremonyRow,
        max_open_per_user: u32,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            insert_ceremony_row(connection, &ceremony, max_open_per_user, now)
        })
        .await
    }

    async fn take_ceremony(
        &self,
        id: Uuid,
        user_id: Uuid,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<CeremonyTaken, StoreError> {
        let kind = kind.to_owned();
        self.with_connection(move |connection| {
            take_ceremony_row(connection, id, user_id, &kind, now)
        })
        .await
    }

    async fn insert_webauthn_credential(
        &self,
        credential: WebauthnCredentialRow,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let result = connection.execute(
                &format!(
                    "INSERT INTO webauthn_credentials ({CREDENTIAL_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    credential.id.as_bytes().as_slice(),
                    credential.user_id.as_bytes().as_slice(),
                    credential.credential_id,
                    credential.kind,
                    credential.credential,
                    credential.name,
                    credential.created_at.unix_timestamp(),
                    credential.last_used_at.map(OffsetDateTime::unix_timestamp)
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if super::is_primary_key_violation(&e) => Err(StoreError::DuplicateId),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate("credential id")),
                Err(e) => Err(db_error(e)),
            }
        })
        .await
    }

    async fn list_webauthn_credentials(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<WebauthnCredentialRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM webauthn_credentials
                     WHERE user_id = ?1 ORDER BY created_at, id"
                ))
                .map_err(db_error)?;
            let rows = statement
                .query_map(params![user_id.as_bytes().as_slice()], credential_from_row)
                .map_err(db_error)?;
            rows.map(|row| row.map_err(db_error)).collect()
        })
        .await
    }

    async fn delete_webauthn_credential(
        &self,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "DELETE FROM webauthn_credentials WHERE id = ?1 AND user_id = ?2",
                    params![id.as_bytes().as_slice(), user_id.as_bytes().as_slice()],
                )
                .map(|count| count == 1)
                .map_err(db_error)
        })
        .await
    }

    async fn record_webauthn_use(
        &self,
        user_id: Uuid,
        id: Uuid,
        credential: &str,
        used_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let credential = credential.to_owned();
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE webauthn_credentials SET credential = ?1, last_used_at = ?2
                     WHERE id = ?3 AND user_id = ?4",
                    params![
                        credential,
                        used_at.unix_timestamp(),
                        id.as_bytes().as_slice(),
                        user_id.as_bytes().as_slice()
                    ],
                )
                .map(|count| count == 1)
                .map_err(db_error)
        })
        .await
    }
}
