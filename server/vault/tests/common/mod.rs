//! Helpers shared by the vault's integration tests: start a vault on
//! loopback with a fresh data directory, build a pinned phone client, and
//! issue client certificates for mTLS.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use secrecy::ExposeSecret;
use secrecy::SecretString;
use serde_json::{Value, json};
use sharepay_domain::ids::UserId;
use sharepay_vault::{
    RemoteListenerConfig, RemoteVault, RemoteVaultConfig, RunningVault, SandboxProcessor,
    VaultClient, VaultConfig, start,
};

pub const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Starts a vault in `dir` on free loopback ports with `processor`.
pub async fn start_vault(
    dir: &Path,
    processor: Arc<SandboxProcessor>,
    processor_timeout: Duration,
    client_ca_path: Option<&Path>,
) -> RunningVault {
    let mut config = VaultConfig::new(dir);
    config.phone_listen = LOOPBACK;
    config.processor = processor;
    config.processor_timeout = processor_timeout;
    config.remote = client_ca_path.map(|path| RemoteListenerConfig {
        listen: LOOPBACK,
        client_ca_path: path.to_owned(),
    });
    start(config).await.expect("vault starts")
}

/// Starts a vault in `dir` with the default sandbox and a 5-second
/// processor timeout, without a remote listener.
pub async fn start_default_vault(dir: &Path) -> RunningVault {
    start_vault(
        dir,
        Arc::new(SandboxProcessor::default()),
        Duration::from_secs(5),
        None,
    )
    .await
}

/// Sends `body` to `POST /v1/cards` with `intake_token` as bearer token.
pub async fn post_card(
    vault: &RunningVault,
    client: &reqwest::Client,
    intake_token: &secrecy::SecretString,
    body: &Value,
) -> reqwest::Response {
    client
        .post(format!("{}/v1/cards", vault.phone_url))
        .bearer_auth(intake_token.expose_secret())
        .json(body)
        .send()
        .await
        .expect("request reaches the vault")
}

/// Builds a phone's HTTP client: TLS 1.3, the vault CA and its pins, as
/// the phone core builds it.
pub fn phone_client(vault: &RunningVault) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pins =
        sharepay_client::tls::parse_pins("vault.spki_pins", &vault.spki_pins, false).expect("pins");
    let tls = sharepay_client::tls::pinned_client_config(&vault.ca_certificate_pem, pins)
        .expect("pinned config");
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .build()
        .expect("client")
}

pub fn user() -> UserId {
    UserId(uuid::Uuid::now_v7())
}

pub fn card_body(number: &str, month: i64, year: i64, cvc: &str) -> Value {
    json!({
        "number": number,
        "expiry_month": month,
        "expiry_year": year,
        "cvc": cvc,
        "cardholder_name": "Ada Lovelace",
    })
}

/// Sends a card to `POST /v1/cards` with a fresh intake token for `user_id`
/// and returns the status and JSON body.
pub async fn submit_card(
    vault: &RunningVault,
    client: &reqwest::Client,
    user_id: UserId,
    body: &Value,
) -> (u16, Value) {
    let intake = vault
        .handle()
        .issue_intake_token(user_id)
        .await
        .expect("intake token");
    let response = post_card(vault, client, &intake.token, body).await;
    let status = response.status().as_u16();
    let json = response.json::<Value>().await.expect("JSON body");
    (status, json)
}

/// Tokenizes a valid card with expiry 12/2030 and returns its token.
pub async fn tokenize(
    vault: &RunningVault,
    client: &reqwest::Client,
    user_id: UserId,
    number: &str,
    cvc: &str,
) -> String {
    let (status, body) =
        submit_card(vault, client, user_id, &card_body(number, 12, 2030, cvc)).await;
    assert_eq!(status, 201, "intake of a test card: {body}");
    body["token"].as_str().expect("token").to_owned()
}

/// A certificate authority for client certificates, written to `dir`.
pub struct TestCa {
    pub certificate_pem: String,
    params: CertificateParams,
    key: KeyPair,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let certificate = params.self_signed(&key).expect("CA certificate");
        Self {
            certificate_pem: certificate.pem(),
            params,
            key,
        }
    }

    /// Issues a client certificate; returns its PEM and its key's PEM.
    pub fn issue_client(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let issuer = Issuer::from_params(&self.params, &self.key);
        let certificate = params.signed_by(&key, &issuer).expect("client certificate");
        (certificate.pem(), key.serialize_pem())
    }
}

/// Starts a vault in `dir/vault` whose API-facing mTLS listener accepts
/// client certificates of a fresh CA, and returns it with a remote client
/// holding such a certificate.
pub async fn start_remote_vault(
    dir: &Path,
    processor: Arc<SandboxProcessor>,
    processor_timeout: Duration,
) -> (RunningVault, VaultClient) {
    let client_ca = TestCa::new("SharePay API clients");
    let ca_path = dir.join("client-ca.pem");
    std::fs::write(&ca_path, &client_ca.certificate_pem).expect("write client CA");
    let vault = start_vault(
        &dir.join("vault"),
        processor,
        processor_timeout,
        Some(&ca_path),
    )
    .await;
    let remote = remote_client(&vault, client_ca.issue_client("sharepay-server"));
    (vault, remote)
}

/// Builds a remote [`VaultClient`] for `vault` with the client identity
/// `(certificate PEM, key PEM)`.
pub fn remote_client(vault: &RunningVault, identity: (String, String)) -> VaultClient {
    let (client_certificate_pem, client_key_pem) = identity;
    let remote = RemoteVault::new(RemoteVaultConfig {
        base_url: vault.api_url.clone().expect("remote listener"),
        ca_certificate_pem: vault.ca_certificate_pem.clone(),
        spki_pins: vault.spki_pins.clone(),
        client_certificate_pem,
        client_key_pem: SecretString::from(client_key_pem),
    })
    .expect("remote client");
    VaultClient::Remote(remote)
}
