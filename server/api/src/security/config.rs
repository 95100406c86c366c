//! The `[security]` configuration section: thresholds of the
//! suspicious-activity rules, the alert webhook, account locking and the
//! lifetime of service tokens.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Minimum webhook secret length, in bytes.
const MIN_WEBHOOK_SECRET_BYTES: usize = 32;
/// Maximum window a rule may count over: one day.
const MAX_WINDOW_SECS: u64 = 24 * 60 * 60;

/// A rule fires when `count` matching observations fall within
/// `window_secs` seconds.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub count: u32,
    pub window_secs: u64,
}

impl Threshold {
    pub const fn new(count: u32, window_secs: u64) -> Self {
        Self { count, window_secs }
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs)
    }

    fn validate(&self, key: &'static str) -> Result<(), (&'static str, String)> {
        if !(1..=10_000).contains(&self.count) {
            return Err((
                key,
                format!("count {} is out of range; use 1 to 10000", self.count),
            ));
        }
        if !(1..=MAX_WINDOW_SECS).contains(&self.window_secs) {
            return Err((
                key,
                format!(
                    "window_secs {} is out of range; use 1 to {MAX_WINDOW_SECS}",
                    self.window_secs
                ),
            ));
        }
        Ok(())
    }
}

/// Settings of security events, alerts and service access. `Debug` shows
/// [`SecurityConfig::redacted`].
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Lock the account of a high-severity event pending an
    /// administrator's review: login and refresh are refused and its
    /// sessions end.
    pub lock_on_high_severity: bool,
    /// `https://` URL that receives each high-severity event as JSON; unset
    /// sends no alerts.
    pub webhook_url: Option<String>,
    /// Key of the HMAC-SHA256 signature in the `X-SharePay-Signature`
    /// header; required with `webhook_url`, at least 32 bytes. Set it with
    /// `SHAREPAY_SECURITY__WEBHOOK_SECRET` rather than in the file.
    pub webhook_secret: Option<SecretString>,
    /// PEM file of the CA certificates that may sign the webhook server's
    /// certificate; unset trusts the system's CA certificates.
    pub webhook_ca_file: Option<PathBuf>,
    /// Seconds one delivery attempt may take.
    pub webhook_timeout_secs: u64,
    /// Attempts per alert before it is dropped (and logged).
    pub webhook_max_attempts: u32,
    /// Alerts waiting for delivery; more are dropped (and logged).
    pub webhook_queue_capacity: usize,
    /// Failed logins on one account.
    pub login_failure_burst: Threshold,
    /// Distinct accounts with failed logins from one address.
    pub credential_stuffing: Threshold,
    /// Refused access tokens from one address.
    pub refused_tokens_per_address: Threshold,
    /// Refused access tokens naming one subject.
    pub refused_tokens_per_subject: Threshold,
    /// Seconds after a device's `new_device` login in which that device may
    /// not change payment methods. An attempt raises a medium-severity
    /// event, which does not lock the account.
    pub new_device_payment_window_secs: u64,
    /// Keys each rule counter keeps; when full, new keys are not counted
    /// until old ones expire.
    pub rule_max_keys: usize,
    /// Lifetime of OAuth2 client-credentials access tokens, in seconds.
    pub service_token_seconds: u64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            lock_on_high_severity: true,
            webhook_url: None,
            webhook_secret: None,
            webhook_ca_file: None,
            webhook_timeout_secs: 5,
            webhook_max_attempts: 5,
            webhook_queue_capacity: 1000,
            login_failure_burst: Threshold::new(10, 15 * 60),
            credential_stuffing: Threshold::new(10, 10 * 60),
            refused_tokens_per_address: Threshold::new(20, 5 * 60),
            refused_tokens_per_subject: Threshold::new(10, 5 * 60),
            new_device_payment_window_secs: 24 * 60 * 60,
            rule_max_keys: 100_000,
            service_token_seconds: 15 * 60,
        }
    }
}

