//! The API server's vault wiring: an embedded vault by default, and a
//! remote vault (`sharepay-server vault`) that accepts only the client
//! certificate the API's local CA issued.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sharepay_domain::ids::UserId;
use sharepay_server::ServerConfig;
use sharepay_server::vault::settings::VaultMode;
use sharepay_server::vault::{remote_client, start_standalone};
use sharepay_vault::{RunningVault, ServiceError, VaultClient};

const FREE_PORT: &str = "127.0.0.1:0";

fn config(data_dir: &Path) -> ServerConfig {
    let free: SocketAddr = FREE_PORT.parse().expect("loopback address");
    let mut config = ServerConfig {
        data_dir: data_dir.to_path_buf(),
        listen: free,
        ..ServerConfig::default()
    };
    config.http.metrics_listen = Some(free);
    config.vault.api_listen = Some(free);
    config
}

/// Starts the API once so its local CA and client certificate exist, then
/// starts `sharepay-server vault` on the same data directory.
async fn standalone_vault(data_dir: &Path) -> RunningVault {
    let server = sharepay_server::start(config(data_dir))
        .await
        .expect("first API start");
    server.shutdown().await;
    start_standalone(&config(data_dir), data_dir)
        .await
        .expect("standalone vault starts")
}

fn remote_config(data_dir: &Path, vault: &RunningVault) -> ServerConfig {
    let mut config = config(data_dir);
    config.vault.mode = VaultMode::Remote;
    config.vault.url = vault.api_url.clone();
    config.vault.ca_certificate_file = Some(vault.ca_certificate_path.clone());
    config.vault.spki_pins = vault.spki_pins.clone();
    config
}

#[tokio::test]
async fn embedded_vault_prints_its_lines() {
    let dir = tempfile::tempdir().expect("temp dir");

    let server = sharepay_server::start(config(dir.path()))
        .await
        .expect("server starts");
    let lines = server.vault_startup_lines.clone();
    server.shutdown().await;

    assert!(
        lines[0].starts_with("vault-listening: https://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("vault-ca-certificate: "), "{lines:?}");
    let pins = lines
        .iter()
        .filter(|line| line.starts_with("vault-spki-pin-sha256: "))
        .count();
    assert_eq!(pins, 2, "{lines:?}");
    assert!(dir.path().join("vault").join("vault.db").exists());
    assert!(dir.path().join("tls").join("vault-client.pem").exists());
}

#[tokio::test]
async fn remote_vault_accepts_api_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = standalone_vault(dir.path()).await;
    let config = remote_config(dir.path(), &vault);

    let server = sharepay_server::start(config.clone())
        .await
        .expect("API starts against the remote vault");
    let client = VaultClient::Remote(remote_client(&config, dir.path()).expect("client"));
    let intake = client
        .issue_intake_token(UserId(uuid::Uuid::now_v7()))
        .await
        .expect("intake token over mTLS");

    assert!(server.vault_startup_lines.is_empty());
    assert!(intake.expires_at > time::OffsetDateTime::now_utc());
    server.shutdown().await;
    vault.shutdown().await;
}

#[tokio::test]
async fn remote_vault_refuses_other_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = standalone_vault(dir.path()).await;
    let (certificate_file, key_file) = foreign_client_identity(dir.path());

    let error = intake_with_identity(dir.path(), &vault, certificate_file, key_file).await;

    assert!(matches!(error, ServiceError::Transport(_)), "{error:?}");
    vault.shutdown().await;
}

#[tokio::test]
async fn remote_vault_refuses_no_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = standalone_vault(dir.path()).await;
    let api_url = vault.api_url.clone().expect("API listener");

    let result = client_without_certificate(&vault)
        .post(format!("{api_url}/v1/intake-tokens"))
        .json(&serde_json::json!({ "user_id": uuid::Uuid::now_v7() }))
        .send()
        .await;

    let error = result.expect_err("the vault must refuse a client with no certificate");
    assert!(error.is_connect() || error.is_request(), "{error:?}");
    vault.shutdown().await;
}

#[tokio::test]
async fn remote_vault_refuses_api_server_certificate() {
    // The API's server certificate comes from the trusted CA but has only
    // the serverAuth usage, so it must not pass as a client certificate.
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = standalone_vault(dir.path()).await;
    let tls = dir.path().join("tls");

    let error = intake_with_identity(
        dir.path(),
        &vault,
        tls.join("server.pem"),
        tls.join("server-key.pem"),
    )
    .await;

    assert!(matches!(error, ServiceError::Transport(_)), "{error:?}");
    vault.shutdown().await;
}

#[tokio::test]
async fn standalone_vault_needs_api_ca() {
    let dir = tempfile::tempdir().expect("temp dir");

    let error = start_standalone(&config(dir.path()), dir.path())
        .await
        .expect_err("no CA yet");

    assert!(error.to_string().contains("ca.pem"), "{error}");
}

/// Asks the remote vault for an intake token while presenting the given
/// client identity, and returns the error the vault must cause.
async fn intake_with_identity(
    data_dir: &Path,
    vault: &RunningVault,
    certificate_file: PathBuf,
    key_file: PathBuf,
) -> ServiceError {
    let mut config = remote_config(data_dir, vault);
    config.vault.client_certificate_file = Some(certificate_file);
    config.vault.client_key_file = Some(key_file);
    let client = VaultClient::Remote(remote_client(&config, data_dir).expect("client"));
    client
        .issue_intake_token(UserId(uuid::Uuid::now_v7()))
        .await
        .expect_err("the vault must refuse this client certificate")
}

/// Writes a client certificate and key issued by a CA the vault does not
/// trust, and returns their paths.
fn foreign_client_identity(dir: &Path) -> (PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "SharePay local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let issuer = Issuer::new(ca_params, &ca_key);

    let key = KeyPair::generate().expect("client key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "sharepay-server vault client");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let certificate = params.signed_by(&key, &issuer).expect("sign");

    let certificate_path = dir.join("foreign-client.pem");
    let key_path = dir.join("foreign-client-key.pem");
    std::fs::write(&certificate_path, certificate.pem()).expect("write certificate");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    (certificate_path, key_path)
}

fn client_without_certificate(vault: &RunningVault) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(vault.ca_certificate_pem.as_bytes()) {
        roots.add(certificate.expect("CA PEM")).expect("add CA");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("TLS 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("client")
}
