//! Bodies of the session and token endpoints: refresh, session lists and
//! revocation results.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Body of `POST /v1/auth/refresh`. The response is a `TokenResponse` with
/// a new refresh token; the presented one stops working.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub refresh_token: String,
    /// Device fingerprint computed by the phone core; must match the one
    /// sent at login when one was sent then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub device_fingerprint: Option<String>,
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &"[redacted]")
            .field("device_fingerprint", &self.device_fingerprint)
            .finish()
    }
}

/// One login session of the signed-in user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionView {
    /// Session id (UUIDv7), for `DELETE /v1/sessions/{id}`.
    pub id: String,
    pub device_fingerprint: Option<String>,
    /// Client address of the last login or refresh.
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// RFC 3339 timestamps.
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    /// Whether this is the session of the access token that listed it.
    pub current: bool,
}

/// Body of `GET /v1/sessions`, oldest session first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionListResponse {
    pub sessions: Vec<SessionView>,
}

/// Body of the responses that end several sessions at once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedSessionsResponse {
    /// How many sessions ended.
    pub revoked: u64,
}

/// Body of `POST /v1/me/password`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub current_password: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 128))]
    pub new_password: String,
}

impl fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangePasswordRequest")
            .field("current_password", &"[redacted]")
            .field("new_password", &"[redacted]")
            .finish()
    }
}
