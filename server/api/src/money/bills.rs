//! Bills. A primary payer records one with its period, provider, standing
//! charge, covered meters and split mode. Every member can read it and its
//! proposed split with the explanation. Changing a bill stores a new
//! version, which needs approval again.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::authz::{Action, ResourceKind};
use sharepay_domain::wire::billing::{
    BillListResponse, BillRequest, BillResponse, BillSplitResponse, BillStatus, ValidBill,
};
use sharepay_domain::wire::split::SplitProposalResponse;
use sharepay_domain::wire::{FieldError, Problem};
use uuid::Uuid;

use super::usage::{self, MemberUsage};
use super::{day_number, format_day, load_bill, money_body, optional_rfc3339, parse_date};
use crate::AppState;
use crate::audit::Outcome;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::households::access::{Access, in_household};
use crate::households::{now, request_id, rfc3339};
use crate::store::StoreError;
use crate::store::money::{BillRow, ChargeScope};

/// Maximum length of a billing period, in days.
const MAX_PERIOD_DAYS: i64 = 366;

/// A bill request checked against the household, with its computed split.
pub(super) struct PreparedBill {
    pub valid: ValidBill,
    pub first_day: i64,
    pub last_day: i64,
    pub split: SplitProposalResponse,
    pub usage: Vec<MemberUsage>,
}

impl PreparedBill {
    pub fn split_response(&self, bill: &BillRow, frozen: bool) -> BillSplitResponse {
        BillSplitResponse {
            bill_id: bill.id.to_string(),
            version: bill.version,
            status: if frozen {
                BillStatus::Approved
            } else {
                BillStatus::Proposed
            },
            frozen,
            split: self.split.clone(),
            usage: self.usage.iter().map(MemberUsage::body).collect(),
        }
    }
}

