//! The vault's HTTP routes: the phone-facing router (`POST /v1/cards`) and
//! the API-facing router (intake tokens, charges, refunds, card lookup and
//! deletion), which only the mTLS listener serves.
//!
//! Handlers extract, then call [`VaultHandle`], which validates, stores
//! and encrypts. They are instrumented with `skip_all`, request bodies are
//! never logged, and body parse errors never repeat a submitted value,
//! because a value could be a card number.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sharepay_domain::card::{CardIntakeRequest, CardTokenResponse};
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::HealthResponse;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ServiceError;
use crate::service::VaultHandle;
use crate::wire::{ChargeRefundRequest, ChargeRequest, IntakeTokenBody, IntakeTokenRequest};

/// Largest request body accepted, in bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Routes the phone reaches over the vault's pinned endpoint.
// NOTE: no per-address rate limit guards this listener yet; intake tokens
// (128 random bits, five failures each) are the only brake on card testing.
pub(crate) fn phone_router(vault: VaultHandle) -> Router {
    let router = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/cards", post(create_card));
    finish(router, vault)
}

/// Routes only the API server reaches, over mTLS.
pub(crate) fn api_router(vault: VaultHandle) -> Router {
    let router = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/intake-tokens", post(create_intake_token))
        .route("/v1/charges", post(create_charge))
        .route("/v1/charges/{charge_id}/refunds", post(create_refund))
        .route("/v1/cards/{token}", get(show_card).delete(delete_card));
    finish(router, vault)
}

