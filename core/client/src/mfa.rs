//! Second factors of the signed-in user: TOTP enrollment, recovery codes,
//! email and phone verification for codes, the list of factors, and step-up
//! checks that sensitive changes need.
//!
//! Secrets the server returns once (the TOTP secret, recovery codes) are
//! handed to the shell as [`SecretString`]s and never stored or logged here.
//! Passkeys have their own module, [`crate::passkey`].

use std::fmt;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::wire::mfa::{
    ChangeEmailRequest, CodeRequest, CodeSentResponse, MfaStatusResponse, PhoneRequest,
    RecoveryCodesResponse, StepUpChallengeRequest, StepUpResponse, StepUpVerifyRequest,
    TotpEnrollmentResponse, method,
};

use crate::SharePayClient;
use crate::api::{decode, decode_empty};
use crate::error::ClientError;
use crate::passkey::{PASSKEY_METHOD, PasskeyCredential};

/// Maximum length, in characters, of a code the server reads, recovery
/// codes included.
const MAX_CODE_CHARS: usize = 32;

/// A TOTP secret waiting for its first code, from
/// [`SharePayClient::start_totp_enrollment`].
pub struct TotpEnrollment {
    /// `otpauth://totp/...` key URI for authenticator apps. It contains the
    /// secret, so show it only to the user.
    pub otpauth_uri: SecretString,
    /// The secret in base32, for typing it in by hand.
    pub secret: SecretString,
    /// The key URI as a base64 PNG QR code, when the server drew one.
    pub qr_png_base64: Option<SecretString>,
}

impl fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrollment")
            .field("has_qr", &self.qr_png_base64.is_some())
            .finish_non_exhaustive()
    }
}

/// One-time recovery codes, returned once by the server. Each passes one
/// login challenge or step-up check as `recovery_code`.
pub struct RecoveryCodes {
    pub codes: Vec<SecretString>,
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("count", &self.codes.len())
            .finish()
    }
}

impl From<RecoveryCodesResponse> for RecoveryCodes {
    fn from(response: RecoveryCodesResponse) -> Self {
        Self {
            codes: response
                .recovery_codes
                .into_iter()
                .map(SecretString::from)
                .collect(),
        }
    }
}

/// The signed-in user's second factors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaFactors {
    pub email_verified: bool,
    pub totp_enabled: bool,
    pub phone_verified: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// Registered security keys and passkeys, oldest first.
    pub passkeys: Vec<PasskeyCredential>,
    /// Methods that can pass a login challenge or a step-up check now, such
    /// as `totp` or `webauthn`.
    pub methods: Vec<String>,
}

impl SharePayClient {
    /// Starts a TOTP enrollment: the server creates a secret, which becomes
    /// a factor once [`SharePayClient::confirm_totp_enrollment`] accepts a
    /// code from it. Needs a recent step-up check.
    pub async fn start_totp_enrollment(&self) -> Result<TotpEnrollment, ClientError> {
        let response = self
            .send_authorized(Method::POST, &["v1", "me", "mfa", "totp"], None)
            .await?;
        let enrollment: TotpEnrollmentResponse = decode(response).await?;
        let qr = Some(enrollment.qr_png_base64).filter(|qr| !qr.is_empty());
        Ok(TotpEnrollment {
            otpauth_uri: SecretString::from(enrollment.otpauth_uri),
            secret: SecretString::from(enrollment.secret),
            qr_png_base64: qr.map(SecretString::from),
        })
    }

    /// Enables TOTP with a first `code` from the enrolled secret, and
    /// returns the ten recovery codes, shown this once.
    pub async fn confirm_totp_enrollment(
        &self,
        code: SecretString,
    ) -> Result<RecoveryCodes, ClientError> {
        let request = CodeRequest {
            code: checked_code(&code)?,
        };
        let response: RecoveryCodesResponse = self
            .send_json_authorized(
                Method::POST,
                &["v1", "me", "mfa", "totp", "confirm"],
                &request,
            )
            .await?;
        Ok(response.into())
    }

