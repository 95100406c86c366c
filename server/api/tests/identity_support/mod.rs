//! A live server for the identity tests: a SQLCipher backend whose data
//! the test can inspect, a generous login budget, and a client that trusts
//! the server's CA.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sharepay_server::{RunningServer, ServerConfig};

use crate::http_support::{GOOD_PASSWORD, login_limited, tls_client_config};
use crate::support::TestBackend;

/// A live server on a SQLCipher backend, with a client that trusts it.
pub struct Live {
    pub backend: TestBackend,
    pub server: RunningServer,
    pub client: reqwest::Client,
}

impl Live {
    pub async fn start() -> Self {
        Self::start_on(TestBackend::sqlcipher().await).await
    }

    /// Starts a server on `backend`'s data.
    pub async fn start_on(backend: TestBackend) -> Self {
        Self::start_with(backend, login_limited(1000, &[])).await
    }

    /// Starts a server on `backend`'s data with HTTP settings `http`.
    pub async fn start_with(
        backend: TestBackend,
        http: sharepay_server::http_config::HttpConfig,
    ) -> Self {
        // These tests log in often from one address; the login budget has
        // tests of its own.
        let server = sharepay_server::start(ServerConfig {
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            http,
            ..backend.config.clone()
        })
        .await
        .expect("start the server");
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_client_config(
                &server.ca_certificate_pem,
                &[b"http/1.1"],
            ))
            .http1_only()
            .build()
            .expect("build the HTTP client");
        Self {
            backend,
            server,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn register(&self, email: &str) {
        let body = json!({"email": email, "password": GOOD_PASSWORD});
        let (status, _) = self.post("/v1/auth/register", &body).await;
        assert_eq!(status, StatusCode::CREATED);
    }

    /// Logs in from `device` and returns the token response.
    pub async fn login(&self, email: &str, device: &str) -> Value {
        let body = json!({"email": email, "password": GOOD_PASSWORD, "device_fingerprint": device});
        let (status, tokens) = self.post("/v1/auth/login", &body).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    pub async fn refresh(&self, refresh_token: &str, device: &str) -> (StatusCode, Value) {
        let body = json!({"refresh_token": refresh_token, "device_fingerprint": device});
        self.post("/v1/auth/refresh", &body).await
    }

    pub async fn get_with(&self, path: &str, access_token: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn me_status(&self, access_token: &str) -> StatusCode {
        self.get_with("/v1/me", access_token).await.0
    }
}

pub fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {value}"))
}

pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&BASE64URL.decode(payload).expect("base64url payload"))
        .expect("JSON claims")
}
