//! Second factors of the signed-in user (TOTP, recovery codes, email and
//! phone verification, step-up checks) and passkeys through the platform's
//! `PasskeyProvider`: records converted from the core's types and exported
//! calls, each delegating to the core.
//!
//! Secrets that the server returns once (the TOTP secret and key URI,
//! recovery codes) cross to the app as plain strings, because the app must
//! show them. The core keeps them only in `SecretString`s.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use sharepay_client::mfa as core;
use sharepay_client::passkey as core_passkey;

use crate::{SharePayClient, SharePayError};

/// A TOTP secret waiting for its first code. All three fields contain the
/// secret, so show them only to the user and never log them.
#[derive(uniffi::Record)]
pub struct TotpEnrollment {
    /// `otpauth://totp/...` key URI for authenticator apps.
    pub otpauth_uri: String,
    /// The secret in base32, for typing it in by hand.
    pub secret: String,
    /// The key URI as a base64 PNG QR code, or null when the server drew none.
    pub qr_png_base64: Option<String>,
}

/// The signed-in user's second factors.
#[derive(uniffi::Record)]
pub struct MfaFactors {
    pub email_verified: bool,
    pub totp_enabled: bool,
    pub phone_verified: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// Registered security keys and passkeys, oldest first.
    pub passkeys: Vec<PasskeyCredential>,
    /// Methods that can pass a login challenge or a step-up check now.
    pub methods: Vec<String>,
}

/// A registered security key or passkey.
#[derive(uniffi::Record)]
pub struct PasskeyCredential {
    pub id: String,
    /// `passkey` or `security_key`.
    pub kind: String,
    pub name: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A verified passkey assertion of a step-up check.
#[derive(uniffi::Record)]
pub struct PasskeyAssertion {
    pub credential_id: String,
    /// RFC 3339 UTC.
    pub verified_at: String,
    /// Whether the authenticator verified the user (PIN or biometrics).
    pub user_verified: bool,
}

/// The channel and expiry of a code the server sent.
#[derive(uniffi::Record)]
pub struct CodeSent {
    /// `email` or `sms`.
    pub channel: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

/// A passed step-up check.
#[derive(uniffi::Record)]
pub struct StepUpGrant {
    /// RFC 3339 UTC; changes that need a recent check succeed until then.
    pub valid_until: String,
}

/// Failure of the platform's passkey call, as the app reports it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PasskeyError {
    /// The user dismissed the platform prompt, or it timed out.
    #[error("the user cancelled the passkey prompt")]
    Cancelled,
    /// This device or OS version has no passkey support.
    #[error("this device does not support passkeys")]
    NotSupported,
    /// The platform failed for another reason, such as no matching passkey.
    #[error("{reason}")]
    Failed { reason: String },
}

/// An exception thrown by the app's passkey provider that is not a
/// `PasskeyError` arrives here instead of panicking.
impl From<uniffi::UnexpectedUniFFICallbackError> for PasskeyError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            reason: format!("the platform passkey callback failed: {}", error.reason),
        }
    }
}

/// Implemented by the app: creates passkeys and signs assertions with the
/// platform's authenticator. Both calls take the server's WebAuthn options
/// as JSON and return the platform's `PublicKeyCredential` as JSON. The core
/// calls them from a blocking worker thread, so they may wait for the user.
#[uniffi::export(foreign)]
pub trait PasskeyProvider: Send + Sync {
    fn create_credential(&self, request_json: String) -> Result<String, PasskeyError>;
    fn get_assertion(&self, request_json: String) -> Result<String, PasskeyError>;
}

struct ForeignPasskeyProvider(Arc<dyn PasskeyProvider>);

impl core_passkey::PasskeyProvider for ForeignPasskeyProvider {
    fn create_credential(
        &self,
        request_json: String,
    ) -> Result<String, core_passkey::PasskeyError> {
        self.0
            .create_credential(request_json)
            .map_err(to_core_error)
    }

