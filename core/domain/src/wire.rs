//! Request and response bodies of the `/v1/` JSON API, shared by the server
//! and the phone core so both sides parse the same shapes.
//!
//! Requests deny unknown fields: a misspelt field is an error, not a silent
//! default. Nothing here holds a secret in a `Debug`-printable form.

pub mod auth;
pub mod billing;
pub mod households;
pub mod mfa;
pub mod money;
pub mod payments;
pub mod reading_review;
pub mod readings;
pub mod security;
pub mod service;
pub mod split;
pub mod validation;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Body of `POST /v1/auth/register`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 128))]
    pub password: String,
    /// Device fingerprint computed by the phone core; the device becomes a
    /// known device of the new account, so its first login needs no MFA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub device_fingerprint: Option<String>,
}

impl fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("email", &"[redacted]")
            .field("password", &"[redacted]")
            .field("device_fingerprint", &self.device_fingerprint)
            .finish()
    }
}

/// Body of `POST /v1/auth/login`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub password: String,
    /// Device fingerprint computed by the phone core, if the caller has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub device_fingerprint: Option<String>,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &"[redacted]")
            .field("password", &"[redacted]")
            .field("device_fingerprint", &self.device_fingerprint)
            .finish()
    }
}

/// Response of a successful login or refresh.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
    pub refresh_token: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .finish()
    }
}

/// Response of `POST /v1/auth/register`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterResponse {
    pub user_id: String,
}

/// Response of `GET /v1/me`: the signed-in user's own profile.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeResponse {
    pub user_id: String,
    pub email: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Whether the user confirmed the address with the emailed code.
    #[serde(default)]
    pub email_verified: bool,
}

/// Response of `GET /v1/health`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthResponse {
    pub status: String,
    pub version: String,
}

/// One offending field of an `invalid-input` problem.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the field, such as `email` or `members[2].share`.
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details, as every error response carries them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A stable slug such as `invalid-input` or `unauthorized`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `step-up-required`: the MFA methods the caller can pass the check
    /// with, such as `totp` or `webauthn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
}
