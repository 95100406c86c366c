//! Meters of a household, shared or belonging to one dwelling unit, and
//! their assignment to meter readers (a resource-level grant that lets a
//! reader see the meter and submit its readings).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::authz::{Action, ResourceKind, Role};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::households::{
    AssignMeterReaderRequest, CreateMeterRequest, MeterListResponse, MeterResponse,
};
use uuid::Uuid;

use super::access::{Access, in_household};
use super::{now, request_id, rfc3339, validate_text};
use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson, parse_v7};
use crate::store::StoreError;
use crate::store::households::MeterRow;

const MAX_SERIAL_CHARS: usize = 64;
const MAX_DWELLING_UNIT_CHARS: usize = 64;
const MAX_REGISTER_DIGITS: u8 = 12;

#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/meters",
    tag = "households",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    request_body = CreateMeterRequest,
    responses(
        (status = 201, description = "Created.", body = MeterResponse),
        (status = 400, description = "Invalid serial, unit or register size.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer adds meters.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such household, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The household already has a meter with this serial.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_meter(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
    StrictJson(request): StrictJson<CreateMeterRequest>,
) -> Result<(StatusCode, Json<MeterResponse>), ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Meter, None, household_id);
    access.require(&state, Action::Write, &resource).await?;

    let serial = validate_text("serial", &request.serial, MAX_SERIAL_CHARS)?;
    if !(1..=MAX_REGISTER_DIGITS).contains(&request.register_digits) {
        return Err(ApiError::invalid_field(
            "register_digits",
            format!(
                "{} is out of range; use 1 to {MAX_REGISTER_DIGITS}",
                request.register_digits
            ),
        ));
    }
    let dwelling_unit = request
        .dwelling_unit
        .as_deref()
        .map(|value| validate_text("dwelling_unit", value, MAX_DWELLING_UNIT_CHARS))
        .transpose()?;

    let meter = MeterRow {
        id: Uuid::now_v7(),
        household_id,
        serial,
        unit: request.unit,
        register_digits: request.register_digits,
        dwelling_unit,
        created_at: now(),
    };
    match state.store.insert_meter(meter.clone()).await {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => {
            return Err(ApiError::Conflict {
                detail: "this household already has a meter with this serial".to_owned(),
            });
        }
        Err(e) => return Err(ApiError::internal("storing a meter", e)),
    }
    tracing::info!(%household_id, meter_id = %meter.id, "created a meter");
    Ok((StatusCode::CREATED, Json(meter_response(&meter)?)))
}

#[utoipa::path(
    get,
    path = "/v1/households/{household_id}/meters",
    tag = "households",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    responses(
        (status = 200, description = "The meters the caller may see: all of them, or for a meter reader the assigned ones.", body = MeterListResponse),
        (status = 404, description = "No such household, or not the caller's.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_meters(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
) -> Result<Json<MeterListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Household, Some(household_id), household_id);
    access.require(&state, Action::Read, &resource).await?;

    let meters = state
        .store
        .list_meters(household_id)
        .await
        .map_err(|e| ApiError::internal("listing meters", e))?;
    let meters = meters
        .iter()
        .filter(|meter| {
            let resource = in_household(ResourceKind::Meter, Some(meter.id), household_id);
            access.allows(Action::Read, &resource)
        })
        .map(meter_response)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(MeterListResponse { meters }))
}

#[utoipa::path(
    post,
    path = "/v1/meters/{meter_id}/readers",
    tag = "households",
    security(("bearer" = [])),
    params(("meter_id" = String, Path, description = "UUIDv7 of the meter")),
    request_body = AssignMeterReaderRequest,
    responses(
        (status = 204, description = "The member may now read this meter and submit its readings."),
        (status = 400, description = "The user is not a meter reader of the household.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer assigns meters.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meter, or not in the caller's household.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign_reader(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(meter_id): PathId,
    StrictJson(request): StrictJson<AssignMeterReaderRequest>,
) -> Result<StatusCode, ApiError> {
    let reader_id = parse_v7("user_id", &request.user_id)?;
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let meter = state
        .store
        .find_meter(meter_id)
        .await
        .map_err(|e| ApiError::internal("loading a meter", e))?
        .ok_or(ApiError::NotFound)?;
    let resource = in_household(ResourceKind::Meter, Some(meter.id), meter.household_id);
    access.require(&state, Action::Manage, &resource).await?;

    let members = state
        .store
        .list_members(meter.household_id)
        .await
        .map_err(|e| ApiError::internal("listing members", e))?;
    let is_reader = members
        .iter()
        .any(|member| member.user_id == reader_id && member.role == Role::MeterReader);
    if !is_reader {
        return Err(ApiError::invalid_field(
            "user_id",
            "is not a meter reader of this household; invite them as meter_reader or change \
             their role first",
        ));
    }
    state
        .store
        .assign_meter(meter.id, reader_id, caller.user_id, now())
        .await
        .map_err(|e| ApiError::internal("assigning a meter", e))?;
    tracing::info!(%meter_id, user_id = %reader_id, "assigned a meter to a reader");
    Ok(StatusCode::NO_CONTENT)
}

fn meter_response(meter: &MeterRow) -> Result<MeterResponse, ApiError> {
    Ok(MeterResponse {
        meter_id: meter.id.to_string(),
        household_id: meter.household_id.to_string(),
        serial: meter.serial.clone(),
        unit: meter.unit,
        register_digits: meter.register_digits,
        dwelling_unit: meter.dwelling_unit.clone(),
        created_at: rfc3339(meter.created_at)?,
    })
}
