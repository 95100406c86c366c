//! HTTP calls to the API over the pinned connection, and the mapping of
//! responses and transport failures to [`ClientError`].

use std::sync::Once;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sharepay_domain::wire::{
    LoginRequest, MeResponse, Problem, RegisterRequest, RegisterResponse, TokenResponse,
};

use crate::error::ClientError;
use crate::tls::is_pin_mismatch;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct ApiClient {
    http: reqwest::Client,
    base_url: String,
}

/// reqwest built without a default provider panics unless one is installed.
fn install_ring_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another part of the process installed one first.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl ApiClient {
    pub(crate) fn new(base_url: &str, tls: rustls::ClientConfig) -> Result<Self, ClientError> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        if !base_url.starts_with("https://") {
            return Err(ClientError::InvalidInput(format!(
                "base_url must start with https://, got {base_url:?}"
            )));
        }
        install_ring_provider();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("sharepay-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Network(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http, base_url })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub(crate) async fn register(
        &self,
        request: &RegisterRequest,
    ) -> Result<RegisterResponse, ClientError> {
        self.post_json("/v1/auth/register", request).await
    }

    pub(crate) async fn login(&self, request: &LoginRequest) -> Result<TokenResponse, ClientError> {
        self.post_json("/v1/auth/login", request).await
    }

    pub(crate) async fn me(&self, access_token: &SecretString) -> Result<MeResponse, ClientError> {
        let response = self
            .http
            .get(self.url("/v1/me"))
            .bearer_auth(access_token.expose_secret())
            .send()
            .await
            .map_err(transport_error)?;
        decode(response).await
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .map_err(transport_error)?;
        decode(response).await
    }
}

fn transport_error(error: reqwest::Error) -> ClientError {
    if is_pin_mismatch(&error) {
        return ClientError::PinMismatch;
    }
    // The URL carries no secret, but strip it anyway: messages reach users.
    ClientError::Network(error.without_url().to_string())
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let status = response.status();
    if status.is_success() {
        return response.json::<T>().await.map_err(|e| ClientError::Server {
            status: status.as_u16(),
            message: format!("the response could not be read: {}", e.without_url()),
        });
    }

    let problem = response.json::<Problem>().await.ok();
    let message = match &problem {
        Some(problem) => problem.detail.clone(),
        None => status
            .canonical_reason()
            .unwrap_or("unknown status")
            .to_owned(),
    };
    Err(match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            ClientError::InvalidInput(message)
        }
        StatusCode::UNAUTHORIZED => ClientError::Unauthorized(message),
        _ => ClientError::Server {
            status: status.as_u16(),
            message,
        },
    })
}