fn finish(router: Router<VaultHandle>, vault: VaultHandle) -> Router {
    router
        .fallback(|| async { ServiceError::NotFound })
        .with_state(vault)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// `POST /v1/cards`: tokenizes a card for the holder of an intake token.
#[tracing::instrument(name = "create_card", skip_all)]
async fn create_card(
    State(vault): State<VaultHandle>,
    headers: HeaderMap,
    SafeJson(request): SafeJson<CardIntakeRequest>,
) -> Result<Response, ServiceError> {
    let intake_token = bearer_token(&headers)?;
    let response = vault.tokenize_card(intake_token, &request).await?;
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// `POST /v1/intake-tokens`: issues an intake token for a user (API only).
#[tracing::instrument(name = "create_intake_token", skip_all)]
async fn create_intake_token(
    State(vault): State<VaultHandle>,
    SafeJson(request): SafeJson<IntakeTokenRequest>,
) -> Result<Response, ServiceError> {
    let token = vault.issue_intake_token(request.user_id).await?;
    Ok((StatusCode::CREATED, Json(IntakeTokenBody::from(&token))).into_response())
}

/// `POST /v1/charges`: charges a card token (API only). An
/// `Idempotency-Key` header, when sent, must equal the body's key.
#[tracing::instrument(name = "create_charge", skip_all)]
async fn create_charge(
    State(vault): State<VaultHandle>,
    headers: HeaderMap,
    SafeJson(request): SafeJson<ChargeRequest>,
) -> Result<Response, ServiceError> {
    check_idempotency_header(&headers, &request.idempotency_key)?;
    let response = vault.charge(&request).await?;
    Ok(Json(response).into_response())
}

/// `POST /v1/charges/{charge_id}/refunds`: refunds an approved charge (API
/// only). An `Idempotency-Key` header, when sent, must equal the body's key.
#[tracing::instrument(name = "create_refund", skip_all)]
async fn create_refund(
    State(vault): State<VaultHandle>,
    Path(charge_id): Path<String>,
    headers: HeaderMap,
    SafeJson(request): SafeJson<ChargeRefundRequest>,
) -> Result<Response, ServiceError> {
    check_idempotency_header(&headers, &request.idempotency_key)?;
    let response = vault.refund(&charge_id, &request).await?;
    Ok(Json(response).into_response())
}

fn check_idempotency_header(headers: &HeaderMap, body_key: &str) -> Result<(), ServiceError> {
    match headers.get("idempotency-key") {
        Some(header_key) if header_key.as_bytes() != body_key.as_bytes() => {
            Err(ServiceError::invalid_field(
                "Idempotency-Key",
                "the Idempotency-Key header differs from the body's idempotency_key: send one value",
            ))
        }
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerQuery {
    user_id: UserId,
}

/// `GET /v1/cards/{token}?user_id=...`: the display data of a card of
/// that user (API only).
#[tracing::instrument(name = "show_card", skip_all)]
async fn show_card(
    State(vault): State<VaultHandle>,
    Path(token): Path<String>,
    query: Result<Query<OwnerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CardTokenResponse>, ServiceError> {
    let owner = owner_of(query)?;
    Ok(Json(vault.card(owner.user_id, &token).await?))
}

/// Reads the `user_id` query parameter that names a card's owner.
fn owner_of(
    query: Result<Query<OwnerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<OwnerQuery, ServiceError> {
    let Query(owner) = query.map_err(|_| {
        ServiceError::invalid_field(
            "user_id",
            "the user_id query parameter must be the card owner's UUID",
        )
    })?;
    Ok(owner)
}

/// `DELETE /v1/cards/{token}?user_id=...`: deletes a card on behalf of
/// its owner (API only).
#[tracing::instrument(name = "delete_card", skip_all)]
async fn delete_card(
    State(vault): State<VaultHandle>,
    Path(token): Path<String>,
    query: Result<Query<OwnerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ServiceError> {
    let owner = owner_of(query)?;
    vault.delete_card(owner.user_id, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ServiceError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ServiceError::Unauthorized {
            detail: "send the card intake token from the SharePay API as `Authorization: Bearer <token>`".into(),
        })
}

/// A JSON body extractor whose errors name the field but never repeat a
/// value from the body.
///
/// NOTE: the raw body buffer that hyper and axum hand over is not zeroized,
/// so a card number lingers in freed heap memory until it is reused. Only
/// the parsed request and [`sharepay_domain::card::PrimaryAccountNumber`]
/// are zeroized.
struct SafeJson<T>(T);

impl<S, T> FromRequest<S> for SafeJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ServiceError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ServiceError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(sharepay_domain::wire::validation::is_json_media_type);
        if !is_json {
            return Err(ServiceError::invalid_field(
                "Content-Type",
                "the request body must be JSON; send `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ServiceError::invalid_field("body", e.body_text()))?;
        parse_body(&bytes).map(SafeJson)
    }
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        // serde's own messages for these two cases name only field names.
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or("?");
            return ServiceError::invalid_field(name, format!("unknown field `{name}`: remove it"));
        }
        if message.starts_with("missing field `") {
            let field = if path == "." { "body".to_owned() } else { path };
            let name = message.split('`').nth(1).unwrap_or("?");
            return ServiceError::invalid_field(&field, format!("missing field `{name}`"));
        }
        // Other messages may quote the offending value, so only the
        // location and kind are returned.
        let field = if path == "." { "body".to_owned() } else { path };
        let kind = match error.inner().classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "the body is not valid JSON"
            }
            _ => "the value has the wrong type or format",
        };
        ServiceError::invalid_field(&field, kind)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_error_does_not_echo_number() {
        let body = br#"{"number":4242424242424242,"expiry_month":12,"expiry_year":2030,"cvc":"123","cardholder_name":"A"}"#;

        let error = parse_body::<CardIntakeRequest>(body).expect_err("number must be a string");
        let problem = error.to_problem();
        assert_eq!(problem.errors[0].field, "number");
        assert!(
            !problem.detail.contains("4242424242424242"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let body = br#"{"user_id":"0190c3c4-0000-7000-8000-000000000000","admin":true}"#;

        let error = parse_body::<IntakeTokenRequest>(body).expect_err("unknown field");
        assert_eq!(error.to_problem().errors[0].field, "admin");
    }
}
