//! [`IdentityStore`] on the SQLCipher file. The store's single connection
//! serializes every call, and each change runs in one immediate
//! transaction, so a compare-and-swap of a refresh token is atomic.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::identity::{
    IdentityStore, RefreshOutcome, RefreshRequestRow, SessionRow, device_mismatch, roles_from_db,
    roles_with,
};
use super::sqlcipher::{SqlCipherStore, db_error, from_unix_seconds, uuid_from_row};
use super::{StoreError, token_hash_from_db};

const SESSION_COLUMNS: &str = "id, user_id, refresh_token_hash, device_fingerprint, ip_address, \
                               user_agent, created_at, COALESCE(last_seen_at, created_at), \
                               expires_at";

fn session_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(SessionRow, Vec<u8>)> {
    Ok((
        SessionRow {
            id: uuid_from_row(0, row.get(0)?)?,
            user_id: uuid_from_row(1, row.get(1)?)?,
            refresh_token_hash: [0u8; 32],
            device_fingerprint: row.get(3)?,
            ip_address: row.get(4)?,
            user_agent: row.get(5)?,
            created_at: from_unix_seconds(6, row.get(6)?)?,
            last_seen_at: from_unix_seconds(7, row.get(7)?)?,
            expires_at: from_unix_seconds(8, row.get(8)?)?,
        },
        row.get(2)?,
    ))
}

fn finish_session((mut session, hash): (SessionRow, Vec<u8>)) -> Result<SessionRow, StoreError> {
    session.refresh_token_hash = token_hash_from_db(session.id, &hash)?;
    Ok(session)
}

fn find_session_by_hash(
    connection: &Connection,
    hash: &[u8; 32],
) -> Result<Option<SessionRow>, StoreError> {
    connection
        .query_row(
            &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE refresh_token_hash = ?1"),
            params![hash.as_slice()],
            session_from_row,
        )
        .optional()
        .map_err(db_error)?
        .map(finish_session)
        .transpose()
}

fn delete_session(connection: &Connection, session_id: Uuid) -> Result<usize, StoreError> {
    connection
        .execute(
            "DELETE FROM sessions WHERE id = ?1",
            params![session_id.as_bytes().as_slice()],
        )
        .map_err(db_error)
}

fn rotate(
    connection: &mut Connection,
    request: &RefreshRequestRow,
) -> Result<RefreshOutcome, StoreError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let now = request.now.unix_timestamp();

    let Some(session) = find_session_by_hash(&transaction, &request.presented_hash)? else {
        let reused: Option<(Vec<u8>, Vec<u8>)> = transaction
            .query_row(
                "SELECT session_id, user_id FROM rotated_refresh_tokens WHERE token_hash = ?1",
                params![request.presented_hash.as_slice()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(db_error)?;
        let Some((session_id, user_id)) = reused else {
            return Ok(RefreshOutcome::Unknown);
        };
        let session_id = uuid_from_row(0, session_id).map_err(db_error)?;
        let user_id = uuid_from_row(1, user_id).map_err(db_error)?;
        delete_session(&transaction, session_id)?;
        transaction.commit().map_err(db_error)?;
        return Ok(RefreshOutcome::Reused {
            session_id,
            user_id,
        });
    };

    if session.expires_at <= request.now {
        delete_session(&transaction, session.id)?;
        transaction.commit().map_err(db_error)?;
        return Ok(RefreshOutcome::Expired {
            session_id: session.id,
        });
    }
    if let Some(mismatch) = device_mismatch(&session, request) {
        return Ok(mismatch);
    }

    let changed = transaction
        .execute(
            "UPDATE sessions SET refresh_token_hash = ?1, last_seen_at = ?2, ip_address = ?3,
                 user_agent = ?4
             WHERE id = ?5 AND refresh_token_hash = ?6",
            params![
                request.replacement_hash.as_slice(),
                now,
                request.ip_address,
                request.user_agent,
                session.id.as_bytes().as_slice(),
                request.presented_hash.as_slice()
            ],
        )
        .map_err(db_error)?;
    if changed != 1 {
        return Err(StoreError::Database(format!(
            "rotating the refresh token of session {} changed {changed} rows",
            session.id
        )));
    }
    transaction
        .execute(
            "INSERT INTO rotated_refresh_tokens (token_hash, session_id, user_id, rotated_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                request.presented_hash.as_slice(),
                session.id.as_bytes().as_slice(),
                session.user_id.as_bytes().as_slice(),
                now
            ],
        )
        .map_err(db_error)?;
    transaction.commit().map_err(db_error)?;

    Ok(RefreshOutcome::Rotated(SessionRow {
        refresh_token_hash: request.replacement_hash,
        ip_address: request.ip_address.clone(),
        user_agent: request.user_agent.clone(),
        last_seen_at: request.now.replace_nanosecond(0).unwrap_or(request.now),
        ..session
    }))
}

