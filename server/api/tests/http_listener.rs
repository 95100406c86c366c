//! The HTTPS listener: HTTP/1.1 and HTTP/2 over TLS 1.3, a configured
//! certificate, header size limits, the metrics listener, and graceful
//! shutdown of the real binary on SIGTERM.

mod http_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use reqwest::{StatusCode, Version};
use sharepay_server::http_config::HttpConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use http_support::{TestServer, tls_client_config};

#[tokio::test]
async fn serves_http1_and_http2() {
    let server = TestServer::start(HttpConfig::default()).await;

    for (client, version) in [
        (server.http1(), Version::HTTP_11),
        (server.http2(), Version::HTTP_2),
    ] {
        let response = client
            .get(server.url("/v1/health"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), version);
    }
}

#[tokio::test]
async fn configured_certificate_is_served() {
    let folder = tempfile::tempdir().expect("temp dir");
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    let certificate = params.self_signed(&key).expect("certificate");
    let cert_file = folder.path().join("chain.pem");
    let key_file = folder.path().join("key.pem");
    std::fs::write(&cert_file, certificate.pem()).expect("write chain");
    std::fs::write(&key_file, key.serialize_pem()).expect("write key");
    let http = HttpConfig {
        tls_cert_file: Some(cert_file),
        tls_key_file: Some(key_file),
        ..HttpConfig::default()
    };

    let server = TestServer::start(http).await;
    let expected_pin = sharepay_server::tls::spki_pin(&key.subject_public_key_info());
    assert_eq!(server.server.spki_pins, vec![expected_pin]);
    let response = server
        .http1()
        .get(server.url("/v1/health"))
        .send()
        .await
        .expect("a client trusting the configured certificate connects");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn oversized_headers_are_rejected() {
    let server = TestServer::start(HttpConfig::default()).await;

    let response = server
        .http1()
        .get(server.url("/v1/health"))
        .header("x-padding", "a".repeat(20 * 1024))
        .send()
        .await
        .expect("send");

    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let server = TestServer::start(HttpConfig::default()).await;
    let client = server.http1();
    client
        .get(server.url("/v1/health"))
        .send()
        .await
        .expect("health");
    client
        .get(server.url("/v1/users/01890a5d-ac96-774b-bcce-b302099a8057"))
        .send()
        .await
        .expect("unknown path");
    let metrics_addr = server.server.metrics_addr.expect("metrics listener");

    let text = reqwest::Client::new()
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics text");

    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/v1/health",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    assert!(!text.contains("01890a5d"), "raw paths must not be labels");
}

/// Reads the server binary's start-up lines: URL and CA certificate path.
fn read_startup(stdout: std::process::ChildStdout) -> (String, String) {
    let mut url = String::new();
    let mut ca_path = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read stdout");
        if let Some(value) = line.strip_prefix("listening: ") {
            url = value.to_owned();
        }
        if let Some(value) = line.strip_prefix("ca-certificate: ") {
            ca_path = value.to_owned();
        }
        if line.starts_with("spki-pin-sha256:") {
            break;
        }
    }
    (url, ca_path)
}

#[tokio::test]
async fn sigterm_finishes_in_flight_request() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sharepay-server"))
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    let stdout = child.stdout.take().expect("stdout");
    let (url, ca_path) = tokio::task::spawn_blocking(move || read_startup(stdout))
        .await
        .expect("read start-up lines");
    let address = url.trim_start_matches("https://").to_owned();
    let ca_pem = std::fs::read_to_string(&ca_path).expect("read the CA certificate");

    // Send the headers and half the body, so the request is in flight.
    let connector = TlsConnector::from(Arc::new(tls_client_config(&ca_pem, &[b"http/1.1"])));
    let tcp = TcpStream::connect(&address).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("server name");
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let body = br#"{"email":"late@example.org","password":"Wrong-Password-123!"}"#;
    let head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.expect("write head");
    tls.write_all(&body[..10])
        .await
        .expect("write half the body");
    tls.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(500)).await;

    let refused = TcpStream::connect(&address).await;
    assert!(
        refused.is_err(),
        "a new connection was accepted after SIGTERM"
    );

    tls.write_all(&body[10..])
        .await
        .expect("write the rest of the body");
    tls.flush().await.expect("flush");
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), tls.read_to_end(&mut response)).await;
    let _ = read.expect("the response arrived in time");
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 401"),
        "in-flight request did not complete: {response}"
    );

    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait for the server");
    assert!(exit.success(), "server exited with {exit}");
}

/// Opens a TLS 1.3 connection to `server` and sends nothing.
async fn silent_tls_connection(
    server: &TestServer,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let connector = TlsConnector::from(Arc::new(tls_client_config(
        &server.server.ca_certificate_pem,
        &[b"http/1.1"],
    )));
    let tcp = TcpStream::connect(server.server.local_addr).await?;
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("server name");
    connector.connect(name, tcp).await
}

#[tokio::test]
async fn silent_connections_are_closed() {
    let server = TestServer::start(HttpConfig {
        header_read_timeout_secs: 1,
        ..HttpConfig::default()
    })
    .await;
    let mut silent = silent_tls_connection(&server).await.expect("handshake");

    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer)).await;
    let outcome = read.expect("the server must close a silent connection within 5 s");
    let closed = matches!(outcome, Ok(0) | Err(_));
    assert!(
        closed,
        "the server sent data to a silent client: {outcome:?}"
    );
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let server = TestServer::start(HttpConfig {
        max_connections_per_address: 2,
        header_read_timeout_secs: 2,
        ..HttpConfig::default()
    })
    .await;
    let first = silent_tls_connection(&server)
        .await
        .expect("first handshake");
    let second = silent_tls_connection(&server)
        .await
        .expect("second handshake");

    let third = silent_tls_connection(&server).await;
    assert!(
        third.is_err(),
        "a third connection from one address must be closed"
    );

    drop(first);
    drop(second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = server
        .http1()
        .get(server.url("/v1/health"))
        .send()
        .await
        .expect("health after the silent connections closed");
    assert_eq!(health.status(), StatusCode::OK);
}