/// Validates `request` for `household_id`: every field, members of the
/// household, meters of the household, and a split the engine can compute
/// from the readings stored now.
pub(super) async fn prepare(
    state: &AppState,
    household_id: Uuid,
    request: &BillRequest,
) -> Result<PreparedBill, ApiError> {
    let valid = request.validate().map_err(ApiError::invalid_fields)?;
    let start = parse_date("period_start", &request.period_start)?;
    let end = parse_date("period_end", &request.period_end)?;
    let (first_day, last_day) = (day_number(start), day_number(end));
    if last_day < first_day {
        return Err(ApiError::invalid_field(
            "period_end",
            "must not be before period_start",
        ));
    }
    if last_day - first_day + 1 > MAX_PERIOD_DAYS {
        return Err(ApiError::invalid_field(
            "period_end",
            format!("the period must be at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    check_members(state, household_id, &valid).await?;
    for (index, meter_id) in valid.meter_ids.iter().enumerate() {
        let in_household = state
            .store
            .find_meter(*meter_id)
            .await
            .map_err(|e| ApiError::internal("loading a meter", e))?
            .is_some_and(|meter| meter.household_id == household_id);
        if !in_household {
            return Err(ApiError::invalid_field(
                &format!("meter_ids[{index}]"),
                "is not a meter of this household",
            ));
        }
    }

    let usage = if valid.split_mode == sharepay_domain::wire::split::SplitMode::Consumption {
        usage::measure(state, household_id, &valid, first_day, last_day).await?
    } else {
        Vec::new()
    };
    let proposal = valid.split_proposal(|member| {
        usage
            .iter()
            .find(|usage| usage.user_id == member.user_id)
            .map(|usage| usage.usage)
            .unwrap_or_default()
    });
    let computed = proposal.validate().map_err(|errors| {
        ApiError::invalid_fields(errors.into_iter().map(rename_field).collect())
    })?;
    Ok(PreparedBill {
        split: SplitProposalResponse::from_split(valid.split_mode, &computed.split),
        valid,
        first_day,
        last_day,
        usage,
    })
}

/// Names a split engine error by the bill request's field names.
fn rename_field(error: FieldError) -> FieldError {
    let field = match error.field.as_str() {
        "bill" => "amount".to_owned(),
        other => other.replace(".member_id", ".user_id"),
    };
    FieldError { field, ..error }
}

async fn check_members(
    state: &AppState,
    household_id: Uuid,
    bill: &ValidBill,
) -> Result<(), ApiError> {
    let members = state
        .store
        .list_members(household_id)
        .await
        .map_err(|e| ApiError::internal("listing members", e))?;
    let errors: Vec<FieldError> = bill
        .members
        .iter()
        .enumerate()
        .filter_map(|(index, member)| {
            let field = format!("members[{index}].user_id");
            match members.iter().find(|row| row.user_id == member.user_id) {
                None => Some(FieldError {
                    field,
                    message: "is not a member of this household; invite them first".to_owned(),
                }),
                Some(row) if !row.role.owes_bill_shares() => Some(FieldError {
                    field,
                    message: format!(
                        "is this household's {}, who owes no share; leave them out, or \
                         change their role to participant first",
                        row.role.name().replace('_', " ")
                    ),
                }),
                Some(_) => None,
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

fn bill_row(
    id: Uuid,
    version: u32,
    household_id: Uuid,
    created_by: Uuid,
    request: &BillRequest,
    prepared: &PreparedBill,
) -> Result<BillRow, ApiError> {
    Ok(BillRow {
        id,
        version,
        household_id,
        status: "proposed".to_owned(),
        amount_minor: prepared.valid.amount.minor(),
        currency: prepared.valid.amount.currency().code().to_owned(),
        standing_charge_minor: prepared.valid.standing_charge.minor(),
        period_start_day: prepared.first_day,
        period_end_day: prepared.last_day,
        provider: prepared.valid.provider.clone(),
        request_json: serde_json::to_string(request)
            .map_err(|e| ApiError::internal("serializing a bill request", e))?,
        split_json: None,
        created_by,
        created_at: now(),
        approved_by: None,
        approved_at: None,
    })
}

/// Returns the request a bill version was recorded with.
pub(super) fn stored_request(bill: &BillRow) -> Result<BillRequest, ApiError> {
    serde_json::from_str(&bill.request_json)
        .map_err(|e| ApiError::internal("reading a stored bill request", e))
}

pub(super) fn bill_response(bill: &BillRow) -> Result<BillResponse, ApiError> {
    let request = stored_request(bill)?;
    Ok(BillResponse {
        bill_id: bill.id.to_string(),
        household_id: bill.household_id.to_string(),
        version: bill.version,
        status: if bill.status == "approved" {
            BillStatus::Approved
        } else {
            BillStatus::Proposed
        },
        amount: money_body(bill.amount_minor, &bill.currency),
        standing_charge: money_body(bill.standing_charge_minor, &bill.currency),
        period_start: format_day(bill.period_start_day)?,
        period_end: format_day(bill.period_end_day)?,
        provider: bill.provider.clone(),
        meter_ids: request.meter_ids,
        split_mode: request.split_mode,
        created_by: bill.created_by.to_string(),
        created_at: rfc3339(bill.created_at)?,
        approved_by: bill.approved_by.map(|id| id.to_string()),
        approved_at: optional_rfc3339(bill.approved_at)?,
    })
}

/// Loads a bill and authorizes `action` on it. A bill of another
/// household returns 404.
pub(super) async fn authorized_bill(
    state: &AppState,
    access: &Access,
    bill_id: Uuid,
    action: Action,
) -> Result<BillRow, ApiError> {
    let bill = load_bill(state, bill_id).await?;
    let resource = in_household(ResourceKind::Bill, Some(bill.id), bill.household_id);
    access.require(state, action, &resource).await?;
    Ok(bill)
}

#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/bills",
    tag = "money",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    request_body = BillRequest,
    responses(
        (status = 201, description = "Recorded as version 1 with a proposed split.", body = BillResponse),
        (status = 400, description = "A field is invalid, a member or meter is not in the household, or the split cannot be computed; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer records bills.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such household, or not the caller's.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_bill(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
    StrictJson(request): StrictJson<BillRequest>,
) -> Result<(StatusCode, Json<BillResponse>), ApiError> {
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let resource = in_household(ResourceKind::Bill, None, household_id);
    access.require(&state, Action::Write, &resource).await?;

    let prepared = prepare(&state, household_id, &request).await?;
    let bill = bill_row(
        Uuid::now_v7(),
        1,
        household_id,
        caller.user_id,
        &request,
        &prepared,
    )?;
    state
        .store
        .insert_bill_version(bill.clone())
        .await
        .map_err(|e| ApiError::internal("storing a bill", e))?;
    super::audit_change(
        &state,
        caller.user_id,
        "bill.create",
        format!("bill:{}", bill.id),
        Outcome::Success,
        request_id.as_deref(),
        serde_json::json!({"household_id": household_id, "version": 1}),
    )
    .await?;
    tracing::info!(%household_id, bill_id = %bill.id, "recorded a bill");
    Ok((StatusCode::CREATED, Json(bill_response(&bill)?)))
}

#[utoipa::path(
    get,
    path = "/v1/households/{household_id}/bills",
    tag = "money",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    responses(
        (status = 200, description = "The household's bills at their latest versions.", body = BillListResponse),
        (status = 404, description = "No such household, or the caller may not see its bills.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_bills(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
) -> Result<Json<BillListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Bill, None, household_id);
    access.require(&state, Action::Read, &resource).await?;

    let bills = state
        .store
        .list_bills(household_id)
        .await
        .map_err(|e| ApiError::internal("listing bills", e))?;
    let bills = bills
        .iter()
        .map(bill_response)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(BillListResponse { bills }))
}

#[utoipa::path(
    get,
    path = "/v1/bills/{bill_id}",
    tag = "money",
    security(("bearer" = [])),
    params(("bill_id" = String, Path, description = "UUIDv7 of the bill")),
    responses(
        (status = 200, description = "The bill at its latest version.", body = BillResponse),
        (status = 404, description = "No such bill, or the caller may not see it.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_bill(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(bill_id): PathId,
) -> Result<Json<BillResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let bill = authorized_bill(&state, &access, bill_id, Action::Read).await?;
    Ok(Json(bill_response(&bill)?))
}

#[utoipa::path(
    put,
    path = "/v1/bills/{bill_id}",
    tag = "money",
    security(("bearer" = [])),
    params(("bill_id" = String, Path, description = "UUIDv7 of the bill")),
    request_body = BillRequest,
    responses(
        (status = 200, description = "Stored as the next version with a proposed split; an approved bill needs approval again.", body = BillResponse),
        (status = 400, description = "A field is invalid; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer changes bills.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such bill, or the caller may not see it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A charge of the bill is paid, or another change came first.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_bill(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(bill_id): PathId,
    StrictJson(request): StrictJson<BillRequest>,
) -> Result<Json<BillResponse>, ApiError> {
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let current = authorized_bill(&state, &access, bill_id, Action::Write).await?;

    let prepared = prepare(&state, current.household_id, &request).await?;
    let charges = state
        .store
        .list_charges(ChargeScope::Bill(bill_id))
        .await
        .map_err(|e| ApiError::internal("listing a bill's charges", e))?;
    // NOTE: a payment that starts after this check and before the new
    // version is approved is still taken. Approval then leaves that paid
    // charge in place and cancels only the open ones.
    if charges.iter().any(|charge| charge.status == "paid") {
        return Err(ApiError::Conflict {
            detail: "a charge of this bill is already paid, so the bill can no longer change; \
                     record a new bill for the difference"
                .to_owned(),
        });
    }
    let version = current.version + 1;
    let bill = bill_row(
        bill_id,
        version,
        current.household_id,
        caller.user_id,
        &request,
        &prepared,
    )?;
    match state.store.insert_bill_version(bill.clone()).await {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => {
            return Err(ApiError::Conflict {
                detail: "another change of this bill came first; reload it and try again"
                    .to_owned(),
            });
        }
        Err(e) => return Err(ApiError::internal("storing a bill version", e)),
    }
    super::audit_change(
        &state,
        caller.user_id,
        "bill.update",
        format!("bill:{bill_id}"),
        Outcome::Success,
        request_id.as_deref(),
        serde_json::json!({"version": version, "previous_status": current.status}),
    )
    .await?;
    tracing::info!(%bill_id, version, "stored a new bill version");
    Ok(Json(bill_response(&bill)?))
}

#[utoipa::path(
    get,
    path = "/v1/bills/{bill_id}/split",
    tag = "money",
    security(("bearer" = [])),
    params(("bill_id" = String, Path, description = "UUIDv7 of the bill")),
    responses(
        (status = 200, description = "The split with each member's explanation: frozen once approved, else proposed from the readings stored now.", body = BillSplitResponse),
        (status = 404, description = "No such bill, or the caller may not see it.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_split(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(bill_id): PathId,
) -> Result<Json<BillSplitResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let bill = load_bill(&state, bill_id).await?;
    let mut resource = in_household(ResourceKind::Split, None, bill.household_id);
    resource.parent = Some(sharepay_domain::ids::ResourceId(bill.id));
    access.require(&state, Action::Read, &resource).await?;

    if let Some(frozen) = &bill.split_json {
        let split: BillSplitResponse = serde_json::from_str(frozen)
            .map_err(|e| ApiError::internal("reading a frozen split", e))?;
        return Ok(Json(split));
    }
    let prepared = prepare(&state, bill.household_id, &stored_request(&bill)?).await?;
    Ok(Json(prepared.split_response(&bill, false)))
}