impl SecurityConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.validate_webhook()?;
        self.login_failure_burst
            .validate("security.login_failure_burst")?;
        self.credential_stuffing
            .validate("security.credential_stuffing")?;
        self.refused_tokens_per_address
            .validate("security.refused_tokens_per_address")?;
        self.refused_tokens_per_subject
            .validate("security.refused_tokens_per_subject")?;
        if !(1..=30 * 24 * 60 * 60).contains(&self.new_device_payment_window_secs) {
            return Err((
                "security.new_device_payment_window_secs",
                format!(
                    "{} is out of range; use 1 to 2592000 (30 days)",
                    self.new_device_payment_window_secs
                ),
            ));
        }
        if !(100..=10_000_000).contains(&self.rule_max_keys) {
            return Err((
                "security.rule_max_keys",
                format!(
                    "{} is out of range; use 100 to 10000000",
                    self.rule_max_keys
                ),
            ));
        }
        if !(60..=3600).contains(&self.service_token_seconds) {
            return Err((
                "security.service_token_seconds",
                format!(
                    "{} is out of range; use 60 to 3600",
                    self.service_token_seconds
                ),
            ));
        }
        Ok(())
    }

    fn validate_webhook(&self) -> Result<(), (&'static str, String)> {
        if !(1..=60).contains(&self.webhook_timeout_secs) {
            return Err((
                "security.webhook_timeout_secs",
                format!("{} is out of range; use 1 to 60", self.webhook_timeout_secs),
            ));
        }
        if !(1..=20).contains(&self.webhook_max_attempts) {
            return Err((
                "security.webhook_max_attempts",
                format!("{} is out of range; use 1 to 20", self.webhook_max_attempts),
            ));
        }
        if !(1..=100_000).contains(&self.webhook_queue_capacity) {
            return Err((
                "security.webhook_queue_capacity",
                format!(
                    "{} is out of range; use 1 to 100000",
                    self.webhook_queue_capacity
                ),
            ));
        }
        let Some(url) = &self.webhook_url else {
            return Ok(());
        };
        match reqwest::Url::parse(url) {
            Ok(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => {}
            _ => {
                return Err((
                    "security.webhook_url",
                    format!("{url:?} is not an https:// URL with a host"),
                ));
            }
        }
        match &self.webhook_secret {
            Some(secret) if secret.expose_secret().len() >= MIN_WEBHOOK_SECRET_BYTES => Ok(()),
            Some(_) => Err((
                "security.webhook_secret",
                format!("is too short; use at least {MIN_WEBHOOK_SECRET_BYTES} random bytes"),
            )),
            None => Err((
                "security.webhook_secret",
                "is missing; webhook_url needs a secret to sign alerts with".to_owned(),
            )),
        }
    }

    /// Returns the settings for the start-up log, with the secret redacted.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "lock_on_high_severity": self.lock_on_high_severity,
            "webhook_url": self.webhook_url.as_deref().map(webhook_origin),
            "webhook_secret": self.webhook_secret.as_ref().map(|_| "[redacted]"),
            "webhook_ca_file": self.webhook_ca_file.as_ref().map(|path| path.display().to_string()),
            "webhook_timeout_secs": self.webhook_timeout_secs,
            "webhook_max_attempts": self.webhook_max_attempts,
            "login_failure_burst": format!("{:?}", self.login_failure_burst),
            "credential_stuffing": format!("{:?}", self.credential_stuffing),
            "refused_tokens_per_address": format!("{:?}", self.refused_tokens_per_address),
            "refused_tokens_per_subject": format!("{:?}", self.refused_tokens_per_subject),
            "new_device_payment_window_secs": self.new_device_payment_window_secs,
            "service_token_seconds": self.service_token_seconds,
        })
    }
}

impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecurityConfig {}", self.redacted())
    }
}

/// Returns `https://host[:port]` of a webhook URL. Some alert services put
/// a secret in the path or query, so only the origin is logged.
pub fn webhook_origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => parsed.origin().ascii_serialization(),
        Err(_) => "[invalid URL]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        SecurityConfig::default().validate().expect("defaults");
    }

    #[test]
    fn webhook_needs_https_and_secret() {
        let plain = SecurityConfig {
            webhook_url: Some("http://127.0.0.1:9/hook".to_owned()),
            webhook_secret: Some(SecretString::from("s".repeat(32))),
            ..SecurityConfig::default()
        };
        assert_eq!(
            plain.validate().expect_err("http").0,
            "security.webhook_url"
        );

        let no_secret = SecurityConfig {
            webhook_url: Some("https://127.0.0.1:9/hook".to_owned()),
            ..SecurityConfig::default()
        };
        assert_eq!(
            no_secret.validate().expect_err("secret").0,
            "security.webhook_secret"
        );

        let short_secret = SecurityConfig {
            webhook_secret: Some(SecretString::from("short".to_owned())),
            ..no_secret
        };
        let (key, message) = short_secret.validate().expect_err("short");
        assert_eq!(key, "security.webhook_secret");
        assert!(!message.contains("short\""), "{message}");
    }

    #[test]
    fn redacted_hides_webhook_secret() {
        let config = SecurityConfig {
            webhook_url: Some("https://127.0.0.1:9/hooks/path-token-value".to_owned()),
            webhook_secret: Some(SecretString::from("webhook-secret-value-".repeat(2))),
            ..SecurityConfig::default()
        };

        let redacted = config.redacted().to_string();
        let debug = format!("{config:?}");
        assert!(!redacted.contains("webhook-secret-value"), "{redacted}");
        assert!(!debug.contains("webhook-secret-value"), "{debug}");
        assert!(!debug.contains("path-token-value"), "{debug}");
        assert!(!redacted.contains("path-token-value"), "{redacted}");
        assert!(redacted.contains("https://127.0.0.1:9"), "{redacted}");
    }

    #[test]
    fn webhook_settings_come_from_environment() {
        let env = [
            (
                "SHAREPAY_SECURITY__WEBHOOK_URL",
                "https://127.0.0.1:9443/hook",
            ),
            (
                "SHAREPAY_SECURITY__WEBHOOK_SECRET",
                "an-environment-secret-of-40-bytes-length",
            ),
            ("SHAREPAY_SECURITY__LOCK_ON_HIGH_SEVERITY", "false"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()));

        let config = crate::config::ServerConfig::load(None, env).expect("load");
        config.validate().expect("valid");
        let security = &config.security;
        assert_eq!(
            security.webhook_url.as_deref(),
            Some("https://127.0.0.1:9443/hook")
        );
        assert!(security.webhook_secret.is_some());
        assert!(!security.lock_on_high_severity);
    }

    #[test]
    fn zero_threshold_is_rejected() {
        let config = SecurityConfig {
            credential_stuffing: Threshold::new(0, 60),
            ..SecurityConfig::default()
        };
        assert_eq!(
            config.validate().expect_err("zero").0,
            "security.credential_stuffing"
        );
    }
}
