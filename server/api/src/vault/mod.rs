//! How the API server reaches the card vault: an embedded vault on its own
//! loopback listener (the default), or a remote one over mTLS.
//!
//! [`connect`] returns the [`VaultClient`] every payment handler uses.
//! [`start_standalone`] runs the vault as its own service for
//! `sharepay-server vault`. The API never sees a card number through this
//! module: the vault only returns tokens and charge outcomes.

pub mod client_identity;
pub mod settings;

use std::path::Path;

use secrecy::SecretString;
use sharepay_vault::{
    RemoteListenerConfig, RemoteVault, RemoteVaultConfig, RunningVault, VaultClient, VaultConfig,
};

use crate::config::ServerConfig;
use crate::error::StartupError;
use crate::vault::settings::VaultMode;

/// The vault as the API server uses it.
pub struct VaultConnection {
    pub client: VaultClient,
    /// The embedded vault, which stops with the server; `None` in remote mode.
    pub embedded: Option<RunningVault>,
    /// The vault's phone-facing URL, when known.
    pub phone_url: Option<String>,
}

/// Starts the embedded vault in `vault.data_dir` or, in remote mode,
/// builds an mTLS client for the configured vault. On any start it makes
/// sure the API's local CA has issued the API's vault client certificate,
/// so a vault started later with `sharepay-server vault` accepts it.
pub async fn connect(
    config: &ServerConfig,
    api_data_dir: &Path,
) -> Result<VaultConnection, StartupError> {
    let settings = &config.vault;
    if settings.client_certificate_file.is_none() {
        client_identity::ensure_client_identity(&api_data_dir.join("tls"))?;
    }

    match settings.mode {
        VaultMode::Embedded => {
            let mut vault_config = VaultConfig::new(settings.data_dir(api_data_dir));
            vault_config.phone_listen = settings.phone_listen(config.listen);
            let vault = start_vault(vault_config).await?;
            Ok(VaultConnection {
                client: vault.in_process_client(),
                phone_url: Some(vault.phone_url.clone()),
                embedded: Some(vault),
            })
        }
        VaultMode::Remote => {
            let remote = remote_client(config, api_data_dir)?;
            Ok(VaultConnection {
                client: VaultClient::Remote(remote),
                embedded: None,
                phone_url: settings.phone_url.clone(),
            })
        }
    }
}

/// Starts the vault as its own service: the phone-facing listener and the
/// API-facing listener that requires a client certificate issued by
/// `vault.client_ca_file` (the API's local CA by default).
pub async fn start_standalone(
    config: &ServerConfig,
    api_data_dir: &Path,
) -> Result<RunningVault, StartupError> {
    let settings = &config.vault;
    let client_ca_path = settings.client_ca_file(api_data_dir);
    if !client_ca_path.exists() {
        return Err(StartupError::Config(format!(
            "the client CA {} does not exist; start the API server once with this data \
             directory so it creates its local CA, or set vault.client_ca_file",
            client_ca_path.display()
        )));
    }
    let mut vault_config = VaultConfig::new(settings.data_dir(api_data_dir));
    vault_config.phone_listen = settings.phone_listen(config.listen);
    vault_config.remote = Some(RemoteListenerConfig {
        listen: settings.api_listen(),
        client_ca_path,
    });
    start_vault(vault_config).await
}

async fn start_vault(config: VaultConfig) -> Result<RunningVault, StartupError> {
    let data_dir = config.data_dir.clone();
    sharepay_vault::start(config).await.map_err(|e| {
        let message = e.to_string();
        let hint = if message.contains("cannot listen on") {
            "; choose a free address with vault.phone_listen \
             (SHAREPAY_VAULT__PHONE_LISTEN), or vault.api_listen for the mTLS listener"
        } else {
            ""
        };
        StartupError::Config(format!(
            "starting the card vault in {} failed: {message}{hint}",
            data_dir.display()
        ))
    })
}

/// Builds the mTLS client of a remote vault from the `[vault]` section.
pub fn remote_client(
    config: &ServerConfig,
    api_data_dir: &Path,
) -> Result<RemoteVault, StartupError> {
    let settings = &config.vault;
    let missing =
        |key: &str| StartupError::Config(format!("vault.{key} is required in remote mode"));
    let base_url = settings.url.clone().ok_or_else(|| missing("url"))?;
    let ca_path = settings
        .ca_certificate_file
        .as_ref()
        .ok_or_else(|| missing("ca_certificate_file"))?;
    let (certificate_path, key_path) = settings.client_identity_files(api_data_dir);

    let remote = RemoteVaultConfig {
        base_url,
        ca_certificate_pem: read_text(ca_path)?,
        spki_pins: settings.spki_pins.clone(),
        client_certificate_pem: read_text(&certificate_path)?,
        client_key_pem: SecretString::from(read_text(&key_path)?),
    };
    RemoteVault::new(remote)
        .map_err(|e| StartupError::Config(format!("the remote vault settings are invalid: {e}")))
}

fn read_text(path: &Path) -> Result<String, StartupError> {
    std::fs::read_to_string(path).map_err(|e| StartupError::io("read", path, e))
}
