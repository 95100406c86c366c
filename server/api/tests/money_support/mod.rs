//! Helpers of the household and money tests: a server on one backend with
//! an HTTPS client that trusts its CA, and signed-up users.

#![allow(dead_code, unused_macros)]

use std::sync::Arc;

use reqwest::StatusCode;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
use sharepay_server::RunningServer;
use uuid::Uuid;

use crate::support::TestBackend;

/// Declares one test per check in a `sqlcipher` and a `postgres` module; a
/// check is an async function that takes a `TestBackend`.
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlcipher {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(crate::support::TestBackend::sqlcipher().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(crate::support::TestBackend::postgres().await).await;
                }
            )*
        }
    };
}

/// Builds a TLS 1.3 HTTPS client that trusts only the CA in `ca_pem`.
pub fn client_trusting(ca_pem: &[u8]) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem) {
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

pub const PASSWORD: &str = "Amber-Lantern-Quiet-9147!";

/// A signed-in user of a test server.
pub struct Caller {
    pub token: String,
    pub user_id: String,
}

pub struct Api {
    pub server: RunningServer,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn start(backend: &TestBackend) -> Self {
        let server = backend.start_server().await;
        let http = client_trusting(server.ca_certificate_pem.as_bytes());
        Self { server, http }
    }

    pub async fn sign_up(&self, name: &str) -> Caller {
        let email = format!("{name}-{}@example.org", Uuid::now_v7().simple());
        let body = json!({"email": email, "password": PASSWORD});
        let (status, _) = self
            .send("POST", "/v1/auth/register", None, Some(&body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {name}");
        let (status, tokens) = self.send("POST", "/v1/auth/login", None, Some(&body)).await;
        assert_eq!(status, StatusCode::OK, "login {name}");
        let token = tokens["access_token"].as_str().expect("token").to_owned();
        let (_, me) = self.send("GET", "/v1/me", Some(&token), None).await;
        Caller {
            token,
            user_id: me["user_id"].as_str().expect("user id").to_owned(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        caller: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        self.send_with_key(method, path, caller, body, None).await.0
    }

    /// Sends a request with an optional `Idempotency-Key`; returns the
    /// status, the JSON body and whether the server marked it a replay.
    pub async fn send_with_key(
        &self,
        method: &str,
        path: &str,
        caller: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> ((StatusCode, Value), bool) {
        let method: reqwest::Method = method.parse().expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.server.url));
        if let Some(token) = caller {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        ((status, value), replayed)
    }

    pub async fn as_user(
        &self,
        caller: &Caller,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        self.send(method, path, Some(&caller.token), body).await
    }

    /// Invites with `role` as `inviter` and accepts as `invitee`.
    pub async fn join(&self, inviter: &Caller, household: &str, invitee: &Caller, role: &str) {
        let (status, invitation) = self
            .as_user(
                inviter,
                "POST",
                &format!("/v1/households/{household}/invitations"),
                Some(&json!({"role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invitation}");
        let (status, member) = self
            .as_user(
                invitee,
                "POST",
                "/v1/invitations/accept",
                Some(&json!({"code": invitation["code"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{member}");
        assert_eq!(member["role"], role);
    }
}
