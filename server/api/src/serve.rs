//! The HTTPS accept loop: TCP, then a TLS 1.3 handshake with a deadline,
//! then HTTP/1.1 or HTTP/2 through hyper, with header size limits and
//! graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::connection_guard::{ConnectionTracker, IdleTimeout};
use crate::error::StartupError;
use crate::http_config::HttpConfig;

/// Timeouts and size limits of the listener, from [`HttpConfig`].
#[derive(Clone, Debug)]
pub struct ListenerLimits {
    /// Time a client gets to finish the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time a client gets to send a request's headers over HTTP/1, so a
    /// slow-loris client cannot hold a connection open.
    pub header_read_timeout: Duration,
    pub http2_keep_alive_interval: Duration,
    pub http2_keep_alive_timeout: Duration,
    pub max_header_bytes: usize,
    /// Time in-flight requests get to finish after shutdown starts.
    pub shutdown_grace: Duration,
    /// Time a connection may move no byte before it is closed.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

impl ListenerLimits {
    pub fn from_config(config: &HttpConfig) -> Self {
        Self {
            handshake_timeout: Duration::from_secs(config.tls_handshake_timeout_secs),
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            http2_keep_alive_interval: Duration::from_secs(config.http2_keep_alive_interval_secs),
            http2_keep_alive_timeout: Duration::from_secs(config.http2_keep_alive_timeout_secs),
            max_header_bytes: config.max_header_bytes,
            shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
            max_connections: config.max_connections,
            max_connections_per_address: config.max_connections_per_address,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    limits: ListenerLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes);
    // NOTE: HTTP/2 has no idle timeout in hyper 1.x; the PINGs only close
    // connections whose peer stopped responding to them.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout);
    let builder = Arc::new(builder);
    let handshake_timeout = limits.handshake_timeout;
    let first_byte_timeout = limits.header_read_timeout;
    let idle_timeout = limits.idle_timeout;
    let connections =
        ConnectionTracker::new(limits.max_connections, limits.max_connections_per_address);

    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let permit = match connections.try_open(peer.ip()) {
            Ok(permit) => permit,
            Err(reason) => {
                // Closed unanswered: a flood must not cost a TLS handshake.
                metrics::counter!("connections_rejected_total", "reason" => format!("{reason:?}"))
                    .increment(1);
                tracing::debug!(%peer, ?reason, "rejected a connection over the limit");
                drop(tcp);
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = tower::ServiceBuilder::new()
                .layer(axum::Extension(PeerAddr(peer)))
                .service(router);
            let service = TowerToHyperService::new(service);
            let io = IdleTimeout::new(tls, first_byte_timeout, idle_timeout);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }

    drop(listener);
    tracing::info!("shutting down; waiting for in-flight requests");
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the shutdown grace period");
    }
}

/// Builds a TLS 1.3 configuration from a PEM certificate chain (leaf first)
/// and its PEM private key, as `tls_cert_file` and `tls_key_file` name them.
pub fn tls_config_from_files(
    cert_file: &Path,
    key_file: &Path,
) -> Result<(Arc<rustls::ServerConfig>, Vec<CertificateDer<'static>>), StartupError> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| StartupError::Tls(format!("invalid {}: {e}", cert_file.display())))?;
    if chain.is_empty() {
        return Err(StartupError::Tls(format!(
            "{} contains no certificate; put the PEM chain there, leaf first",
            cert_file.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| StartupError::Tls(format!("invalid {}: {e}", key_file.display())))?;
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(crate::tls::tls13_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| StartupError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key)
            .map_err(|e| StartupError::Tls(format!("{}: {e}", cert_file.display())))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), chain))
}

/// The TCP peer of the connection a request came on.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);
