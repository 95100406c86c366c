//! Persistence of the API server behind the [`Store`] trait.
//!
//! Two backends implement it: an embedded SQLCipher file ([`sqlcipher`],
//! the default) and PostgreSQL ([`postgres`]). Both apply numbered SQL
//! migrations from `store/migrations/<backend>/`, and one conformance suite
//! (`server/api/tests/storage_conformance.rs`) runs against both. Every
//! query binds its parameters; no SQL text is ever built from data. Every
//! change that touches more than one row runs in one transaction.
//!
//! The store receives PII only encrypted: [`users::UserDirectory`] encrypts and
//! indexes before a row reaches a backend.

pub mod credentials;
pub mod households;
pub mod identity;
pub mod mfa;
pub mod money;
pub mod postgres;
mod postgres_credentials;
mod postgres_identity;
mod postgres_mfa;
pub mod readings;
pub mod security;
pub mod sqlcipher;
mod sqlcipher_credentials;
mod sqlcipher_identity;
mod sqlcipher_mfa;
pub mod users;
pub mod webauthn;

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::BLIND_INDEX_LENGTH;

/// A user account as stored: the email only as ciphertext and blind index.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    /// Output of [`crate::crypto::FieldCipher::encrypt`] for `users.email`.
    pub email_ciphertext: String,
    /// Blind index of the normalized email, unique across users.
    pub email_blind_index: [u8; BLIND_INDEX_LENGTH],
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Stored with one-second precision.
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("email_ciphertext", &"[redacted]")
            .field("password_hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A login session, identified to the phone by its refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 of the current refresh token; the token itself is never stored.
    pub refresh_token_hash: [u8; 32],
    /// Stored with one-second precision.
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// One row of the append-only audit trail, as stored.
///
/// `id` counts up from 1 with no gaps; the store assigns it. `mac` is the
/// HMAC of this row's fields and `prev_mac` under audit key `key_version`;
/// [`crate::audit`] defines the encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    /// Microsecond precision, which both backends store exactly.
    pub recorded_at: OffsetDateTime,
    pub kind: String,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    /// A JSON object, stored as text so that its bytes stay exactly as MACed.
    pub details: String,
    pub key_version: u32,
    pub prev_mac: Vec<u8>,
    pub mac: Vec<u8>,
}

/// Filter and page size for listing audit rows in id order.
#[derive(Clone, Copy, Debug)]
pub struct AuditQuery {
    /// Rows with an id greater than this (0 lists from the start).
    pub after_id: i64,
    /// Only rows recorded at or after this time.
    pub since: Option<OffsetDateTime>,
    pub limit: u32,
}

/// Computes the chain link of a new audit row. The store calls it inside
/// the transaction that holds the append lock, after filling in `id` and
/// `prev_mac`.
pub trait AuditSealer: Send + Sync {
    /// Sets `key_version` and `mac` of `row`.
    fn seal(&self, row: &mut AuditRow) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a user with this email already exists")]
    DuplicateEmail,
    #[error("a row with this id already exists")]
    DuplicateId,
    /// A unique value other than an id or email, named here, is taken.
    #[error("a row with the same {0} already exists")]
    Duplicate(&'static str),
    #[error("sealing an audit entry failed: {0}")]
    Seal(String),
    #[error("applying database migration {version} failed: {detail}")]
    Migration { version: usize, detail: String },
    #[error("the stored {field} of {row} is invalid: {detail}")]
    InvalidRow {
        row: String,
        field: &'static str,
        detail: String,
    },
    #[error("protecting a PII field failed: {0}")]
    Field(#[from] crate::crypto::FieldError),
    #[error("database error: {0}")]
    Database(String),
}

/// Everything the API server persists.
#[async_trait]
pub trait Store:
    households::HouseholdStore
    + readings::ReadingStore
    + money::MoneyStore
    + webauthn::WebauthnStore
    + Send
    + Sync
{
    /// Names the backend in logs and messages: `sqlcipher` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Inserts a user; fails with [`StoreError::DuplicateEmail`] when the
    /// email blind index is taken.
    async fn insert_user(&self, user: UserRow) -> Result<(), StoreError>;
    /// Inserts a user and appends its audit row in one transaction, so
    /// neither is stored without the other. Fails like
    /// [`Store::insert_user`] and [`Store::append_audit`].
    async fn insert_user_with_audit(
        &self,
        user: UserRow,
        audit: AuditRow,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<AuditRow, StoreError>;
    async fn find_user_by_email_index(
        &self,
        index: &[u8; BLIND_INDEX_LENGTH],
    ) -> Result<Option<UserRow>, StoreError>;
    async fn find_user_by_id(&self, id: Uuid) -> Result<Option<UserRow>, StoreError>;

    async fn insert_session(&self, session: SessionRecord) -> Result<(), StoreError>;
    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError>;

    /// Appends one audit row: under a lock that serializes appends, reads
    /// the last row, sets `id` and `prev_mac`, lets `sealer` compute the MAC
    /// and inserts the row, all in one transaction. Returns the stored row.
    async fn append_audit(
        &self,
        row: AuditRow,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<AuditRow, StoreError>;

    /// Lists audit rows in id order.
    async fn list_audit(&self, query: AuditQuery) -> Result<Vec<AuditRow>, StoreError>;
}

/// Converts a stored key version, rejecting values a `u32` cannot hold.
fn key_version_from_db(row_id: i64, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::InvalidRow {
        row: format!("audit entry {row_id}"),
        field: "key_version",
        detail: format!("{value} is out of range"),
    })
}

/// Converts a stored blind index, rejecting a wrong length.
fn blind_index_from_db(
    user_id: Uuid,
    bytes: &[u8],
) -> Result<[u8; BLIND_INDEX_LENGTH], StoreError> {
    bytes.try_into().map_err(|_| StoreError::InvalidRow {
        row: format!("user {user_id}"),
        field: "email_blind_index",
        detail: format!("{} bytes instead of {BLIND_INDEX_LENGTH}", bytes.len()),
    })
}

/// Converts a stored refresh token hash, rejecting a wrong length.
fn token_hash_from_db(session_id: Uuid, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::InvalidRow {
        row: format!("session {session_id}"),
        field: "refresh_token_hash",
        detail: format!("{} bytes instead of 32", bytes.len()),
    })
}
