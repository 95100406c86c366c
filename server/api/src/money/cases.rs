//! Transaction monitoring cases for system administrators: listing them
//! and closing one with a resolution, which the audit trail records.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use sharepay_domain::authz::{Action, Resource, ResourceKind};
use sharepay_domain::ids::ResourceId;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::payments::{
    CloseMonitoringCaseRequest, MonitoringCaseListResponse, MonitoringCaseResponse,
    MonitoringCaseStatus, check_note,
};
use sharepay_domain::wire::validation::FieldErrors;

use super::optional_rfc3339;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::households::access::Access;
use crate::households::{now, request_id, rfc3339};
use crate::store::money::MonitoringCaseRow;

/// Query of `GET /v1/admin/monitoring-cases`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// `open` (the default) or `all`.
    pub status: Option<String>,
}

fn case_resource(case: Option<&MonitoringCaseRow>) -> Resource {
    let mut resource = Resource::new(ResourceKind::MonitoringCase);
    resource.id = case.map(|case| ResourceId(case.id));
    resource
}

fn case_response(case: &MonitoringCaseRow) -> Result<MonitoringCaseResponse, ApiError> {
    Ok(MonitoringCaseResponse {
        case_id: case.id.to_string(),
        rule: case.rule.clone(),
        severity: case.severity.clone(),
        reason: case.reason.clone(),
        user_id: case.user_id.to_string(),
        payment_id: case.payment_id.to_string(),
        household_id: case.household_id.to_string(),
        status: if case.status == "closed" {
            MonitoringCaseStatus::Closed
        } else {
            MonitoringCaseStatus::Open
        },
        opened_at: rfc3339(case.opened_at)?,
        closed_by: case.closed_by.map(|id| id.to_string()),
        closed_at: optional_rfc3339(case.closed_at)?,
        resolution: case.resolution.clone(),
    })
}

#[utoipa::path(
    get,
    path = "/v1/admin/monitoring-cases",
    tag = "admin",
    security(("bearer" = [])),
    params(CaseQuery),
    responses(
        (status = 200, description = "Monitoring cases, newest first.", body = MonitoringCaseListResponse),
        (status = 400, description = "`status` is neither `open` nor `all`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller is not a system administrator.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_monitoring_cases(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    Query(query): Query<CaseQuery>,
) -> Result<Json<MonitoringCaseListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    access
        .require(&state, Action::Read, &case_resource(None))
        .await?;

    let open_only = match query.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(ApiError::invalid_field("status", "must be open or all"));
        }
    };
    let cases = state
        .store
        .list_monitoring_cases(open_only)
        .await
        .map_err(|e| ApiError::internal("listing monitoring cases", e))?;
    let cases = cases
        .iter()
        .map(case_response)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(MonitoringCaseListResponse { cases }))
}

#[utoipa::path(
    post,
    path = "/v1/admin/monitoring-cases/{case_id}/close",
    tag = "admin",
    security(("bearer" = [])),
    params(("case_id" = String, Path, description = "UUIDv7 of the case")),
    request_body = CloseMonitoringCaseRequest,
    responses(
        (status = 200, description = "The closed case.", body = MonitoringCaseResponse),
        (status = 400, description = "The resolution is empty or too long.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or the caller is not a system administrator.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is already closed.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn close_monitoring_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(case_id): PathId,
    StrictJson(request): StrictJson<CloseMonitoringCaseRequest>,
) -> Result<Json<MonitoringCaseResponse>, ApiError> {
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let case = state
        .store
        .find_monitoring_case(case_id)
        .await
        .map_err(|e| ApiError::internal("loading a monitoring case", e))?;
    access
        .require(&state, Action::Manage, &case_resource(case.as_ref()))
        .await?;
    let case = case.ok_or(ApiError::NotFound)?;

    let mut errors = FieldErrors::new();
    let resolution = check_note("resolution", &request.resolution, &mut errors);
    errors.finish(()).map_err(ApiError::invalid_fields)?;
    let closed_at = now();
    let closed = state
        .store
        .close_monitoring_case(case.id, caller.user_id, closed_at, resolution.clone())
        .await
        .map_err(|e| ApiError::internal("closing a monitoring case", e))?;
    if !closed {
        return Err(ApiError::Conflict {
            detail: "this case is already closed".to_owned(),
        });
    }
    let event = AuditEvent::new(
        AuditKind::SecurityEvent,
        Actor::User(caller.user_id),
        "monitoring_case.close",
        &format!("monitoring_case:{case_id}"),
        Outcome::Success,
    )
    .reason(&resolution)
    .request_id(request_id.as_deref())
    .details(serde_json::json!({"rule": case.rule, "payment_id": case.payment_id}));
    crate::routes::record(&state, event).await?;
    tracing::info!(%case_id, user_id = %caller.user_id, "closed a monitoring case");

    let closed_case = MonitoringCaseRow {
        status: "closed".to_owned(),
        closed_by: Some(caller.user_id),
        closed_at: Some(closed_at),
        resolution: Some(resolution),
        ..case
    };
    Ok(Json(case_response(&closed_case)?))
}
