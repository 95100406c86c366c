//! [`VaultClient`], the one interface through which the API server calls
//! the vault. It calls a [`VaultHandle`] in process, or a remote vault over
//! HTTPS with a client certificate (mTLS) and the vault's pinned keys.

use std::fmt;
use std::sync::{Arc, Once};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sharepay_domain::card::CardTokenResponse;
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::Problem;
use subtle::ConstantTimeEq;

use crate::error::ServiceError;
use crate::service::VaultHandle;
use crate::tls::{spki_pin, tls13_provider};
use crate::wire::{
    ChargeRefundRequest, ChargeRefundResponse, ChargeRequest, ChargeResponse, IntakeToken,
    IntakeTokenBody, IntakeTokenRequest,
};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The vault as the API server calls it.
#[derive(Clone, Debug)]
pub enum VaultClient {
    /// The vault runs in the same process.
    InProcess(VaultHandle),
    /// The vault runs as its own service and requires a client certificate.
    Remote(RemoteVault),
}

impl VaultClient {
    /// Issues a single-use card intake token for `user_id`.
    pub async fn issue_intake_token(&self, user_id: UserId) -> Result<IntakeToken, ServiceError> {
        match self {
            Self::InProcess(vault) => vault.issue_intake_token(user_id).await,
            Self::Remote(remote) => {
                let body: IntakeTokenBody = remote
                    .post("/v1/intake-tokens", &IntakeTokenRequest { user_id })
                    .await?;
                Ok(IntakeToken::from(body))
            }
        }
    }

    /// Charges a card token, once per idempotency key.
    pub async fn charge(&self, request: &ChargeRequest) -> Result<ChargeResponse, ServiceError> {
        match self {
            Self::InProcess(vault) => vault.charge(request).await,
            Self::Remote(remote) => remote.post("/v1/charges", request).await,
        }
    }

    /// Refunds part or all of an approved charge, once per idempotency key.
    pub async fn refund(
        &self,
        charge_id: &str,
        request: &ChargeRefundRequest,
    ) -> Result<ChargeRefundResponse, ServiceError> {
        match self {
            Self::InProcess(vault) => vault.refund(charge_id, request).await,
            Self::Remote(remote) => {
                let url = remote.url(&["v1", "charges", charge_id, "refunds"])?;
                let response = remote
                    .http
                    .post(url)
                    .json(request)
                    .send()
                    .await
                    .map_err(transport_error)?;
                decode(response).await
            }
        }
    }

    /// Returns the display data of a card of `user_id`, or `NotFound` when
    /// that user has no such card at the vault.
    pub async fn card(
        &self,
        user_id: UserId,
        token: &str,
    ) -> Result<CardTokenResponse, ServiceError> {
        match self {
            Self::InProcess(vault) => vault.card(user_id, token).await,
            Self::Remote(remote) => {
                let url = remote.card_url(user_id, token)?;
                let response = remote.http.get(url).send().await.map_err(transport_error)?;
                decode(response).await
            }
        }
    }

    /// Deletes a card on behalf of its owner.
    pub async fn delete_card(&self, user_id: UserId, token: &str) -> Result<(), ServiceError> {
        match self {
            Self::InProcess(vault) => vault.delete_card(user_id, token).await,
            Self::Remote(remote) => remote.delete_card(user_id, token).await,
        }
    }
}

/// Address, trust anchors and client identity for a remote vault's
/// API-facing listener.
#[derive(Clone)]
pub struct RemoteVaultConfig {
    /// `https://host:port` of the API-facing listener.
    pub base_url: String,
    /// PEM of the CA that issued the vault's certificate.
    pub ca_certificate_pem: String,
    /// Base64 SHA-256 SPKI pins of the vault's keys (primary and backup).
    pub spki_pins: Vec<String>,
    /// PEM certificate chain of the API server's client identity.
    pub client_certificate_pem: String,
    /// PEM private key of that identity.
    pub client_key_pem: SecretString,
}

