//! User accounts with their PII protected: the one place that turns a
//! plaintext email into ciphertext plus blind index and back.
//!
//! Handlers use [`UserDirectory`] and never see a [`super::UserRow`]; the
//! backends never see a plaintext email.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuditRow, AuditSealer, Store, StoreError, UserRow};
use crate::crypto::{BLIND_INDEX_LENGTH, BlindIndex, Column, FieldCipher};
use crate::keys::KeyProvider;

/// A user account in plaintext, as handlers use it.
#[derive(Clone)]
pub struct UserRecord {
    pub id: Uuid,
    /// The normalized email (trimmed, lower-case).
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

/// Users over a [`Store`], encrypting the email on the way in and
/// decrypting it on the way out.
pub struct UserDirectory {
    store: Arc<dyn Store>,
    cipher: FieldCipher,
    index: BlindIndex,
}

impl UserDirectory {
    pub fn new(store: Arc<dyn Store>, keys: Arc<dyn KeyProvider>) -> Self {
        Self {
            store,
            cipher: FieldCipher::new(Arc::clone(&keys)),
            index: BlindIndex::new(keys),
        }
    }

    /// Computes the blind index of a normalized email, the form audit
    /// entries use to name an account without its address.
    pub fn email_index(&self, email: &str) -> Result<[u8; BLIND_INDEX_LENGTH], StoreError> {
        Ok(self.index.compute(Column::USERS_EMAIL, email)?)
    }

    /// Stores a new user; [`StoreError::DuplicateEmail`] if the email is
    /// taken.
    pub async fn insert(&self, user: UserRecord) -> Result<(), StoreError> {
        let row = self.encrypt(user)?;
        self.store.insert_user(row).await
    }

    /// Stores a new user and appends `audit` (from
    /// [`crate::audit::Audit::prepare`]) in one transaction.
    pub async fn insert_with_audit(
        &self,
        user: UserRecord,
        audit: AuditRow,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<(), StoreError> {
        let row = self.encrypt(user)?;
        self.store
            .insert_user_with_audit(row, audit, sealer)
            .await
            .map(|_| ())
    }

    /// Finds a user by normalized email, through its blind index.
    pub async fn find_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let index = self.email_index(email)?;
        let row = self.store.find_user_by_email_index(&index).await?;
        row.map(|row| self.decrypt(row)).transpose()
    }

    pub async fn find_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        let row = self.store.find_user_by_id(id).await?;
        row.map(|row| self.decrypt(row)).transpose()
    }

    fn encrypt(&self, user: UserRecord) -> Result<UserRow, StoreError> {
        Ok(UserRow {
            id: user.id,
            email_ciphertext: self.cipher.encrypt(Column::USERS_EMAIL, &user.email)?,
            email_blind_index: self.email_index(&user.email)?,
            password_hash: user.password_hash,
            created_at: user.created_at,
        })
    }

    fn decrypt(&self, row: UserRow) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            id: row.id,
            email: self
                .cipher
                .decrypt(Column::USERS_EMAIL, &row.email_ciphertext)?,
            password_hash: row.password_hash,
            created_at: row.created_at,
        })
    }
}
