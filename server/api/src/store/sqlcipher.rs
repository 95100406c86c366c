//! The embedded store: one SQLCipher file, keyed with a raw 256-bit key from
//! the key provider.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool behind
//! one connection mutex. SQLCipher only notices a wrong key at the first read,
//! so [`SqlCipherStore::open`] reads the schema right after keying.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{SessionRecord, Store, StoreError, UserRecord};

const MIGRATIONS: &[&str] = &[r"
CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id),
    refresh_token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
"];

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
        let connection = Connection::open(path).map_err(db_error)?;
        apply_raw_key(&connection, key)?;
        // The first read is where SQLCipher finds out whether the key fits.
        connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(|_| {
                StoreError::Database(format!(
                    "{} cannot be decrypted with the configured key, or is not a SharePay database",
                    path.display()
                ))
            })?;
        connection
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;")
            .map_err(db_error)?;
        migrate(&connection)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    async fn with_connection<T, F>(&self, work: F) -> Result<T, StoreError>
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

fn apply_raw_key(connection: &Connection, key: &[u8]) -> Result<(), StoreError> {
    if key.len() != 32 {
        return Err(StoreError::Database(format!(
            "the database key must be 32 bytes, not {}",
            key.len()
        )));
    }
    let mut hex = Zeroizing::new(String::with_capacity(64));
    for byte in key {
        hex.push_str(&format!("{byte:02x}"));
    }
    // A raw key skips SQLCipher's own PBKDF2, which a random key does not need.
    // SQLCipher logs decryption failures to stderr by default; a wrong key
    // is reported through the returned error instead.
    let pragma = Zeroizing::new(format!(
        "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{}'\";",
        hex.as_str()
    ));
    connection.execute_batch(&pragma).map_err(db_error)
}

fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let applied: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_error)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = index + 1;
        connection
            .execute_batch(&format!(
                "BEGIN; {sql} PRAGMA user_version = {version}; COMMIT;"
            ))
            .map_err(db_error)?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

fn db_error(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

fn to_unix(time: OffsetDateTime) -> i64 {
    time.unix_timestamp()
}

fn from_unix(seconds: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

fn uuid_from_row(bytes: Vec<u8>) -> rusqlite::Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
    })
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: uuid_from_row(row.get(0)?)?,
        email: row.get(1)?,
        password_hash: row.get(2)?,
        created_at: from_unix(row.get(3)?)?,
    })
}

#[async_trait]
impl Store for SqlCipherStore {
    async fn insert_user(&self, user: UserRecord) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let result = connection.execute(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    user.id.as_bytes().as_slice(),
                    user.email,
                    user.password_hash,
                    to_unix(user.created_at)
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::DuplicateEmail)
                }
                Err(e) => Err(db_error(e)),
            }
        })
        .await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let email = email.to_owned();
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT id, email, password_hash, created_at FROM users WHERE email = ?1",
                    params![email],
                    user_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn find_user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT id, email, password_hash, created_at FROM users WHERE id = ?1",
                    params![id.as_bytes().as_slice()],
                    user_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn insert_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        session.id.as_bytes().as_slice(),
                        session.user_id.as_bytes().as_slice(),
                        session.refresh_token_hash.as_slice(),
                        to_unix(session.created_at),
                        to_unix(session.expires_at)
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT id, user_id, refresh_token_hash, created_at, expires_at
                     FROM sessions WHERE id = ?1",
                    params![id.as_bytes().as_slice()],
                    |row| {
                        let hash: Vec<u8> = row.get(2)?;
                        let mut refresh_token_hash = [0u8; 32];
                        if hash.len() == 32 {
                            refresh_token_hash.copy_from_slice(&hash);
                        }
                        Ok(SessionRecord {
                            id: uuid_from_row(row.get(0)?)?,
                            user_id: uuid_from_row(row.get(1)?)?,
                            refresh_token_hash,
                            created_at: from_unix(row.get(3)?)?,
                            expires_at: from_unix(row.get(4)?)?,
                        })
                    },
                )
                .optional()
                .map_err(db_error)
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

    #[tokio::test]
    async fn database_file_holds_no_plaintext_email() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("api.db");
        let store = SqlCipherStore::open(&path, &[9u8; 32]).expect("open");
        let email = "plaintext-marker@example.org";
        store
            .insert_user(UserRecord {
                id: Uuid::now_v7(),
                email: email.to_owned(),
                password_hash: "$argon2id$marker".to_owned(),
                created_at: OffsetDateTime::now_utc(),
            })
            .await
            .expect("insert");
        drop(store);

        let mut raw = std::fs::read(&path).expect("read db");
        if let Ok(wal) = std::fs::read(dir.path().join("api.db-wal")) {
            raw.extend(wal);
        }
        let found = raw.windows(email.len()).any(|w| w == email.as_bytes());
        assert!(
            !found,
            "the email appears in plaintext in the database file"
        );
        let found_header = raw.windows(15).any(|w| w == b"SQLite format 3");
        assert!(!found_header, "the file has a plaintext SQLite header");
    }
}
