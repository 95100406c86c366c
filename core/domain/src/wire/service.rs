//! Bodies of service access: API keys and OAuth2 clients that
//! administrators manage, the OAuth2 token endpoint, and the audit trail as
//! services read it. Secrets appear only in the responses that create them,
//! and never in `Debug` output.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Body of `POST /v1/admin/api-keys` and `POST /v1/admin/oauth-clients`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCredentialRequest {
    /// Purpose of the credential, shown to administrators.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// Scopes it may use: `audit:read`, `security-events:read`.
    pub scopes: Vec<String>,
}

/// Response of `POST /v1/admin/api-keys`. `api_key` is shown only here.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreated {
    /// Key id (UUIDv7), for revoking it.
    pub id: String,
    pub name: String,
    /// The visible part of the key, `spk_<prefix>`.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// The whole key, `spk_<prefix>_<secret>`, for `Authorization: ApiKey <key>`.
    pub api_key: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

impl fmt::Debug for ApiKeyCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyCreated")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("scopes", &self.scopes)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

/// Response of `POST /v1/admin/oauth-clients`. `client_secret` is shown
/// only here.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientCreated {
    /// Registration id (UUIDv7), for revoking it.
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
}

impl fmt::Debug for OAuthClientCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientCreated")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// An API key or OAuth2 client as listed: no secret.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCredentialView {
    pub id: String,
    pub name: String,
    /// `spk_<prefix>` of an API key, or the `client_id` of an OAuth2 client.
    pub public_id: String,
    pub scopes: Vec<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; absent while the credential is usable.
    pub revoked_at: Option<String>,
}

/// Response of `GET /v1/admin/api-keys` and `GET /v1/admin/oauth-clients`,
/// oldest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCredentialListResponse {
    pub credentials: Vec<ServiceCredentialView>,
}

/// RFC 6749 section 5.1 response of `POST /v1/oauth/token`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
pub struct OAuthTokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
    /// Space-separated scopes the token carries.
    pub scope: String,
}

impl fmt::Debug for OAuthTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// RFC 6749 section 5.2 error of `POST /v1/oauth/token`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorResponse {
    /// `invalid_request`, `invalid_client`, `invalid_scope`,
    /// `unsupported_grant_type` or `unauthorized_client`.
    pub error: String,
    pub error_description: String,
}

/// One audit trail entry as `GET /v1/service/audit` returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntryView {
    pub id: i64,
    /// RFC 3339 UTC.
    pub recorded_at: String,
    pub kind: String,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    pub key_version: u32,
    /// Base64 HMAC of the previous entry.
    pub prev_mac: String,
    /// Base64 HMAC of this entry and `prev_mac`.
    pub mac: String,
}

/// A page of audit entries in id order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPageResponse {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `after_id` to read the next page; absent on the last page.
    pub next_after_id: Option<i64>,
}
