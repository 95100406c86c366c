//! Delivery of high-severity alerts to the configured webhook.
//!
//! Each alert is a JSON body POSTed over TLS 1.3 with an
//! `X-SharePay-Signature: sha256=<hex>` header, the HMAC-SHA256 of the
//! exact body bytes under `security.webhook_secret`. A background task
//! delivers alerts, retrying with exponential backoff, so a request never
//! waits for the webhook. When the queue is full or every attempt fails,
//! the alert is dropped and the drop is logged; the event itself stays in
//! the store and the audit trail.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use ring::hmac;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use secrecy::ExposeSecret;
use tokio::sync::{Semaphore, mpsc};
use uuid::Uuid;

use super::config::SecurityConfig;

/// Header carrying `sha256=<hex HMAC of the body>`.
pub const SIGNATURE_HEADER: &str = "x-sharepay-signature";
/// Header carrying the security event id, the same on every retry.
pub const EVENT_ID_HEADER: &str = "x-sharepay-event-id";
/// Alerts delivered at once; more wait in the queue.
const MAX_PARALLEL_DELIVERIES: usize = 4;
/// Wait before the second attempt; it doubles for each later one.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

struct Alert {
    event_id: Uuid,
    body: Vec<u8>,
}

/// The sending side of the alert queue.
pub struct WebhookSender {
    queue: mpsc::Sender<Alert>,
}

/// The client, URL and key shared by every delivery.
struct Delivery {
    client: reqwest::Client,
    url: String,
    key: hmac::Key,
    max_attempts: u32,
}

impl WebhookSender {
    /// Starts the delivery task, or returns `None` when no webhook is
    /// configured.
    pub fn start(config: &SecurityConfig) -> Result<Option<Self>, String> {
        let (Some(url), Some(secret)) = (&config.webhook_url, &config.webhook_secret) else {
            return Ok(None);
        };
        let tls = client_tls_config(config.webhook_ca_file.as_deref())?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(config.webhook_timeout_secs);
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| format!("building the webhook HTTP client failed: {e}"))?;
        let delivery = Arc::new(Delivery {
            client,
            url: url.clone(),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes()),
            max_attempts: config.webhook_max_attempts,
        });
        let (queue, receiver) = mpsc::channel(config.webhook_queue_capacity);
        tokio::spawn(deliver_all(delivery, receiver));
        tracing::info!(
            origin = %super::config::webhook_origin(url),
            "sending security alerts to the webhook"
        );
        Ok(Some(Self { queue }))
    }

    /// Queues an alert without waiting; drops it (and logs the drop) when
    /// the queue is full.
    pub fn send(&self, event_id: Uuid, body: Vec<u8>) {
        if let Err(e) = self.queue.try_send(Alert { event_id, body }) {
            metrics::counter!("security_alerts_dropped_total", "reason" => "queue").increment(1);
            tracing::error!(%event_id, error = %e, "dropped a security alert: the webhook queue is full or closed");
        }
    }
}

/// Returns `sha256=<hex>` of the HMAC-SHA256 of `body` under `key`.
pub fn signature(key: &hmac::Key, body: &[u8]) -> String {
    let tag = hmac::sign(key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// TLS 1.3 with ring, trusting the CA file or else the system's CAs.
fn client_tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                format!(
                    "cannot read security.webhook_ca_file {}: {e}",
                    path.display()
                )
            })?;
            for certificate in CertificateDer::pem_slice_iter(&pem) {
                let certificate = certificate.map_err(|e| {
                    format!(
                        "security.webhook_ca_file {} is not PEM: {e}",
                        path.display()
                    )
                })?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("invalid CA certificate in {}: {e}", path.display()))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for certificate in native.certs {
                // A system certificate that rustls cannot parse is skipped,
                // as browsers do.
                let _ = roots.add(certificate);
            }
        }
    }
    if roots.is_empty() {
        return Err(
            "no CA certificate to verify the webhook with; set security.webhook_ca_file".to_owned(),
        );
    }
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(crate::tls::tls13_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| format!("configuring TLS for the webhook failed: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

async fn deliver_all(delivery: Arc<Delivery>, mut receiver: mpsc::Receiver<Alert>) {
    let permits = Arc::new(Semaphore::new(MAX_PARALLEL_DELIVERIES));
    while let Some(alert) = receiver.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let delivery = Arc::clone(&delivery);
        tokio::spawn(async move {
            deliver(&delivery, alert).await;
            drop(permit);
        });
    }
    tracing::info!("the security alert queue closed");
}

async fn deliver(delivery: &Delivery, alert: Alert) {
    let signature = signature(&delivery.key, &alert.body);
    let event_id = alert.event_id;
    let mut delay = FIRST_RETRY_DELAY;
    for attempt in 1..=delivery.max_attempts {
        let result = delivery
            .client
            .post(&delivery.url)
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header(EVENT_ID_HEADER, event_id.to_string())
            .body(alert.body.clone())
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => {
                tracing::info!(%event_id, attempt, "delivered a security alert");
                return;
            }
            Ok(response) => {
                tracing::warn!(%event_id, attempt, status = %response.status(), "the webhook rejected a security alert");
            }
            Err(e) => {
                tracing::warn!(%event_id, attempt, error = %e, "delivering a security alert failed");
            }
        }
        if attempt < delivery.max_attempts {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
    }
    metrics::counter!("security_alerts_dropped_total", "reason" => "attempts").increment(1);
    tracing::error!(%event_id, attempts = delivery.max_attempts, "gave up delivering a security alert");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_known_hmac() {
        // RFC 4231 test case 2.
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        assert_eq!(
            signature(&key, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn missing_ca_file_is_named() {
        let error =
            client_tls_config(Some(Path::new("/nonexistent/ca.pem"))).expect_err("missing file");
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    }
}
