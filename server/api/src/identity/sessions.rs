//! Sessions: opening one at login, refresh token rotation with reuse
//! detection, listing and ending sessions, and the JWKS endpoint.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sharepay_domain::wire::auth::{
    RefreshRequest, RevokedSessionsResponse, SessionListResponse, SessionView,
};
use sharepay_domain::wire::{Problem, TokenResponse};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::client::ClientInfo;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::auth::tokens::{ACCESS_TOKEN_SECONDS, hash_refresh_token, new_refresh_token};
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::routes::{record, request_id};
use crate::store::identity::{RefreshOutcome, RefreshRequestRow, SessionRow};
use crate::validate;

/// Longest refresh token accepted; issued ones are 43 characters.
const MAX_REFRESH_TOKEN_CHARS: usize = 128;

/// Opens a session for a user whose credentials were checked, ending the
/// oldest sessions beyond the per-user limit, and returns its tokens.
pub async fn open_session(
    state: &AppState,
    user_id: Uuid,
    device_fingerprint: Option<String>,
    client: ClientInfo,
    amr: Vec<String>,
    request_id: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    open_session_with_id(state, user_id, device_fingerprint, client, amr, request_id)
        .await
        .map(|(_, tokens)| tokens)
}

/// Opens a session like [`open_session`] and also returns its id.
pub async fn open_session_with_id(
    state: &AppState,
    user_id: Uuid,
    device_fingerprint: Option<String>,
    client: ClientInfo,
    amr: Vec<String>,
    request_id: Option<&str>,
) -> Result<(Uuid, TokenResponse), ApiError> {
    let refresh = new_refresh_token()?;
    let now = OffsetDateTime::now_utc();
    let lifetime = time::Duration::days(i64::from(state.config.identity.refresh_token_days));
    let session = SessionRow {
        id: Uuid::now_v7(),
        user_id,
        refresh_token_hash: refresh.hash,
        device_fingerprint,
        ip_address: client.ip_address,
        user_agent: client.user_agent,
        created_at: now,
        last_seen_at: now,
        expires_at: now + lifetime,
    };
    let session_id = session.id;
    let evicted = state
        .identity
        .create_session(session, state.config.identity.max_sessions_per_user)
        .await
        .map_err(|e| ApiError::internal("storing a session", e))?;
    for old in &evicted {
        let event = AuditEvent::new(
            AuditKind::Authentication,
            Actor::System,
            "session.evict",
            &format!("session:{old}"),
            Outcome::Success,
        )
        .reason("session limit reached")
        .request_id(request_id)
        .details(serde_json::json!({ "user_id": user_id.to_string() }));
        record(state, event).await?;
    }

    let roles = load_roles(state, user_id).await?;
    let access_token = state.tokens.issue_with(user_id, session_id, roles, amr)?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user_id),
        "auth.login",
        &format!("user:{user_id}"),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({ "session_id": session_id.to_string() }));
    record(state, event).await?;

    tracing::info!(%user_id, %session_id, evicted = evicted.len(), "opened a session");
    Ok((
        session_id,
        token_response(access_token.expose_secret(), refresh.token.expose_secret()),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and a new refresh token; the presented refresh token no longer works.", body = TokenResponse),
        (status = 400, description = "A field is invalid; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The refresh token is unknown, expired, already used or from another device. A reused token also ends its session.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    StrictJson(request): StrictJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    if request.refresh_token.is_empty() || request.refresh_token.len() > MAX_REFRESH_TOKEN_CHARS {
        return Err(ApiError::invalid_field(
            "refresh_token",
            format!(
                "must be 1 to {MAX_REFRESH_TOKEN_CHARS} characters; send the token from the last login or refresh"
            ),
        ));
    }
    validate::device_fingerprint(request.device_fingerprint.as_deref())?;
    let request_id = request_id(&headers);

    let replacement = new_refresh_token()?;
    let outcome = state
        .identity
        .rotate_refresh_token(RefreshRequestRow {
            presented_hash: hash_refresh_token(&request.refresh_token),
            replacement_hash: replacement.hash,
            device_fingerprint: request.device_fingerprint,
            ip_address: client.ip_address,
            user_agent: client.user_agent,
            now: OffsetDateTime::now_utc(),
        })
        .await
        .map_err(|e| ApiError::internal("rotating a refresh token", e))?;

    let session = match outcome {
        RefreshOutcome::Rotated(session) => session,
        rejected => return Err(reject_refresh(&state, rejected, request_id).await?),
    };
    if let Err(locked) =
        crate::security::ensure_not_locked(&state, session.user_id, "auth.refresh", request_id)
            .await
    {
        // The lock ended every session when it was set, so only a refresh
        // racing the lock gets here; its session ends now.
        // NOTE: a refresh token of a session the lock ended gets the generic
        // 401, not `account-locked`, because its session no longer exists.
        state
            .identity
            .revoke_session(session.user_id, session.id)
            .await
            .map_err(|e| ApiError::internal("ending a locked user's session", e))?;
        return Err(locked);
    }
    if let Some(fingerprint) = &session.device_fingerprint {
        super::devices::touch(&state, session.user_id, fingerprint).await;
    }
    let roles = load_roles(&state, session.user_id).await?;
    let amr = super::step_up::session_amr(&state, session.id).await?;
    let access_token = state
        .tokens
        .issue_with(session.user_id, session.id, roles, amr)?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(session.user_id),
        "auth.refresh",
        &format!("session:{}", session.id),
        Outcome::Success,
    )
    .request_id(request_id);
    record(&state, event).await?;

    Ok(Json(token_response(
        access_token.expose_secret(),
        replacement.token.expose_secret(),
    )))
}

