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
    #[error("conflict")]
    Conflict { detail: String },
    #[error("not found")]
    NotFound,
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

    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {cause}"))
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidInput { .. } => {
                (StatusCode::BAD_REQUEST, "invalid-input", "Invalid input")
            }
            Self::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::Internal(_) => (
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
            Self::Unauthorized { detail } | Self::Conflict { detail } => (detail.clone(), vec![]),
            Self::NotFound => ("no such resource".to_owned(), vec![]),
            Self::Internal(_) => (
                "the server failed to handle the request; retry later, and quote the request id if it persists"
                    .to_owned(),
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
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        problem_response(self.to_problem())
    }
}

/// Serializes a problem with its status and content type. The request id
/// is filled in by the request-id middleware.
pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}