impl fmt::Debug for RemoteVaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteVaultConfig")
            .field("base_url", &self.base_url)
            .field("spki_pins", &self.spki_pins)
            .field("client_key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// An HTTPS client for a remote vault: TLS 1.3, the vault's pins, and the
/// API server's client certificate.
#[derive(Clone)]
pub struct RemoteVault {
    http: reqwest::Client,
    base_url: String,
}

impl fmt::Debug for RemoteVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteVault")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RemoteVault {
    pub fn new(config: RemoteVaultConfig) -> Result<Self, ServiceError> {
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        if !base_url.starts_with("https://") {
            return Err(ServiceError::invalid_field(
                "base_url",
                format!("the vault URL must start with https://, not {base_url:?}"),
            ));
        }
        let tls = remote_tls_config(&config)?;
        install_ring_provider();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| {
                ServiceError::Transport(format!("building the HTTP client failed: {e}"))
            })?;
        Ok(Self { http, base_url })
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ServiceError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(body)
            .send()
            .await
            .map_err(transport_error)?;
        decode(response).await
    }

    /// Builds a URL under the vault's base URL from path segments, each
    /// percent-encoded, so a caller's value cannot change the route.
    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, ServiceError> {
        let mut url = reqwest::Url::parse(&format!("{}/", self.base_url))
            .map_err(|e| ServiceError::Transport(format!("invalid vault URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ServiceError::Transport("the vault URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `/v1/cards/{token}?user_id=...`, the address of one user's card.
    fn card_url(&self, user_id: UserId, token: &str) -> Result<reqwest::Url, ServiceError> {
        let mut url = self.url(&["v1", "cards", token])?;
        url.query_pairs_mut()
            .append_pair("user_id", &user_id.to_string());
        Ok(url)
    }

    async fn delete_card(&self, user_id: UserId, token: &str) -> Result<(), ServiceError> {
        let url = self.card_url(user_id, token)?;
        let response = self
            .http
            .delete(url)
            .send()
            .await
            .map_err(transport_error)?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(problem_error(response).await)
    }
}

/// reqwest built without a default crypto provider panics unless one is
/// installed in the process.
fn install_ring_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another part of the process installed one first.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn transport_error(error: reqwest::Error) -> ServiceError {
    ServiceError::Transport(error.without_url().to_string())
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ServiceError> {
    if response.status().is_success() {
        return response.json::<T>().await.map_err(|e| {
            ServiceError::Transport(format!("unreadable vault response: {}", e.without_url()))
        });
    }
    Err(problem_error(response).await)
}

async fn problem_error(response: reqwest::Response) -> ServiceError {
    let status = response.status();
    match response.json::<Problem>().await {
        Ok(problem) => ServiceError::from_problem(problem),
        Err(_) => ServiceError::Transport(format!(
            "the vault returned status {status} without a problem document"
        )),
    }
}

fn remote_tls_config(config: &RemoteVaultConfig) -> Result<rustls::ClientConfig, ServiceError> {
    let invalid = |field: &str, message: String| ServiceError::invalid_field(field, message);

    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(config.ca_certificate_pem.as_bytes()) {
        let certificate = certificate
            .map_err(|e| invalid("ca_certificate_pem", format!("not a PEM certificate: {e}")))?;
        roots
            .add(certificate)
            .map_err(|e| invalid("ca_certificate_pem", format!("not a usable CA: {e}")))?;
    }
    let pins = config
        .spki_pins
        .iter()
        .map(|pin| pin.trim().to_owned())
        .collect::<Vec<_>>();
    if pins.is_empty() {
        return Err(invalid(
            "spki_pins",
            "at least one vault pin is required".into(),
        ));
    }

    let client_chain = CertificateDer::pem_slice_iter(config.client_certificate_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            invalid(
                "client_certificate_pem",
                format!("not a PEM certificate: {e}"),
            )
        })?;
    let client_key =
        PrivateKeyDer::from_pem_slice(config.client_key_pem.expose_secret().as_bytes())
            .map_err(|_| invalid("client_key_pem", "not a PEM private key".into()))?;

    let provider = Arc::new(tls13_provider());
    let chain_verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|e| invalid("ca_certificate_pem", format!("cannot trust the CA: {e}")))?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ServiceError::Transport(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedVaultVerifier {
            chain_verifier,
            pins,
        }))
        .with_client_auth_cert(client_chain, client_key)
        .map_err(|e| {
            invalid(
                "client_certificate_pem",
                format!("unusable client identity: {e}"),
            )
        })?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tls)
}

/// Runs rustls's chain and hostname checks, then requires the server
/// certificate's key to match a pin.
#[derive(Debug)]
struct PinnedVaultVerifier {
    chain_verifier: Arc<WebPkiServerVerifier>,
    pins: Vec<String>,
}

impl ServerCertVerifier for PinnedVaultVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.chain_verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let pinned = x509_parser::parse_x509_certificate(end_entity.as_ref())
            .ok()
            .map(|(_, certificate)| spki_pin(certificate.tbs_certificate.subject_pki.raw))
            .is_some_and(|pin| {
                self.pins
                    .iter()
                    .any(|expected| bool::from(expected.as_bytes().ct_eq(pin.as_bytes())))
            });
        if pinned {
            Ok(ServerCertVerified::assertion())
        } else {
            tracing::warn!(server = %server_name.to_str(), "rejected a vault whose key is not pinned");
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain_verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain_verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain_verifier.supported_verify_schemes()
    }
}
