//! Extractors whose rejections are problem+json naming the field: a strict
//! JSON body and UUIDv7 path identifiers.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sharepay_domain::wire::validation::readable_serde_message;
use uuid::Uuid;

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
            .is_some_and(sharepay_domain::wire::validation::is_json_media_type);
        if !is_json {
            return Err(ApiError::invalid_field(
                "Content-Type",
                "the request body must be JSON; send `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit_bytes: None },
                _ => ApiError::invalid_field("body", e.body_text()),
            })?;
        parse(&bytes).map(StrictJson)
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let message = readable_serde_message(&error.inner().to_string());
        let path = error.path().to_string();
        let field = unknown_field_name(&message)
            .map(|name| join_path(&path, name))
            .unwrap_or_else(|| if path == "." { "body".to_owned() } else { path });
        ApiError::invalid_field(&field, message)
    })
}

/// An identifier from the path, checked to be a UUID of version 7 (the
/// only kind the server issues). A route has one such parameter; its name in
/// the route pattern is the field that errors name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid_field("path", e.body_text()))?;
        let [(name, value)] = params.as_slice() else {
            return Err(ApiError::internal(
                "extracting a path id",
                format!("the route has {} path parameters, expected 1", params.len()),
            ));
        };
        parse_v7(name, value).map(PathId)
    }
}

/// Parses a UUIDv7 in its hyphenated form, naming `field` on failure.
pub fn parse_v7(field: &str, value: &str) -> Result<Uuid, ApiError> {
    let id = Uuid::try_parse(value).map_err(|_| {
        ApiError::invalid_field(
            field,
            "must be a UUID such as 01890a5d-ac96-774b-bcce-b302099a8057",
        )
    })?;
    if id.get_version_num() != 7 {
        return Err(ApiError::invalid_field(
            field,
            format!(
                "must be a version 7 UUID, but is version {}",
                id.get_version_num()
            ),
        ));
    }
    Ok(id)
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
    fn v7_id_parses() {
        let id = Uuid::now_v7();

        assert_eq!(parse_v7("bill_id", &id.to_string()).expect("valid id"), id);
    }

    #[test]
    fn non_v7_id_is_rejected() {
        let v4 = "9f1b6c4e-2d3a-4f5b-8c7d-1e2f3a4b5c6d";

        let error = parse_v7("bill_id", v4).expect_err("version 4");
        let problem = error.to_problem();
        assert_eq!(problem.errors[0].field, "bill_id");
        assert!(problem.errors[0].message.contains("version 4"));
    }

    #[test]
    fn non_uuid_id_is_rejected() {
        let error = parse_v7("bill_id", "1; DROP TABLE bills").expect_err("not a UUID");

        assert_eq!(error.to_problem().errors[0].field, "bill_id");
    }

    #[test]
    fn missing_field_is_reported() {
        let error =
            parse::<RegisterRequest>(br#"{"email":"a@example.org"}"#).expect_err("must fail");

        assert!(error.to_problem().detail.contains("password"));
    }
}
