//! The embedded store: one SQLCipher file, keyed with a raw 256-bit key from
//! the key provider.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool behind
//! one connection mutex. SQLCipher only notices a wrong key at the first read,
//! so [`SqlCipherStore::open`] reads the schema right after keying. The
//! schema version is SQLite's `user_version`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    AuditQuery, AuditRow, AuditSealer, SessionRecord, Store, StoreError, UserRow,
    blind_index_from_db, key_version_from_db, token_hash_from_db,
};
use crate::crypto::BLIND_INDEX_LENGTH;

mod households;
mod money;
mod readings;
mod security;
mod webauthn;

/// Numbered migrations; migration N sets `user_version` to N.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/sqlcipher/0001_users_sessions.sql"),
    include_str!("migrations/sqlcipher/0002_audit_log.sql"),
    include_str!("migrations/sqlcipher/0003_households.sql"),
    include_str!("migrations/sqlcipher/0004_readings_idempotency.sql"),
    include_str!("migrations/sqlcipher/0005_identity_sessions.sql"),
    include_str!("migrations/sqlcipher/0006_passwords_login_throttle.sql"),
    include_str!("migrations/sqlcipher/0007_mfa_devices_outbox.sql"),
    include_str!("migrations/sqlcipher/0008_security_events_service_credentials.sql"),
    include_str!("migrations/sqlcipher/0009_webauthn.sql"),
    include_str!("migrations/sqlcipher/0010_money.sql"),
    include_str!("migrations/sqlcipher/0011_payment_vault_charge_id.sql"),
    include_str!("migrations/sqlcipher/0012_payment_method_per_card.sql"),
];

/// How long a statement waits for another process's lock (for example
/// `audit verify` reading while the server writes).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const USER_COLUMNS: &str = "id, email_ciphertext, email_blind_index, password_hash, created_at";
const AUDIT_COLUMNS: &str = "id, recorded_at, kind, actor, action, resource, outcome, reason, \
                             request_id, details, key_version, prev_mac, mac";

pub struct SqlCipherStore {
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqlCipherStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlCipherStore").finish_non_exhaustive()
    }
}

impl SqlCipherStore {
    /// Opens or creates the database at `path` with a 32-byte raw key and
    /// applies pending migrations.
    pub fn open(path: &Path, key: &[u8]) -> Result<Self, StoreError> {
        let connection = sharepay_sqlcipher::open_keyed(path, key).map_err(|e| match e {
            sharepay_sqlcipher::OpenError::Unreadable(_) => StoreError::Database(format!(
                "{} cannot be decrypted with the configured key, or is not a SharePay database",
                path.display()
            )),
            other => StoreError::Database(other.to_string()),
        })?;
        connection
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;")
            .map_err(db_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
        migrate(&connection)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    pub(super) async fn with_connection<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let mut guard = connection
                .lock()
                .map_err(|_| StoreError::Database("the connection lock is poisoned".into()))?;
            work(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Database(format!("the database task failed: {e}")))?
    }
}

fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let applied: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_error)?;
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::Migration {
            version: applied as usize,
            detail: format!(
                "the database is at schema version {applied}, newer than this build knows ({}); \
                 run a newer sharepay-server",
                MIGRATIONS.len()
            ),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = index + 1;
        // The SQL comes from the migration files compiled into the binary.
        connection
            .execute_batch(&format!(
                "BEGIN; {sql}\nPRAGMA user_version = {version}; COMMIT;"
            ))
            .map_err(|e| {
                let _ = connection.execute_batch("ROLLBACK;");
                StoreError::Migration {
                    version,
                    detail: e.to_string(),
                }
            })?;
        tracing::info!(
            version,
            backend = "sqlcipher",
            "applied a database migration"
        );
    }
    Ok(())
}

pub(super) fn db_error(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

pub(super) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

pub(super) fn is_primary_key_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

fn conversion_error(
    column: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Integer,
        Box::new(error),
    )
}

pub(super) fn from_unix_seconds(column: usize, seconds: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| conversion_error(column, e))
}

fn to_unix_micros(time: OffsetDateTime) -> i64 {
    (time.unix_timestamp_nanos() / 1_000) as i64
}

