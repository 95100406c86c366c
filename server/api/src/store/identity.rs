//! Storage of sessions with their device data, refresh token rotation and
//! system roles, behind the [`IdentityStore`] trait.
//!
//! A session is one refresh token family: rotating replaces the session's
//! token hash and files the old hash under the session, so a rotated token
//! presented again names the family to revoke. Revoking a session deletes
//! its row, which is what [`crate::auth::AuthenticatedUser`] checks on each
//! request. Only SHA-256 hashes of refresh tokens are ever stored.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use super::credentials::CredentialStore;

/// The system role that may force other users to log out.
pub const ROLE_ADMIN: &str = "admin";

/// A session with its device data, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 of the current refresh token.
    pub refresh_token_hash: [u8; 32],
    pub device_fingerprint: Option<String>,
    // NOTE: the address and user agent are stored in plaintext, unlike the
    // email; they are kept only as long as the session.
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// All times are stored with one-second precision.
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// The request to rotate a refresh token.
#[derive(Clone, Debug)]
pub struct RefreshRequestRow {
    /// SHA-256 of the token the caller presented.
    pub presented_hash: [u8; 32],
    /// SHA-256 of the token that replaces it.
    pub replacement_hash: [u8; 32],
    pub device_fingerprint: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub now: OffsetDateTime,
}

/// The result of presenting a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current, and the session now stores the replacement.
    Rotated(SessionRow),
    /// The token was already rotated; its session (the whole family) was
    /// deleted.
    Reused { session_id: Uuid, user_id: Uuid },
    /// The token is current but its session has expired; the session was
    /// deleted.
    Expired { session_id: Uuid },
    /// The token is current but was issued to another device; nothing
    /// changed.
    DeviceMismatch { session_id: Uuid, user_id: Uuid },
    /// No session ever held this token.
    Unknown,
}

/// Sessions, refresh tokens and roles, implemented by both backends. It
/// includes [`CredentialStore`], so one handle reaches both.
#[async_trait]
pub trait IdentityStore: CredentialStore + Send + Sync {
    /// Inserts `session`. When the user already has `max_sessions` or more,
    /// deletes the oldest ones first so that `max_sessions` remain,
    /// all in one transaction. Returns the ids of deleted sessions.
    async fn create_session(
        &self,
        session: SessionRow,
        max_sessions: u32,
    ) -> Result<Vec<Uuid>, StoreError>;

    /// Rotates a refresh token atomically: of concurrent calls with the same
    /// token, exactly one returns [`RefreshOutcome::Rotated`].
    async fn rotate_refresh_token(
        &self,
        request: RefreshRequestRow,
    ) -> Result<RefreshOutcome, StoreError>;

    /// Lists the user's sessions, oldest first.
    async fn list_sessions(&self, user_id: Uuid) -> Result<Vec<SessionRow>, StoreError>;

    /// Deletes one session of the user; `false` when the user has no such
    /// session.
    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> Result<bool, StoreError>;

    /// Deletes every session of the user except `keep` (all when `keep` is
    /// `None`) and returns how many were deleted.
    async fn revoke_sessions_except(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
    ) -> Result<u64, StoreError>;

    /// Returns the user's system roles, empty when the user is unknown.
    async fn system_roles(&self, user_id: Uuid) -> Result<Vec<String>, StoreError>;

    /// Adds `role` to the user's system roles; `false` when the user is
    /// unknown. Adding a role the user has changes nothing.
    async fn grant_system_role(&self, user_id: Uuid, role: &str) -> Result<bool, StoreError>;
}

/// Returns the outcome for a current token presented by another device
/// than the one its session was opened on, or `None` when the device fits.
pub(super) fn device_mismatch(
    session: &SessionRow,
    request: &RefreshRequestRow,
) -> Option<RefreshOutcome> {
    let fits = session.device_fingerprint.is_none()
        || session.device_fingerprint == request.device_fingerprint;
    (!fits).then_some(RefreshOutcome::DeviceMismatch {
        session_id: session.id,
        user_id: session.user_id,
    })
}

/// Parses the stored comma-separated role list.
pub(super) fn roles_from_db(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|role| !role.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Adds `role` to a stored role list, keeping it sorted and unique.
pub(super) fn roles_with(text: &str, role: &str) -> String {
    let mut roles = roles_from_db(text);
    if !roles.iter().any(|existing| existing == role) {
        roles.push(role.to_owned());
    }
    roles.sort();
    roles.join(",")
}
