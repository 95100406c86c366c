//! The SharePay API server.
//!
//! [`start`] opens the data directory (keys, TLS files, the SQLCipher
//! store), binds the HTTPS listener and serves until shut down. The binary
//! in `main.rs` and the in-process demo and tests all go through it.

pub mod auth;
pub mod error;
pub mod extract;
pub mod http_config;
pub mod keyring;
pub mod middleware;
pub mod observability;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod serve;
pub mod store;
pub mod tls;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use secrecy::SecretSlice;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::auth::password::PasswordHashing;
use crate::auth::tokens::TokenSigner;
use crate::error::StartupError;
use crate::http_config::{HttpConfig, LOGIN_ROUTE, REGISTER_ROUTE};
use crate::keyring::{KeyProvider, KeyPurpose, LocalKeyring};
use crate::rate_limit::RateLimits;
use crate::store::Store;
use crate::store::sqlcipher::SqlCipherStore;
use crate::tls::TlsMaterial;

const DATABASE_FILE: &str = "sharepay.db";

/// What the server needs to start. Every field has a default that works
/// with no setup.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Listener, limits, rate limits, logging and metrics settings.
    pub http: HttpConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("sharepay-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            http: HttpConfig::default(),
        }
    }
}

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub passwords: Arc<PasswordHashing>,
    pub tokens: Arc<TokenSigner>,
    pub limits: Arc<RateLimits>,
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
    config.http.validate().map_err(StartupError::Config)?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartupError::io("create the data directory", &config.data_dir, e))?;
    let data_dir = std::fs::canonicalize(&config.data_dir)
        .map_err(|e| StartupError::io("resolve", &config.data_dir, e))?;

    let keyring = LocalKeyring::open_or_create(&data_dir)?;
    let tls = TlsMaterial::load_or_create(&data_dir.join("tls"))?;
    let limits = Arc::new(RateLimits::new(&config.http).map_err(StartupError::Config)?);
    let state = build_state(&data_dir, &keyring, limits)?;
    let router = router(state, &config.http);

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartupError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| StartupError::Config(format!("cannot read the bound address: {e}")))?;
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let identity = ServedIdentity::new(&tls, &config.http)?;
    let metrics_addr = match config.http.metrics_listen {
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
    let task = tokio::spawn(serve::serve_tls(
        listener,
        identity.server_config,
        router,
        serve::ListenerLimits::from_config(&config.http),
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
    data_dir: &std::path::Path,
    keys: &dyn KeyProvider,
    limits: Arc<RateLimits>,
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
        limits,
    })
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
