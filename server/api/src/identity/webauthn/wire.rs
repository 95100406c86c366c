//! Request and response bodies of the WebAuthn endpoints. The
//! `public_key` and `credential` members are the JSON forms of the
//! WebAuthn Level 3 dictionaries (`PublicKeyCredentialCreationOptions`,
//! `PublicKeyCredentialRequestOptions`, `PublicKeyCredential`) with binary
//! fields in base64url, as webauthn-rs 0.6 reads and writes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of authenticator to register.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A platform or synced credential; user verification (PIN or
    /// biometrics) is required at every use.
    #[default]
    Passkey,
    /// A roaming hardware key (USB, NFC, BLE); user verification is
    /// preferred, and required at every use once the key performed it at
    /// registration.
    SecurityKey,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::SecurityKey => "security_key",
        }
    }
}

/// Body of `POST /v1/me/webauthn/registrations`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRegistrationRequest {
    /// Defaults to `passkey`.
    #[serde(default)]
    pub kind: CredentialKind,
}

/// An open ceremony: pass `public_key` to `navigator.credentials.create()`
/// or `.get()` (or the platform API), then post the result to the
/// ceremony's URL before `expires_at`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CeremonyResponse {
    /// Ceremony id (UUIDv7) for the finishing request.
    pub ceremony_id: String,
    /// RFC 3339; the ceremony can be finished once, until then.
    pub expires_at: String,
    /// The creation or request options, with a fresh challenge.
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
}

/// Body of `POST /v1/me/webauthn/registrations/{ceremony_id}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRegistrationRequest {
    /// A name for the authenticator, shown in the credential list.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// The `PublicKeyCredential` (with an attestation response) that the
    /// authenticator returned.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Body of `POST /v1/me/webauthn/assertions/{ceremony_id}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishAssertionRequest {
    /// The `PublicKeyCredential` (with an assertion response) that the
    /// authenticator returned.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// One registered authenticator of the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebauthnCredentialView {
    /// Credential id (UUIDv7) for `DELETE /v1/me/webauthn/credentials/{id}`.
    pub id: String,
    pub kind: CredentialKind,
    pub name: String,
    /// RFC 3339 timestamps.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// Body of `GET /v1/me/webauthn/credentials`, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebauthnCredentialListResponse {
    pub credentials: Vec<WebauthnCredentialView>,
}

/// A verified assertion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertionVerifiedResponse {
    /// The registered credential (UUIDv7) that signed.
    pub credential_id: String,
    /// RFC 3339.
    pub verified_at: String,
    /// Whether the authenticator verified the user (PIN or biometrics).
    pub user_verified: bool,
}
