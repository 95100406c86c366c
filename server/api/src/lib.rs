//! The SharePay API server.
//!
//! [`start`] opens the data layer (keys, the SQLCipher or PostgreSQL store,
//! the audit trail) and the TLS files, binds the HTTPS listener and serves
//! until shut down. The binary in `main.rs` and the in-process demo and
//! tests all go through it.

pub mod audit;
pub mod auth;
pub mod config;
pub mod connection_guard;
pub mod crypto;
pub mod data;
pub mod error;
pub mod extract;
pub mod households;
pub mod http_config;
pub mod idempotency;
pub mod identity;
pub mod keys;
pub mod middleware;
pub mod money;
pub mod notify;
pub mod observability;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod security;
pub mod serve;
pub mod service;
pub mod store;
pub mod tls;
pub mod validate;
pub mod vault;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use sharepay_vault::{RunningVault, VaultClient};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

pub use crate::config::ServerConfig;

use crate::audit::{Actor, Audit, AuditEvent, AuditKind, Outcome};
use crate::auth::password::PasswordHashing;
use crate::auth::tokens::TokenSigner;
use crate::data::{DataDirLock, DataLayer, OpenMode};
use crate::error::StartupError;
use crate::http_config::{HttpConfig, LOGIN_ROUTE, REGISTER_ROUTE};
use crate::keys::KeyProvider;
use crate::rate_limit::RateLimits;
use crate::store::Store;
use crate::store::identity::IdentityStore;
use crate::store::users::UserDirectory;
use crate::tls::TlsMaterial;

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration the server started with.
    pub config: Arc<ServerConfig>,
    pub store: Arc<dyn Store>,
    /// Sessions, refresh tokens and roles, on the same backend as `store`.
    pub identity: Arc<dyn IdentityStore>,
    /// Users with their email encrypted and blind-indexed.
    pub users: Arc<UserDirectory>,
    pub audit: Arc<Audit>,
    pub passwords: Arc<PasswordHashing>,
    pub tokens: Arc<TokenSigner>,
    pub limits: Arc<RateLimits>,
    /// Security events, their rules and alerts, and service credentials.
    pub security: Arc<security::SecurityService>,
    /// The card vault, embedded or remote.
    pub vault: VaultClient,
    /// The vault's phone-facing URL, which phones use to save cards.
    pub vault_phone_url: Option<String>,
    /// The WebAuthn relying party, from `[webauthn]`.
    pub webauthn: Arc<webauthn_rs::prelude::Webauthn>,
    /// Second factors, devices and the notification outbox.
    pub mfa: Arc<identity::factors::MfaContext>,
}

/// A started server.
pub struct RunningServer {
    /// The bound address, useful when the configured port was 0.
    pub local_addr: SocketAddr,
    /// `https://ADDR` for clients.
    pub url: String,
    pub ca_certificate_path: PathBuf,
    pub ca_certificate_pem: String,
    /// Pin of the key that serves now, and of the backup key.
    pub spki_pins: Vec<String>,
    /// Address of the plain-HTTP metrics listener, when it runs.
    pub metrics_addr: Option<SocketAddr>,
    /// Lines about the embedded vault to print after the server's own
    /// (`vault-listening: URL`, `vault-ca-certificate: PATH`,
    /// `vault-spki-pin-sha256: PIN`); empty when the vault is remote.
    pub vault_startup_lines: Vec<String>,
    /// The embedded vault's phone-facing endpoint, which a phone client
    /// pins; `None` when the vault is remote.
    pub vault_phone_endpoint: Option<VaultPhoneEndpoint>,
    /// The embedded vault, stopped after the API.
    vault: Option<RunningVault>,
    /// Held while the server runs, so no second server opens the directory.
    _data_dir_lock: Option<DataDirLock>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The phone-facing listener of an embedded vault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultPhoneEndpoint {
    /// `https://ADDR` to which phones post cards.
    pub url: String,
    /// PEM of the CA that phones trust for the vault.
    pub ca_certificate_pem: String,
    /// Base64 SHA-256 SPKI pins of the vault's key in use and its backup.
    pub spki_pins: Vec<String>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the server task failed");
        }
        if let Some(vault) = self.vault {
            vault.shutdown().await;
        }
    }

    /// Waits until the server stops by itself, then stops the embedded vault.
    pub async fn wait(self) -> Result<(), tokio::task::JoinError> {
        let outcome = self.task.await;
        if let Some(vault) = self.vault {
            vault.shutdown().await;
        }
        outcome
    }

    /// Returns an in-process client of the embedded vault, or `None` when
    /// the vault runs remote.
    pub fn embedded_vault_client(&self) -> Option<VaultClient> {
        self.vault.as_ref().map(RunningVault::in_process_client)
    }

    /// Returns a handle that starts a graceful shutdown when sent `true`.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Opens the data directory, binds the listener and starts serving in a
