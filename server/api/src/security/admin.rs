//! Administration of security events: listing them and unlocking an
//! account that a high-severity event locked.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::security::{
    SecurityEventListResponse, SecurityEventView, UnlockResponse,
};
use time::format_description::well_known::Rfc3339;

use super::Severity;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::extract::{PathId, parse_v7};
use crate::identity::admin::AdminUser;
use crate::routes::{record, request_id};
use crate::store::security::{SecurityEventQuery, SecurityEventRow};

/// Page size when the caller names none, and the largest accepted.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// Query parameters of a security event listing.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Only events of this user (UUIDv7).
    pub user_id: Option<String>,
    /// Only events of this severity: `low`, `medium` or `high`.
    pub severity: Option<String>,
    /// Only events of this kind, such as `credential_stuffing`.
    pub kind: Option<String>,
    /// Only events after this id: the `next_after` of the previous page.
    pub after: Option<String>,
    /// Events per page, 1 to 500; 50 when absent.
    pub limit: Option<u32>,
}

impl EventFilter {
    fn to_query(&self) -> Result<SecurityEventQuery, ApiError> {
        let user_id = self
            .user_id
            .as_deref()
            .map(|id| parse_v7("user_id", id))
            .transpose()?;
        let after = self
            .after
            .as_deref()
            .map(|id| parse_v7("after", id))
            .transpose()?;
        if let Some(severity) = &self.severity
            && Severity::parse(severity).is_none()
        {
            return Err(ApiError::invalid_field(
                "severity",
                format!("{severity:?} is not a severity; use low, medium or high"),
            ));
        }
        if let Some(kind) = &self.kind
            && (kind.is_empty() || kind.len() > 64)
        {
            return Err(ApiError::invalid_field(
                "kind",
                "must be 1 to 64 characters, such as login_failure_burst",
            ));
        }
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::invalid_field(
                "limit",
                format!("{limit} is out of range; use 1 to {MAX_PAGE}"),
            ));
        }
        Ok(SecurityEventQuery {
            user_id,
            severity: self.severity.clone(),
            kind: self.kind.clone(),
            after,
            limit,
        })
    }
}

/// Turns a query-string rejection into a field error.
pub fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::invalid_field("query", rejection.body_text())
}

/// Loads one page of events matching `filter`.
pub async fn load_events(
    state: &AppState,
    filter: &EventFilter,
) -> Result<SecurityEventListResponse, ApiError> {
    let query = filter.to_query()?;
    let limit = query.limit as usize;
    let rows = state
        .security
        .store
        .list_security_events(query)
        .await
        .map_err(|e| ApiError::internal("listing security events", e))?;
    let next_after = (rows.len() == limit)
        .then(|| rows.last().map(|row| row.id.to_string()))
        .flatten();
    let events = rows.into_iter().map(event_view).collect::<Result<_, _>>()?;
    Ok(SecurityEventListResponse { events, next_after })
}

fn event_view(row: SecurityEventRow) -> Result<SecurityEventView, ApiError> {
    let details = serde_json::from_str(&row.details)
        .unwrap_or_else(|_| serde_json::Value::String(row.details.clone()));
    Ok(SecurityEventView {
        id: row.id.to_string(),
        user_id: row.user_id.map(|id| id.to_string()),
        kind: row.kind,
        severity: row.severity,
        details,
        client_address: row.client_address,
        created_at: row
            .created_at
            .format(&Rfc3339)
            .map_err(|e| ApiError::internal("formatting a timestamp", e))?,
        reviewed: row.reviewed,
    })
}

#[utoipa::path(
    get,
    path = "/v1/admin/security-events",
    tag = "admin",
    security(("bearer" = [])),
    params(EventFilter),
    responses(
        (status = 200, description = "One page of security events in id order (oldest first).", body = SecurityEventListResponse),
        (status = 400, description = "A query parameter is invalid; `errors` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminUser(admin): AdminUser,
    filter: Result<Query<EventFilter>, QueryRejection>,
) -> Result<Json<SecurityEventListResponse>, ApiError> {
    let Query(filter) = filter.map_err(query_error)?;
    let page = load_events(&state, &filter).await?;
    let event = AuditEvent::new(
        AuditKind::DataAccess,
        Actor::User(admin.user_id),
        "admin.security_events.list",
        "security_events",
        Outcome::Success,
    )
    .request_id(request_id(&headers))
    .details(serde_json::json!({ "returned": page.events.len() }));
    record(&state, event).await?;
    Ok(Json(page))
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/unlock",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id (UUIDv7).")),
    responses(
        (status = 200, description = "The account is unlocked and its security events are marked reviewed; the user can log in again.", body = UnlockResponse),
        (status = 400, description = "The id is not a UUIDv7.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminUser(admin): AdminUser,
    PathId(user_id): PathId,
) -> Result<Json<UnlockResponse>, ApiError> {
    let outcome = state
        .security
        .store
        .unlock_account(user_id)
        .await
        .map_err(|e| ApiError::internal("unlocking an account", e))?;
    let event = AuditEvent::new(
        AuditKind::SecurityEvent,
        Actor::User(admin.user_id),
        "admin.unlock",
        &format!("user:{user_id}"),
        Outcome::Success,
    )
    .request_id(request_id(&headers))
    .details(serde_json::json!({
        "was_locked": outcome.was_locked,
        "reviewed_events": outcome.reviewed_events,
    }));
    record(&state, event).await?;
    tracing::info!(admin = %admin.user_id, %user_id, was_locked = outcome.was_locked, "unlocked an account");
    Ok(Json(UnlockResponse {
        user_id: user_id.to_string(),
        was_locked: outcome.was_locked,
        reviewed_events: outcome.reviewed_events,
    }))
}
