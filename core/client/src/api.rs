//! HTTP calls to the API over the pinned connection, and the mapping of
//! responses and transport failures to [`ClientError`].

use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sharepay_domain::wire::{
    LoginRequest, MeResponse, Problem, RegisterRequest, RegisterResponse, TokenResponse,
};

use crate::error::ClientError;
use crate::store::EncryptedStore;
use crate::tls::find_pin_mismatch;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pinned HTTP client for one endpoint (the API or the vault).
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    /// `api` or `vault`, as recorded in pin failure reports.
    endpoint: &'static str,
    /// Store that queues pin failure reports.
    store: Arc<EncryptedStore>,
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
    pub(crate) fn new(
        endpoint: &'static str,
        field: &str,
        base_url: &str,
        tls: rustls::ClientConfig,
        store: Arc<EncryptedStore>,
    ) -> Result<Self, ClientError> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        if !base_url.starts_with("https://") || reqwest::Url::parse(&base_url).is_err() {
            return Err(ClientError::InvalidInput(format!(
                "{field} must be an https:// URL, got {base_url:?}"
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
        Ok(Self {
            http,
            base_url,
            endpoint,
            store,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Builds `base_url` followed by `segments`, each percent-encoded, so an
    /// id cannot change the path.
    pub(crate) fn url_with_segments(&self, segments: &[&str]) -> Result<reqwest::Url, ClientError> {
        let mut url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| ClientError::InvalidInput(format!("invalid base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ClientError::InvalidInput("the base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Maps a transport failure to [`ClientError`], queuing a report if it
    /// was a pin failure.
    pub(crate) fn transport_error(&self, error: reqwest::Error) -> ClientError {
        if let Some(mismatch) = find_pin_mismatch(&error) {
            if let Err(store_error) = self.store.record_pin_failure(
                self.endpoint,
                &mismatch.host,
                &mismatch.presented_spki_sha256,
            ) {
                tracing::error!(error = %store_error, "could not queue a pin failure report");
            }
            return ClientError::PinMismatch;
        }
        // The URL carries no secret, but strip it anyway: messages reach users.
        ClientError::Network(error.without_url().to_string())
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

    /// Sends `GET path` without credentials and decodes the JSON response.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        decode(response).await
    }

    pub(crate) async fn me(&self, access_token: &SecretString) -> Result<MeResponse, ClientError> {
        let response = self
            .http
            .get(self.url("/v1/me"))
            .bearer_auth(access_token.expose_secret())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
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
            .map_err(|e| self.transport_error(e))?;
        decode(response).await
    }
}

pub(crate) async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
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
