//! Administrator endpoints that create, list and revoke API keys and
//! OAuth2 clients.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::service::{
    ApiKeyCreated, OAuthClientCreated, ServiceCredentialListResponse, ServiceCredentialRequest,
};

use super::credentials::{self, API_KEY_START, format_time};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::identity::admin::AdminUser;
use crate::routes::request_id;
use crate::store::security::CredentialKind;

#[utoipa::path(
    post,
    path = "/v1/admin/api-keys",
    tag = "admin",
    security(("bearer" = [])),
    request_body = ServiceCredentialRequest,
    responses(
        (status = 201, description = "The key was created. `api_key` is shown only in this response; only its hash is stored.", body = ApiKeyCreated),
        (status = 400, description = "The name or a scope is invalid; `errors` names the field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminUser(admin): AdminUser,
    StrictJson(request): StrictJson<ServiceCredentialRequest>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let created = credentials::create(
        &state,
        admin.user_id,
        CredentialKind::ApiKey,
        &request,
        request_id(&headers),
    )
    .await?;
    let row = created.row;
    let prefix = format!("{API_KEY_START}{}", row.lookup_id);
    let api_key = format!("{prefix}_{}", created.secret.expose_secret());
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            id: row.id.to_string(),
            name: row.name,
            prefix,
            scopes: row.scopes,
            api_key,
            created_at: format_time(row.created_at)?,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/admin/api-keys",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every API key, oldest first, by its visible prefix only.", body = ServiceCredentialListResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
) -> Result<Json<ServiceCredentialListResponse>, ApiError> {
    let credentials = credentials::list(&state, CredentialKind::ApiKey).await?;
    Ok(Json(ServiceCredentialListResponse { credentials }))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/api-keys/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id (UUIDv7).")),
    responses(
        (status = 204, description = "The key is revoked; requests with it are rejected from now on."),
        (status = 400, description = "The id is not a UUIDv7.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No unrevoked API key has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminUser(admin): AdminUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    credentials::revoke(
        &state,
        admin.user_id,
        CredentialKind::ApiKey,
        id,
        request_id(&headers),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/admin/oauth-clients",
    tag = "admin",
    security(("bearer" = [])),
    request_body = ServiceCredentialRequest,
    responses(
        (status = 201, description = "The client was registered. `client_secret` is shown only in this response; only its hash is stored.", body = OAuthClientCreated),
        (status = 400, description = "The name or a scope is invalid; `errors` names the field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_oauth_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminUser(admin): AdminUser,
    StrictJson(request): StrictJson<ServiceCredentialRequest>,
) -> Result<(StatusCode, Json<OAuthClientCreated>), ApiError> {
    let created = credentials::create(
        &state,
        admin.user_id,
        CredentialKind::OAuthClient,
        &request,
        request_id(&headers),
    )
    .await?;
    let row = created.row;
    Ok((
        StatusCode::CREATED,
        Json(OAuthClientCreated {
            id: row.id.to_string(),
            name: row.name,
            client_id: row.lookup_id,
            client_secret: created.secret.expose_secret().to_owned(),
            scopes: row.scopes,
            created_at: format_time(row.created_at)?,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/admin/oauth-clients",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every OAuth2 client, oldest first, without secrets.", body = ServiceCredentialListResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_oauth_clients(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
) -> Result<Json<ServiceCredentialListResponse>, ApiError> {
    let credentials = credentials::list(&state, CredentialKind::OAuthClient).await?;
    Ok(Json(ServiceCredentialListResponse { credentials }))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/oauth-clients/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "OAuth2 client registration id (UUIDv7), not the client_id.")),
    responses(
        (status = 204, description = "The client is revoked: it gets no new tokens, and its tokens are rejected from now on."),
        (status = 400, description = "The id is not a UUIDv7.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No unrevoked OAuth2 client has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_oauth_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminUser(admin): AdminUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    credentials::revoke(
        &state,
        admin.user_id,
        CredentialKind::OAuthClient,
        id,
        request_id(&headers),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
