//! The SharePay card vault.
//!
//! The phone sends card number, expiry and CVC straight to the vault over
//! the vault's own pinned TLS endpoint. The vault checks them with
//! `sharepay_domain::card`, verifies the card with the processor (the only
//! use of the CVC, which is never stored), encrypts the number under its own
//! key and returns a random token. Only the vault detokenizes, and only to
//! hand the number to the [`ProcessorAdapter`].
//!
//! [`start`] opens the data directory (keyring, TLS files, SQLCipher store)
//! and serves the phone-facing listener, plus the API-facing mTLS listener
//! when [`VaultConfig::remote`] is set. The API server reaches the vault
//! through [`VaultClient`], in process or remotely.

mod client;
mod crypto;
mod error;
mod files;
mod http;
pub mod keyring;
pub mod processor;
mod serve;
mod service;
mod store;
mod tls;
mod wire;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::client::{RemoteVault, RemoteVaultConfig, VaultClient};
pub use crate::error::{ServiceError, VaultError};
pub use crate::processor::{ProcessorAdapter, RefundFailureReason, SandboxProcessor};
pub use crate::service::VaultHandle;
pub use crate::tls::{TlsFiles, spki_pin};
pub use crate::wire::{
    ChargeRefundRequest, ChargeRefundResponse, ChargeRefundStatus, ChargeRequest, ChargeResponse,
    ChargeStatus, IntakeToken,
};

/// File name of the vault's SQLCipher database inside its data directory.
pub const DATABASE_FILE: &str = "vault.db";

/// Start-up settings of the vault. [`VaultConfig::new`] gives defaults that
/// work with no setup.
#[derive(Clone)]
pub struct VaultConfig {
    /// Folder for the vault keyring, database and TLS files; created if
    /// missing. It must differ from the API server's data directory.
    pub data_dir: PathBuf,
    /// Address of the phone-facing listener; port 0 picks a free port.
    pub phone_listen: SocketAddr,
    /// Operator-supplied TLS files; `None` generates them in the data
    /// directory on first start.
    pub tls_files: Option<TlsFiles>,
    /// Settings of the API-facing mTLS listener. `None` keeps
    /// them in process only, through [`RunningVault::handle`].
    pub remote: Option<RemoteListenerConfig>,
    /// The payment processor; the sandbox by default.
    pub processor: Arc<dyn ProcessorAdapter>,
    /// Deadline of one processor call. A charge that passes it returns a
    /// retryable failure.
    pub processor_timeout: Duration,
    /// Lifetime of a card intake token.
    pub intake_token_lifetime: Duration,
}

/// The API-facing listener of a vault that runs as its own service.
#[derive(Clone, Debug)]
pub struct RemoteListenerConfig {
    /// Address of the listener; port 0 picks a free port.
    pub listen: SocketAddr,
    /// PEM file of the CA whose client certificates are accepted (the API
    /// server's client identity is issued by it).
    pub client_ca_path: PathBuf,
}

impl VaultConfig {
    /// Creates a configuration with the sandbox processor, a 10-second processor
    /// timeout, 10-minute intake tokens, the phone listener on
    /// `127.0.0.1:8444` and no remote listener.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            phone_listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            tls_files: None,
            remote: None,
            processor: Arc::new(SandboxProcessor::default()),
            processor_timeout: Duration::from_secs(10),
            intake_token_lifetime: Duration::from_secs(10 * 60),
        }
    }
}

impl fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultConfig")
            .field("data_dir", &self.data_dir)
            .field("phone_listen", &self.phone_listen)
            .field("tls_files", &self.tls_files)
            .field("remote", &self.remote)
            .field("processor_timeout", &self.processor_timeout)
            .field("intake_token_lifetime", &self.intake_token_lifetime)
            .finish_non_exhaustive()
    }
}

/// A started vault.
pub struct RunningVault {
    /// `https://ADDR` of the phone-facing listener.
    pub phone_url: String,
    /// `https://ADDR` of the API-facing mTLS listener, when configured.
    pub api_url: Option<String>,
    pub ca_certificate_path: PathBuf,
    /// PEM of the CA that phones trust for the vault.
    pub ca_certificate_pem: String,
    /// Pins of the key in use and of the backup key, base64 SHA-256 SPKI.
    pub spki_pins: Vec<String>,
    handle: VaultHandle,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for RunningVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningVault")
            .field("phone_url", &self.phone_url)
            .field("api_url", &self.api_url)
            .field("spki_pins", &self.spki_pins)
            .finish_non_exhaustive()
    }
}

