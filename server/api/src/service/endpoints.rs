//! Endpoints for services: the audit trail and security events, each behind
//! its scope.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::security::SecurityEventListResponse;
use sharepay_domain::wire::service::{AuditEntryView, AuditPageResponse};

use super::credentials::format_time;
use super::{ServiceCaller, scope};
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::routes::{record, request_id};
use crate::security::admin::{EventFilter, load_events, query_error};
use crate::store::{AuditQuery, AuditRow};

/// Page size when the caller names none, and the largest accepted.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;

/// Query parameters of `GET /v1/service/audit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only entries with a greater id: the `next_after_id` of the previous
    /// page; 0 (the default) reads from the first entry.
    pub after_id: Option<i64>,
    /// Entries per page, 1 to 500; 100 when absent.
    pub limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/v1/service/audit",
    tag = "service",
    security(("api_key" = []), ("bearer" = [])),
    params(AuditFilter),
    responses(
        (status = 200, description = "One page of audit entries in id order, with their chain MACs.", body = AuditPageResponse),
        (status = 400, description = "A query parameter is invalid; `errors` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key or service token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The credential lacks the scope `audit:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: ServiceCaller,
    filter: Result<Query<AuditFilter>, QueryRejection>,
) -> Result<Json<AuditPageResponse>, ApiError> {
    let Query(filter) = filter.map_err(query_error)?;
    let request_id = request_id(&headers);
    caller
        .require(
            &state,
            "GET /v1/service/audit",
            request_id,
            scope::AUDIT_READ,
        )
        .await?;
    let after_id = filter.after_id.unwrap_or(0);
    if after_id < 0 {
        return Err(ApiError::invalid_field(
            "after_id",
            "must be 0 or the id of an audit entry",
        ));
    }
    let limit = filter.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("{limit} is out of range; use 1 to {MAX_PAGE}"),
        ));
    }

    let rows = state
        .store
        .list_audit(AuditQuery {
            after_id,
            since: None,
            limit,
        })
        .await
        .map_err(|e| ApiError::internal("listing audit entries", e))?;
    let next_after_id = (rows.len() == limit as usize)
        .then(|| rows.last().map(|row| row.id))
        .flatten();
    let entries = rows.iter().map(entry_view).collect::<Result<Vec<_>, _>>()?;
    record_read(
        &state,
        &caller,
        "service.audit.read",
        entries.len(),
        request_id,
    )
    .await?;
    Ok(Json(AuditPageResponse {
        entries,
        next_after_id,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/service/security-events",
    tag = "service",
    security(("api_key" = []), ("bearer" = [])),
    params(EventFilter),
    responses(
        (status = 200, description = "One page of security events in id order (oldest first).", body = SecurityEventListResponse),
        (status = 400, description = "A query parameter is invalid; `errors` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key or service token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The credential lacks the scope `security-events:read`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn security_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: ServiceCaller,
    filter: Result<Query<EventFilter>, QueryRejection>,
) -> Result<Json<SecurityEventListResponse>, ApiError> {
    let Query(filter) = filter.map_err(query_error)?;
    let request_id = request_id(&headers);
    caller
        .require(
            &state,
            "GET /v1/service/security-events",
            request_id,
            scope::SECURITY_EVENTS_READ,
        )
        .await?;
    let page = load_events(&state, &filter).await?;
    record_read(
        &state,
        &caller,
        "service.security_events.read",
        page.events.len(),
        request_id,
    )
    .await?;
    Ok(Json(page))
}

/// Audits a read by a service.
async fn record_read(
    state: &AppState,
    caller: &ServiceCaller,
    action: &str,
    returned: usize,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(
        AuditKind::DataAccess,
        Actor::System,
        action,
        &format!("{}:{}", caller.kind.as_str(), caller.public_id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({ "returned": returned }));
    record(state, event).await
}

fn entry_view(row: &AuditRow) -> Result<AuditEntryView, ApiError> {
    // A row changed by hand may hold details that are not JSON; they are
    // returned as a string rather than dropped.
    let details = serde_json::from_str(&row.details)
        .unwrap_or_else(|_| serde_json::Value::String(row.details.clone()));
    Ok(AuditEntryView {
        id: row.id,
        recorded_at: format_time(row.recorded_at)?,
        kind: row.kind.clone(),
        actor: row.actor.clone(),
        action: row.action.clone(),
        resource: row.resource.clone(),
        outcome: row.outcome.clone(),
        reason: row.reason.clone(),
        request_id: row.request_id.clone(),
        details,
        key_version: row.key_version,
        prev_mac: BASE64.encode(&row.prev_mac),
        mac: BASE64.encode(&row.mac),
    })
}
