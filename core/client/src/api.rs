//! HTTP calls to the API over the pinned connection, and the mapping of
//! responses and transport failures to [`ClientError`].

use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sharepay_domain::wire::auth::RefreshRequest;
use sharepay_domain::wire::mfa::{LoginResponse, MfaChallengeRequest, MfaVerifyRequest};
use sharepay_domain::wire::security::PinFailureBatch;
use sharepay_domain::wire::{
    LoginRequest, Problem, RegisterRequest, RegisterResponse, TokenResponse,
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

    pub(crate) async fn login(&self, request: &LoginRequest) -> Result<LoginResponse, ClientError> {
        self.post_json("/v1/auth/login", request).await
    }

    pub(crate) async fn mfa_challenge(
        &self,
        request: &MfaChallengeRequest,
    ) -> Result<(), ClientError> {
        let _: serde_json::Value = self.post_json("/v1/auth/mfa/challenge", request).await?;
        Ok(())
    }

    pub(crate) async fn mfa_verify(
        &self,
        request: &MfaVerifyRequest,
    ) -> Result<TokenResponse, ClientError> {
        self.post_json("/v1/auth/mfa/verify", request).await
    }

    pub(crate) async fn refresh(
        &self,
        request: &RefreshRequest,
    ) -> Result<TokenResponse, ClientError> {
        self.post_json("/v1/auth/refresh", request).await
    }

    /// Posts a batch of pin failure reports. The access token is sent when
    /// the caller has one, because a report may wait from before the login.
    pub(crate) async fn post_pin_failures(
        &self,
        batch: &PinFailureBatch,
        access_token: Option<&SecretString>,
    ) -> Result<(), ClientError> {
        let mut request = self
            .http
            .post(self.url("/v1/security/pin-failures"))
            .json(batch);
        if let Some(token) = access_token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        decode_empty(response).await
    }

    /// Sends `method url` with the bearer token, an optional JSON body and
    /// an optional `Idempotency-Key`, and returns the response whatever its
    /// status.
    pub(crate) async fn send_with_token(
        &self,
        method: Method,
        url: reqwest::Url,
        access_token: &SecretString,
        json_body: Option<&[u8]>,
        idempotency_key: Option<&str>,
    ) -> Result<Response, ClientError> {
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(access_token.expose_secret());
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = json_body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        request.send().await.map_err(|e| self.transport_error(e))
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

    pub(crate) async fn post_json<B: Serialize, T: DeserializeOwned>(
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
    Err(error_from_response(response).await)
}

/// Checks that a response without a body (such as 202 or 204) succeeded.
pub(crate) async fn decode_empty(response: Response) -> Result<(), ClientError> {
    if response.status().is_success() {
        return Ok(());
    }
    Err(error_from_response(response).await)
}

/// Maps an error status and its problem details to [`ClientError`]. The
/// message is the problem's `detail`, followed by each offending field.
async fn error_from_response(response: Response) -> ClientError {
    let status = response.status();
    let problem = response.json::<Problem>().await.ok();
    let message = match &problem {
        Some(problem) => problem_message(problem),
        None => status
            .canonical_reason()
            .unwrap_or("unknown status")
            .to_owned(),
    };
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            ClientError::InvalidInput(message)
        }
        StatusCode::UNAUTHORIZED => ClientError::Unauthorized(message),
        StatusCode::FORBIDDEN if problem.as_ref().is_some_and(is_step_up_required) => {
            ClientError::StepUpRequired {
                methods: problem.map(|problem| problem.methods).unwrap_or_default(),
            }
        }
        StatusCode::FORBIDDEN => ClientError::Forbidden(message),
        StatusCode::NOT_FOUND => ClientError::NotFound(message),
        StatusCode::CONFLICT => ClientError::Conflict(message),
        // The API returns 402 only for a payment the card issuer declined.
        StatusCode::PAYMENT_REQUIRED => ClientError::PaymentDeclined(message),
        _ => ClientError::Server {
            status: status.as_u16(),
            message,
        },
    }
}

