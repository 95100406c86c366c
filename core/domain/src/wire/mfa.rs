//! Bodies of the second-factor endpoints: login MFA challenges, email and
//! phone verification, TOTP enrollment, recovery codes, step-up checks and
//! known devices.
//!
//! Codes, tokens and secrets are redacted in `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::TokenResponse;

/// Names of the second factors, as they appear in `methods` lists and in
/// the `method` field of requests.
pub mod method {
    /// A code from an authenticator app (RFC 6238).
    pub const TOTP: &str = "totp";
    /// A six-digit code sent to the account's email address.
    pub const EMAIL_CODE: &str = "email_code";
    /// A six-digit code sent by SMS to the verified phone number.
    pub const SMS_CODE: &str = "sms_code";
    /// One of the ten one-time recovery codes.
    pub const RECOVERY_CODE: &str = "recovery_code";
}

/// Response of `POST /v1/auth/login`: tokens, or a challenge when the user
/// has MFA enabled or logs in from an unknown device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenResponse),
    MfaRequired(MfaRequiredResponse),
}

/// The second step a login must pass before it gets tokens.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaRequiredResponse {
    /// Always `true`.
    pub mfa_required: bool,
    /// Opaque token naming this challenge, for `/v1/auth/mfa/challenge` and
    /// `/v1/auth/mfa/verify`.
    pub mfa_token: String,
    /// Methods that can complete the challenge, such as `totp`.
    pub methods: Vec<String>,
    /// RFC 3339 UTC; the token stops working then.
    pub expires_at: String,
}

impl fmt::Debug for MfaRequiredResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaRequiredResponse")
            .field("mfa_token", &"[redacted]")
            .field("methods", &self.methods)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Body of `POST /v1/auth/mfa/challenge`: send a code for a login challenge.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaChallengeRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub mfa_token: String,
    /// `email_code` or `sms_code`.
    pub method: String,
}

impl fmt::Debug for MfaChallengeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaChallengeRequest")
            .field("mfa_token", &"[redacted]")
            .field("method", &self.method)
            .finish()
    }
}

/// Body of `POST /v1/auth/mfa/verify`. The response is a `TokenResponse`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub mfa_token: String,
    /// `totp`, `email_code`, `sms_code` or `recovery_code`.
    pub method: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub code: String,
}

impl fmt::Debug for MfaVerifyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaVerifyRequest")
            .field("mfa_token", &"[redacted]")
            .field("method", &self.method)
            .field("code", &"[redacted]")
            .finish()
    }
}

/// Response of the endpoints that send a code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSentResponse {
    /// `email` or `sms`.
    pub channel: String,
    /// RFC 3339 UTC; the code stops working then.
    pub expires_at: String,
}

/// A body carrying only a code: email and phone verification, TOTP
/// confirmation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub code: String,
}

impl fmt::Debug for CodeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeRequest")
            .field("code", &"[redacted]")
            .finish()
    }
}

/// Body of `POST /v1/me/email`: the new address, verified by a code sent to
/// it before it replaces the current one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
}

impl fmt::Debug for ChangeEmailRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeEmailRequest")
            .field("email", &"[redacted]")
            .finish()
    }
}

/// Body of `POST /v1/me/phone`: a number in E.164 form, such as
/// `+4915112345678`, to verify by SMS.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 16))]
    pub phone: String,
}

impl fmt::Debug for PhoneRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneRequest")
            .field("phone", &"[redacted]")
            .finish()
    }
}

/// Response of `POST /v1/me/mfa/totp`: the new secret, to be confirmed with
/// a first code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpEnrollmentResponse {
    /// `otpauth://totp/...` key URI for authenticator apps.
    pub otpauth_uri: String,
    /// The secret in base32, for typing it in by hand.
    pub secret: String,
    /// The key URI as a QR code PNG, base64-encoded.
    pub qr_png_base64: String,
}

impl fmt::Debug for TotpEnrollmentResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrollmentResponse")
            .finish_non_exhaustive()
    }
}

/// Recovery codes, shown once when created.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryCodesResponse {
    pub recovery_codes: Vec<String>,
}

impl fmt::Debug for RecoveryCodesResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodesResponse")
            .field("recovery_codes", &self.recovery_codes.len())
            .finish()
    }
}

/// Response of `GET /v1/me/mfa`: the account's factors.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaStatusResponse {
    pub email_verified: bool,
    pub totp_enabled: bool,
    pub phone_verified: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// Methods that can pass a login challenge or a step-up check now.
    pub methods: Vec<String>,
}

/// Body of `POST /v1/me/step-up/challenge`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpChallengeRequest {
    /// `email_code` or `sms_code`.
    pub method: String,
}

/// Body of `POST /v1/me/step-up/verify`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpVerifyRequest {
    /// `totp`, `email_code`, `sms_code` or `recovery_code`.
    pub method: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub code: String,
}

impl fmt::Debug for StepUpVerifyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepUpVerifyRequest")
            .field("method", &self.method)
            .field("code", &"[redacted]")
            .finish()
    }
}

/// Response of a passed step-up check.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpResponse {
    /// RFC 3339 UTC; sensitive changes need no new check until then.
    pub valid_until: String,
}

/// One device that passed MFA or registered for the signed-in user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceView {
    /// Device id (UUIDv7), for `DELETE /v1/devices/{id}`.
    pub id: String,
    pub fingerprint: String,
    pub user_agent: Option<String>,
    /// RFC 3339 timestamps.
    pub first_seen_at: String,
    pub last_seen_at: String,
    /// Set when the user revoked the device; it then needs MFA again.
    pub revoked_at: Option<String>,
}

/// Body of `GET /v1/devices`, oldest device first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceListResponse {
    pub devices: Vec<DeviceView>,
}

/// Response of `DELETE /v1/devices/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRevokedResponse {
    /// Sessions opened from the device that ended with it.
    pub sessions_ended: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_response_parses_both_shapes() {
        let tokens =
            r#"{"access_token":"a","token_type":"Bearer","expires_in":900,"refresh_token":"r"}"#;
        let challenge = r#"{"mfa_required":true,"mfa_token":"t","methods":["totp"],"expires_at":"2026-01-01T00:00:00Z"}"#;

        let parsed: LoginResponse = serde_json::from_str(tokens).expect("tokens");
        assert!(matches!(parsed, LoginResponse::Tokens(_)));
        let parsed: LoginResponse = serde_json::from_str(challenge).expect("challenge");
        assert!(matches!(parsed, LoginResponse::MfaRequired(_)));
    }

    #[test]
    fn debug_hides_codes() {
        let request = MfaVerifyRequest {
            mfa_token: "secret-token".to_owned(),
            method: method::TOTP.to_owned(),
            code: "123456".to_owned(),
        };

        let printed = format!("{request:?}");
        assert!(!printed.contains("secret-token"), "{printed}");
        assert!(!printed.contains("123456"), "{printed}");
    }
}
