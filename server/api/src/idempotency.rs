//! The `Idempotency-Key` header of requests that move money or record a
//! reading: parsing it, claiming it before the request runs, and replaying
//! the first response.
//!
//! A key belongs to one caller, so two users can never see each other's
//! responses. The request is identified by the SHA-256 of its method, path
//! and canonical body, so the same key with a different body is rejected
//! with 422. This module never stores a response for a request that failed
//! validation, so the client can correct it and retry with the same key.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ring::digest;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::store::readings::{KeyClaim, KeyRef, StoredResponse};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_CHARS: usize = 255;

/// Reads and checks the `Idempotency-Key` header: 1 to 255 visible ASCII
/// characters.
pub fn key_from_headers(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers.get(HEADER).ok_or_else(|| {
        ApiError::invalid_field(
            "Idempotency-Key",
            "is required; send a new random value, such as a UUID, with each new request and \
             the same value when retrying it",
        )
    })?;
    let text = value
        .to_str()
        .ok()
        .filter(|text| !text.is_empty() && text.len() <= MAX_KEY_CHARS)
        .filter(|text| text.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid_field(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
            )
        })?;
    Ok(text.to_owned())
}

/// Builds the key reference of `caller`'s request `method path` with `body`.
pub fn key_ref<B: Serialize>(
    caller: Uuid,
    key: String,
    method: &str,
    path: &str,
    body: &B,
) -> Result<KeyRef, ApiError> {
    let body = serde_json::to_vec(body)
        .map_err(|e| ApiError::internal("serializing a request for its hash", e))?;
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(method.as_bytes());
    context.update(b" ");
    context.update(path.as_bytes());
    context.update(b"\n");
    context.update(&body);
    let mut request_sha256 = [0u8; 32];
    request_sha256.copy_from_slice(context.finish().as_ref());
    Ok(KeyRef {
        scope: format!("user:{caller}"),
        key,
        request_sha256,
    })
}

/// Claims `key`. Returns `Ok(None)` when the request should run, and the
/// response to send when it already ran (a replay) or must not run.
pub async fn claim(state: &AppState, key: &KeyRef) -> Result<Option<Response>, ApiError> {
    let claim = state
        .store
        .claim_key(key, OffsetDateTime::now_utc())
        .await
        .map_err(|e| ApiError::internal("claiming an idempotency key", e))?;
    match claim {
        KeyClaim::Claimed => Ok(None),
        KeyClaim::Replay(stored) => Ok(Some(replay(&stored))),
        KeyClaim::Mismatch => Err(ApiError::IdempotencyKeyReused),
        KeyClaim::InProgress => Err(ApiError::IdempotencyKeyInProgress),
    }
}

/// Serializes a response body for storage under a key.
pub fn stored<B: Serialize>(status: StatusCode, body: &B) -> Result<StoredResponse, ApiError> {
    Ok(StoredResponse {
        status: status.as_u16(),
        body: serde_json::to_string(body)
            .map_err(|e| ApiError::internal("serializing a response", e))?,
    })
}

/// Turns a stored response into the HTTP response, marked as a replay.
pub fn replay(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
