//! The HTTP SMS gateway adapter: `POST <url>` with a bearer token and the
//! JSON body `{"to": "<E.164 number>", "text": "<message>"}`.
//!
//! A 2xx response is success, 429 and 5xx are retried, other statuses are
//! permanent failures. TLS uses rustls on ring with the system roots plus
//! an optional extra CA file.

use std::time::Duration;

use async_trait::async_trait;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};

use super::Message;
use super::config::SmsGatewayConfig;
use super::delivery::{DeliveryError, Transport};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends SMS through one HTTP gateway.
pub struct SmsGateway {
    client: reqwest::Client,
    url: String,
    token: SecretString,
}

impl SmsGateway {
    pub fn new(config: &SmsGatewayConfig) -> Result<Self, DeliveryError> {
        let setup = |detail: String| DeliveryError::Permanent(detail);
        let url = config
            .url
            .clone()
            .ok_or_else(|| setup("notifications.sms_gateway.url is not set".to_owned()))?;
        let token = config
            .bearer_token
            .clone()
            .ok_or_else(|| setup("notifications.sms_gateway.bearer_token is not set".to_owned()))?;
        let tls = client_config(config.ca_certificate_file.as_deref())?;
        let timeout = config
            .timeout_seconds
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .build()
            .map_err(|e| setup(format!("building the SMS gateway client failed: {e}")))?;
        Ok(Self { client, url, token })
    }
}

/// rustls settings on ring: the system roots and, if given, one more CA.
fn client_config(
    extra_ca: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, DeliveryError> {
    let setup = |detail: String| DeliveryError::Permanent(detail);
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for certificate in native.certs {
        // A system certificate rustls cannot parse is skipped, as browsers do.
        let _ = roots.add(certificate);
    }
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path)
            .map_err(|e| setup(format!("cannot read {}: {e}", path.display())))?;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            let certificate = certificate
                .map_err(|e| setup(format!("{} is not a PEM certificate: {e}", path.display())))?;
            roots
                .add(certificate)
                .map_err(|e| setup(format!("{}: {e}", path.display())))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(format!("configuring TLS failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[async_trait]
impl Transport for SmsGateway {
    fn name(&self) -> &'static str {
        "sms_gateway"
    }

    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let body = serde_json::json!({ "to": message.recipient, "text": message.body });
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(self.token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                DeliveryError::Temporary(format!(
                    "the SMS gateway request failed: {}",
                    e.without_url()
                ))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let detail = format!("the SMS gateway answered {status}");
        if status.is_server_error() || status.as_u16() == 429 {
            Err(DeliveryError::Temporary(detail))
        } else {
            Err(DeliveryError::Permanent(detail))
        }
    }
}