    /// Disables TOTP. The server deletes the recovery codes too unless a
    /// verified phone remains. Needs a recent step-up check.
    pub async fn disable_totp(&self) -> Result<(), ClientError> {
        let response = self
            .send_authorized(Method::DELETE, &["v1", "me", "mfa", "totp"], None)
            .await?;
        decode_empty(response).await
    }

    /// Replaces the recovery codes with ten new ones, returned this once.
    /// Needs a recent step-up check, and TOTP or a verified phone.
    pub async fn regenerate_recovery_codes(&self) -> Result<RecoveryCodes, ClientError> {
        let response = self
            .send_authorized(Method::POST, &["v1", "me", "mfa", "recovery-codes"], None)
            .await?;
        let codes: RecoveryCodesResponse = decode(response).await?;
        Ok(codes.into())
    }

    /// Lists the signed-in user's factors, passkeys included.
    pub async fn mfa_factors(&self) -> Result<MfaFactors, ClientError> {
        let status: MfaStatusResponse = self.get_authorized(&["v1", "me", "mfa"]).await?;
        let passkeys = self.list_passkeys().await?;
        let mut methods = status.methods;
        // The status lists code methods only, but a registered
        // authenticator passes checks as `webauthn` too.
        if !passkeys.is_empty() && !methods.iter().any(|m| m == PASSKEY_METHOD) {
            methods.insert(0, PASSKEY_METHOD.to_owned());
        }
        Ok(MfaFactors {
            email_verified: status.email_verified,
            totp_enabled: status.totp_enabled,
            phone_verified: status.phone_verified,
            recovery_codes_left: status.recovery_codes_left,
            passkeys,
            methods,
        })
    }

    /// Sends a code to `email`, which replaces the account's address once
    /// [`SharePayClient::verify_email`] accepts it. Needs a recent step-up
    /// check.
    pub async fn change_email(&self, email: &str) -> Result<CodeSentResponse, ClientError> {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(ClientError::InvalidInput(
                "email must be an address such as name@example.org".into(),
            ));
        }
        let request = ChangeEmailRequest {
            email: email.to_owned(),
        };
        self.send_json_authorized(Method::POST, &["v1", "me", "email"], &request)
            .await
    }

    /// Sends a new verification code to the account's unverified address.
    pub async fn resend_email_verification(&self) -> Result<CodeSentResponse, ClientError> {
        let response = self
            .send_authorized(Method::POST, &["v1", "me", "email", "verification"], None)
            .await?;
        decode(response).await
    }

    /// Verifies the account's address, or a pending new one, with the
    /// emailed `code`.
    pub async fn verify_email(&self, code: SecretString) -> Result<(), ClientError> {
        self.post_code(&["v1", "me", "email", "verify"], &code)
            .await
    }

    /// Sends an SMS code to `phone` (E.164, such as `+4915112345678`). The
    /// number becomes an `sms_code` factor once
    /// [`SharePayClient::verify_phone`] accepts it. Needs a recent step-up
    /// check when the account already has a factor.
    pub async fn add_phone(&self, phone: &str) -> Result<CodeSentResponse, ClientError> {
        let phone = phone.trim();
        let digits = phone.strip_prefix('+').unwrap_or_default();
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ClientError::InvalidInput(format!(
                "phone must be in E.164 form, a + and up to 15 digits such as +4915112345678, \
                 got {} characters",
                phone.chars().count()
            )));
        }
        let request = PhoneRequest {
            phone: phone.to_owned(),
        };
        self.send_json_authorized(Method::POST, &["v1", "me", "phone"], &request)
            .await
    }

    /// Verifies the phone number added last with the SMS `code`.
    pub async fn verify_phone(&self, code: SecretString) -> Result<(), ClientError> {
        self.post_code(&["v1", "me", "phone", "verify"], &code)
            .await
    }

    /// Asks the server to send a step-up code by `method` (`email_code` or
    /// `sms_code`) for this session.
    pub async fn send_step_up_code(&self, method: &str) -> Result<CodeSentResponse, ClientError> {
        if method != method::EMAIL_CODE && method != method::SMS_CODE {
            return Err(ClientError::InvalidInput(format!(
                "method {method:?} sends no code; use {} or {} to get one",
                method::EMAIL_CODE,
                method::SMS_CODE
            )));
        }
        let request = StepUpChallengeRequest {
            method: method.to_owned(),
        };
        self.send_json_authorized(
            Method::POST,
            &["v1", "me", "step-up", "challenge"],
            &request,
        )
        .await
    }

    /// Passes a step-up check for this session with `code` for `method`
    /// (`totp`, `email_code`, `sms_code` or `recovery_code`), so changes
    /// that failed with [`ClientError::StepUpRequired`] succeed until the
    /// returned `valid_until`.
    pub async fn step_up(
        &self,
        method: &str,
        code: SecretString,
    ) -> Result<StepUpResponse, ClientError> {
        check_code_method(method)?;
        let request = StepUpVerifyRequest {
            method: method.to_owned(),
            code: checked_code(&code)?,
        };
        self.send_json_authorized(Method::POST, &["v1", "me", "step-up", "verify"], &request)
            .await
    }

    async fn post_code(&self, segments: &[&str], code: &SecretString) -> Result<(), ClientError> {
        let request = CodeRequest {
            code: checked_code(code)?,
        };
        let json = serde_json::to_vec(&request)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let response = self
            .send_authorized(Method::POST, segments, Some(&json))
            .await?;
        decode_empty(response).await
    }
}

