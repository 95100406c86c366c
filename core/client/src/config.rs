//! Client configuration: server addresses, pins and retry timing.

use std::path::PathBuf;

use crate::sync::BackoffPolicy;

/// One pinned HTTPS endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointConfig {
    /// `https://host:port`.
    pub base_url: String,
    /// PEM of the CA(s) the server's certificate must chain to.
    pub ca_certificate_pem: String,
    /// Base64 SHA-256 SPKI pins; one must match a key in the server's chain.
    /// At least two distinct pins (the current key and a backup) unless
    /// [`ClientConfig::allow_single_pin`] is set.
    pub spki_pins: Vec<String>,
}

/// Configuration of a [`crate::SharePayClient`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://host:port` of the API.
    pub base_url: String,
    /// PEM of the CA(s) the API's certificate must chain to.
    pub ca_certificate_pem: String,
    /// The API's pins; see [`EndpointConfig::spki_pins`].
    pub spki_pins: Vec<String>,
    /// Folder of the encrypted store.
    pub data_dir: PathBuf,
    /// Development only: accept a single pin per endpoint. With one pin,
    /// replacing the server key locks out every installed app.
    pub allow_single_pin: bool,
    /// The card vault, which has its own certificate and its own pins.
    pub vault: Option<EndpointConfig>,
    /// Retry timing of the outbox.
    pub backoff: BackoffPolicy,
}

impl ClientConfig {
    /// Creates a configuration for the API only, with two or more pins
    /// required and the default backoff.
    pub fn new(
        base_url: impl Into<String>,
        ca_certificate_pem: impl Into<String>,
        spki_pins: Vec<String>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            ca_certificate_pem: ca_certificate_pem.into(),
            spki_pins,
            data_dir: data_dir.into(),
            allow_single_pin: false,
            vault: None,
            backoff: BackoffPolicy::default(),
        }
    }
}
