//! The SharePay API server.
//!
//! [`start`] opens the data layer (keys, the SQLCipher or PostgreSQL store,
//! the audit trail) and the TLS files, binds the HTTPS listener and serves
//! until shut down. The binary in `main.rs` and the in-process demo and
//! tests all go through it.

pub mod audit;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod data;
pub mod error;
pub mod extract;
pub mod http_config;
pub mod keys;
pub mod routes;
pub mod serve;
pub mod store;
pub mod tls;
pub mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use secrecy::SecretSlice;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use crate::config::ServerConfig;

use crate::audit::{Actor, Audit, AuditEvent, AuditKind, Outcome};
use crate::auth::password::PasswordHashing;
use crate::auth::tokens::TokenSigner;
use crate::data::{DataLayer, OpenMode};
use crate::error::StartupError;
use crate::keys::{KeyProvider, KeyPurpose};
use crate::store::Store;
use crate::store::users::UserDirectory;
use crate::tls::TlsMaterial;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration the server started with.
    pub config: Arc<ServerConfig>,
    pub store: Arc<dyn Store>,
    /// Users with their email encrypted and blind-indexed.
    pub users: Arc<UserDirectory>,
    pub audit: Arc<Audit>,
    pub passwords: Arc<PasswordHashing>,
    pub tokens: Arc<TokenSigner>,
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
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the server task failed");
        }
    }

    /// Waits until the server stops by itself.
    pub async fn wait(self) -> Result<(), tokio::task::JoinError> {
        self.task.await
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

    let data = DataLayer::open(&config, OpenMode::CreateIfMissing).await?;
    let data_dir = data.data_dir.clone();
    let tls = TlsMaterial::load_or_create(&data_dir.join("tls"))?;
    let config_sha256 = config.redacted_sha256();
    let listen = config.listen;
    let state = build_state(config, data)?;
    record_start(&state.audit, &config_sha256, &data_dir).await?;
    let router = router(state);

    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| StartupError::Config(format!("cannot listen on {listen}: {e}")))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| StartupError::Config(format!("cannot read the bound address: {e}")))?;
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let server_config = tls.server_config()?;
    let task = tokio::spawn(serve::serve_tls(
        listener,
        server_config,
        router,
        shutdown_receiver,
    ));
    tracing::info!(%local_addr, data_dir = %data_dir.display(), "serving HTTPS");

    Ok(RunningServer {
        local_addr,
        url: format!("https://{local_addr}"),
        ca_certificate_path: tls.ca_certificate_path.clone(),
        ca_certificate_pem: tls.ca_certificate_pem.clone(),
        spki_pins: vec![tls.spki_pin.clone(), tls.backup_spki_pin.clone()],
        shutdown,
        task,
    })
}

fn build_state(config: ServerConfig, data: DataLayer) -> Result<AppState, StartupError> {
    let keys: &dyn KeyProvider = data.keys.as_ref();
    let key_error = |e: keys::KeyError| StartupError::Config(e.to_string());
    let pepper = keys
        .current(KeyPurpose::PasswordPepper)
        .map_err(key_error)?;
    let max_parallel_hashes = std::thread::available_parallelism().map_or(2, usize::from);
    let passwords = PasswordHashing::new(
        SecretSlice::from(pepper.expose().to_vec()),
        max_parallel_hashes,
    )
    .map_err(|e| StartupError::Config(e.to_string()))?;

    let signing_key = keys.current(KeyPurpose::JwtSigning).map_err(key_error)?;
    let tokens = TokenSigner::new(&signing_key).map_err(|e| StartupError::Config(e.to_string()))?;

    Ok(AppState {
        config: Arc::new(config),
        store: data.store,
        users: data.users,
        audit: data.audit,
        passwords: Arc::new(passwords),
        tokens: Arc::new(tokens),
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
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_XSS_PROTECTION,
            HeaderValue::from_static("0"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    Router::new()
        .route("/v1/health", get(routes::health))
        .route("/v1/auth/register", post(routes::register))
        .route("/v1/auth/login", post(routes::login))
        .route("/v1/me", get(routes::me))
        .fallback(|| async { error::ApiError::NotFound })
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(security_headers)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
