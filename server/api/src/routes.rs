//! HTTP handlers of the `/v1/` API. Each reads top to bottom: parse,
//! validate, load, decide, store, respond.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::wire::mfa::LoginResponse;
use sharepay_domain::wire::{
    HealthResponse, LoginRequest, MeResponse, Problem, RegisterRequest, RegisterResponse,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::http_config::LOGIN_ROUTE;
use crate::identity::login::{self, ThrottleKeys};
use crate::store::StoreError;
use crate::store::users::UserRecord;
use crate::validate;

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
    headers: HeaderMap,
    client: crate::identity::client::ClientInfo,
    StrictJson(request): StrictJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let email = validate::email(&request.email)?;
    let password = validate::new_password(&request.password, &email)?;
    validate::device_fingerprint(request.device_fingerprint.as_deref())?;

    let password_hash = state.passwords.hash(password).await?;
    let user = UserRecord {
        id: Uuid::now_v7(),
        email: email.clone(),
        password_hash: password_hash.phc.clone(),
        created_at: OffsetDateTime::now_utc(),
    };
    let user_id = user.id;
    let request_id = request_id(&headers);
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user_id),
        "auth.register",
        &format!("user:{user_id}"),
        Outcome::Success,
    )
    .request_id(request_id);
    let (audit_row, sealer) = state
        .audit
        .prepare(event)
        .map_err(|e| ApiError::internal("preparing an audit event", e))?;
    match state.users.insert_with_audit(user, audit_row, sealer).await {
        Ok(()) => {}
        Err(StoreError::DuplicateEmail) => {
            let event = AuditEvent::new(
                AuditKind::Authentication,
                Actor::Anonymous,
                "auth.register",
                &email_resource(&state, &email)?,
                Outcome::Failure,
            )
            .reason("email already registered")
            .request_id(request_id);
            record(&state, event).await?;
            return Err(ApiError::Conflict {
                detail: "an account with this email already exists; log in instead".to_owned(),
            });
        }
        Err(e) => return Err(ApiError::internal("storing a new user", e)),
    }
    crate::identity::passwords::record_pepper_version(&state, user_id, password_hash).await?;
    if let Some(fingerprint) = &request.device_fingerprint {
        crate::identity::devices::remember(&state, user_id, fingerprint, client.user_agent).await?;
    }
    crate::identity::contact::send_email_verification(&state, user_id, &email).await?;

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
        (status = 200, description = "Access and refresh tokens, or an MFA challenge (`mfa_required`) when the account has a second factor or the device is not known.", body = LoginResponse),
        (status = 400, description = "A field is invalid; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The email or password is wrong.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address or for this account.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: crate::identity::client::ClientInfo,
    StrictJson(request): StrictJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let email = validate::email(&request.email)?;
    let password = validate::login_password(&request.password)?;
    validate::device_fingerprint(request.device_fingerprint.as_deref())?;
    let account = state.limits.email_account(&email);
    state.limits.check_account(LOGIN_ROUTE, account)?;
    let request_id = request_id(&headers);

    let keys = ThrottleKeys::new(&state, &email, client.ip_address.as_deref())?;
    let user = login::check_password(&state, &email, password, &keys, request_id).await?;
    crate::security::ensure_not_locked(&state, user.id, "auth.login", request_id).await?;

    let response = crate::identity::mfa::begin_login(
        &state,
        &user,
        request.device_fingerprint,
        client,
        request_id,
    )
    .await?;
    Ok(Json(response))
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
        .users
        .find_by_id(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .ok_or(ApiError::NotFound)?;
    let created_at = user
        .created_at
        .format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))?;
    let mfa = state.mfa.state(user.id).await?;
    Ok(Json(MeResponse {
        user_id: user.id.to_string(),
        email: user.email,
        created_at,
        email_verified: mfa.email_verified_at.is_some(),
    }))
}

/// Returns the request id that the request-id middleware set, if any.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
}

/// Names an account by the first 8 bytes of its email blind index, so the
/// audit trail can relate attempts on one address without storing it.
pub(crate) fn email_resource(state: &AppState, email: &str) -> Result<String, ApiError> {
    let index = state
        .users
        .email_index(email)
        .map_err(|e| ApiError::internal("computing an email blind index", e))?;
    let prefix: String = index[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("email_index:{prefix}"))
}

/// Records an audit event. A request whose event cannot be recorded fails,
/// so no authentication goes unaudited.
pub(crate) async fn record(state: &AppState, event: AuditEvent) -> Result<(), ApiError> {
    state
        .audit
        .record(event)
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("recording an audit event", e))
}
