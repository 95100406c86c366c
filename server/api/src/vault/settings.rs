//! The `[vault]` section of the server configuration: where the card vault
//! runs and how the API reaches it.
//!
//! `mode = "embedded"` (the default) starts the vault in the API's process
//! on its own phone-facing listener. `mode = "remote"` reaches a vault that
//! runs as its own service (`sharepay-server vault`) over mTLS. The same
//! section also sets the listeners of `sharepay-server vault`. This module
//! holds no key material: it only names the files that contain it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::ConfigError;

/// Port of the vault's phone-facing listener when none is configured.
pub const DEFAULT_PHONE_PORT: u16 = 8444;
/// Port of the API-facing mTLS listener of `sharepay-server vault`.
pub const DEFAULT_API_PORT: u16 = 8445;
/// File name of the API's vault client certificate in `data_dir/tls`.
pub const CLIENT_CERTIFICATE_FILE: &str = "vault-client.pem";
/// File name of the private key of that certificate in `data_dir/tls`.
pub const CLIENT_KEY_FILE: &str = "vault-client-key.pem";

/// The place the vault runs: in the API process or as its own service.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VaultMode {
    /// In the API's process, called through `VaultClient::InProcess`.
    #[default]
    Embedded,
    /// As its own service, called over mTLS through `VaultClient::Remote`.
    Remote,
}

/// Settings of the `[vault]` section. Every field has a default that
/// starts an embedded vault with no setup.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultSettings {
    pub mode: VaultMode,
    /// Folder of the vault's keyring, database and TLS files (embedded
    /// mode and `sharepay-server vault`); unset means `data_dir/vault`.
    pub data_dir: Option<PathBuf>,
    /// Address of the phone-facing listener (embedded mode and
    /// `sharepay-server vault`). Unset means `127.0.0.1:8444`, or a free
    /// port when `listen` uses port 0.
    pub phone_listen: Option<SocketAddr>,
    /// Address of the API-facing mTLS listener of `sharepay-server vault`;
    /// unset means `127.0.0.1:8445`.
    pub api_listen: Option<SocketAddr>,
    /// PEM file of the CA whose client certificates `sharepay-server vault`
    /// accepts; unset means the API's local CA, `data_dir/tls/ca.pem`.
    pub client_ca_file: Option<PathBuf>,
    /// Remote mode: `https://host:port` of the vault's API-facing listener.
    pub url: Option<String>,
    /// Remote mode: PEM file of the CA that issued the vault's certificate.
    pub ca_certificate_file: Option<PathBuf>,
    /// Remote mode: base64 SHA-256 SPKI pins of the vault's keys.
    pub spki_pins: Vec<String>,
    /// Remote mode: the phone-facing URL of the vault, passed on to phones.
    pub phone_url: Option<String>,
    /// Remote mode: PEM client certificate the API presents; unset means
    /// the one the API's local CA issued, `data_dir/tls/vault-client.pem`.
    pub client_certificate_file: Option<PathBuf>,
    /// Remote mode: PEM private key of that certificate; unset means
    /// `data_dir/tls/vault-client-key.pem`.
    pub client_key_file: Option<PathBuf>,
}

