//! Persistence of the API server behind the [`Store`] trait.
//!
//! The default backend is an embedded SQLCipher file ([`sqlcipher`]). Every
//! query binds its parameters; no SQL text is ever built from request data.

pub mod sqlcipher;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// A user account as stored.
#[derive(Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &"[redacted]")
            .field("password_hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A login session, identified to the phone by its refresh token.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 of the current refresh token; the token itself is never stored.
    pub refresh_token_hash: [u8; 32],
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a user with this email already exists")]
    DuplicateEmail,
    #[error("database error: {0}")]
    Database(String),
}

/// Everything the API server persists.
#[async_trait]
pub trait Store: Send + Sync {
    /// Inserts a user; fails with [`StoreError::DuplicateEmail`] when the
    /// normalized email is taken.
    async fn insert_user(&self, user: UserRecord) -> Result<(), StoreError>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn find_user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError>;
    async fn insert_session(&self, session: SessionRecord) -> Result<(), StoreError>;
    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError>;
}
