//! The vault's listeners, TLS identity and key files.

mod common;

use std::sync::Arc;

use common::{LOOPBACK, start_default_vault};
use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use rustls_pki_types::pem::PemObject;
use sharepay_vault::{TlsFiles, VaultConfig, spki_pin, start};

#[tokio::test]
async fn tls12_client_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in
        rustls_pki_types::CertificateDer::pem_slice_iter(vault.ca_certificate_pem.as_bytes())
    {
        roots.add(certificate.expect("CA PEM")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls12_only = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("TLS 1.2 config")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls12_only));
    let address = vault.phone_url.trim_start_matches("https://").to_owned();

    let tcp = tokio::net::TcpStream::connect(&address)
        .await
        .expect("TCP connect");
    let server_name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let result = connector.connect(server_name, tcp).await;

    assert!(result.is_err(), "a TLS 1.2 handshake must fail");
    vault.shutdown().await;
}

#[tokio::test]
async fn keyring_and_keys_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let secrets = [
        dir.path().join(sharepay_vault::keyring::KEYRING_FILE),
        dir.path().join("tls/server-key.pem"),
        dir.path().join("tls/backup-key.pem"),
        dir.path().join("tls/ca-key.pem"),
    ];

    for path in secrets {
        let mode = std::fs::metadata(&path)
            .expect("secret file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    assert_eq!(vault.spki_pins.len(), 2, "primary and backup pins");
    assert_ne!(vault.spki_pins[0], vault.spki_pins[1]);
    vault.shutdown().await;
}

#[tokio::test]
async fn startup_lines_list_url_and_pins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;

    let lines = vault.startup_lines();
    assert_eq!(lines[0], format!("vault-listening: {}", vault.phone_url));
    assert!(lines[1].starts_with("vault-ca-certificate: "), "{lines:?}");
    assert_eq!(
        lines[2],
        format!("vault-spki-pin-sha256: {}", vault.spki_pins[0])
    );
    assert_eq!(lines.len(), 4, "{lines:?}");
    vault.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_pins_and_cards() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = start_default_vault(dir.path()).await;
    let client = common::phone_client(&first);
    let owner = common::user();
    let token = common::tokenize(&first, &client, owner, "4242424242424242", "123").await;
    let pins = first.spki_pins.clone();
    first.shutdown().await;

    let second = start_default_vault(dir.path()).await;
    let client = common::phone_client(&second);
    let again = common::tokenize(&second, &client, owner, "4242424242424242", "123").await;

    assert_eq!(second.spki_pins, pins, "pins survive a restart");
    assert_eq!(again, token, "the stored card is found after a restart");
    second.shutdown().await;
}

#[tokio::test]
async fn given_tls_files_are_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_certificate = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server_certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    let backup_key = KeyPair::generate().expect("backup key");
    let write = |name: &str, contents: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).expect("write");
        path
    };
    let files = TlsFiles {
        certificate_chain: write("chain.pem", server_certificate.pem()),
        private_key: write("key.pem", server_key.serialize_pem()),
        backup_private_key: write("backup.pem", backup_key.serialize_pem()),
        ca_certificate: write("ca.pem", ca_certificate.pem()),
    };
    let mut config = VaultConfig::new(dir.path().join("vault"));
    config.phone_listen = LOOPBACK;
    config.tls_files = Some(files);

    let vault = start(config).await.expect("vault starts with given files");
    let client = common::phone_client(&vault);
    let health = client
        .get(format!("{}/v1/health", vault.phone_url))
        .send()
        .await
        .expect("pinned request with the given certificate");

    assert_eq!(
        vault.spki_pins[0],
        spki_pin(&server_key.subject_public_key_info())
    );
    assert_eq!(
        vault.spki_pins[1],
        spki_pin(&backup_key.subject_public_key_info())
    );
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        !dir.path().join("vault/tls").exists(),
        "no certificate was generated"
    );
    vault.shutdown().await;
}