/// Rejects a method that does not pass a check with a typed code.
pub(crate) fn check_code_method(name: &str) -> Result<(), ClientError> {
    const CODE_METHODS: [&str; 4] = [
        method::TOTP,
        method::EMAIL_CODE,
        method::SMS_CODE,
        method::RECOVERY_CODE,
    ];
    if name == PASSKEY_METHOD {
        return Err(ClientError::InvalidInput(
            "method webauthn takes no code; use the passkey calls instead".into(),
        ));
    }
    if !CODE_METHODS.contains(&name) {
        return Err(ClientError::InvalidInput(format!(
            "unknown MFA method {name:?}; use one of: {}",
            CODE_METHODS.join(", ")
        )));
    }
    Ok(())
}

/// Trims `code` and checks its length before it is sent.
pub(crate) fn checked_code(code: &SecretString) -> Result<String, ClientError> {
    let trimmed = code.expose_secret().trim();
    if trimmed.is_empty() {
        return Err(ClientError::InvalidInput(
            "code is empty; enter the code from the app, the message or the recovery list".into(),
        ));
    }
    if trimmed.chars().count() > MAX_CODE_CHARS {
        return Err(ClientError::InvalidInput(format!(
            "code is longer than {MAX_CODE_CHARS} characters; enter only the code"
        )));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_code_trims_and_limits() {
        let code = checked_code(&SecretString::from(" 123456\n")).expect("valid code");
        assert_eq!(code, "123456");
        assert!(checked_code(&SecretString::from("  ")).is_err());
        assert!(checked_code(&SecretString::from("1".repeat(33))).is_err());
    }

    #[test]
    fn code_methods_exclude_webauthn() {
        assert!(check_code_method("totp").is_ok());
        assert!(check_code_method("recovery_code").is_ok());
        let error = check_code_method("webauthn").expect_err("webauthn takes no code");
        assert!(error.to_string().contains("passkey"), "{error}");
        assert!(check_code_method("sms").is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let enrollment = TotpEnrollment {
            otpauth_uri: SecretString::from("otpauth://totp/x?secret=JBSWY3DP"),
            secret: SecretString::from("JBSWY3DP"),
            qr_png_base64: None,
        };
        let codes = RecoveryCodes {
            codes: vec![SecretString::from("abcd-efgh")],
        };

        let printed = format!("{enrollment:?} {codes:?}");
        assert!(!printed.contains("JBSWY3DP"), "{printed}");
        assert!(!printed.contains("abcd-efgh"), "{printed}");
    }
}
