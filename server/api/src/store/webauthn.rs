//! Storage of WebAuthn credentials and of the server-side state of open
//! WebAuthn ceremonies, behind the [`WebauthnStore`] trait.
//!
//! A credential row keeps the credential as webauthn-rs serialized it
//! (public key, signature counter, flags), which is not secret. A ceremony
//! row keeps the challenge and policy of one registration or
//! authentication. It never leaves the server, expires after a few minutes
//! and is deleted by the one call that finishes it.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// A registered WebAuthn credential, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebauthnCredentialRow {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The credential id the authenticator chose, unique across all users.
    pub credential_id: Vec<u8>,
    /// `passkey` or `security_key`.
    pub kind: String,
    /// The webauthn-rs `Passkey` or `SecurityKey` as JSON.
    pub credential: String,
    /// The name the user gave the authenticator.
    pub name: String,
    /// Both times are stored with one-second precision.
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// The server-side state of an open WebAuthn ceremony.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebauthnCeremonyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    /// `registration` or `authentication`.
    pub kind: String,
    /// The webauthn-rs ceremony state as JSON.
    pub state: String,
    /// Stored with one-second precision.
    pub expires_at: OffsetDateTime,
}

/// What finishing a ceremony found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CeremonyTaken {
    /// The ceremony was open and is now deleted, so it cannot be finished
    /// again.
    Taken(WebauthnCeremonyRow),
    /// The ceremony existed but had expired; it is now deleted.
    Expired,
    /// The ceremony exists but was started by another user or is of
    /// another kind. It is left in place for its owner.
    Mismatch,
    /// No such ceremony: never started, already finished or cleaned up.
    NotFound,
}

/// WebAuthn credentials and ceremony state, implemented by both backends.
#[async_trait]
pub trait WebauthnStore: Send + Sync {
    /// Inserts a ceremony. In the same transaction it deletes every expired
    /// ceremony and the user's oldest open ones beyond `max_open_per_user`
    /// (counting the new one).
    async fn insert_ceremony(
        &self,
        ceremony: WebauthnCeremonyRow,
        max_open_per_user: u32,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Deletes and returns the ceremony `id` if it belongs to `user_id`, is
    /// of `kind` and has not expired at `now`. Of two parallel calls only
    /// one gets [`CeremonyTaken::Taken`].
    async fn take_ceremony(
        &self,
        id: Uuid,
        user_id: Uuid,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<CeremonyTaken, StoreError>;

    /// Inserts a credential; fails with [`StoreError::Duplicate`] naming
    /// `credential id` when any user has already registered it.
    async fn insert_webauthn_credential(
        &self,
        credential: WebauthnCredentialRow,
    ) -> Result<(), StoreError>;

    /// Lists the user's credentials, oldest first.
    async fn list_webauthn_credentials(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<WebauthnCredentialRow>, StoreError>;

    /// Deletes the user's credential `id`; `false` when the user has none
    /// with that id.
    async fn delete_webauthn_credential(&self, user_id: Uuid, id: Uuid)
    -> Result<bool, StoreError>;

    /// Stores the credential JSON after a successful assertion (new
    /// signature counter and flags) and its last use; `false` when the user
    /// no longer has that credential.
    async fn record_webauthn_use(
        &self,
        user_id: Uuid,
        id: Uuid,
        credential: &str,
        used_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}