fn from_unix_micros(column: usize, micros: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| conversion_error(column, e))
}

pub(super) fn uuid_from_row(column: usize, bytes: Vec<u8>) -> rusqlite::Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| conversion_error(column, e))
}

/// A user row with its blind index still as raw bytes, checked afterwards so
/// that a wrong length becomes [`StoreError::InvalidRow`].
struct RawUser(UserRow, Vec<u8>);

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawUser> {
    Ok(RawUser(
        UserRow {
            id: uuid_from_row(0, row.get(0)?)?,
            email_ciphertext: row.get(1)?,
            email_blind_index: [0u8; BLIND_INDEX_LENGTH],
            password_hash: row.get(3)?,
            created_at: from_unix_seconds(4, row.get(4)?)?,
        },
        row.get(2)?,
    ))
}

fn finish_user(raw: Option<RawUser>) -> Result<Option<UserRow>, StoreError> {
    match raw {
        None => Ok(None),
        Some(RawUser(mut user, index)) => {
            user.email_blind_index = blind_index_from_db(user.id, &index)?;
            Ok(Some(user))
        }
    }
}

fn audit_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(AuditRow, i64)> {
    let id: i64 = row.get(0)?;
    Ok((
        AuditRow {
            id,
            recorded_at: from_unix_micros(1, row.get(1)?)?,
            kind: row.get(2)?,
            actor: row.get(3)?,
            action: row.get(4)?,
            resource: row.get(5)?,
            outcome: row.get(6)?,
            reason: row.get(7)?,
            request_id: row.get(8)?,
            details: row.get(9)?,
            key_version: 0,
            prev_mac: row.get(11)?,
            mac: row.get(12)?,
        },
        row.get(10)?,
    ))
}

fn finish_audit((mut row, key_version): (AuditRow, i64)) -> Result<AuditRow, StoreError> {
    row.key_version = key_version_from_db(row.id, key_version)?;
    Ok(row)
}

fn insert_user_row(connection: &Connection, user: &UserRow) -> Result<(), StoreError> {
    let result = connection.execute(
        &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
        params![
            user.id.as_bytes().as_slice(),
            user.email_ciphertext,
            user.email_blind_index.as_slice(),
            user.password_hash,
            user.created_at.unix_timestamp()
        ],
    );
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_primary_key_violation(&e) => Err(StoreError::DuplicateId),
        Err(e) if is_unique_violation(&e) => Err(StoreError::DuplicateEmail),
        Err(e) => Err(db_error(e)),
    }
}

