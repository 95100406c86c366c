//! The vault's own store: one SQLCipher file in its data directory, keyed
//! with the raw 256-bit key from the vault keyring.
//!
//! Card numbers reach this module only sealed (see [`crate::crypto`]). No
//! column contains a card number or CVC in clear, and no CVC column exists.
//! `secure_delete` is on, so deleting a card overwrites its freed pages.
//! rusqlite blocks, so every call runs on tokio's blocking pool behind one
//! connection mutex.

mod charges;
mod refunds;

pub(crate) use charges::ChargeClaim;
pub(crate) use refunds::{RefundClaim, RefundClaimRequest};

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE cards (
    token TEXT PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    expiry_month INTEGER NOT NULL,
    expiry_year INTEGER NOT NULL,
    key_version INTEGER NOT NULL,
    pan_ciphertext BLOB NOT NULL,
    cardholder_name_ciphertext BLOB NOT NULL,
    fingerprint_version INTEGER NOT NULL,
    fingerprint BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, fingerprint_version, fingerprint)
);
CREATE TABLE intake_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
CREATE TABLE charges (
    idempotency_key TEXT PRIMARY KEY NOT NULL,
    request_hash BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'completed', 'retryable')),
    started_at INTEGER NOT NULL,
    response TEXT
);
",
    r"
ALTER TABLE charges ADD COLUMN charge_id TEXT;
UPDATE charges SET charge_id = json_extract(response, '$.charge_id') WHERE response IS NOT NULL;
CREATE UNIQUE INDEX charges_charge_id ON charges (charge_id);
CREATE TABLE refunds (
    idempotency_key TEXT PRIMARY KEY NOT NULL,
    request_hash BLOB NOT NULL,
    charge_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    started_at INTEGER NOT NULL,
    response TEXT
);
CREATE INDEX refunds_charge_id ON refunds (charge_id);
",
];

/// A failure of the vault database. Messages carry SQLite's text, which
/// never contains bound values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("vault database error: {0}")]
    Database(String),
    #[error("the intake token is unknown, expired, used up or already used")]
    IntakeTokenNotUsable,
}

/// A card row to insert. The card number is only in `pan_ciphertext`.
pub(crate) struct NewCard {
    pub token: String,
    pub user_id: Uuid,
    pub brand: String,
    pub last4: String,
    pub expiry_month: u32,
    pub expiry_year: i32,
    pub key_version: u32,
    pub pan_ciphertext: Vec<u8>,
    pub cardholder_name_ciphertext: Vec<u8>,
    pub fingerprint_version: u32,
    pub fingerprint: Vec<u8>,
    pub created_at: i64,
}

/// Display data of a stored card, as the intake response returns it.
#[derive(Debug)]
pub(crate) struct CardSummary {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub expiry_month: u32,
    pub expiry_year: i32,
}

/// The columns of a card row that a charge needs.
pub(crate) struct SealedCard {
    pub expiry_month: u32,
    pub expiry_year: i32,
    pub pan_ciphertext: Vec<u8>,
}

/// Outcome of an intake insert.
pub(crate) enum CardInsert {
    Inserted,
    /// The user already had this card; its row was kept and its expiry
    /// updated.
    Existing(CardSummary),
}

#[derive(Clone)]
pub(crate) struct VaultStore {
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for VaultStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultStore").finish_non_exhaustive()
    }
}

impl VaultStore {
    /// Opens or creates the database at `path` with a 32-byte raw key and
    /// applies pending migrations.
    pub fn open(path: &Path, key: &[u8]) -> Result<Self, StoreError> {
        let connection = sharepay_sqlcipher::open_keyed(path, key).map_err(|e| match e {
            sharepay_sqlcipher::OpenError::Unreadable(_) => StoreError::Database(format!(
                "{} cannot be decrypted with the vault key, or is not a vault database",
                path.display()
            )),
            other => StoreError::Database(other.to_string()),
        })?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA secure_delete = ON; PRAGMA busy_timeout = 5000;",
            )
            .map_err(db_error)?;
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