/// Problem type of a change that needs a recent MFA check.
const STEP_UP_REQUIRED: &str = "step-up-required";

fn is_step_up_required(problem: &Problem) -> bool {
    problem.problem_type == STEP_UP_REQUIRED
        || problem
            .problem_type
            .ends_with(&format!("/{STEP_UP_REQUIRED}"))
}

/// Formats a problem as its `detail`, followed in parentheses by the field
/// errors that the detail does not already contain.
fn problem_message(problem: &Problem) -> String {
    let mut texts = problem_texts(problem).into_iter();
    let detail = texts.next().unwrap_or_default();
    let fields: Vec<String> = texts.collect();
    if fields.is_empty() {
        detail
    } else {
        format!("{detail} ({})", fields.join("; "))
    }
}

/// Returns the problem's `detail`, then one `field: message` text for each
/// field error whose message the detail does not already contain. Servers
/// often copy a single field error into the detail, and showing it twice
/// reads as a fault.
pub(crate) fn problem_texts(problem: &Problem) -> Vec<String> {
    let mut texts = vec![problem.detail.clone()];
    texts.extend(
        problem
            .errors
            .iter()
            .filter(|error| !problem.detail.contains(&error.message))
            .map(|error| format!("{}: {}", error.field, error.message)),
    );
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(problem_type: &str, methods: &[&str]) -> Problem {
        Problem {
            problem_type: problem_type.to_owned(),
            title: "Step-up required".to_owned(),
            status: 403,
            detail: "this change needs a recent MFA check".to_owned(),
            request_id: None,
            errors: Vec::new(),
            methods: methods.iter().map(|method| (*method).to_owned()).collect(),
        }
    }

    #[test]
    fn step_up_problem_lists_methods() {
        let problem = problem("step-up-required", &["webauthn", "totp", "recovery_code"]);

        assert!(is_step_up_required(&problem));
        assert_eq!(problem.methods, vec!["webauthn", "totp", "recovery_code"]);
    }

    #[test]
    fn step_up_problem_type_forms() {
        let slug = problem("step-up-required", &[]);
        let uri = problem("https://sharepay.example/problems/step-up-required", &[]);
        let other = problem("forbidden", &["totp"]);
        let suffix_only = problem("no-step-up-required", &[]);

        assert!(is_step_up_required(&slug));
        assert!(is_step_up_required(&uri));
        assert!(!is_step_up_required(&other));
        assert!(!is_step_up_required(&suffix_only));
        assert!(slug.methods.is_empty());
    }

    fn field_problem(detail: &str, errors: &[(&str, &str)]) -> Problem {
        Problem {
            errors: errors
                .iter()
                .map(|(field, message)| sharepay_domain::wire::FieldError {
                    field: (*field).to_owned(),
                    message: (*message).to_owned(),
                })
                .collect(),
            detail: detail.to_owned(),
            ..problem("validation-failed", &[])
        }
    }

    #[test]
    fn problem_message_drops_repeated_field() {
        let problem = field_problem(
            "period_end: must not be before period_start",
            &[("period_end", "must not be before period_start")],
        );

        assert_eq!(
            problem_message(&problem),
            "period_end: must not be before period_start"
        );
    }

    #[test]
    fn problem_message_keeps_new_fields() {
        let problem = field_problem(
            "the request has 2 invalid fields",
            &[
                ("amount", "amount must be greater than zero"),
                ("members", "members must list at least one member"),
            ],
        );

        assert_eq!(
            problem_message(&problem),
            "the request has 2 invalid fields (amount: amount must be greater than zero; \
             members: members must list at least one member)"
        );
    }

    #[test]
    fn problem_message_mixed_fields() {
        let problem = field_problem(
            "amount: amount must be greater than zero",
            &[
                ("amount", "amount must be greater than zero"),
                ("currency", "currency must be a 3-letter ISO 4217 code"),
            ],
        );

        assert_eq!(
            problem_message(&problem),
            "amount: amount must be greater than zero \
             (currency: currency must be a 3-letter ISO 4217 code)"
        );
        assert_eq!(problem_texts(&problem).len(), 2);
    }
}
