//! A JSON body extractor whose rejections are problem+json naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `axum::Json`, but every failure is an `invalid-input` problem that
/// names the offending field, and unknown fields are errors (the wire types
/// deny them).
pub struct StrictJson<T>(pub T);

impl<S, T> FromRequest<S> for StrictJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::invalid_field(
                "Content-Type",
                "the request body must be JSON; send `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::invalid_field("body", e.body_text()))?;
        parse(&bytes).map(StrictJson)
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let message = error.inner().to_string();
        let path = error.path().to_string();
        let field = unknown_field_name(&message)
            .map(|name| join_path(&path, name))
            .unwrap_or_else(|| if path == "." { "body".to_owned() } else { path });
        ApiError::invalid_field(&field, message)
    })
}

/// Extracts `x` from serde's "unknown field `x`, expected ..." message.
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Names the unknown field under its parent. serde_path_to_error already
/// ends the path with the unknown key, so it is appended only when missing.
fn join_path(path: &str, name: &str) -> String {
    if path == "." {
        name.to_owned()
    } else if path == name || path.ends_with(&format!(".{name}")) {
        path.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sharepay_domain::wire::RegisterRequest;

    #[test]
    fn unknown_field_is_named() {
        let body = br#"{"email":"a@example.org","password":"x","admin":true}"#;

        let error = parse::<RegisterRequest>(body).expect_err("must fail");
        let problem = error.to_problem();
        assert_eq!(problem.status, 400);
        assert_eq!(problem.errors[0].field, "admin");
    }

    #[test]
    fn missing_field_is_reported() {
        let error =
            parse::<RegisterRequest>(br#"{"email":"a@example.org"}"#).expect_err("must fail");

        assert!(error.to_problem().detail.contains("password"));
    }
}
