//! The thinnest path through every layer: a phone client registers, logs in
//! and reads its profile from a real server over pinned TLS 1.3, and both
//! stores stay encrypted.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use secrecy::SecretString;
use sharepay_client::{ClientError, SharePayClient};
use sharepay_e2e::{
    GOOD_PASSWORD, TestServer, XorKeyWrapper, contains, phone_client, raw_database_bytes,
};

#[tokio::test]
async fn register_login_and_me_over_pinned_tls() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let client = phone_client(&server, phone.path());

    let user_id = client
        .register("ada@example.org", SecretString::from(GOOD_PASSWORD))
        .await
        .expect("register");
    client
        .login("ada@example.org", SecretString::from(GOOD_PASSWORD))
        .await
        .expect("login");
    let me = client.me().await.expect("me");

    assert_eq!(me.user_id, user_id);
    assert_eq!(me.email, "ada@example.org");
    assert!(client.has_session().expect("session state"));
}

#[tokio::test]
async fn wrong_password_is_unauthorized() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let client = phone_client(&server, phone.path());
    client
        .register("bob@example.org", SecretString::from(GOOD_PASSWORD))
        .await
        .expect("register");

    let error = client
        .login("bob@example.org", SecretString::from("Tulip-Harbor-4821?"))
        .await
        .expect_err("wrong password must fail");
    assert!(matches!(error, ClientError::Unauthorized(_)), "{error:?}");
    assert!(!client.has_session().expect("session state"));
}

#[tokio::test]
async fn pin_mismatch_fails_even_with_valid_ca() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let unrelated_key = KeyPair::generate().expect("key");
    let unrelated_pin = BASE64.encode(ring::digest::digest(
        &ring::digest::SHA256,
        &unrelated_key.subject_public_key_info(),
    ));
    let mut config = server.client_config(phone.path());
    config.spki_pins = vec![unrelated_pin];
    // One pin is enough to show the mismatch; two are required otherwise.
    config.allow_single_pin = true;
    let client = SharePayClient::new(config, Arc::new(XorKeyWrapper(1))).expect("client");

    let error = client
        .register("eve@example.org", SecretString::from(GOOD_PASSWORD))
        .await
        .expect_err("an unpinned server key must be rejected");
    assert!(matches!(error, ClientError::PinMismatch), "{error:?}");
}

#[tokio::test]
async fn untrusted_ca_fails_even_with_matching_pin() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let other_ca_key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other_ca = params.self_signed(&other_ca_key).expect("other CA");
    let mut config = server.client_config(phone.path());
    config.ca_certificate_pem = other_ca.pem();
    let client = SharePayClient::new(config, Arc::new(XorKeyWrapper(1))).expect("client");

    let error = client
        .register("eve@example.org", SecretString::from(GOOD_PASSWORD))
        .await
        .expect_err("a server from an untrusted CA must be rejected");
    assert!(matches!(error, ClientError::Network(_)), "{error:?}");
}

#[tokio::test]
async fn tls12_handshake_is_refused() {
    let server = TestServer::start().await;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_pki_types::CertificateDer::pem_slice_iter(
        server.server.ca_certificate_pem.as_bytes(),
    ) {
        roots.add(certificate.expect("CA PEM")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls12_only = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("TLS 1.2 config")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls12_only));

    let tcp = tokio::net::TcpStream::connect(server.server.local_addr)
        .await
        .expect("TCP connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let result = connector.connect(name, tcp).await;

    let error = result.expect_err("a TLS 1.2 handshake must fail");
    assert!(
        error.to_string().to_lowercase().contains("protocol"),
        "unexpected handshake error: {error}"
    );
}

use rustls_pki_types::pem::PemObject;

#[tokio::test]
async fn server_database_is_encrypted_at_rest() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let client = phone_client(&server, phone.path());
    let email = "plaintext.probe@example.org";
    client
        .register(email, SecretString::from(GOOD_PASSWORD))
        .await
        .expect("register");
    let data_dir = server.data_path().to_path_buf();
    let TestServer {
        server,
        data_dir: _keep,
    } = server;
    server.shutdown().await;

    let database = data_dir.join("sharepay.db");
    let raw = raw_database_bytes(&database);
    assert!(
        !contains(&raw, email.as_bytes()),
        "email found in plaintext"
    );
    assert!(
        !contains(&raw, b"SQLite format 3"),
        "plaintext SQLite header"
    );

    let connection = rusqlite::Connection::open(&database).expect("open file");
    connection
        .execute_batch(&format!("PRAGMA key = \"x'{}'\";", "ab".repeat(32)))
        .expect("set key");
    let read = connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    });
    assert!(
        read.is_err(),
        "a wrong key must not read the server database"
    );
}

#[tokio::test]
async fn phone_store_is_encrypted_and_needs_its_key() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let email = "phone.probe@example.org";
    {
        let client = phone_client(&server, phone.path());
        client
            .register(email, SecretString::from(GOOD_PASSWORD))
            .await
            .expect("register");
        client
            .login(email, SecretString::from(GOOD_PASSWORD))
            .await
            .expect("login");
        client.me().await.expect("me");
    }

    let raw = raw_database_bytes(&phone.path().join("sharepay-client.db"));
    assert!(
        !contains(&raw, email.as_bytes()),
        "email found in plaintext"
    );
    assert!(
        !contains(&raw, b"SQLite format 3"),
        "plaintext SQLite header"
    );

    let wrong = SharePayClient::new(
        server.client_config(phone.path()),
        Arc::new(XorKeyWrapper(0x11)),
    );
    assert!(
        matches!(wrong, Err(ClientError::WrongKey)),
        "wrong key must be its own error"
    );

    let reopened = phone_client(&server, phone.path());
    assert!(
        reopened.has_session().expect("session state"),
        "the refresh token must survive"
    );
}
