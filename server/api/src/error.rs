//! Errors of the API server, and the one place they become HTTP responses.
//!
//! Every error response is RFC 9457 `application/problem+json` with a stable
//! `type` slug. Internal causes (SQL, I/O, library messages) are logged with
//! the request id and never sent to the client.

use std::path::Path;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sharepay_domain::wire::{FieldError, Problem};

/// A failure while starting the server: configuration, files, keys, TLS.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(
        "cannot listen on {address}: {source}; choose another address with --listen, or stop the program that uses it"
    )]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("opening the database failed: {0}")]
    Store(String),
}

impl StartupError {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

/// A request that failed, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid input")]
    InvalidInput {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("unauthorized")]
    Unauthorized { detail: String },
    /// The caller may see the resource but not perform this action on it.
    #[error("forbidden")]
    Forbidden { detail: String },
    #[error("conflict")]
    Conflict { detail: String },
    /// A high-severity security event locked the account until an
    /// administrator unlocks it.
    #[error("account locked")]
    AccountLocked,
    /// The change needs an MFA check from the last few minutes; `methods`
    /// are the ones the user can pass.
    #[error("step-up required")]
    StepUpRequired { methods: Vec<String> },
    /// A card change from a device whose first sign-in is recent; the
    /// device may change cards from `allowed_at` (RFC 3339).
    #[error("card change from a new device")]
    NewDevicePaymentChange { allowed_at: String },
    #[error("not found")]
    NotFound,
    /// The `Idempotency-Key` was used before with a different request.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// A request with the same `Idempotency-Key` is still running. It is a
    /// 503 rather than a 409 because the phone core retries 503 and treats
    /// 409 as final.
    #[error("idempotency key in progress")]
    IdempotencyKeyInProgress,
    /// The card was declined or needs the cardholder's authentication; the
    /// detail gives the reason and the charge stays open.
    #[error("payment declined")]
    PaymentDeclined { detail: String },
    /// The vault did not decide the payment in time; a retry with the same
    /// `Idempotency-Key` continues the same payment and never charges twice.
    #[error("payment outcome unknown")]
    PaymentOutcomeUnknown,
    /// The vault did not decide a refund; a retry with the same
    /// `Idempotency-Key` reaches the same vault refund and never refunds
    /// twice.
    #[error("refund outcome unknown")]
    RefundOutcomeUnknown,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge { limit_bytes: Option<usize> },
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("request timed out")]
    Timeout,
    #[error("server overloaded")]
    Overloaded,
    /// A status produced outside the handlers (by axum or hyper) that has no
    /// variant of its own.
    #[error("request rejected with status {0}")]
    Rejected(StatusCode),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::InvalidInput {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError {
                field: field.to_owned(),
                message,
            }],
        }
    }

    /// Collects field errors into one `invalid-input` error.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|error| format!("{}: {}", error.field, error.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::InvalidInput { detail, errors }
    }

    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {cause}"))
    }

    /// Maps a bare error status (an axum rejection, a hyper reply) to its
    /// problem.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge { limit_bytes: None },
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => Self::Overloaded,
            StatusCode::BAD_REQUEST => Self::InvalidInput {
                detail: "the request is malformed; check the path, headers and body".to_owned(),
                errors: vec![],
            },
            status if status.is_server_error() => {
                Self::Internal(format!("a layer answered {status} without a problem"))
            }
            status => Self::Rejected(status),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidInput { .. } => {
                (StatusCode::BAD_REQUEST, "invalid-input", "Invalid input")
            }
            Self::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Self::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::AccountLocked => (StatusCode::FORBIDDEN, "account-locked", "Account locked"),
            Self::StepUpRequired { .. } => (
                StatusCode::FORBIDDEN,
                "step-up-required",
                "Step-up required",
            ),
            Self::NewDevicePaymentChange { .. } => (
                StatusCode::FORBIDDEN,
                "new-device-payment-change",
                "Card change from a new device",
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::IdempotencyKeyInProgress => (
                StatusCode::SERVICE_UNAVAILABLE,
                "idempotency-key-in-progress",
                "Idempotency key in progress",
            ),
            Self::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
            ),
            Self::PaymentDeclined { .. } => (
                StatusCode::PAYMENT_REQUIRED,
                "payment-declined",
                "Payment declined",
            ),
            Self::PaymentOutcomeUnknown => (
                StatusCode::SERVICE_UNAVAILABLE,
                "payment-outcome-unknown",
                "Payment outcome unknown",
            ),
            Self::RefundOutcomeUnknown => (
                StatusCode::SERVICE_UNAVAILABLE,
                "refund-outcome-unknown",
                "Refund outcome unknown",
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            Self::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
            ),
            Self::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Server overloaded",
            ),
            Self::Rejected(status) => (*status, "request-rejected", "Request rejected"),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "Internal error",
            ),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::InvalidInput { detail, .. }
            | Self::Unauthorized { detail }
            | Self::Conflict { detail }
            | Self::PaymentDeclined { detail }
            | Self::Forbidden { detail } => detail.clone(),
            Self::PaymentOutcomeUnknown => "the card processor did not answer in time, so it is \
                not known yet whether the card was charged; retry with the same Idempotency-Key, \
                which never charges twice"
                .to_owned(),
            Self::RefundOutcomeUnknown => "the card processor did not decide the refund, so \
                nothing was recorded; retry with the same Idempotency-Key, which never refunds \
                twice"
                .to_owned(),
            Self::NotFound => "no such resource".to_owned(),
            Self::AccountLocked => "this account is locked pending a security review after \
                suspicious activity; contact an administrator to unlock it"
                .to_owned(),
            Self::StepUpRequired { methods } => format!(
                "this change needs a recent MFA check: ask for a code with \
                 POST /v1/me/step-up/challenge (or use a security key under \
                 /v1/me/webauthn/assertions), then pass it at POST /v1/me/step-up/verify; \
                 your methods: {}",
                methods.join(", ")
            ),
            Self::NewDevicePaymentChange { allowed_at } => format!(
                "this device signed in to the account for the first time recently, so it \
                 cannot add or change a card yet; save the card from a device that has been \
                 signed in for longer, or retry from this device after {allowed_at}"
            ),
            Self::IdempotencyKeyInProgress => {
                "a request with this Idempotency-Key is still running; retry in a few seconds"
                    .to_owned()
            }
            Self::IdempotencyKeyReused => "this Idempotency-Key was used with a different \
                request; send a new key for a new request"
                .to_owned(),
            Self::MethodNotAllowed => {
                "this path does not accept this method; see /v1/openapi.json".to_owned()
            }
            Self::PayloadTooLarge {
                limit_bytes: Some(limit),
            } => format!("the request body is larger than {limit} bytes; send less"),
            Self::PayloadTooLarge { limit_bytes: None } => {
                "the request body is larger than this route accepts; send less".to_owned()
            }
            Self::RateLimited { retry_after_secs } => format!(
                "too many requests from this address or for this account; retry in {retry_after_secs} s"
            ),
            Self::Timeout => "the server did not finish the request in time; retry later".to_owned(),
            Self::Overloaded => {
                "the server is handling too many requests; retry in a second".to_owned()
            }
            Self::Rejected(status) => format!("the request was rejected with status {status}"),
            Self::Internal(_) => {
                "the server failed to handle the request; retry later, and quote the request id if it persists"
                    .to_owned()
            }
        }
    }

    /// Builds the problem document for this error.
    pub fn to_problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let errors = match self {
            Self::InvalidInput { errors, .. } => errors.clone(),
            _ => vec![],
        };
        let methods = match self {
            Self::StepUpRequired { methods } => methods.clone(),
            _ => vec![],
        };
        Problem {
            problem_type: slug.to_owned(),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            request_id: None,
            errors,
            methods,
        }
    }

    /// Seconds a client should wait before retrying, for `Retry-After`.
    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Overloaded => Some(1),
            Self::PaymentOutcomeUnknown | Self::RefundOutcomeUnknown => Some(2),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        let mut response = problem_response(self.to_problem());
        if let Some(seconds) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Serializes a problem with its status and content type.
