//! The `[notifications]` configuration section: which adapter delivers
//! email and SMS, their connection settings, and the retry policy.
//!
//! Secrets (the SMTP password, the SMS gateway token) are `SecretString`s,
//! redacted in `Debug` and never logged.

use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;

/// The adapter that delivers email.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EmailAdapter {
    /// Files under `<data_dir>/mailbox/`, for development and tests.
    #[default]
    Mailbox,
    /// An SMTP server, configured in `[notifications.smtp]`.
    Smtp,
}

/// The adapter that delivers SMS.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmsAdapter {
    /// Files under `<data_dir>/mailbox/`, for development and tests.
    #[default]
    Mailbox,
    /// An HTTP gateway, configured in `[notifications.sms_gateway]`.
    Gateway,
}

/// The protection of the SMTP connection.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No TLS at all. Only for a relay on the same machine or in tests.
    None,
}

/// Settings of the SMTP adapter.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name for SMTP AUTH; unset sends without authentication.
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The From address, such as `SharePay <no-reply@example.org>`.
    pub from: String,
    /// Seconds one delivery may take before it counts as failed.
    pub timeout_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            from: "SharePay <no-reply@sharepay.invalid>".to_owned(),
            timeout_seconds: 30,
        }
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

/// Settings of the HTTP SMS gateway adapter. The gateway receives
/// `POST <url>` with `Authorization: Bearer <token>` and the JSON body
/// `{"to": "+15551234567", "text": "..."}`, and must respond with a 2xx status.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsGatewayConfig {
    pub url: Option<String>,
    pub bearer_token: Option<SecretString>,
    /// Seconds one request may take before it counts as failed.
    pub timeout_seconds: Option<u64>,
    /// PEM file of an extra CA to trust for the gateway, for a gateway with
    /// a private certificate; the system's roots are not loaded otherwise.
    pub ca_certificate_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for SmsGatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsGatewayConfig")
            .field("url", &self.url)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "[redacted]"),
            )
            .field("timeout_seconds", &self.timeout_seconds)
            .field("ca_certificate_file", &self.ca_certificate_file)
            .finish()
    }
}

/// Settings of the `[notifications]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    pub email: EmailAdapter,
    pub sms: SmsAdapter,
    pub smtp: SmtpConfig,
    pub sms_gateway: SmsGatewayConfig,
    /// Attempts per message before the worker gives up on it.
    pub max_attempts: u32,
    /// Seconds before the first retry; each further retry waits twice as
    /// long, up to one hour.
    pub retry_base_seconds: u64,
    /// Milliseconds between outbox polls when no new message woke the
    /// worker (new messages from this instance wake it at once).
    pub poll_interval_ms: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            email: EmailAdapter::Mailbox,
            sms: SmsAdapter::Mailbox,
            smtp: SmtpConfig::default(),
            sms_gateway: SmsGatewayConfig::default(),
            max_attempts: 8,
            retry_base_seconds: 10,
            poll_interval_ms: 2_000,
        }
    }
}

impl NotificationsConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=100).contains(&self.max_attempts) {
            return Err((
                "notifications.max_attempts",
                format!("{} is out of range; use 1 to 100", self.max_attempts),
            ));
        }
        if !(1..=3600).contains(&self.retry_base_seconds) {
            return Err((
                "notifications.retry_base_seconds",
                format!("{} is out of range; use 1 to 3600", self.retry_base_seconds),
            ));
        }
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return Err((
                "notifications.poll_interval_ms",
                format!("{} is out of range; use 10 to 60000", self.poll_interval_ms),
            ));
        }
        if self.email == EmailAdapter::Smtp {
            if self.smtp.host.trim().is_empty() {
                return Err((
                    "notifications.smtp.host",
                    "is empty; set the SMTP server's host name".to_owned(),
                ));
            }
            if self.smtp.username.is_some() != self.smtp.password.is_some() {
                return Err((
                    "notifications.smtp.password",
                    "set both username and password for SMTP AUTH, or neither".to_owned(),
                ));
            }
        }
        if self.sms == SmsAdapter::Gateway {
            let url = self.sms_gateway.url.as_deref().unwrap_or_default();
            if !url.starts_with("https://") && !url.starts_with("http://127.0.0.1") {
                return Err((
                    "notifications.sms_gateway.url",
                    "must be an https:// URL (http:// only for 127.0.0.1)".to_owned(),
                ));
            }
            if self.sms_gateway.bearer_token.is_none() {
                return Err((
                    "notifications.sms_gateway.bearer_token",
                    "is missing; set the gateway's API token".to_owned(),
                ));
            }
        }
        Ok(())
    }
}
