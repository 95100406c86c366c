//! HTTP handlers of the `/v1/` API. Each reads top to bottom: parse,
//! validate, load, decide, store, respond.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use sharepay_domain::wire::{
    HealthResponse, LoginRequest, MeResponse, Problem, RegisterRequest, RegisterResponse,
    TokenResponse,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::auth::tokens::{ACCESS_TOKEN_SECONDS, new_refresh_token};
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::http_config::LOGIN_ROUTE;
use crate::store::{SessionRecord, StoreError, UserRecord};
use crate::validate;

const REFRESH_TOKEN_DAYS: i64 = 30;

#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "meta",
    responses(
        (status = 200, description = "The server is up.", body = HealthResponse),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account was created.", body = RegisterResponse),
        (status = 400, description = "A field is invalid or the password fails the policy; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account with this email exists.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    StrictJson(request): StrictJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let email = validate::email(&request.email)?;
    let password = validate::new_password(&request.password, &email)?;

    let password_hash = state.passwords.hash(password).await?;
    let user = UserRecord {
        id: Uuid::now_v7(),
        email,
        password_hash,
        created_at: OffsetDateTime::now_utc(),
    };
    let user_id = user.id;
    match state.store.insert_user(user).await {
        Ok(()) => {}
        Err(StoreError::DuplicateEmail) => {
            return Err(ApiError::Conflict {
                detail: "an account with this email already exists; log in instead".to_owned(),
            });
        }
        Err(e) => return Err(ApiError::internal("storing a new user", e)),
    }

    tracing::info!(%user_id, "registered a user");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            user_id: user_id.to_string(),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Access and refresh tokens.", body = TokenResponse),
        (status = 400, description = "A field is invalid; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The email or password is wrong.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address or for this account.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    StrictJson(request): StrictJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let email = validate::email(&request.email)?;
    let password = validate::login_password(&request.password)?;
    validate::device_fingerprint(request.device_fingerprint.as_deref())?;
    let account = state.limits.email_account(&email);
    state.limits.check_account(LOGIN_ROUTE, account)?;

    let user = state
        .store
        .find_user_by_email(&email)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.passwords.verify(password, stored_hash).await?;
    let user = match (user, verified) {
        (Some(user), true) => user,
        _ => {
            tracing::info!("rejected a login");
            return Err(ApiError::Unauthorized {
                detail: "the email or password is wrong".to_owned(),
            });
        }
    };

    let refresh = new_refresh_token()?;
    let now = OffsetDateTime::now_utc();
    let session = SessionRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        refresh_token_hash: refresh.hash,
        created_at: now,
        expires_at: now + time::Duration::days(REFRESH_TOKEN_DAYS),
    };
    let session_id = session.id;
    state
        .store
        .insert_session(session)
        .await
        .map_err(|e| ApiError::internal("storing a session", e))?;
    let access_token = state.tokens.issue(user.id, session_id)?;

    tracing::info!(user_id = %user.id, %session_id, "logged in");
    Ok(Json(TokenResponse {
        access_token: access_token.expose_secret().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token: refresh.token.expose_secret().to_owned(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user's profile.", body = MeResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<MeResponse>, ApiError> {
    let user = state
        .store
        .find_user_by_id(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .ok_or(ApiError::NotFound)?;
    let created_at = user
        .created_at
        .format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))?;
    Ok(Json(MeResponse {
        user_id: user.id.to_string(),
        email: user.email,
        created_at,
    }))
}
