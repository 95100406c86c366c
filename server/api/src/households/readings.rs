//! `POST /v1/meters/{meter_id}/readings`: a meter reader (or a primary
//! payer) submits a register value under an `Idempotency-Key`. The
//! domain's consumption rules decide the outcome. A reading is accepted,
//! flagged for the primary payer's review (register rollover, implausibly
//! high usage), or rejected (lower than the previous value beyond a
//! rollover, not after the previous reading, too large for the register). A rejected reading
//! is not stored, but its response is, so a retry returns the same answer.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sharepay_domain::authz::{Action, ResourceKind};
use sharepay_domain::meter::{
    ConsumptionFlag, ConsumptionPolicy, Meter, Quantity, Reading, Timestamp, consumption_between,
};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::readings::{ReadingStatus, SubmitReadingRequest, SubmitReadingResponse};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::access::{Access, in_household};
use super::{now, request_id};
use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::idempotency;
use crate::store::households::MeterRow;
use crate::store::readings::ReadingRow;

const MAX_COORDINATE_CHARS: usize = 16;

/// A reading checked field by field, before any rule runs.
struct ValidReading {
    value: Quantity,
    taken_at: OffsetDateTime,
    /// The serial the reader entered, when given.
    meter_serial: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/meters/{meter_id}/readings",
    tag = "households",
    security(("bearer" = [])),
    params(
        ("meter_id" = String, Path, description = "UUIDv7 of the meter"),
        ("Idempotency-Key" = String, Header, description = "New random value per reading; the same value on a retry"),
    ),
    request_body(content = Object, description = "SubmitReadingRequest: value (decimal string), reading_time (RFC 3339), kind (actual or estimated), optional photo_sha256 and location"),
    responses(
        (status = 201, description = "Stored: status accepted, or flagged with its reasons.", body = Object),
        (status = 200, description = "Not stored: status rejected with its reasons.", body = Object),
        (status = 404, description = "No such meter, or not assigned to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The same key is still being processed; retry.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The key was used with a different body.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn submit_reading(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(meter_id): PathId,
    StrictJson(request): StrictJson<SubmitReadingRequest>,
) -> Result<Response, ApiError> {
    // Parse.
    let key = idempotency::key_from_headers(&headers)?;

    // Authorize.
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let meter = state
        .store
        .find_meter(meter_id)
        .await
        .map_err(|e| ApiError::internal("loading a meter", e))?
        .ok_or(ApiError::NotFound)?;
    let mut resource = in_household(ResourceKind::Reading, None, meter.household_id);
    resource.parent = Some(sharepay_domain::ids::ResourceId(meter.id));
    access.require(&state, Action::Write, &resource).await?;

    // Validate, then claim the key; a replay ends here.
    let valid = validate(&request)?;
    let path = format!("/v1/meters/{meter_id}/readings");
    let key = idempotency::key_ref(caller.user_id, key, "POST", &path, &request)?;
    if let Some(replayed) = idempotency::claim(&state, &key).await? {
        return Ok(replayed);
    }

    // Decide, then store if the reading decided against is still the
    // latest; a reading or correction that landed in between means deciding
    // again, so two parallel readings are never both checked against the
    // same previous one.
    let mut attempts = 0;
    let (reading_id, decision, status) = loop {
        attempts += 1;
        let previous = state
            .store
            .latest_reading(meter.id)
            .await
            .map_err(|e| ApiError::internal("loading the previous reading", e))?;
        let decision = decide(&meter, previous.as_ref(), &request, &valid);
        let reading_id = Uuid::now_v7();
        let response = SubmitReadingResponse {
            reading_id: reading_id.to_string(),
            status: decision.status,
            reasons: decision.reasons.clone(),
        };
        let status = if decision.status == ReadingStatus::Rejected {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        let stored = idempotency::stored(status, &response)?;
        if decision.status == ReadingStatus::Rejected {
            state
                .store
                .complete_key(&key, stored, OffsetDateTime::now_utc())
                .await
                .map_err(|e| ApiError::internal("storing a rejected reading's response", e))?;
            break (reading_id, decision, status);
        }
        let row = ReadingRow {
            id: reading_id,
            meter_id: meter.id,
            household_id: meter.household_id,
            serial: reading_serial(&meter, previous.as_ref(), &valid),
            value_milli: valid.value.milli(),
            taken_at: valid.taken_at,
            kind: request.kind,
            status: status_name(decision.status).to_owned(),
            reasons: serde_json::to_string(&decision.reasons)
                .map_err(|e| ApiError::internal("serializing reasons", e))?,
            usage_milli: decision.usage.map(|usage| usage.milli()),
            photo_sha256: request.photo_sha256.clone(),
            latitude: request.location.as_ref().map(|l| l.latitude.clone()),
            longitude: request.location.as_ref().map(|l| l.longitude.clone()),
            submitted_by: caller.user_id,
            submitted_at: now(),
        };
        let basis = previous.as_ref().map(|p| (p.id, p.value_milli));
        let recorded = state
            .store
            .record_reading(row, basis, &key, stored)
            .await
            .map_err(|e| ApiError::internal("storing a reading", e))?;
        if recorded {
            break (reading_id, decision, status);
        }
        tracing::info!(%meter_id, attempts, "the meter's latest reading changed; deciding again");
        if attempts >= MAX_DECISION_ATTEMPTS {
            return Err(ApiError::Conflict {
                detail: "other readings of this meter kept arriving while this one was \
                         checked; send it again with the same Idempotency-Key"
                    .to_owned(),
            });
        }
    };
    let response = SubmitReadingResponse {
        reading_id: reading_id.to_string(),
        status: decision.status,
        reasons: decision.reasons.clone(),
    };
    tracing::info!(%meter_id, %reading_id, status = status_name(decision.status), "decided a meter reading");
    Ok((status, axum::Json(response)).into_response())
}

/// Times a reading is decided again when other readings of its meter
/// land first.
const MAX_DECISION_ATTEMPTS: u32 = 5;

/// The serial a reading is filed under: the one the reader entered, else
/// the previous reading's (so a replaced meter's series goes on), else the
/// registered one.
fn reading_serial(meter: &MeterRow, previous: Option<&ReadingRow>, valid: &ValidReading) -> String {
    valid
        .meter_serial
        .clone()
        .or_else(|| previous.map(|p| p.serial.clone()))
        .unwrap_or_else(|| meter.serial.clone())
}

/// The domain's verdict on one reading.
struct Verdict {
    status: ReadingStatus,
    reasons: Vec<String>,
    usage: Option<Quantity>,
}

fn decide(
    meter: &MeterRow,
    previous: Option<&ReadingRow>,
    request: &SubmitReadingRequest,
    valid: &ValidReading,
) -> Verdict {
    // The meter on the wall now: a new serial stands for a replacement.
    let serial = reading_serial(meter, previous, valid);
    let domain_meter = Meter {
        serial: serial.clone(),
        unit: meter.unit,
        register_digits: meter.register_digits,
    };
    let current = Reading {
        serial,
        value: valid.value,
        taken_at: Timestamp(valid.taken_at.unix_timestamp()),
        kind: request.kind,
    };
    let Some(previous) = previous else {
        // The first reading is the baseline; it must still fit the register.
        return match domain_meter.register_modulus() {
            Ok(modulus) if valid.value.milli() < modulus => Verdict {
                status: ReadingStatus::Accepted,
                reasons: vec![],
                usage: None,
            },
            _ => rejected(format!(
                "the value does not fit the {}-digit register",
                meter.register_digits
            )),
        };
    };
    let previous = Reading {
        serial: previous.serial.clone(),
        value: Quantity::from_milli(previous.value_milli),
        taken_at: Timestamp(previous.taken_at.unix_timestamp()),
        kind: previous.kind,
    };
    // NOTE: a maximum daily usage is not configurable per meter yet, so the
    // implausible-rate flag only fires once a policy sets one.
    let policy = ConsumptionPolicy::household(meter.unit);
    match consumption_between(&domain_meter, &previous, &current, &policy) {
        Ok(consumption) => {
            let reasons: Vec<String> = consumption
                .flags
                .iter()
                .filter(|flag| **flag != ConsumptionFlag::Estimated)
                .map(flag_reason)
                .collect();
            let status = if reasons.is_empty() {
                ReadingStatus::Accepted
            } else {
                ReadingStatus::Flagged
            };
            Verdict {
                status,
                reasons,
                usage: Some(consumption.usage),
            }
        }
        Err(error) => rejected(error.to_string()),
    }
}

fn rejected(reason: String) -> Verdict {
    Verdict {
        status: ReadingStatus::Rejected,
        reasons: vec![reason],
        usage: None,
    }
}

fn flag_reason(flag: &ConsumptionFlag) -> String {
    match flag {
        ConsumptionFlag::Rollover => "rollover".to_owned(),
        ConsumptionFlag::MeterReplaced { .. } => "meter_replaced".to_owned(),
        ConsumptionFlag::Estimated => "estimated".to_owned(),
        ConsumptionFlag::AboveMaxDailyRate { .. } => "implausible_usage".to_owned(),
    }
}

fn status_name(status: ReadingStatus) -> &'static str {
    match status {
        ReadingStatus::Accepted => "accepted",
        ReadingStatus::Flagged => "flagged",
        ReadingStatus::Rejected => "rejected",
    }
}

fn validate(request: &SubmitReadingRequest) -> Result<ValidReading, ApiError> {
    let value = Quantity::parse(&request.value)
        .map_err(|e| ApiError::invalid_field("value", e.to_string()))?;
    let taken_at = OffsetDateTime::parse(&request.reading_time, &Rfc3339).map_err(|_| {
        ApiError::invalid_field(
            "reading_time",
            "must be an RFC 3339 time such as 2026-12-01T08:30:00Z",
        )
    })?;
    if taken_at > OffsetDateTime::now_utc() + time::Duration::minutes(5) {
        return Err(ApiError::invalid_field(
            "reading_time",
            "is in the future; check the phone's clock",
        ));
    }
    if let Some(hash) = &request.photo_sha256 {
        let valid =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid {
            return Err(ApiError::invalid_field(
                "photo_sha256",
                "must be 64 lowercase hexadecimal characters",
            ));
        }
    }
    if let Some(location) = &request.location {
        check_coordinate("location.latitude", &location.latitude, 90)?;
        check_coordinate("location.longitude", &location.longitude, 180)?;
    }
    let meter_serial = match request.meter_serial.as_deref().map(str::trim) {
        None => None,
        Some(serial) if (1..=64).contains(&serial.chars().count()) => Some(serial.to_owned()),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "meter_serial",
                "must be 1 to 64 characters; leave it out when the serial cannot be read",
            ));
        }
    };
    Ok(ValidReading {
        value,
        taken_at,
        meter_serial,
    })
}

/// Checks a decimal-degree string such as `-48.8566` without floating
/// point: optional sign, digits, optional fraction, magnitude at most `max`.
fn check_coordinate(field: &str, text: &str, max: u32) -> Result<(), ApiError> {
    let invalid = || {
        ApiError::invalid_field(
            field,
            format!("must be a decimal number of degrees from -{max} to {max}, such as 48.8566"),
        )
    };
    if text.is_empty() || text.len() > MAX_COORDINATE_CHARS {
        return Err(invalid());
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(invalid());
    }
    let whole: u32 = whole.parse().map_err(|_| invalid())?;
    let above_max = whole > max || (whole == max && fraction.bytes().any(|b| b != b'0'));
    if above_max {
        return Err(invalid());
    }
    Ok(())
}