    fn get_assertion(&self, request_json: String) -> Result<String, core_passkey::PasskeyError> {
        self.0.get_assertion(request_json).map_err(to_core_error)
    }
}

fn to_core_error(error: PasskeyError) -> core_passkey::PasskeyError {
    match error {
        PasskeyError::Cancelled => core_passkey::PasskeyError::Cancelled,
        PasskeyError::NotSupported => core_passkey::PasskeyError::NotSupported,
        PasskeyError::Failed { reason } => core_passkey::PasskeyError::Failed { reason },
    }
}

fn foreign(provider: Arc<dyn PasskeyProvider>) -> Arc<dyn core_passkey::PasskeyProvider> {
    Arc::new(ForeignPasskeyProvider(provider))
}

#[uniffi::export(async_runtime = "tokio")]
impl SharePayClient {
    /// Passes the waiting sign-in's second check with a passkey.
    pub async fn complete_mfa_with_passkey(
        &self,
        provider: Arc<dyn PasskeyProvider>,
    ) -> Result<(), SharePayError> {
        Ok(self
            .inner
            .complete_mfa_with_passkey(foreign(provider))
            .await?)
    }

    /// Starts a TOTP enrollment, which `confirm_totp_enrollment` finishes.
    /// Needs a recent step-up check.
    pub async fn start_totp_enrollment(&self) -> Result<TotpEnrollment, SharePayError> {
        Ok(self.inner.start_totp_enrollment().await?.into())
    }

    /// Enables TOTP with a first code and returns the ten recovery codes,
    /// shown this once.
    pub async fn confirm_totp_enrollment(
        &self,
        code: String,
    ) -> Result<Vec<String>, SharePayError> {
        let codes = self
            .inner
            .confirm_totp_enrollment(SecretString::from(code))
            .await?;
        Ok(expose_codes(codes))
    }

    /// Disables TOTP. Needs a recent step-up check.
    pub async fn disable_totp(&self) -> Result<(), SharePayError> {
        Ok(self.inner.disable_totp().await?)
    }

    /// Replaces the recovery codes with ten new ones, shown this once.
    /// Needs a recent step-up check.
    pub async fn regenerate_recovery_codes(&self) -> Result<Vec<String>, SharePayError> {
        Ok(expose_codes(self.inner.regenerate_recovery_codes().await?))
    }

    /// Lists the signed-in user's factors, passkeys included.
    pub async fn mfa_factors(&self) -> Result<MfaFactors, SharePayError> {
        Ok(self.inner.mfa_factors().await?.into())
    }

    /// Sends a code to `email`, which replaces the account's address once
    /// `verify_email` accepts it. Needs a recent step-up check.
    pub async fn change_email(&self, email: String) -> Result<CodeSent, SharePayError> {
        Ok(self.inner.change_email(&email).await?.into())
    }

    /// Sends a new verification code to the account's unverified address.
    pub async fn resend_email_verification(&self) -> Result<CodeSent, SharePayError> {
        Ok(self.inner.resend_email_verification().await?.into())
    }

    /// Verifies the account's address, or a pending new one, with a code.
    pub async fn verify_email(&self, code: String) -> Result<(), SharePayError> {
        Ok(self.inner.verify_email(SecretString::from(code)).await?)
    }

    /// Sends an SMS code to `phone` (E.164, such as `+4915112345678`).
    pub async fn add_phone(&self, phone: String) -> Result<CodeSent, SharePayError> {
        Ok(self.inner.add_phone(&phone).await?.into())
    }

    /// Verifies the phone number added last with the SMS code.
    pub async fn verify_phone(&self, code: String) -> Result<(), SharePayError> {
        Ok(self.inner.verify_phone(SecretString::from(code)).await?)
    }

    /// Sends a step-up code by `email_code` or `sms_code`.
    pub async fn send_step_up_code(&self, method: String) -> Result<CodeSent, SharePayError> {
        Ok(self.inner.send_step_up_code(&method).await?.into())
    }