fn list_sessions(connection: &Connection, user_id: Uuid) -> Result<Vec<SessionRow>, StoreError> {
    let mut statement = connection
        .prepare(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1
             ORDER BY created_at, id"
        ))
        .map_err(db_error)?;
    let rows = statement
        .query_map(params![user_id.as_bytes().as_slice()], session_from_row)
        .map_err(db_error)?;
    rows.map(|row| row.map_err(db_error).and_then(finish_session))
        .collect()
}

/// Reads the stored role list of a user; `None` when the user is unknown.
fn stored_roles(connection: &Connection, user_id: Uuid) -> Result<Option<String>, StoreError> {
    connection
        .query_row(
            "SELECT system_roles FROM users WHERE id = ?1",
            params![user_id.as_bytes().as_slice()],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)
}

#[async_trait]
impl IdentityStore for SqlCipherStore {
    async fn create_session(
        &self,
        session: SessionRow,
        max_sessions: u32,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let existing = list_sessions(&transaction, session.user_id)?;
            let keep = max_sessions.saturating_sub(1) as usize;
            let excess = existing.len().saturating_sub(keep);
            let mut evicted = Vec::with_capacity(excess);
            for old in existing.iter().take(excess) {
                delete_session(&transaction, old.id)?;
                evicted.push(old.id);
            }
            transaction
                .execute(
                    "INSERT INTO sessions (id, user_id, refresh_token_hash, device_fingerprint,
                         ip_address, user_agent, created_at, last_seen_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        session.id.as_bytes().as_slice(),
                        session.user_id.as_bytes().as_slice(),
                        session.refresh_token_hash.as_slice(),
                        session.device_fingerprint,
                        session.ip_address,
                        session.user_agent,
                        session.created_at.unix_timestamp(),
                        session.last_seen_at.unix_timestamp(),
                        session.expires_at.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(evicted)
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        request: RefreshRequestRow,
    ) -> Result<RefreshOutcome, StoreError> {
        self.with_connection(move |connection| rotate(connection, &request))
            .await
    }

    async fn list_sessions(&self, user_id: Uuid) -> Result<Vec<SessionRow>, StoreError> {
        self.with_connection(move |connection| list_sessions(connection, user_id))
            .await
    }

    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "DELETE FROM sessions WHERE id = ?1 AND user_id = ?2",
                    params![
                        session_id.as_bytes().as_slice(),
                        user_id.as_bytes().as_slice()
                    ],
                )
                .map(|count| count == 1)
                .map_err(db_error)
        })
        .await
    }

    async fn revoke_sessions_except(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
    ) -> Result<u64, StoreError> {
        let keep = keep.unwrap_or(Uuid::nil());
        self.with_connection(move |connection| {
            connection
                .execute(
                    "DELETE FROM sessions WHERE user_id = ?1 AND id <> ?2",
                    params![user_id.as_bytes().as_slice(), keep.as_bytes().as_slice()],
                )
                .map(|count| count as u64)
                .map_err(db_error)
        })
        .await
    }

    async fn system_roles(&self, user_id: Uuid) -> Result<Vec<String>, StoreError> {
        self.with_connection(move |connection| {
            let text = stored_roles(connection, user_id)?;
            Ok(text.map(|text| roles_from_db(&text)).unwrap_or_default())
        })
        .await
    }

    async fn grant_system_role(&self, user_id: Uuid, role: &str) -> Result<bool, StoreError> {
        let role = role.to_owned();
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let Some(text) = stored_roles(&transaction, user_id)? else {
                return Ok(false);
            };
            transaction
                .execute(
                    "UPDATE users SET system_roles = ?1 WHERE id = ?2",
                    params![roles_with(&text, &role), user_id.as_bytes().as_slice()],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(true)
        })
        .await
    }
}
