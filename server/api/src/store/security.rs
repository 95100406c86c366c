//! Storage of security events, account locks and service credentials (API
//! keys and OAuth2 clients), behind the [`SecurityStore`] trait.
//!
//! Service credentials share one table: a credential has a public lookup id
//! (the key prefix or the OAuth2 `client_id`) and the SHA-256 of its secret.
//! The secret itself is never stored.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// One security event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityEventRow {
    /// UUIDv7, so ids sort by creation time.
    pub id: Uuid,
    /// The user concerned; `None` when the event concerns an address only.
    pub user_id: Option<Uuid>,
    pub kind: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// A JSON object with no secrets.
    pub details: String,
    pub client_address: Option<String>,
    /// Stored with one-second precision.
    pub created_at: OffsetDateTime,
    pub reviewed: bool,
}

/// Filter and page of a security event listing, in id order.
#[derive(Clone, Debug, Default)]
pub struct SecurityEventQuery {
    pub user_id: Option<Uuid>,
    pub severity: Option<String>,
    pub kind: Option<String>,
    /// Only events with a greater id (a page cursor).
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// Result of unlocking an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnlockOutcome {
    pub was_locked: bool,
    /// Events of the user marked reviewed by the unlock.
    pub reviewed_events: u64,
}

/// The two kinds of service credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    ApiKey,
    OAuthClient,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "api_key",
            CredentialKind::OAuthClient => "oauth_client",
        }
    }
}

/// A service credential as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceCredentialRow {
    pub id: Uuid,
    pub kind: CredentialKind,
    pub name: String,
    /// The API key prefix or the OAuth2 `client_id`; unique over both kinds.
    pub lookup_id: String,
    /// SHA-256 of the secret.
    pub secret_hash: [u8; 32],
    pub scopes: Vec<String>,
    /// The administrator who created it.
    pub created_by: Option<Uuid>,
    /// Stored with one-second precision.
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ServiceCredentialRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCredentialRow")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("lookup_id", &self.lookup_id)
            .field("secret_hash", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

/// Security events, account locks and service credentials, implemented by
/// both backends.
#[async_trait]
pub trait SecurityStore: Send + Sync {
    async fn insert_security_event(&self, event: SecurityEventRow) -> Result<(), StoreError>;

    /// Lists events matching `query` in id order, at most `query.limit`.
    async fn list_security_events(
        &self,
        query: SecurityEventQuery,
    ) -> Result<Vec<SecurityEventRow>, StoreError>;

    /// Returns whether the user has an event of `kind` created at or after
    /// `since`.
    async fn has_security_event_since(
        &self,
        user_id: Uuid,
        kind: &str,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Locks the account because of `event_id`. Returns `false` when it was
    /// already locked (the first lock and its event stay).
    async fn lock_account(
        &self,
        user_id: Uuid,
        event_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Returns the event that locked the account, or `None` when it is not
    /// locked.
    async fn account_lock(&self, user_id: Uuid) -> Result<Option<Uuid>, StoreError>;

    /// Removes the lock and marks every event of the user reviewed, in one
    /// transaction.
    async fn unlock_account(&self, user_id: Uuid) -> Result<UnlockOutcome, StoreError>;

    /// Inserts a credential; fails with [`StoreError::Duplicate`] when the
    /// lookup id is taken.
    async fn insert_service_credential(
        &self,
        credential: ServiceCredentialRow,
    ) -> Result<(), StoreError>;

    /// Finds a credential of `kind` by lookup id, revoked or not.
    async fn find_service_credential(
        &self,
        kind: CredentialKind,
        lookup_id: &str,
    ) -> Result<Option<ServiceCredentialRow>, StoreError>;

    /// Lists the credentials of `kind`, oldest first.
    async fn list_service_credentials(
        &self,
        kind: CredentialKind,
    ) -> Result<Vec<ServiceCredentialRow>, StoreError>;

    /// Marks a credential revoked; `false` when no unrevoked credential of
    /// `kind` has this id.
    async fn revoke_service_credential(
        &self,
        kind: CredentialKind,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Columns of `security_events` in the order both backends read them.
pub(super) const EVENT_COLUMNS: &str =
    "id, user_id, kind, severity, details, client_address, created_at, reviewed";
/// Columns of `service_credentials` in the order both backends read them.
pub(super) const CREDENTIAL_COLUMNS: &str =
    "id, kind, name, lookup_id, secret_hash, scopes, created_by, created_at, revoked_at";

/// Joins scopes for storage: space-separated, as OAuth2 writes them.
pub(super) fn scopes_to_db(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub(super) fn scopes_from_db(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn kind_from_db(id: Uuid, text: &str) -> Result<CredentialKind, StoreError> {
    match text {
        "api_key" => Ok(CredentialKind::ApiKey),
        "oauth_client" => Ok(CredentialKind::OAuthClient),
        other => Err(StoreError::InvalidRow {
            row: format!("service credential {id}"),
            field: "kind",
            detail: format!("unknown kind {other:?}"),
        }),
    }
}

pub(super) fn secret_hash_from_db(id: Uuid, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::InvalidRow {
        row: format!("service credential {id}"),
        field: "secret_hash",
        detail: format!("{} bytes instead of 32", bytes.len()),
    })
}
