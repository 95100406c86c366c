//! The SharePay API server.
//!
//! [`start`] opens the data directory (keys, TLS files, the SQLCipher
//! store), binds the HTTPS listener and serves until shut down. The binary
//! in `main.rs` and the in-process demo and tests all go through it.

pub mod auth;
pub mod error;
pub mod extract;
pub mod keyring;
pub mod routes;
pub mod serve;
pub mod store;
pub mod tls;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
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

use crate::auth::password::PasswordHashing;
use crate::auth::tokens::TokenSigner;
use crate::error::StartupError;
use crate::keyring::{KeyProvider, KeyPurpose, LocalKeyring};
use crate::store::Store;
use crate::store::sqlcipher::SqlCipherStore;
use crate::tls::TlsMaterial;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const DATABASE_FILE: &str = "sharepay.db";

/// What the server needs to start. Every field has a default that works
/// with no setup.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("sharepay-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
        }
    }
}

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
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
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartupError::io("create the data directory", &config.data_dir, e))?;
    let data_dir = std::fs::canonicalize(&config.data_dir)
        .map_err(|e| StartupError::io("resolve", &config.data_dir, e))?;

    let keyring = LocalKeyring::open_or_create(&data_dir)?;
    let tls = TlsMaterial::load_or_create(&data_dir.join("tls"))?;
    let state = build_state(&data_dir, &keyring)?;
    let router = router(state);

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartupError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
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

fn build_state(
    data_dir: &std::path::Path,
    keys: &dyn KeyProvider,
) -> Result<AppState, StartupError> {
    let key_error = |e: keyring::KeyError| StartupError::Config(e.to_string());
    let database_key = keys.data_key(KeyPurpose::Database).map_err(key_error)?;
    let store = SqlCipherStore::open(&data_dir.join(DATABASE_FILE), database_key.expose())
        .map_err(|e| StartupError::Store(e.to_string()))?;

    let pepper = keys
        .data_key(KeyPurpose::PasswordPepper)
        .map_err(key_error)?;
    let max_parallel_hashes = std::thread::available_parallelism().map_or(2, usize::from);
    let passwords = PasswordHashing::new(
        SecretSlice::from(pepper.expose().to_vec()),
        max_parallel_hashes,
    )
    .map_err(|e| StartupError::Config(e.to_string()))?;

    let signing_key = keys.data_key(KeyPurpose::JwtSigning).map_err(key_error)?;
    let tokens = TokenSigner::new(&signing_key).map_err(|e| StartupError::Config(e.to_string()))?;

    Ok(AppState {
        store: Arc::new(store),
        passwords: Arc::new(passwords),
        tokens: Arc::new(tokens),
    })
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
