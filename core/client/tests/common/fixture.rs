//! `StandInApiServer`: a small axum server on loopback that stands in for
//! API endpoints the real server does not have yet (`POST
//! /v1/meters/{meter_id}/readings`), plus the login and health routes the
//! phone needs around them. It speaks real TLS 1.3 with its own CA, so the
//! phone's pinned client is exercised for real. It is a test fixture, not a
//! model of the server's rules: it only replays scripted answers and
//! records what it received.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sharepay_domain::wire::readings::{ReadingStatus, SubmitReadingRequest, SubmitReadingResponse};
use sharepay_domain::wire::{HealthResponse, LoginRequest, Problem, TokenResponse};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A scripted answer to one reading request.
#[derive(Clone, Debug)]
pub enum Scripted {
    Accept,
    Flag(Vec<String>),
    Reject(Vec<String>),
    /// An error status with a problem body.
    Status(u16, String),
}

/// One reading request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct ReceivedReading {
    pub meter_id: String,
    pub idempotency_key: Option<String>,
    pub bearer: Option<String>,
    pub body: SubmitReadingRequest,
}

#[derive(Default)]
pub struct Recorded {
    pub logins: Vec<LoginRequest>,
    pub readings: Vec<ReceivedReading>,
    /// First answer per idempotency key, replayed on a repeat.
    replies: HashMap<String, (u16, serde_json::Value)>,
    script: HashMap<String, VecDeque<Scripted>>,
    next_reading_id: u64,
}

pub const ACCESS_TOKEN: &str = "stand-in-access-token";
pub const REFRESH_TOKEN: &str = "stand-in-refresh-token-0123456789";

pub struct StandInApiServer {
    pub url: String,
    pub ca_certificate_pem: String,
    /// Pin of the serving key, and of a backup key that serves nothing.
    pub spki_pins: Vec<String>,
    pub recorded: Arc<Mutex<Recorded>>,
    task: JoinHandle<()>,
}

impl Drop for StandInApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn pin_of(key: &KeyPair) -> String {
    BASE64.encode(ring::digest::digest(
        &ring::digest::SHA256,
        &key.subject_public_key_info(),
    ))
}

impl StandInApiServer {
    pub async fn start() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::default();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, &ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");
        let backup_key = KeyPair::generate().expect("backup key");

        let mut provider = rustls::crypto::ring::default_provider();
        provider
            .cipher_suites
            .retain(|suite| suite.version() == &rustls::version::TLS13);
        let key = PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes())
            .expect("server key DER");
        let chain = vec![CertificateDer::from(server_cert.der().to_vec())];
        let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server TLS config");
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let router = Router::new()
            .route("/v1/health", get(health))
            .route("/v1/auth/login", post(login))
            .route("/v1/meters/{meter_id}/readings", post(submit_reading))
            .with_state(Arc::clone(&recorded));

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address: SocketAddr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            // Connections live in this set, so stopping the server (aborting
            // this task) also closes the kept-alive connections.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = TowerToHyperService::new(router);
                    let _ = Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });

        Self {
            url: format!("https://127.0.0.1:{}", address.port()),
            ca_certificate_pem: ca_cert.pem(),
            spki_pins: vec![pin_of(&server_key), pin_of(&backup_key)],
            recorded,
            task,
        }
    }

    /// Queues answers for the next reading requests of `meter_id`; once
    /// they are used up, readings are accepted.
    pub fn script(&self, meter_id: &str, answers: Vec<Scripted>) {
        self.recorded
            .lock()
            .expect("recorded")
            .script
            .entry(meter_id.to_owned())
            .or_default()
            .extend(answers);
    }

    pub fn readings(&self) -> Vec<ReceivedReading> {
        self.recorded.lock().expect("recorded").readings.clone()
    }

    pub fn logins(&self) -> Vec<LoginRequest> {
        self.recorded.lock().expect("recorded").logins.clone()
    }
}

async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
        version: "stand-in".into(),
    })
}

async fn login(
    State(recorded): State<Arc<Mutex<Recorded>>>,
    Json(request): Json<LoginRequest>,
) -> Json<TokenResponse> {
    recorded.lock().expect("recorded").logins.push(request);
    Json(TokenResponse {
        access_token: ACCESS_TOKEN.into(),
        token_type: "Bearer".into(),
        expires_in: 900,
        refresh_token: REFRESH_TOKEN.into(),
    })
}

fn problem(status: u16, detail: &str) -> serde_json::Value {
    serde_json::to_value(Problem {
        problem_type: "stand-in".into(),
        title: "stand-in error".into(),
        status,
        detail: detail.into(),
        request_id: None,
        errors: Vec::new(),
        methods: Vec::new(),
    })
    .expect("problem JSON")
}

async fn submit_reading(
    State(recorded): State<Arc<Mutex<Recorded>>>,
    Path(meter_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<SubmitReadingRequest>,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let idempotency_key = header("idempotency-key");
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned));

    let mut recorded = recorded.lock().expect("recorded");
    recorded.readings.push(ReceivedReading {
        meter_id: meter_id.clone(),
        idempotency_key: idempotency_key.clone(),
        bearer: bearer.clone(),
        body,
    });
    if bearer.as_deref() != Some(ACCESS_TOKEN) {
        return reply(401, problem(401, "the access token is missing or expired"));
    }
    let Some(key) = idempotency_key else {
        return reply(400, problem(400, "Idempotency-Key is required"));
    };
    if let Some((status, body)) = recorded.replies.get(&key) {
        return reply(*status, body.clone());
    }

    let answer = recorded
        .script
        .get_mut(&meter_id)
        .and_then(VecDeque::pop_front)
        .unwrap_or(Scripted::Accept);
    recorded.next_reading_id += 1;
    let reading_id = format!("reading-{}", recorded.next_reading_id);
    let decided = |status, reasons| {
        serde_json::to_value(SubmitReadingResponse {
            reading_id: reading_id.clone(),
            status,
            reasons,
        })
        .expect("response JSON")
    };
    let (status, body) = match answer {
        Scripted::Accept => (201, decided(ReadingStatus::Accepted, Vec::new())),
        Scripted::Flag(reasons) => (201, decided(ReadingStatus::Flagged, reasons)),
        Scripted::Reject(reasons) => (201, decided(ReadingStatus::Rejected, reasons)),
        Scripted::Status(status, detail) => (status, problem(status, &detail)),
    };
    // Only decisions are stored for replay; a transient error is not.
    if status < 500 && status != 429 {
        recorded.replies.insert(key, (status, body.clone()));
    }
    reply(status, body)
}

fn reply(status: u16, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).expect("status");
    (status, Json(body)).into_response()
}