impl RunningVault {
    /// In-process access for a server that embeds the vault.
    pub fn handle(&self) -> VaultHandle {
        self.handle.clone()
    }

    /// Returns a [`VaultClient`] that calls this vault in process.
    pub fn in_process_client(&self) -> VaultClient {
        VaultClient::InProcess(self.handle.clone())
    }

    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.wait().await;
    }

    /// Waits until every listener stops.
    pub async fn wait(self) {
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a vault listener task failed");
            }
        }
    }

    /// Formats the lines a binary prints on start, one fact per line, in
    /// the API server's format: the phone URL, the API URL when remote, the
    /// CA certificate path and each SPKI pin.
    pub fn startup_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("vault-listening: {}", self.phone_url)];
        if let Some(api_url) = &self.api_url {
            lines.push(format!("vault-api-listening: {api_url}"));
        }
        lines.push(format!(
            "vault-ca-certificate: {}",
            self.ca_certificate_path.display()
        ));
        for pin in &self.spki_pins {
            lines.push(format!("vault-spki-pin-sha256: {pin}"));
        }
        lines
    }

    /// Returns a sender that starts a graceful shutdown when sent `true`.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Opens the data directory, binds the listeners and serves them in
/// background tasks.
pub async fn start(config: VaultConfig) -> Result<RunningVault, VaultError> {
    let data_dir = &config.data_dir;
    std::fs::create_dir_all(data_dir).map_err(|e| VaultError::io("create", data_dir, e))?;
    let data_dir =
        std::fs::canonicalize(data_dir).map_err(|e| VaultError::io("resolve", data_dir, e))?;

    // Keys, TLS identity, store.
    let keyring = keyring::VaultKeyring::open_or_create(&data_dir)?;
    let tls = tls::TlsMaterial::load(&data_dir.join("tls"), config.tls_files.as_ref())?;
    let store = store::VaultStore::open(&data_dir.join(DATABASE_FILE), keyring.database_key())
        .map_err(|e| VaultError::Store(e.to_string()))?;
    let cipher =
        crypto::CardCipher::new(&keyring).map_err(|e| VaultError::Config(e.to_string()))?;
    drop(keyring);
    let handle = VaultHandle::new(service::VaultService {
        store,
        cipher,
        processor: config.processor,
        processor_timeout: config.processor_timeout,
        intake_token_lifetime: config.intake_token_lifetime,
    });

    // Listeners.
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let mut tasks = Vec::new();
    let phone_listener = bind(config.phone_listen).await?;
    let phone_addr = local_addr(&phone_listener)?;
    tasks.push(tokio::spawn(serve::serve_tls(
        "phone",
        phone_listener,
        tls.phone_config()?,
        http::phone_router(handle.clone()),
        shutdown_receiver.clone(),
    )));

    let mut api_url = None;
    if let Some(remote) = &config.remote {
        let client_ca_pem = files::read_text(&remote.client_ca_path)?;
        let api_listener = bind(remote.listen).await?;
        let api_addr = local_addr(&api_listener)?;
        tasks.push(tokio::spawn(serve::serve_tls(
            "api",
            api_listener,
            tls.api_config(&client_ca_pem)?,
            http::api_router(handle.clone()),
            shutdown_receiver,
        )));
        tracing::info!(%api_addr, client_ca = %remote.client_ca_path.display(), "vault API listener requires client certificates");
        api_url = Some(format!("https://{api_addr}"));
    }
    tracing::info!(%phone_addr, data_dir = %data_dir.display(), "vault serving HTTPS");

    Ok(RunningVault {
        phone_url: format!("https://{phone_addr}"),
        api_url,
        ca_certificate_path: tls.ca_certificate_path.clone(),
        ca_certificate_pem: tls.ca_certificate_pem.clone(),
        spki_pins: vec![tls.spki_pin.clone(), tls.backup_spki_pin.clone()],
        handle,
        shutdown,
        tasks,
    })
}

async fn bind(address: SocketAddr) -> Result<TcpListener, VaultError> {
    TcpListener::bind(address)
        .await
        .map_err(|e| VaultError::Config(format!("cannot listen on {address}: {e}")))
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, VaultError> {
    listener
        .local_addr()
        .map_err(|e| VaultError::Config(format!("cannot read the bound address: {e}")))
}
