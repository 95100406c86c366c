//! Helpers for the security tests: a webhook receiver on a loopback TLS 1.3
//! listener with its own CA, and an administrator on a live server.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use secrecy::SecretString;
use serde_json::json;
use sharepay_server::http_config::HttpConfig;
use sharepay_server::security::SecurityConfig;
use sharepay_server::serve::{ListenerLimits, serve_tls};
use sharepay_server::tls::TlsMaterial;
use tokio::sync::{mpsc, watch};

use crate::identity_support::{Live, text};

pub const WEBHOOK_SECRET: &str = "webhook-test-secret-0123456789abcdef";

/// One request the receiver got.
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// An HTTPS endpoint that records every POST to `/hook`. It responds to
/// the first `failures` requests with 503, to exercise retries.
pub struct WebhookReceiver {
    pub url: String,
    pub ca_file: PathBuf,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    shutdown: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
struct ReceiverState {
    sender: mpsc::UnboundedSender<Delivery>,
    failures_left: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    use std::sync::atomic::Ordering;

    let failing = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    let _ = state.sender.send(Delivery { headers, body });
    if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

impl WebhookReceiver {
    pub async fn start(failures: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tls = TlsMaterial::load_or_create(dir.path()).expect("receiver TLS files");
        let (sender, deliveries) = mpsc::unbounded_channel();
        let state = ReceiverState {
            sender,
            failures_left: std::sync::Arc::new(std::sync::atomic::AtomicU32::new(failures)),
        };
        let router = Router::new()
            .route("/hook", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let address = listener.local_addr().expect("receiver address");
        let (shutdown, shutdown_receiver) = watch::channel(false);
        tokio::spawn(serve_tls(
            listener,
            tls.server_config().expect("receiver TLS config"),
            router,
            ListenerLimits::from_config(&HttpConfig::default()),
            shutdown_receiver,
        ));
        Self {
            url: format!("https://{address}/hook"),
            ca_file: tls.ca_certificate_path.clone(),
            deliveries,
            shutdown,
            _dir: dir,
        }
    }

    /// Waits up to 20 s for the next delivery.
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(20), self.deliveries.recv())
            .await
            .expect("no webhook delivery within 20 s")
            .expect("receiver closed")
    }

    /// Returns a delivery that already arrived, if any.
    pub fn try_next(&mut self) -> Option<Delivery> {
        self.deliveries.try_recv().ok()
    }

    /// Security settings that alert this receiver.
    pub fn config(&self) -> SecurityConfig {
        SecurityConfig {
            webhook_url: Some(self.url.clone()),
            webhook_secret: Some(SecretString::from(WEBHOOK_SECRET.to_owned())),
            webhook_ca_file: Some(self.ca_file.clone()),
            webhook_timeout_secs: 5,
            ..SecurityConfig::default()
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Registers `email`, grants it the admin role through the command line
/// and logs it in; returns its access token.
pub async fn admin_token(live: &Live, email: &str) -> String {
    live.register(email).await;
    let output = live.backend.run_cli(&["user", "grant-admin", email]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tokens = live.login(email, "admin-laptop").await;
    text(&tokens, "access_token").to_owned()
}

/// Lists security events through the admin endpoint.
pub async fn admin_events(live: &Live, admin: &str, query: &str) -> serde_json::Value {
    let (status, page) = live
        .get_with(&format!("/v1/admin/security-events?{query}"), admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// Builds a login body with a wrong password.
pub fn wrong_login(email: &str) -> serde_json::Value {
    json!({"email": email, "password": "Wrong-Password-0000!", "device_fingerprint": "attacker"})
}
