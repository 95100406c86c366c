//! [`IdentityStore`] on PostgreSQL. A refresh rotation locks the session
//! row (`SELECT ... FOR UPDATE`) inside its transaction; a concurrent call
//! with the same token waits, then no longer finds the token as current and
//! finds it among the rotated ones instead.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::identity::{
    IdentityStore, RefreshOutcome, RefreshRequestRow, SessionRow, device_mismatch, roles_from_db,
    roles_with,
};
use super::postgres::{PostgresStore, pg_error, whole_seconds};
use super::{StoreError, token_hash_from_db};

const SESSION_COLUMNS: &str = "id, user_id, refresh_token_hash, device_fingerprint, ip_address, \
                               user_agent, created_at, COALESCE(last_seen_at, created_at), \
                               expires_at";

fn session_from_row(row: &Row) -> Result<SessionRow, StoreError> {
    let id: Uuid = row.get(0);
    let hash: Vec<u8> = row.get(2);
    Ok(SessionRow {
        id,
        user_id: row.get(1),
        refresh_token_hash: token_hash_from_db(id, &hash)?,
        device_fingerprint: row.get(3),
        ip_address: row.get(4),
        user_agent: row.get(5),
        created_at: row.get(6),
        last_seen_at: row.get(7),
        expires_at: row.get(8),
    })
}

async fn list_sessions(
    client: &impl GenericClient,
    user_id: Uuid,
    lock: bool,
) -> Result<Vec<SessionRow>, StoreError> {
    let suffix = if lock { " FOR UPDATE" } else { "" };
    let rows = client
        .query(
            &format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1
                 ORDER BY created_at, id{suffix}"
            ),
            &[&user_id],
        )
        .await
        .map_err(pg_error)?;
    rows.iter().map(session_from_row).collect()
}

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn create_session(
        &self,
        session: SessionRow,
        max_sessions: u32,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        // Locks the user row, so concurrent logins of one user evict in turn.
        transaction
            .execute(
                "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
                &[&session.user_id],
            )
            .await
            .map_err(pg_error)?;
        let existing = list_sessions(&transaction, session.user_id, true).await?;
        let keep = max_sessions.saturating_sub(1) as usize;
        let excess = existing.len().saturating_sub(keep);
        let evicted: Vec<Uuid> = existing.iter().take(excess).map(|old| old.id).collect();
        if !evicted.is_empty() {
            transaction
                .execute("DELETE FROM sessions WHERE id = ANY($1)", &[&evicted])
                .await
                .map_err(pg_error)?;
        }
        transaction
            .execute(
                "INSERT INTO sessions (id, user_id, refresh_token_hash, device_fingerprint,
                     ip_address, user_agent, created_at, last_seen_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &session.id,
                    &session.user_id,
                    &session.refresh_token_hash.as_slice(),
                    &session.device_fingerprint,
                    &session.ip_address,
                    &session.user_agent,
                    &whole_seconds(session.created_at),
                    &whole_seconds(session.last_seen_at),
                    &whole_seconds(session.expires_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(evicted)
    }

    async fn rotate_refresh_token(
        &self,
        request: RefreshRequestRow,
    ) -> Result<RefreshOutcome, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let presented = request.presented_hash.as_slice();
        let now = whole_seconds(request.now);

        let current = transaction
            .query_opt(
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE refresh_token_hash = $1
                     FOR UPDATE"
                ),
                &[&presented],
            )
            .await
            .map_err(pg_error)?;
        let Some(row) = current else {
            let reused = transaction
                .query_opt(
                    "SELECT session_id, user_id FROM rotated_refresh_tokens
                     WHERE token_hash = $1",
                    &[&presented],
                )
                .await
                .map_err(pg_error)?;
            let Some(reused) = reused else {
                return Ok(RefreshOutcome::Unknown);
            };
            let session_id: Uuid = reused.get(0);
            let user_id: Uuid = reused.get(1);
            transaction
                .execute("DELETE FROM sessions WHERE id = $1", &[&session_id])
                .await
                .map_err(pg_error)?;
            transaction.commit().await.map_err(pg_error)?;
            return Ok(RefreshOutcome::Reused {
                session_id,
                user_id,
            });
        };
        let session = session_from_row(&row)?;

        if session.expires_at <= request.now {
            transaction
                .execute("DELETE FROM sessions WHERE id = $1", &[&session.id])
                .await
                .map_err(pg_error)?;
            transaction.commit().await.map_err(pg_error)?;
            return Ok(RefreshOutcome::Expired {
                session_id: session.id,
            });
        }
        if let Some(mismatch) = device_mismatch(&session, &request) {
            return Ok(mismatch);
        }

        transaction
            .execute(
                "UPDATE sessions SET refresh_token_hash = $1, last_seen_at = $2, ip_address = $3,
                     user_agent = $4
                 WHERE id = $5",
                &[
                    &request.replacement_hash.as_slice(),
                    &now,
                    &request.ip_address,
                    &request.user_agent,
                    &session.id,
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction
            .execute(
                "INSERT INTO rotated_refresh_tokens (token_hash, session_id, user_id, rotated_at)
                 VALUES ($1, $2, $3, $4)",
                &[&presented, &session.id, &session.user_id, &now],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;

        Ok(RefreshOutcome::Rotated(SessionRow {
            refresh_token_hash: request.replacement_hash,
            ip_address: request.ip_address,
            user_agent: request.user_agent,
            last_seen_at: now,
            ..session
        }))
    }

    async fn list_sessions(&self, user_id: Uuid) -> Result<Vec<SessionRow>, StoreError> {
        let client = self.client().await?;
        list_sessions(&client, user_id, false).await
    }

    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let count = client
            .execute(
                "DELETE FROM sessions WHERE id = $1 AND user_id = $2",
                &[&session_id, &user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(count == 1)
    }

    async fn revoke_sessions_except(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let keep = keep.unwrap_or(Uuid::nil());
        client
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND id <> $2",
                &[&user_id, &keep],
            )
            .await
            .map_err(pg_error)
    }

    async fn system_roles(&self, user_id: Uuid) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT system_roles FROM users WHERE id = $1", &[&user_id])
            .await
            .map_err(pg_error)?;
        Ok(row
            .map(|row| roles_from_db(row.get::<_, &str>(0)))
            .unwrap_or_default())
    }

    async fn grant_system_role(&self, user_id: Uuid, role: &str) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let row = transaction
            .query_opt(
                "SELECT system_roles FROM users WHERE id = $1 FOR UPDATE",
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let roles = roles_with(row.get::<_, &str>(0), role);
        transaction
            .execute(
                "UPDATE users SET system_roles = $1 WHERE id = $2",
                &[&roles, &user_id],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(true)
    }
}
