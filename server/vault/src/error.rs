//! Errors of the vault, and the one place request errors become RFC 9457
//! `application/problem+json` responses.
//!
//! [`VaultError`] stops a start. [`ServiceError`] fails one request. Its
//! `type` slugs are stable, and the remote [`crate::VaultClient`] turns
//! problem documents back into this enum. No
//! variant may carry a card number, CVC, key or bearer token.

use std::path::Path;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sharepay_domain::wire::{FieldError, Problem};

/// A failure while starting the vault: configuration, files, keys, TLS,
/// the database.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("invalid vault configuration: {0}")]
    Config(String),
    #[error("vault TLS setup failed: {0}")]
    Tls(String),
    #[error("opening the vault database failed: {0}")]
    Store(String),
}

impl VaultError {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

/// A request to the vault that failed, as its caller sees it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {detail}")]
    InvalidInput {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("unauthorized: {detail}")]
    Unauthorized { detail: String },
    #[error("card declined: {detail}")]
    CardDeclined { detail: String },
    #[error("not found")]
    NotFound,
    #[error("the idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this idempotency key is still running")]
    IdempotencyKeyInProgress,
    #[error("the payment processor is unavailable: {detail}")]
    ProcessorUnavailable { detail: String },
    #[error("internal vault error: {0}")]
    Internal(String),
    /// Only the remote client raises this: the vault could not be reached
    /// or sent a response that is not a problem document.
    #[error("calling the vault failed: {0}")]
    Transport(String),
}

impl ServiceError {
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

    pub(crate) fn from_field_errors(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|error| format!("{}: {}", error.field, error.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::InvalidInput { detail, errors }
    }

    pub(crate) fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {cause}"))
    }

    /// Status, `type` slug and title of the problem document.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidInput { .. } => {
                (StatusCode::BAD_REQUEST, "invalid-input", "Invalid input")
            }
            Self::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::CardDeclined { .. } => (
                StatusCode::PAYMENT_REQUIRED,
                "card-declined",
                "Card declined",
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
            ),
            Self::IdempotencyKeyInProgress => (
                StatusCode::CONFLICT,
                "idempotency-key-in-progress",
                "Request in progress",
            ),
            Self::ProcessorUnavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "processor-unavailable",
                "Processor unavailable",
            ),
            Self::Internal(_) | Self::Transport(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "Internal error",
            ),
        }
    }

    /// Builds the problem document for this error.
    pub fn to_problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let (detail, errors) = match self {
            Self::InvalidInput { detail, errors } => (detail.clone(), errors.clone()),
            Self::Unauthorized { detail }
            | Self::CardDeclined { detail }
            | Self::ProcessorUnavailable { detail } => (detail.clone(), vec![]),
            Self::NotFound => ("no such card token or charge".to_owned(), vec![]),
            Self::IdempotencyKeyReused => (
                "this idempotency key was used for a different request: use a new key for a new charge or refund"
                    .to_owned(),
                vec![],
            ),
            Self::IdempotencyKeyInProgress => (
                "a charge or refund with this idempotency key is still running: retry the same request later"
                    .to_owned(),
                vec![],
            ),
            Self::Internal(_) | Self::Transport(_) => (
                "the vault failed to handle the request; retry later".to_owned(),
                vec![],
            ),
        };
        Problem {
            problem_type: slug.to_owned(),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            request_id: None,
            errors,
            methods: vec![],
        }
    }

    /// Rebuilds the error a problem document describes, for the remote
    /// client. An unknown slug becomes [`ServiceError::Transport`].
    pub fn from_problem(problem: Problem) -> Self {
        match problem.problem_type.as_str() {
            "invalid-input" => Self::InvalidInput {
                detail: problem.detail,
                errors: problem.errors,
            },
            "unauthorized" => Self::Unauthorized {
                detail: problem.detail,
            },
            "card-declined" => Self::CardDeclined {
                detail: problem.detail,
            },
            "not-found" => Self::NotFound,
            "idempotency-key-reused" => Self::IdempotencyKeyReused,
            "idempotency-key-in-progress" => Self::IdempotencyKeyInProgress,
            "processor-unavailable" => Self::ProcessorUnavailable {
                detail: problem.detail,
            },
            "internal-error" => Self::Internal(problem.detail),
            other => Self::Transport(format!(
                "the vault returned status {} with an unknown problem type {other:?}",
                problem.status
            )),
        }
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) | Self::Transport(cause) = &self {
            tracing::error!(error = %cause, "vault request failed");
        }
        let problem = self.to_problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
