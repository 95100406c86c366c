//! `POST /v1/readings/{reading_id}/corrections`: a primary payer reviews a
//! flagged reading (accepts or rejects it) or corrects its value, with a
//! reason. The reading row takes the new values and the old ones go to its
//! history; nothing is deleted.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use sharepay_domain::authz::{Action, ResourceKind};
use sharepay_domain::ids::ResourceId;
use sharepay_domain::meter::{
    ConsumptionPolicy, Meter, Quantity, Reading, Timestamp, consumption_between,
};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::reading_review::{
    CorrectReadingRequest, CorrectedReadingResponse, CorrectedStatus, ReadingCorrection,
};
use uuid::Uuid;

use super::access::{Access, in_household};
use super::{now, request_id, rfc3339, validate_text};
use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::store::readings::{CorrectionRow, ReadingRow};

const MAX_REASON_CHARS: usize = 500;

#[utoipa::path(
    post,
    path = "/v1/readings/{reading_id}/corrections",
    tag = "households",
    security(("bearer" = [])),
    params(("reading_id" = String, Path, description = "UUIDv7 of the reading")),
    request_body = CorrectReadingRequest,
    responses(
        (status = 200, description = "The reading with its new values and history.", body = CorrectedReadingResponse),
        (status = 400, description = "Missing reason or invalid value.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer corrects readings.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reading in the caller's household.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another correction changed the reading first.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn correct_reading(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(reading_id): PathId,
    StrictJson(request): StrictJson<CorrectReadingRequest>,
) -> Result<Json<CorrectedReadingResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let reading = state
        .store
        .find_reading(reading_id)
        .await
        .map_err(|e| ApiError::internal("loading a reading", e))?
        .ok_or(ApiError::NotFound)?;
    let mut resource = in_household(
        ResourceKind::Reading,
        Some(reading.id),
        reading.household_id,
    );
    resource.parent = Some(ResourceId(reading.meter_id));
    access.require(&state, Action::Approve, &resource).await?;

    let reason = validate_text("reason", &request.reason, MAX_REASON_CHARS)?;
    let value = match &request.value {
        Some(text) => Quantity::parse(text)
            .map_err(|e| ApiError::invalid_field("value", e.to_string()))?
            .milli(),
        None => reading.value_milli,
    };
    let status = match request.status {
        CorrectedStatus::Accepted => "accepted",
        CorrectedStatus::Rejected => "rejected",
    };
    if request.status == CorrectedStatus::Accepted && value != reading.value_milli {
        check_corrected_value(&state, &reading, value).await?;
    }

    let correction = CorrectionRow {
        id: Uuid::now_v7(),
        reading_id,
        previous_value_milli: reading.value_milli,
        value_milli: value,
        previous_status: reading.status.clone(),
        status: status.to_owned(),
        reason,
        corrected_by: caller.user_id,
        corrected_at: now(),
    };
    let applied = state
        .store
        .correct_reading(correction)
        .await
        .map_err(|e| ApiError::internal("correcting a reading", e))?;
    if !applied {
        return Err(ApiError::Conflict {
            detail: "the reading changed since it was loaded; reload it and correct again"
                .to_owned(),
        });
    }
    tracing::info!(%reading_id, status, "corrected a meter reading");

    let corrected = ReadingRow {
        value_milli: value,
        status: status.to_owned(),
        ..reading
    };
    respond(&state, &corrected).await
}

/// Checks a corrected value like a new reading: it must fit the meter's
/// register and follow on from the readings before and after it, so one
/// typo cannot feed an impossible consumption into bills.
async fn check_corrected_value(
    state: &AppState,
    reading: &ReadingRow,
    value_milli: u64,
) -> Result<(), ApiError> {
    let meter = state
        .store
        .find_meter(reading.meter_id)
        .await
        .map_err(|e| ApiError::internal("loading a reading's meter", e))?
        .ok_or(ApiError::NotFound)?;
    let domain_meter = Meter {
        serial: meter.serial.clone(),
        unit: meter.unit,
        register_digits: meter.register_digits,
    };
    let fits = domain_meter
        .register_modulus()
        .is_ok_and(|modulus| value_milli < modulus);
    if !fits {
        return Err(ApiError::invalid_field(
            "value",
            format!(
                "does not fit the {}-digit register of meter {}",
                meter.register_digits, meter.serial
            ),
        ));
    }

    let others = state
        .store
        .list_readings(reading.meter_id)
        .await
        .map_err(|e| ApiError::internal("loading a meter's readings", e))?;
    let counted = |other: &&ReadingRow| other.id != reading.id && other.status != "rejected";
    let before = others
        .iter()
        .filter(counted)
        .filter(|other| other.taken_at < reading.taken_at)
        .max_by_key(|other| (other.taken_at, other.id));
    let after = others
        .iter()
        .filter(counted)
        .filter(|other| other.taken_at > reading.taken_at)
        .min_by_key(|other| (other.taken_at, other.id));
    let corrected = ReadingRow {
        value_milli,
        ..reading.clone()
    };
    let policy = ConsumptionPolicy::household(meter.unit);
    for (earlier, later) in [(before, Some(&corrected)), (Some(&corrected), after)] {
        let (Some(earlier), Some(later)) = (earlier, later) else {
            continue;
        };
        // After a replacement the later reading names the new meter.
        let meter_then = Meter {
            serial: later.serial.clone(),
            ..domain_meter.clone()
        };
        if let Err(error) = consumption_between(
            &meter_then,
            &domain_reading(earlier),
            &domain_reading(later),
            &policy,
        ) {
            return Err(ApiError::invalid_field(
                "value",
                format!(
                    "{error}; the corrected value must follow on from the meter's \
                     readings before and after it"
                ),
            ));
        }
    }
    Ok(())
}

fn domain_reading(row: &ReadingRow) -> Reading {
    Reading {
        serial: row.serial.clone(),
        value: Quantity::from_milli(row.value_milli),
        taken_at: Timestamp(row.taken_at.unix_timestamp()),
        kind: row.kind,
    }
}

async fn respond(
    state: &AppState,
    reading: &ReadingRow,
) -> Result<Json<CorrectedReadingResponse>, ApiError> {
    let history = state
        .store
        .list_corrections(reading.id)
        .await
        .map_err(|e| ApiError::internal("loading a reading's history", e))?;
    let history = history
        .iter()
        .map(|entry| {
            Ok(ReadingCorrection {
                previous_value: Quantity::from_milli(entry.previous_value_milli).to_string(),
                value: Quantity::from_milli(entry.value_milli).to_string(),
                previous_status: entry.previous_status.clone(),
                status: entry.status.clone(),
                reason: entry.reason.clone(),
                corrected_by: entry.corrected_by.to_string(),
                corrected_at: rfc3339(entry.corrected_at)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(CorrectedReadingResponse {
        reading_id: reading.id.to_string(),
        meter_id: reading.meter_id.to_string(),
        value: Quantity::from_milli(reading.value_milli).to_string(),
        status: reading.status.clone(),
        history,
    }))
}