/// background task.
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartupError> {
    config
        .validate()
        .map_err(|e| StartupError::Config(e.to_string()))?;
    tracing::info!(config = %config.redacted(), "effective configuration");

    let mut data = DataLayer::open(&config, OpenMode::CreateIfMissing).await?;
    let data_dir = data.data_dir.clone();
    let data_dir_lock = data.lock.take();
    let tls = TlsMaterial::load_or_create(&data_dir.join("tls"))?;
    let config_sha256 = config.redacted_sha256();
    let listen = config.listen;
    let http = config.http.clone();
    let limits = Arc::new(RateLimits::new(&http).map_err(StartupError::Config)?);
    let vault = vault::connect(&config, &data_dir).await?;
    let vault_startup_lines = vault
        .embedded
        .as_ref()
        .map(RunningVault::startup_lines)
        .unwrap_or_default();
    let vault_phone_endpoint = vault.embedded.as_ref().map(|vault| VaultPhoneEndpoint {
        url: vault.phone_url.clone(),
        ca_certificate_pem: vault.ca_certificate_pem.clone(),
        spki_pins: vault.spki_pins.clone(),
    });
    let rotation = config.identity.rotation_period();
    let keys = Arc::clone(&data.keys);
    let notifications = config.notifications.clone();
    let transports = notify::delivery::Transports::from_config(&notifications, &data_dir)
        .map_err(|e| StartupError::Config(e.to_string()))?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| StartupError::Listen {
            address: listen,
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| StartupError::Config(format!("cannot read the bound address: {e}")))?;
    // WebAuthn derives its origin from the bound port, which differs from
    // the configured one when that is 0.
    let state = build_state(config, data, limits, &vault, local_addr)?;
    let mfa = Arc::clone(&state.mfa);
    let signer = Arc::clone(&state.tokens);
    record_start(&state.audit, &config_sha256, &data_dir).await?;
    let router = router(state, &http);

    let (shutdown, shutdown_receiver) = watch::channel(false);
    let identity = ServedIdentity::new(&tls, &http)?;
    let metrics_addr = match http.metrics_listen {
        Some(listen) => match observability::serve_metrics(listen, shutdown_receiver.clone()).await
        {
            Ok(addr) => Some(addr),
            Err(e) => {
                // The API still serves; only the admin listener is missing.
                tracing::error!(error = %e, "metrics are not served");
                None
            }
        },
        None => None,
    };
    if let Some(period) = rotation {
        tokio::spawn(identity::rotate_signing_keys(
            signer,
            keys,
            period,
            shutdown_receiver.clone(),
        ));
    }
    tokio::spawn(notify::delivery::run(
        Arc::clone(&mfa.store),
        Arc::clone(&mfa.outbox),
        transports,
        notifications,
        shutdown_receiver.clone(),
    ));
    let task = tokio::spawn(serve::serve_tls(
        listener,
        identity.server_config,
        router,
        serve::ListenerLimits::from_config(&http),
        shutdown_receiver,
    ));
    tracing::info!(%local_addr, data_dir = %data_dir.display(), "serving HTTPS");

    Ok(RunningServer {
        local_addr,
        url: format!("https://{local_addr}"),
        ca_certificate_path: identity.ca_certificate_path,
        ca_certificate_pem: identity.ca_certificate_pem,
        spki_pins: identity.spki_pins,
        metrics_addr,
        vault_startup_lines,
        vault_phone_endpoint,
        vault: vault.embedded,
        _data_dir_lock: data_dir_lock,
        shutdown,
        task,
    })
}

/// The certificate the listener presents: the configured files, or the
/// one created in the data directory.
struct ServedIdentity {
    server_config: Arc<rustls::ServerConfig>,
    ca_certificate_path: PathBuf,
    ca_certificate_pem: String,
    spki_pins: Vec<String>,
}

