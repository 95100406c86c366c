//! WebAuthn as a second factor: finishing a login's MFA challenge with a
//! security key or passkey, instead of a code.
//!
//! The client sends the `mfa_token` from the login response to get request
//! options, has the authenticator sign them, and sends the result back with
//! the same token. A verified assertion completes the challenge through
//! [`crate::identity::mfa::complete_challenge`], like a correct code.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use sharepay_domain::wire::{Problem, TokenResponse};

use super::service;
use super::wire::{CeremonyResponse, MfaWebauthnOptionsRequest, MfaWebauthnVerifyRequest};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{StrictJson, parse_v7};
use crate::identity::mfa::{check_method, complete_challenge, load_challenge};
use crate::routes::request_id;

/// The method name of WebAuthn in MFA challenges and step-up lists.
pub const WEBAUTHN_METHOD: &str = "webauthn";

#[utoipa::path(
    post,
    path = "/v1/auth/mfa/webauthn/options",
    operation_id = "mfa_webauthn_options",
    tag = "mfa",
    request_body = MfaWebauthnOptionsRequest,
    responses(
        (status = 200, description = "An assertion ceremony for the challenged user: pass `public_key` to `navigator.credentials.get()` or the platform API, then post the result to `/v1/auth/mfa/webauthn/verify`.", body = CeremonyResponse),
        (status = 400, description = "The token is malformed, or WebAuthn is not among the challenge's methods.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The MFA token is invalid, expired or used up.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn options(
    State(state): State<AppState>,
    StrictJson(request): StrictJson<MfaWebauthnOptionsRequest>,
) -> Result<Json<CeremonyResponse>, ApiError> {
    let challenge = load_challenge(&state, &request.mfa_token).await?;
    check_method(WEBAUTHN_METHOD, &challenge.methods)?;
    let started = service::start_authentication(&state, challenge.user_id).await?;
    Ok(Json(super::handlers::ceremony_response(started)?))
}

#[utoipa::path(
    post,
    path = "/v1/auth/mfa/webauthn/verify",
    operation_id = "mfa_webauthn_verify",
    tag = "mfa",
    request_body = MfaWebauthnVerifyRequest,
    responses(
        (status = 200, description = "The assertion verified: access and refresh tokens, with `amr` naming the factor.", body = TokenResponse),
        (status = 400, description = "The token, ceremony or credential is malformed, unknown, expired or already used; `errors` names the field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The MFA token is invalid, expired or used up.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The assertion failed verification.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    StrictJson(request): StrictJson<MfaWebauthnVerifyRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let request_id = request_id(&headers);
    let challenge = load_challenge(&state, &request.mfa_token).await?;
    check_method(WEBAUTHN_METHOD, &challenge.methods)?;
    let ceremony_id = parse_v7("ceremony_id", &request.ceremony_id)?;

    let verified = service::finish_authentication(
        &state,
        challenge.user_id,
        ceremony_id,
        &request.credential,
        request_id,
    )
    .await;
    if let Err(error) = verified {
        tracing::info!(
            user_id = %challenge.user_id,
            challenge_id = %challenge.id,
            "a WebAuthn assertion for a login challenge failed"
        );
        state
            .mfa
            .store
            .record_challenge_failure(challenge.id)
            .await
            .map_err(|e| ApiError::internal("counting an MFA failure", e))?;
        return Err(error);
    }

    let tokens = complete_challenge(&state, &challenge, WEBAUTHN_METHOD, request_id).await?;
    Ok(Json(tokens))
}
