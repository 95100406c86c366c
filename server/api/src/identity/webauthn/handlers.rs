//! HTTP handlers of the signed-in user's WebAuthn endpoints. Each parses,
//! calls the ceremony functions in [`super::service`] and formats the
//! result; the service audits.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::wire::Problem;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::service::{self, StartedCeremony};
use super::wire::{
    AssertionVerifiedResponse, CeremonyResponse, CredentialKind, FinishAssertionRequest,
    FinishRegistrationRequest, StartRegistrationRequest, WebauthnCredentialListResponse,
    WebauthnCredentialView,
};
use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::identity::step_up::require_recent_mfa;
use crate::routes::request_id;
use crate::store::webauthn::WebauthnCredentialRow;

#[utoipa::path(
    post,
    path = "/v1/me/webauthn/registrations",
    tag = "account",
    security(("bearer" = [])),
    request_body = StartRegistrationRequest,
    responses(
        (status = 200, description = "A registration ceremony: pass `public_key` to `navigator.credentials.create()` or the platform API, then post the result to `/v1/me/webauthn/registrations/{ceremony_id}` within 5 minutes.", body = CeremonyResponse),
        (status = 400, description = "A field is invalid; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has the maximum number of authenticators.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_registration(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<StartRegistrationRequest>,
) -> Result<Json<CeremonyResponse>, ApiError> {
    // Adding a factor needs a recent check, or a stolen access token could
    // register the thief's own authenticator.
    require_recent_mfa(&state, &caller).await?;
    let started = service::start_registration(&state, caller.user_id, request.kind).await?;
    Ok(Json(ceremony_response(started)?))
}

#[utoipa::path(
    post,
    path = "/v1/me/webauthn/registrations/{ceremony_id}",
    tag = "account",
    security(("bearer" = [])),
    params(("ceremony_id" = String, Path, description = "Ceremony id (UUIDv7) from the start of the registration.")),
    request_body = FinishRegistrationRequest,
    responses(
        (status = 201, description = "The authenticator is registered.", body = WebauthnCredentialView),
        (status = 400, description = "The ceremony is unknown, finished or expired, the origin is not allowed, or the credential is malformed; `errors` names the field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The credential failed verification.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This authenticator is already registered.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn finish_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(ceremony_id): PathId,
    StrictJson(request): StrictJson<FinishRegistrationRequest>,
) -> Result<(StatusCode, Json<WebauthnCredentialView>), ApiError> {
    require_recent_mfa(&state, &caller).await?;
    let row = service::finish_registration(
        &state,
        caller.user_id,
        ceremony_id,
        &request.name,
        &request.credential,
        request_id(&headers),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(credential_view(row)?)))
}

#[utoipa::path(
    get,
    path = "/v1/me/webauthn/credentials",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user's security keys and passkeys, oldest first.", body = WebauthnCredentialListResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_credentials(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<WebauthnCredentialListResponse>, ApiError> {
    let rows = service::list_credentials(&state, caller.user_id).await?;
    let credentials = rows
        .into_iter()
        .map(credential_view)
        .collect::<Result<_, _>>()?;
    Ok(Json(WebauthnCredentialListResponse { credentials }))
}

#[utoipa::path(
    delete,
    path = "/v1/me/webauthn/credentials/{id}",
    tag = "account",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Credential id (UUIDv7) from the credential list.")),
    responses(
        (status = 204, description = "The authenticator is removed and no longer accepted."),
        (status = 400, description = "The id is not a UUIDv7.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The user has no such authenticator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    // Removing a factor is as sensitive as disabling TOTP.
    require_recent_mfa(&state, &caller).await?;
    service::remove_credential(&state, caller.user_id, id, request_id(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/me/webauthn/assertions",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "An assertion ceremony over the user's authenticators: pass `public_key` to `navigator.credentials.get()` or the platform API, then post the result to `/v1/me/webauthn/assertions/{ceremony_id}` within 5 minutes.", body = CeremonyResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user has no security key or passkey.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_assertion(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<CeremonyResponse>, ApiError> {
    let started = service::start_authentication(&state, caller.user_id).await?;
    Ok(Json(ceremony_response(started)?))
}

#[utoipa::path(
    post,
    path = "/v1/me/webauthn/assertions/{ceremony_id}",
    tag = "account",
    security(("bearer" = [])),
    params(("ceremony_id" = String, Path, description = "Ceremony id (UUIDv7) from the start of the assertion.")),
    request_body = FinishAssertionRequest,
    responses(
        (status = 200, description = "The assertion verified.", body = AssertionVerifiedResponse),
        (status = 400, description = "The ceremony is unknown, finished, expired or another user's, the credential is not registered, the origin is not allowed, or the credential is malformed; `errors` names the field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The assertion failed verification.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn finish_assertion(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(ceremony_id): PathId,
    StrictJson(request): StrictJson<FinishAssertionRequest>,
) -> Result<Json<AssertionVerifiedResponse>, ApiError> {
    let verified = service::finish_authentication(
        &state,
        caller.user_id,
        ceremony_id,
        &request.credential,
        request_id(&headers),
    )
    .await?;
    // A verified assertion is also the session's step-up check.
    crate::identity::step_up::record_check(
        &state,
        caller.user_id,
        caller.session_id,
        super::login::WEBAUTHN_METHOD,
    )
    .await?;
    Ok(Json(AssertionVerifiedResponse {
        credential_id: verified.credential_id.to_string(),
        verified_at: rfc3339(verified.verified_at)?,
        user_verified: verified.user_verified,
    }))
}

pub(super) fn ceremony_response(started: StartedCeremony) -> Result<CeremonyResponse, ApiError> {
    Ok(CeremonyResponse {
        ceremony_id: started.id.to_string(),
        expires_at: rfc3339(started.expires_at)?,
        public_key: started.public_key,
    })
}

fn credential_view(row: WebauthnCredentialRow) -> Result<WebauthnCredentialView, ApiError> {
    let kind = match row.kind.as_str() {
        "security_key" => CredentialKind::SecurityKey,
        _ => CredentialKind::Passkey,
    };
    Ok(WebauthnCredentialView {
        id: row.id.to_string(),
        kind,
        name: row.name,
        created_at: rfc3339(row.created_at)?,
        last_used_at: row.last_used_at.map(rfc3339).transpose()?,
    })
}

fn rfc3339(time: OffsetDateTime) -> Result<String, ApiError> {
    time.format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))
}