    /// Passes a step-up check for this session with `code` for `method`
    /// (`totp`, `email_code`, `sms_code` or `recovery_code`).
    pub async fn step_up(
        &self,
        method: String,
        code: String,
    ) -> Result<StepUpGrant, SharePayError> {
        let grant = self
            .inner
            .step_up(&method, SecretString::from(code))
            .await?;
        Ok(StepUpGrant {
            valid_until: grant.valid_until,
        })
    }

    /// Passes a step-up check for this session with a passkey.
    pub async fn step_up_with_passkey(
        &self,
        provider: Arc<dyn PasskeyProvider>,
    ) -> Result<PasskeyAssertion, SharePayError> {
        Ok(self
            .inner
            .step_up_with_passkey(foreign(provider))
            .await?
            .into())
    }

    /// Registers a passkey made by `provider` under `name`. Needs a recent
    /// step-up check.
    pub async fn register_passkey(
        &self,
        provider: Arc<dyn PasskeyProvider>,
        name: String,
    ) -> Result<PasskeyCredential, SharePayError> {
        Ok(self
            .inner
            .register_passkey(foreign(provider), &name)
            .await?
            .into())
    }

    /// Lists the signed-in user's passkeys and security keys, oldest first.
    pub async fn list_passkeys(&self) -> Result<Vec<PasskeyCredential>, SharePayError> {
        let passkeys = self.inner.list_passkeys().await?;
        Ok(passkeys.into_iter().map(PasskeyCredential::from).collect())
    }

    /// Removes a passkey or security key by its id. Needs a recent step-up
    /// check.
    pub async fn remove_passkey(&self, credential_id: String) -> Result<(), SharePayError> {
        Ok(self.inner.remove_passkey(&credential_id).await?)
    }
}

fn expose_codes(codes: core::RecoveryCodes) -> Vec<String> {
    codes
        .codes
        .iter()
        .map(|code| code.expose_secret().to_owned())
        .collect()
}

impl From<core::TotpEnrollment> for TotpEnrollment {
    fn from(enrollment: core::TotpEnrollment) -> Self {
        Self {
            otpauth_uri: enrollment.otpauth_uri.expose_secret().to_owned(),
            secret: enrollment.secret.expose_secret().to_owned(),
            qr_png_base64: enrollment
                .qr_png_base64
                .map(|qr| qr.expose_secret().to_owned()),
        }
    }
}

impl From<core::MfaFactors> for MfaFactors {
    fn from(factors: core::MfaFactors) -> Self {
        Self {
            email_verified: factors.email_verified,
            totp_enabled: factors.totp_enabled,
            phone_verified: factors.phone_verified,
            recovery_codes_left: factors.recovery_codes_left,
            passkeys: factors
                .passkeys
                .into_iter()
                .map(PasskeyCredential::from)
                .collect(),
            methods: factors.methods,
        }
    }
}

impl From<core_passkey::PasskeyCredential> for PasskeyCredential {
    fn from(credential: core_passkey::PasskeyCredential) -> Self {
        Self {
            id: credential.id,
            kind: credential.kind,
            name: credential.name,
            created_at: credential.created_at,
            last_used_at: credential.last_used_at,
        }
    }
}

impl From<core_passkey::PasskeyAssertion> for PasskeyAssertion {
    fn from(assertion: core_passkey::PasskeyAssertion) -> Self {
        Self {
            credential_id: assertion.credential_id,
            verified_at: assertion.verified_at,
            user_verified: assertion.user_verified,
        }
    }
}

impl From<sharepay_domain::wire::mfa::CodeSentResponse> for CodeSent {
    fn from(sent: sharepay_domain::wire::mfa::CodeSentResponse) -> Self {
        Self {
            channel: sent.channel,
            expires_at: sent.expires_at,
        }
    }
}
