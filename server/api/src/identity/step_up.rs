//! Step-up checks: sensitive changes (password, email, disabling MFA, and
//! later adding a payment method) need an MFA check from the last
//! `mfa.step_up_seconds` (5 minutes by default) in the same session.
//!
//! A session records the time of its last check, from the login's MFA or
//! from `POST /v1/me/step-up/verify`. Users without TOTP or a verified
//! phone step up with a code sent to their email address, so every account
//! can pass a check, and a stolen access token alone cannot make these
//! changes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::mfa::{
    CodeSentResponse, StepUpChallengeRequest, StepUpResponse, StepUpVerifyRequest,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::codes::purpose;
use super::factors::methods_of;
use super::mfa::{self as login_mfa, FactorCheck};
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::routes::{record, request_id};
use crate::store::mfa::SessionMfaRow;

/// Refuses with 403 `step-up-required`, listing the user's methods, unless
/// the caller's session passed an MFA check within `mfa.step_up_seconds`.
pub async fn require_recent_mfa(
    state: &AppState,
    user: &AuthenticatedUser,
) -> Result<(), ApiError> {
    let checked = state
        .mfa
        .store
        .session_mfa(user.session_id)
        .await
        .map_err(|e| ApiError::internal("loading the session's MFA check", e))?;
    let window = time::Duration::seconds(state.config.mfa.step_up_seconds as i64);
    let recent = checked.is_some_and(|row| {
        row.user_id == user.user_id && row.last_mfa_at + window > OffsetDateTime::now_utc()
    });
    if recent {
        return Ok(());
    }
    let methods = user_methods(state, user.user_id).await?;
    tracing::info!(user_id = %user.user_id, session_id = %user.session_id, "a change needs a step-up check");
    Err(ApiError::StepUpRequired { methods })
}

/// Returns the `amr` claim of a session's tokens: `pwd`, plus the factors
/// of its last MFA check.
pub async fn session_amr(state: &AppState, session_id: Uuid) -> Result<Vec<String>, ApiError> {
    let checked = state
        .mfa
        .store
        .session_mfa(session_id)
        .await
        .map_err(|e| ApiError::internal("loading the session's MFA check", e))?;
    Ok(checked.map_or_else(|| vec!["pwd".to_owned()], |row| row.amr))
}

/// Records that a session passed an MFA check with `method` now.
pub async fn record_check(
    state: &AppState,
    user_id: Uuid,
    session_id: Uuid,
    method: &str,
) -> Result<OffsetDateTime, ApiError> {
    let now = OffsetDateTime::now_utc();
    state
        .mfa
        .store
        .record_session_mfa(SessionMfaRow {
            session_id,
            user_id,
            last_mfa_at: now,
            amr: login_mfa::amr_after(method),
        })
        .await
        .map_err(|e| ApiError::internal("recording an MFA check", e))?;
    Ok(now)
}

/// Lists the methods the user can pass now.
pub async fn user_methods(state: &AppState, user_id: Uuid) -> Result<Vec<String>, ApiError> {
    let mfa = state.mfa.state(user_id).await?;
    let recovery_left = state
        .mfa
        .store
        .unused_recovery_codes(user_id)
        .await
        .map_err(|e| ApiError::internal("counting recovery codes", e))?;
    Ok(methods_of(&mfa, recovery_left))
}

#[utoipa::path(
    post,
    path = "/v1/me/step-up/challenge",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = StepUpChallengeRequest,
    responses(
        (status = 202, description = "A code was sent by the chosen method.", body = CodeSentResponse),
        (status = 400, description = "The method is not one the user can use for codes.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn challenge(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<StepUpChallengeRequest>,
) -> Result<(StatusCode, Json<CodeSentResponse>), ApiError> {
    let methods = user_methods(&state, caller.user_id).await?;
    login_mfa::check_method(&request.method, &methods)?;
    let sent = login_mfa::send_factor_code(
        &state,
        caller.user_id,
        &request.method,
        purpose::STEP_UP,
        "Confirm a change to your SharePay account with this code.",
    )
    .await?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(caller.user_id),
        "mfa.step_up.challenge",
        &format!("session:{}", caller.session_id),
        Outcome::Success,
    )
    .request_id(request_id(&headers))
    .details(serde_json::json!({ "method": request.method }));
    record(&state, event).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

#[utoipa::path(
    post,
    path = "/v1/me/step-up/verify",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = StepUpVerifyRequest,
    responses(
        (status = 200, description = "The check passed; sensitive changes are allowed until `valid_until`.", body = StepUpResponse),
        (status = 400, description = "The method is not available, or the code is malformed, wrong or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes; wait before trying again.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<StepUpVerifyRequest>,
) -> Result<Json<StepUpResponse>, ApiError> {
    let request_id = request_id(&headers);
    let methods = user_methods(&state, caller.user_id).await?;
    login_mfa::check_method(&request.method, &methods)?;

    let check = login_mfa::check_factor(
        &state,
        caller.user_id,
        &request.method,
        purpose::STEP_UP,
        &request.code,
    )
    .await?;
    let resource = format!("session:{}", caller.session_id);
    if let FactorCheck::Rejected(error) = check {
        let event = AuditEvent::new(
            AuditKind::Authentication,
            Actor::User(caller.user_id),
            "mfa.step_up",
            &resource,
            Outcome::Failure,
        )
        .reason("wrong code")
        .request_id(request_id)
        .details(serde_json::json!({ "method": request.method }));
        record(&state, event).await?;
        return Err(error);
    }

    let checked_at =
        record_check(&state, caller.user_id, caller.session_id, &request.method).await?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(caller.user_id),
        "mfa.step_up",
        &resource,
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({ "method": request.method }));
    record(&state, event).await?;

    let window = time::Duration::seconds(state.config.mfa.step_up_seconds as i64);
    let valid_until = (checked_at + window)
        .format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))?;
    Ok(Json(StepUpResponse { valid_until }))
}