/// Chains `row` to the last audit row and inserts it. `transaction` must
/// be IMMEDIATE: it holds the write lock from before the read, so two
/// processes appending at once cannot both read the same last row.
fn append_audit_row(
    transaction: &rusqlite::Transaction<'_>,
    mut row: AuditRow,
    sealer: &dyn AuditSealer,
) -> Result<AuditRow, StoreError> {
    let last: Option<(i64, Vec<u8>)> = transaction
        .query_row(
            "SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_error)?;
    let (last_id, last_mac) = last.unwrap_or((0, crate::audit::GENESIS_MAC.to_vec()));
    row.id = last_id + 1;
    row.prev_mac = last_mac;
    sealer.seal(&mut row)?;
    insert_audit_row(transaction, &row)?;
    Ok(row)
}

/// Inserts one sealed audit row inside the caller's transaction.
fn insert_audit_row(
    transaction: &rusqlite::Transaction<'_>,
    row: &AuditRow,
) -> Result<(), StoreError> {
    transaction
        .execute(
            &format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![
                row.id,
                to_unix_micros(row.recorded_at),
                row.kind,
                row.actor,
                row.action,
                row.resource,
                row.outcome,
                row.reason,
                row.request_id,
                row.details,
                i64::from(row.key_version),
                row.prev_mac,
                row.mac
            ],
        )
        .map(|_| ())
        .map_err(db_error)
}

#[async_trait]
impl Store for SqlCipherStore {
    fn backend(&self) -> &'static str {
        "sqlcipher"
    }

    async fn insert_user(&self, user: UserRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| insert_user_row(connection, &user))
            .await
    }

    async fn insert_user_with_audit(
        &self,
        user: UserRow,
        audit: AuditRow,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<AuditRow, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            insert_user_row(&transaction, &user)?;
            let stored = append_audit_row(&transaction, audit, sealer.as_ref())?;
            transaction.commit().map_err(db_error)?;
            Ok(stored)
        })
        .await
    }

    async fn find_user_by_email_index(
        &self,
        index: &[u8; BLIND_INDEX_LENGTH],
    ) -> Result<Option<UserRow>, StoreError> {
        let index = *index;
        self.with_connection(move |connection| {
            let raw = connection
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE email_blind_index = ?1"),
                    params![index.as_slice()],
                    user_from_row,
                )
                .optional()
                .map_err(db_error)?;
            finish_user(raw)
        })
        .await
    }

    async fn find_user_by_id(&self, id: Uuid) -> Result<Option<UserRow>, StoreError> {
        self.with_connection(move |connection| {
            let raw = connection
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                    params![id.as_bytes().as_slice()],
                    user_from_row,
                )
                .optional()
                .map_err(db_error)?;
            finish_user(raw)
        })
        .await
    }

    async fn insert_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let result = connection.execute(
                "INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session.id.as_bytes().as_slice(),
                    session.user_id.as_bytes().as_slice(),
                    session.refresh_token_hash.as_slice(),
                    session.created_at.unix_timestamp(),
                    session.expires_at.unix_timestamp()
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) || is_primary_key_violation(&e) => {
                    Err(StoreError::DuplicateId)
                }
                Err(e) => Err(db_error(e)),
            }
        })
        .await
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        self.with_connection(move |connection| {
            let raw = connection
                .query_row(
                    "SELECT id, user_id, refresh_token_hash, created_at, expires_at
                     FROM sessions WHERE id = ?1",
                    params![id.as_bytes().as_slice()],
                    |row| {
                        let hash: Vec<u8> = row.get(2)?;
                        let session = SessionRecord {
                            id: uuid_from_row(0, row.get(0)?)?,
                            user_id: uuid_from_row(1, row.get(1)?)?,
                            refresh_token_hash: [0u8; 32],
                            created_at: from_unix_seconds(3, row.get(3)?)?,
                            expires_at: from_unix_seconds(4, row.get(4)?)?,
                        };
                        Ok((session, hash))
                    },
                )
                .optional()
                .map_err(db_error)?;
            match raw {
                None => Ok(None),
                Some((mut session, hash)) => {
                    session.refresh_token_hash = token_hash_from_db(session.id, &hash)?;
                    Ok(Some(session))
                }
            }
        })
        .await
    }

    async fn append_audit(
        &self,
        row: AuditRow,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<AuditRow, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let stored = append_audit_row(&transaction, row, sealer.as_ref())?;
            transaction.commit().map_err(db_error)?;
            Ok(stored)
        })
        .await
    }

    async fn list_audit(&self, query: AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log
                     WHERE id > ?1 AND recorded_at >= ?2 ORDER BY id LIMIT ?3"
                ))
                .map_err(db_error)?;
            let since = query.since.map_or(i64::MIN, to_unix_micros);
            let rows = statement
                .query_map(
                    params![query.after_id, since, i64::from(query.limit)],
                    audit_from_row,
                )
                .map_err(db_error)?;
            let mut output = Vec::new();
            for row in rows {
                output.push(finish_audit(row.map_err(db_error)?)?);
            }
            Ok(output)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_key_fails_to_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("api.db");
        SqlCipherStore::open(&path, &[7u8; 32]).expect("create with the first key");

        let error = SqlCipherStore::open(&path, &[8u8; 32])
            .expect_err("a different key must not open the file");
        assert!(error.to_string().contains("cannot be decrypted"), "{error}");
    }

    #[test]
    fn migrations_set_user_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("api.db");
        drop(SqlCipherStore::open(&path, &[7u8; 32]).expect("create"));
        let store = SqlCipherStore::open(&path, &[7u8; 32]).expect("reopen applies nothing");

        let guard = store.connection.lock().expect("lock");
        let version: i64 = guard
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("user_version");
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