/// Audits a refused refresh and returns the error for the client, which
/// is the same for every reason.
async fn reject_refresh(
    state: &AppState,
    outcome: RefreshOutcome,
    request_id: Option<&str>,
) -> Result<ApiError, ApiError> {
    let wrong_device = matches!(outcome, RefreshOutcome::DeviceMismatch { .. });
    let (kind, actor, resource, reason) = match outcome {
        RefreshOutcome::Reused {
            session_id,
            user_id,
        } => {
            tracing::warn!(%user_id, %session_id, "a rotated refresh token was reused; ended its session");
            (
                AuditKind::SecurityEvent,
                Actor::User(user_id),
                format!("session:{session_id}"),
                "refresh token reused; session revoked",
            )
        }
        RefreshOutcome::DeviceMismatch {
            session_id,
            user_id,
        } => (
            AuditKind::SecurityEvent,
            Actor::User(user_id),
            format!("session:{session_id}"),
            "refresh token presented by another device",
        ),
        RefreshOutcome::Expired { session_id } => (
            AuditKind::Authentication,
            Actor::Anonymous,
            format!("session:{session_id}"),
            "session expired",
        ),
        RefreshOutcome::Unknown | RefreshOutcome::Rotated(_) => (
            AuditKind::Authentication,
            Actor::Anonymous,
            "session:unknown".to_owned(),
            "unknown refresh token",
        ),
    };
    let event = AuditEvent::new(kind, actor, "auth.refresh", &resource, Outcome::Failure)
        .reason(reason)
        .request_id(request_id);
    record(state, event).await?;
    // Only a holder of the current token learns about the device, and the
    // session stays usable from its own device.
    let detail = if wrong_device {
        "the refresh token was issued to another device; send the device_fingerprint \
         of the device that logged in, or log in again"
    } else {
        "the refresh token is invalid or expired; log in again"
    };
    Ok(ApiError::Unauthorized {
        detail: detail.to_owned(),
    })
}

#[utoipa::path(
    get,
    path = "/v1/sessions",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user's sessions, oldest first.", body = SessionListResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<SessionListResponse>, ApiError> {
    let sessions = state
        .identity
        .list_sessions(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("listing sessions", e))?;
    let sessions = sessions
        .into_iter()
        .map(|session| session_view(session, caller.session_id))
        .collect::<Result<_, _>>()?;
    Ok(Json(SessionListResponse { sessions }))
}

#[utoipa::path(
    delete,
    path = "/v1/sessions/{id}",
    tag = "account",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id (UUIDv7).")),
    responses(
        (status = 204, description = "The session ended; its tokens no longer work."),
        (status = 400, description = "The id is not a UUIDv7.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The user has no such session.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(session_id): PathId,
) -> Result<StatusCode, ApiError> {
    let revoked = state
        .identity
        .revoke_session(caller.user_id, session_id)
        .await
        .map_err(|e| ApiError::internal("ending a session", e))?;
    if !revoked {
        return Err(ApiError::NotFound);
    }
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(caller.user_id),
        "session.revoke",
        &format!("session:{session_id}"),
        Outcome::Success,
    )
    .request_id(request_id(&headers));
    record(&state, event).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/v1/sessions",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every other session ended; this one stays.", body = RevokedSessionsResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_others(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<Json<RevokedSessionsResponse>, ApiError> {
    let revoked = state
        .identity
        .revoke_sessions_except(caller.user_id, Some(caller.session_id))
        .await
        .map_err(|e| ApiError::internal("ending sessions", e))?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(caller.user_id),
        "session.revoke_others",
        &format!("user:{}", caller.user_id),
        Outcome::Success,
    )
    .request_id(request_id(&headers))
    .details(serde_json::json!({ "revoked": revoked }));
    record(&state, event).await?;
    Ok(Json(RevokedSessionsResponse { revoked }))
}

#[utoipa::path(
    get,
    path = "/v1/.well-known/jwks.json",
    tag = "auth",
    responses(
        (status = 200, description = "The public keys (RFC 7517 JWK set of Ed25519 keys) that verify access tokens, by `kid`.", content_type = "application/json", body = Object),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    Json(state.tokens.jwks()).into_response()
}

pub(crate) async fn load_roles(state: &AppState, user_id: Uuid) -> Result<Vec<String>, ApiError> {
    state
        .identity
        .system_roles(user_id)
        .await
        .map_err(|e| ApiError::internal("loading the user's roles", e))
}

fn token_response(access_token: &str, refresh_token: &str) -> TokenResponse {
    TokenResponse {
        access_token: access_token.to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token: refresh_token.to_owned(),
    }
}

fn session_view(session: SessionRow, current: Uuid) -> Result<SessionView, ApiError> {
    let format = |time: OffsetDateTime| {
        time.format(&Rfc3339)
            .map_err(|e| ApiError::internal("formatting a timestamp", e))
    };
    Ok(SessionView {
        id: session.id.to_string(),
        device_fingerprint: session.device_fingerprint,
        ip_address: session.ip_address,
        user_agent: session.user_agent,
        created_at: format(session.created_at)?,
        last_seen_at: format(session.last_seen_at)?,
        expires_at: format(session.expires_at)?,
        current: session.id == current,
    })
}