///
/// The problem also travels in the response extensions, so that the
/// request middleware can add the request id to the body
/// ([`with_request_id`]).
pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(&problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    );
    response.extensions_mut().insert(problem);
    response
}

/// Media type of every error body (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Marks an error response whose body a standard fixes (such as an OAuth2
/// error), so [`with_request_id`] leaves it as it is.
#[derive(Clone, Copy, Debug)]
pub struct StandardErrorBody;

/// Makes an error response carry `request_id` in its problem body.
///
/// A response built by [`problem_response`] gets the id written into its
/// problem. An error status from elsewhere (axum's 405, a bare 413 or 408)
/// is replaced by the problem [`ApiError::from_status`] maps it to, so every
/// error the client sees is problem+json. Other responses pass unchanged.
pub fn with_request_id(response: Response, request_id: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let problem = match parts.extensions.remove::<Problem>() {
        Some(problem) => problem,
        None if parts.extensions.get::<StandardErrorBody>().is_some() => {
            return Response::from_parts(parts, body);
        }
        None if parts.status.is_client_error() || parts.status.is_server_error() => {
            ApiError::from_status(parts.status).to_problem()
        }
        None => return Response::from_parts(parts, body),
    };
    let problem = Problem {
        request_id: Some(request_id.to_owned()),
        ..problem
    };
    let mut rebuilt = problem_response(problem);
    // Keep headers such as Retry-After and Allow, but not the old body's length.
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rebuilt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_method_not_allowed_becomes_problem() {
        let bare = Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET")
            .body(axum::body::Body::empty())
            .expect("response");

        let response = with_request_id(bare, "req-1");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
        assert_eq!(response.headers()[header::ALLOW], "GET");
        let problem = response.extensions().get::<Problem>().expect("problem");
        assert_eq!(problem.problem_type, "method-not-allowed");
        assert_eq!(problem.request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn internal_detail_hides_cause() {
        let problem =
            ApiError::internal("loading a user", "SQL logic error near SELECT").to_problem();

        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("SQL"), "{}", problem.detail);
    }

    #[test]
    fn success_passes_unchanged() {
        let ok = Response::new(axum::body::Body::from("hello"));

        let response = with_request_id(ok, "req-2");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.extensions().get::<Problem>().is_none());
    }
}