impl ServedIdentity {
    fn new(tls: &TlsMaterial, http: &HttpConfig) -> Result<Self, StartupError> {
        let (Some(cert_file), Some(key_file)) = (&http.tls_cert_file, &http.tls_key_file) else {
            return Ok(Self {
                server_config: tls.server_config()?,
                ca_certificate_path: tls.ca_certificate_path.clone(),
                ca_certificate_pem: tls.ca_certificate_pem.clone(),
                spki_pins: vec![tls.spki_pin.clone(), tls.backup_spki_pin.clone()],
            });
        };
        let (server_config, chain) = serve::tls_config_from_files(cert_file, key_file)?;
        let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0])
            .map_err(|e| StartupError::Tls(format!("invalid {}: {e}", cert_file.display())))?;
        let ca_certificate_pem = std::fs::read_to_string(cert_file)
            .map_err(|e| StartupError::io("read", cert_file, e))?;
        // NOTE: with configured files there is no backup pin, and the
        // "CA" given to clients is the configured chain itself.
        Ok(Self {
            server_config,
            ca_certificate_path: cert_file.clone(),
            ca_certificate_pem,
            spki_pins: vec![tls::spki_pin(leaf.public_key().raw)],
        })
    }
}

fn build_state(
    config: ServerConfig,
    data: DataLayer,
    limits: Arc<RateLimits>,
    vault: &vault::VaultConnection,
    local_addr: SocketAddr,
) -> Result<AppState, StartupError> {
    let keys: &dyn KeyProvider = data.keys.as_ref();
    let max_parallel_hashes = std::thread::available_parallelism().map_or(2, usize::from);
    let passwords = auth::password::load_hashing(keys, max_parallel_hashes)
        .map_err(|e| StartupError::Config(e.to_string()))?;

    let tokens =
        TokenSigner::from_provider(keys).map_err(|e| StartupError::Config(e.to_string()))?;
    let webauthn = identity::webauthn::relying_party(&config.webauthn, local_addr)
        .map_err(StartupError::Config)?;
    let security = security::SecurityService::start(&config.security, Arc::clone(&data.security))
        .map_err(StartupError::Config)?;

    let mfa = identity::factors::MfaContext::new(Arc::clone(&data.mfa), Arc::clone(&data.keys));
    Ok(AppState {
        mfa: Arc::new(mfa),
        config: Arc::new(config),
        store: data.store,
        identity: data.identity,
        users: data.users,
        audit: data.audit,
        passwords: Arc::new(passwords),
        tokens: Arc::new(tokens),
        limits,
        security: Arc::new(security),
        vault: vault.client.clone(),
        vault_phone_url: vault.phone_url.clone(),
        webauthn: Arc::new(webauthn),
    })
}

/// Records the start in the audit trail with the hash of the effective
/// configuration, so a changed configuration shows up between starts.
async fn record_start(
    audit: &Audit,
    config_sha256: &str,
    data_dir: &Path,
) -> Result<(), StartupError> {
    let event = AuditEvent::new(
        AuditKind::SystemChange,
        Actor::System,
        "server.start",
        "server",
        Outcome::Success,
    )
    .details(serde_json::json!({
        "config_sha256": config_sha256,
        "version": env!("CARGO_PKG_VERSION"),
    }));
    audit.record(event).await.map_err(|e| {
        StartupError::Store(format!(
            "recording the start in the audit trail of {} failed: {e}",
            data_dir.display()
        ))
    })?;
    Ok(())
}

/// Builds the `/v1/` router with its middleware.
///
/// Middleware runs outermost first: the request context (request id,
/// span, metrics, problem bodies, security headers), the per-address rate
/// limit, load shedding, the request timeout, then the body limit of the
/// route. `Router::layer` puts them inside routing, so the fallback's 404
/// and axum's 405 pass through all of them.
pub fn router(state: AppState, http: &HttpConfig) -> Router {
    let body_limit = |route: &str| DefaultBodyLimit::max(http.body_limit_for(route));
    let limits = Arc::clone(&state.limits);
    let permits = Arc::new(Semaphore::new(http.max_concurrent_requests));

    Router::new()
        .route("/v1/health", get(routes::health))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .route(
            "/v1/auth/register",
            post(routes::register).layer(body_limit(REGISTER_ROUTE)),
        )
        .route(
            "/v1/auth/login",
            post(routes::login).layer(body_limit(LOGIN_ROUTE)),
        )
        .route("/v1/me", get(routes::me))
        .merge(households::routes())
        .merge(money::routes())
        .merge(identity::routes())
        .merge(identity::webauthn::routes())
        .merge(security::routes())
        .merge(service::routes())
        .fallback(|| async { error::ApiError::NotFound })
        .with_state(state)
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            http.request_timeout(),
            middleware::time_out,
        ))
        .layer(axum::middleware::from_fn_with_state(
            permits,
            middleware::shed_load,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            rate_limit::limit_by_address,
        ))
        .layer(axum::middleware::from_fn(middleware::request_context))
}
