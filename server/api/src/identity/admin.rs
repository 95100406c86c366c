//! Administration of other users' sessions, for holders of the `admin`
//! system role, and the bootstrap grant of that role from the command line.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::auth::RevokedSessionsResponse;

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::data::DataLayer;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::routes::{record, request_id};
use crate::store::identity::ROLE_ADMIN;

/// An authenticated caller whose stored roles include `admin` now, not
/// only when the token was issued.
#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub AuthenticatedUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = AuthenticatedUser::from_request_parts(parts, state).await?;
        let roles = super::sessions::load_roles(state, caller.user_id).await?;
        if !roles.iter().any(|role| role == ROLE_ADMIN) {
            let event = AuditEvent::new(
                AuditKind::Authorization,
                Actor::User(caller.user_id),
                "admin.access",
                &crate::rate_limit::route_key(parts),
                Outcome::Denied,
            )
            .reason("caller lacks the admin role")
            .request_id(request_id(&parts.headers));
            record(state, event).await?;
            return Err(ApiError::Forbidden {
                detail: "this operation needs the admin role".to_owned(),
            });
        }
        Ok(Self(caller))
    }
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/force-logout",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id (UUIDv7).")),
    responses(
        (status = 200, description = "Every session of the user ended; their access and refresh tokens no longer work.", body = RevokedSessionsResponse),
        (status = 400, description = "The id is not a UUIDv7.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No user has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn force_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminUser(admin): AdminUser,
    PathId(user_id): PathId,
) -> Result<(StatusCode, axum::Json<RevokedSessionsResponse>), ApiError> {
    let user = state
        .users
        .find_by_id(user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?;
    if user.is_none() {
        return Err(ApiError::NotFound);
    }
    let revoked = state
        .identity
        .revoke_sessions_except(user_id, None)
        .await
        .map_err(|e| ApiError::internal("ending a user's sessions", e))?;
    let event = AuditEvent::new(
        AuditKind::SecurityEvent,
        Actor::User(admin.user_id),
        "admin.force_logout",
        &format!("user:{user_id}"),
        Outcome::Success,
    )
    .request_id(request_id(&headers))
    .details(serde_json::json!({ "revoked": revoked }));
    record(&state, event).await?;
    tracing::info!(admin = %admin.user_id, %user_id, revoked, "forced a logout");
    Ok((
        StatusCode::OK,
        axum::Json(RevokedSessionsResponse { revoked }),
    ))
}

/// A failure of `sharepay-server user grant-admin`.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidEmail(String),
    #[error("no user has this email; register the account first")]
    UnknownUser,
    #[error("{0}")]
    Store(String),
}

/// Grants the `admin` role to the user with `email` and audits it as a
/// system change. Returns the user id.
pub async fn grant_admin(data: &DataLayer, email: &str) -> Result<uuid::Uuid, GrantError> {
    let email = crate::validate::email(email)
        .map_err(|_| GrantError::InvalidEmail("the email is invalid".to_owned()))?;
    let user = data
        .users
        .find_by_email(&email)
        .await
        .map_err(|e| GrantError::Store(e.to_string()))?
        .ok_or(GrantError::UnknownUser)?;
    let granted = data
        .identity
        .grant_system_role(user.id, ROLE_ADMIN)
        .await
        .map_err(|e| GrantError::Store(e.to_string()))?;
    if !granted {
        return Err(GrantError::UnknownUser);
    }
    let event = AuditEvent::new(
        AuditKind::SystemChange,
        Actor::System,
        "admin.grant",
        &format!("user:{}", user.id),
        Outcome::Success,
    )
    .details(serde_json::json!({ "role": ROLE_ADMIN }));
    data.audit
        .record(event)
        .await
        .map_err(|e| GrantError::Store(e.to_string()))?;
    Ok(user.id)
}