    pub async fn insert_intake_token(
        &self,
        token_hash: Vec<u8>,
        user_id: Uuid,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO intake_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                    params![token_hash, user_id.as_bytes().as_slice(), expires_at],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    /// Returns the user an intake token was issued to if the token is
    /// unused, unexpired and below `max_failures` failed attempts.
    pub async fn find_intake_token(
        &self,
        token_hash: Vec<u8>,
        now: i64,
        max_failures: u32,
    ) -> Result<Option<Uuid>, StoreError> {
        self.with_connection(move |connection| {
            let user: Option<Vec<u8>> = connection
                .query_row(
                    "SELECT user_id FROM intake_tokens
                     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                       AND failed_attempts < ?3",
                    params![token_hash, now, max_failures],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            user.map(|bytes| uuid_from_bytes(&bytes)).transpose()
        })
        .await
    }

    /// Counts a rejected card against the intake token.
    pub async fn record_failed_intake(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE intake_tokens SET failed_attempts = failed_attempts + 1 WHERE token_hash = ?1",
                    params![token_hash],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    /// Marks the intake token used and stores the card, in one
    /// transaction. When the user already has a card with the same
    /// fingerprint, the existing row is kept (with the new expiry) and
    /// returned instead of a second row.
    pub async fn insert_card_with_intake_token(
        &self,
        token_hash: Vec<u8>,
        now: i64,
        card: NewCard,
    ) -> Result<CardInsert, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let consumed = transaction
                .execute(
                    "UPDATE intake_tokens SET used_at = ?1
                     WHERE token_hash = ?2 AND user_id = ?3 AND used_at IS NULL AND expires_at > ?1",
                    params![now, token_hash, card.user_id.as_bytes().as_slice()],
                )
                .map_err(db_error)?;
            if consumed != 1 {
                return Err(StoreError::IntakeTokenNotUsable);
            }

            let existing = transaction
                .query_row(
                    "SELECT token, brand, last4 FROM cards
                     WHERE user_id = ?1 AND fingerprint_version = ?2 AND fingerprint = ?3",
                    params![
                        card.user_id.as_bytes().as_slice(),
                        card.fingerprint_version,
                        card.fingerprint
                    ],
                    |row| Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(db_error)?;

            let outcome = match existing {
                Some((token, brand, last4)) => {
                    transaction
                        .execute(
                            "UPDATE cards SET expiry_month = ?1, expiry_year = ?2 WHERE token = ?3",
                            params![card.expiry_month, card.expiry_year, token],
                        )
                        .map_err(db_error)?;
                    CardInsert::Existing(CardSummary {
                        token,
                        brand,
                        last4,
                        expiry_month: card.expiry_month,
                        expiry_year: card.expiry_year,
                    })
                }
                None => {
                    transaction
                        .execute(
                            "INSERT INTO cards (token, user_id, brand, last4, expiry_month,
                                 expiry_year, key_version, pan_ciphertext,
                                 cardholder_name_ciphertext, fingerprint_version, fingerprint,
                                 created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                            params![
                                card.token,
                                card.user_id.as_bytes().as_slice(),
                                card.brand,
                                card.last4,
                                card.expiry_month,
                                card.expiry_year,
                                card.key_version,
                                card.pan_ciphertext,
                                card.cardholder_name_ciphertext,
                                card.fingerprint_version,
                                card.fingerprint,
                                card.created_at
                            ],
                        )
                        .map_err(db_error)?;
                    CardInsert::Inserted
                }
            };
            transaction.commit().map_err(db_error)?;
            Ok(outcome)
        })
        .await
    }

    /// Loads the sealed card `token` if it belongs to `user_id`.
    pub async fn find_card(
        &self,
        token: String,
        user_id: Uuid,
    ) -> Result<Option<SealedCard>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT expiry_month, expiry_year, pan_ciphertext FROM cards
                     WHERE token = ?1 AND user_id = ?2",
                    params![token, user_id.as_bytes().as_slice()],
                    |row| {
                        Ok(SealedCard {
                            expiry_month: row.get(0)?,
                            expiry_year: row.get(1)?,
                            pan_ciphertext: row.get(2)?,
                        })
                    },
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    /// Returns the display data of the card `token` of `user_id`.
    pub async fn card_summary(
        &self,
        token: String,
        user_id: Uuid,
    ) -> Result<Option<CardSummary>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT token, brand, last4, expiry_month, expiry_year FROM cards
                     WHERE token = ?1 AND user_id = ?2",
                    params![token, user_id.as_bytes().as_slice()],
                    |row| {
                        Ok(CardSummary {
                            token: row.get(0)?,
                            brand: row.get(1)?,
                            last4: row.get(2)?,
                            expiry_month: row.get(3)?,
                            expiry_year: row.get(4)?,
                        })
                    },
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    /// Deletes the card `token` of `user_id`, ciphertext included, and
    /// checkpoints the WAL so the sealed bytes leave it too. Returns
    /// whether a row was deleted.
    pub async fn delete_card(&self, token: String, user_id: Uuid) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            let deleted = connection
                .execute(
                    "DELETE FROM cards WHERE token = ?1 AND user_id = ?2",
                    params![token, user_id.as_bytes().as_slice()],
                )
                .map_err(db_error)?;
            connection
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(db_error)?;
            Ok(deleted == 1)
        })
        .await
    }
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
        tracing::info!(version, "applied vault database migration");
    }
    Ok(())
}

pub(super) fn db_error(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

fn uuid_from_bytes(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(|_| StoreError::Database("a stored user id is damaged".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_key_fails_to_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vault.db");
        VaultStore::open(&path, &[3u8; 32]).expect("create with the first key");

        let error = VaultStore::open(&path, &[4u8; 32]).expect_err("other key must fail");
        assert!(error.to_string().contains("cannot be decrypted"), "{error}");
    }
}
