//! The `[mfa]` configuration section: how long one-time codes, login MFA
//! challenges and step-up checks stay valid.

use serde::Deserialize;

/// Settings of second factors. The defaults are the product's rules; the
/// tests shorten them to watch codes expire.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaConfig {
    /// Seconds an email or SMS code stays valid.
    pub code_ttl_seconds: u64,
    /// Seconds a login's `mfa_token` stays valid.
    pub challenge_ttl_seconds: u64,
    /// Seconds after an MFA check during which sensitive changes (password,
    /// email, disabling MFA) need no new check.
    pub step_up_seconds: u64,
    /// The issuer shown by authenticator apps in the `otpauth://` URI.
    pub totp_issuer: String,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            code_ttl_seconds: 10 * 60,
            challenge_ttl_seconds: 5 * 60,
            step_up_seconds: 5 * 60,
            totp_issuer: "SharePay".to_owned(),
        }
    }
}

impl MfaConfig {
    /// Checks the values, naming the key that is out of range.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let ranges = [
            ("mfa.code_ttl_seconds", self.code_ttl_seconds),
            ("mfa.challenge_ttl_seconds", self.challenge_ttl_seconds),
            ("mfa.step_up_seconds", self.step_up_seconds),
        ];
        for (key, value) in ranges {
            if !(1..=3600).contains(&value) {
                return Err((key, format!("{value} is out of range; use 1 to 3600")));
            }
        }
        let issuer = self.totp_issuer.trim();
        if issuer.is_empty() || issuer.contains(':') || issuer.chars().count() > 64 {
            return Err((
                "mfa.totp_issuer",
                "must be 1 to 64 characters without ':'".to_owned(),
            ));
        }
        Ok(())
    }
}
