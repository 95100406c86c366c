//! Helpers for the HTTP-layer tests: a real server on a loopback port with
//! its own data directory, and reqwest clients that trust its CA over
//! TLS 1.3 with HTTP/1.1 or HTTP/2.

#![allow(dead_code)]

use std::sync::{Arc, Once};

use reqwest::Response;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sharepay_domain::wire::Problem;
use sharepay_server::http_config::{HttpConfig, LOGIN_ROUTE, Rate, RateLimitRule};
use sharepay_server::{RunningServer, ServerConfig};

pub const GOOD_PASSWORD: &str = "Amber-Lantern-Quiet-9147!";

/// Headers every response must carry, with their exact values.
pub const SECURITY_HEADERS: [(&str, &str); 7] = [
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "0"),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

pub struct TestServer {
    pub server: RunningServer,
    pub data_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with `http`, on free loopback ports.
    pub async fn start(mut http: HttpConfig) -> Self {
        let data_dir = tempfile::tempdir().expect("create a server data directory");
        if http.metrics_listen.is_some() {
            http.metrics_listen = Some("127.0.0.1:0".parse().expect("loopback address"));
        }
        let server = sharepay_server::start(ServerConfig {
            data_dir: data_dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            http,
            ..ServerConfig::default()
        })
        .await
        .expect("start the server");
        Self { server, data_dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    /// Posts `body` as JSON to `path` over HTTP/1.1.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.http1()
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("send")
    }

    /// Builds a client over HTTP/1.1 that trusts this server's CA.
    pub fn http1(&self) -> reqwest::Client {
        client(&self.server.ca_certificate_pem, false)
    }

    /// Builds a client over HTTP/2 (by ALPN) that trusts this server's CA.
    pub fn http2(&self) -> reqwest::Client {
        client(&self.server.ca_certificate_pem, true)
    }
}

/// HTTP settings whose login allows `per_address` requests per minute per
/// address and has no per-account budget.
pub fn login_limited(per_address: u32, trusted_proxies: &[&str]) -> HttpConfig {
    let mut http = HttpConfig {
        trusted_proxies: trusted_proxies.iter().map(|s| (*s).to_owned()).collect(),
        ..HttpConfig::default()
    };
    http.rate_limits.insert(
        LOGIN_ROUTE.to_owned(),
        RateLimitRule {
            per_address: Some(Rate::per_minute(per_address)),
            per_account: None,
        },
    );
    http
}

/// rustls client configuration: TLS 1.3, ring, the given CA only.
pub fn tls_client_config(ca_pem: &str, alpn: &[&[u8]]) -> rustls::ClientConfig {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(certificate.expect("CA certificate PEM"))
            .expect("add the CA certificate");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("TLS 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    config
}

fn client(ca_pem: &str, http2: bool) -> reqwest::Client {
    let alpn: &[&[u8]] = if http2 { &[b"h2"] } else { &[b"http/1.1"] };
    let builder =
        reqwest::Client::builder().tls_backend_preconfigured(tls_client_config(ca_pem, alpn));
    let builder = if http2 {
        builder.http2_prior_knowledge()
    } else {
        builder.http1_only()
    };
    builder.build().expect("build the HTTP client")
}

/// Asserts that `response` is problem+json with the request id of its
/// header, and returns the problem.
pub async fn problem_of(response: Response) -> Problem {
    let content_type = header(&response, "content-type");
    assert_eq!(content_type, "application/problem+json");
    let request_id = header(&response, "x-request-id");
    let problem: Problem = response.json().await.expect("problem body");
    assert_eq!(problem.request_id.as_deref(), Some(request_id.as_str()));
    problem
}

/// Returns a header's value as text, failing the test when it is missing.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{} response has no {name} header", response.status()))
        .to_str()
        .expect("header text")
        .to_owned()
}

/// Registers `email` and logs in; returns the access token.
pub async fn register_and_login(server: &TestServer, email: &str) -> String {
    let body = serde_json::json!({"email": email, "password": GOOD_PASSWORD});
    let registered = server.post_json("/v1/auth/register", &body).await;
    assert_eq!(registered.status(), 201);
    let login = server.post_json("/v1/auth/login", &body).await;
    assert_eq!(login.status(), 200);
    let tokens: serde_json::Value = login.json().await.expect("token body");
    tokens["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}
