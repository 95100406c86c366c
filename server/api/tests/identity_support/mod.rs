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

    /// Logs in from `device` and returns the token response. When the
    /// server requires MFA (a new device), passes it with the code it
    /// emails to the development mailbox.
    pub async fn login(&self, email: &str, device: &str) -> Value {
        let body = json!({"email": email, "password": GOOD_PASSWORD, "device_fingerprint": device});
        let (status, answer) = self.post("/v1/auth/login", &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        if answer["mfa_required"] != true {
            return answer;
        }
        let mfa_token = text(&answer, "mfa_token").to_owned();
        let code = self
            .emailed_code(email, || async {
                let body = json!({"mfa_token": mfa_token, "method": "email_code"});
                let (status, sent) = self.post("/v1/auth/mfa/challenge", &body).await;
                assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
            })
            .await;
        let body = json!({"mfa_token": mfa_token, "method": "email_code", "code": code});
        let (status, tokens) = self.post("/v1/auth/mfa/verify", &body).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    /// Passes a step-up check for the session of `access_token` with a
    /// code emailed to `email`.
    pub async fn step_up(&self, email: &str, access_token: &str) {
        let code = self
            .emailed_code(email, || async {
                let (status, sent) = self
                    .post_with(
                        "/v1/me/step-up/challenge",
                        access_token,
                        &json!({"method": "email_code"}),
                    )
                    .await;
                assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
            })
            .await;
        let body = json!({"method": "email_code", "code": code});
        let (status, passed) = self
            .post_with("/v1/me/step-up/verify", access_token, &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{passed}");
    }

    /// Runs `send` and returns the code of the security-code email it
    /// caused.
    async fn emailed_code<F, Fut>(&self, email: &str, send: F) -> String
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mailbox = self.backend.data_dir().join("mailbox");
        let before = mailbox_messages(&mailbox, email, SECURITY_CODE_SUBJECT).len();
        send().await;
        for _ in 0..200 {
            let messages = mailbox_messages(&mailbox, email, SECURITY_CODE_SUBJECT);
            if messages.len() > before {
                return code_in(&messages[messages.len() - 1]);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "no security code for {email} in {} within 10 s",
            mailbox.display()
        );
    }

    pub async fn post_with(
        &self,
        path: &str,
        access_token: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
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

/// Subject of the emails that carry login and step-up codes.
pub const SECURITY_CODE_SUBJECT: &str = "Your SharePay security code";

/// Lists the development mailbox's messages to `recipient` whose subject
/// contains `subject`, oldest first.
pub fn mailbox_messages(mailbox: &std::path::Path, recipient: &str, subject: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(mailbox) else {
        return Vec::new();
    };
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    let to = format!("To: {recipient}");
    paths
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|message| {
            message.lines().any(|line| line == to)
                && message
                    .lines()
                    .any(|line| line.starts_with("Subject:") && line.contains(subject))
        })
        .collect()
}

/// Returns the first run of exactly six digits in a message's body.
pub fn code_in(message: &str) -> String {
    let body = message.split_once("\n\n").map_or(message, |(_, body)| body);
    let mut run = String::new();
    for c in body.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if run.len() == 6 {
            return run;
        }
        run.clear();
    }
    panic!("no six-digit code in {message}");
}
