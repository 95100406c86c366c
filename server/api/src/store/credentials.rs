//! Storage of password hashes with their pepper version, the history of
//! earlier hashes for the reuse rule, and failed-login counters, behind the
//! [`CredentialStore`] trait. Only hashes are stored, never a password.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// One stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordRow {
    /// Argon2id PHC string.
    pub phc: String,
    pub pepper_version: u32,
}

impl std::fmt::Debug for PasswordRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRow")
            .field("phc", &"[redacted]")
            .field("pepper_version", &self.pepper_version)
            .finish()
    }
}

/// Failed logins counted under one key (an account or an address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    pub failures: u32,
    pub locked_until: Option<OffsetDateTime>,
}

/// Password hashes and login failure counters, implemented by both
/// backends.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Returns the user's current hash followed by earlier ones, newest
    /// first, at most `count` in all; empty when the user is unknown.
    async fn recent_passwords(
        &self,
        user_id: Uuid,
        count: usize,
    ) -> Result<Vec<PasswordRow>, StoreError>;

    /// Replaces the user's hash if it is still `expected` (so a concurrent
    /// change is not lost), files the old hash in the history and keeps
    /// only the newest `history_keep` history entries. Returns `false`
    /// when the hash was no longer `expected`.
    async fn change_password(
        &self,
        user_id: Uuid,
        expected: &PasswordRow,
        replacement: &PasswordRow,
        history_keep: usize,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Replaces a hash of the same password made with older parameters or
    /// pepper, if the stored hash is still `expected`. The history is left
    /// alone, because the password did not change.
    async fn rehash_password(
        &self,
        user_id: Uuid,
        expected: &PasswordRow,
        replacement: &PasswordRow,
    ) -> Result<bool, StoreError>;

    /// Adds one failure under `key` atomically and returns the new count.
    /// A count whose last failure is older than `window_start` restarts at 1.
    async fn record_login_failure(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError>;

    /// Locks `key` until `until`, unless it is already locked for longer.
    async fn lock_login(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError>;

    /// Returns the counter of `key`, if any failure was recorded.
    async fn login_throttle(&self, key: &str) -> Result<Option<LoginThrottle>, StoreError>;

    /// Forgets the failures under `key`, after a successful login.
    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;
}