impl VaultSettings {
    /// Checks that remote mode names the vault and its trust anchors, and
    /// that embedded mode sets no remote-only key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.mode {
            VaultMode::Remote => {
                let Some(url) = &self.url else {
                    return Err(invalid(
                        "vault.url",
                        "is required with mode = \"remote\"; name the vault's API listener, \
                         as in https://127.0.0.1:8445",
                    ));
                };
                if !url.starts_with("https://") {
                    return Err(invalid(
                        "vault.url",
                        format!("{url:?} must start with https://"),
                    ));
                }
                if self.ca_certificate_file.is_none() {
                    return Err(invalid(
                        "vault.ca_certificate_file",
                        "is required with mode = \"remote\"; name the vault's ca.pem",
                    ));
                }
                if self.spki_pins.is_empty() {
                    return Err(invalid(
                        "vault.spki_pins",
                        "is required with mode = \"remote\"; copy the vault-spki-pin-sha256 \
                         lines that `sharepay-server vault` prints",
                    ));
                }
                if self.client_certificate_file.is_some() != self.client_key_file.is_some() {
                    return Err(invalid(
                        "vault.client_certificate_file",
                        "and vault.client_key_file must be set together",
                    ));
                }
            }
            VaultMode::Embedded => {
                if self.url.is_some() {
                    return Err(invalid(
                        "vault.url",
                        "is only used with mode = \"remote\"; set the mode or remove the url",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Returns the vault's data directory under the API's `data_dir`
    /// unless one is configured.
    pub fn data_dir(&self, api_data_dir: &Path) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| api_data_dir.join("vault"))
    }

    /// Returns the phone-facing listen address. An API on port 0 (tests,
    /// the demo) gets a vault on a free port too, so servers started side
    /// by side do not collide on 8444.
    pub fn phone_listen(&self, api_listen: SocketAddr) -> SocketAddr {
        match self.phone_listen {
            Some(address) => address,
            None if api_listen.port() == 0 => SocketAddr::new(api_listen.ip(), 0),
            None => SocketAddr::new(api_listen.ip(), DEFAULT_PHONE_PORT),
        }
    }

    pub fn api_listen(&self) -> SocketAddr {
        self.api_listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEFAULT_API_PORT)))
    }

    pub fn client_ca_file(&self, api_data_dir: &Path) -> PathBuf {
        self.client_ca_file
            .clone()
            .unwrap_or_else(|| api_data_dir.join("tls").join("ca.pem"))
    }

    /// Returns the client certificate and key files the API presents.
    pub fn client_identity_files(&self, api_data_dir: &Path) -> (PathBuf, PathBuf) {
        match (&self.client_certificate_file, &self.client_key_file) {
            (Some(certificate), Some(key)) => (certificate.clone(), key.clone()),
            _ => {
                let tls = api_data_dir.join("tls");
                (tls.join(CLIENT_CERTIFICATE_FILE), tls.join(CLIENT_KEY_FILE))
            }
        }
    }

    /// Returns the section as JSON for the start-up log; it contains no secret.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "mode": format!("{:?}", self.mode).to_lowercase(),
            "data_dir": self.data_dir.as_ref().map(|p| p.display().to_string()),
            "phone_listen": self.phone_listen.map(|a| a.to_string()),
            "api_listen": self.api_listen.map(|a| a.to_string()),
            "client_ca_file": self.client_ca_file.as_ref().map(|p| p.display().to_string()),
            "url": self.url,
            "ca_certificate_file": self.ca_certificate_file.as_ref().map(|p| p.display().to_string()),
            "spki_pins": self.spki_pins,
            "phone_url": self.phone_url,
            "client_certificate_file": self.client_certificate_file.as_ref().map(|p| p.display().to_string()),
            "client_key_file": self.client_key_file.as_ref().map(|p| p.display().to_string()),
        })
    }
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        env: crate::config::env_name(key),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_mode_requires_url() {
        let settings = VaultSettings {
            mode: VaultMode::Remote,
            ..VaultSettings::default()
        };

        let message = settings.validate().expect_err("no url").to_string();
        assert!(message.contains("vault.url"), "{message}");
        assert!(message.contains("SHAREPAY_VAULT__URL"), "{message}");
    }

    #[test]
    fn remote_mode_requires_pins() {
        let settings = VaultSettings {
            mode: VaultMode::Remote,
            url: Some("https://127.0.0.1:8445".to_owned()),
            ca_certificate_file: Some(PathBuf::from("/srv/vault/tls/ca.pem")),
            ..VaultSettings::default()
        };

        let message = settings.validate().expect_err("no pins").to_string();
        assert!(message.contains("vault.spki_pins"), "{message}");
    }

    #[test]
    fn free_api_port_frees_vault_port() {
        let settings = VaultSettings::default();

        let free = settings.phone_listen("127.0.0.1:0".parse().expect("address"));
        let fixed = settings.phone_listen("127.0.0.1:8443".parse().expect("address"));

        assert_eq!(free.port(), 0);
        assert_eq!(fixed.port(), DEFAULT_PHONE_PORT);
    }
}
