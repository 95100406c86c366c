//! Approval of a bill's split, delegation of that approval to one member,
//! and the charges an approval creates.
//!
//! Approval freezes the split computed from the readings stored at that
//! moment. In one store transaction it creates one charge, with its ledger
//! posting, per member who owes a non-zero share. The primary payer who
//! recorded the bill gets none, because they already paid the provider.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::authz::{Action, ResourceKind};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::billing::{
    BillDelegationRequest, BillDelegationResponse, BillSplitResponse, ChargeListResponse,
    ChargeResponse, ChargeStatus,
};
use uuid::Uuid;

use super::bills::{authorized_bill, prepare, stored_request};
use super::{ledger, money_body};
use crate::AppState;
use crate::audit::Outcome;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson, parse_v7};
use crate::households::access::{Access, in_household};
use crate::households::{now, request_id, rfc3339};
use crate::store::money::{BillApproval, ChargeRow, ChargeScope, DelegationRow};

#[utoipa::path(
    post,
    path = "/v1/bills/{bill_id}/delegations",
    tag = "money",
    security(("bearer" = [])),
    params(("bill_id" = String, Path, description = "UUIDv7 of the bill")),
    request_body = BillDelegationRequest,
    responses(
        (status = 201, description = "The member may now approve this bill.", body = BillDelegationResponse),
        (status = 400, description = "The user is not a member of the bill's household, or is a meter reader, who cannot read bills.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer delegates approval.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such bill, or the caller may not see it.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delegate_approval(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(bill_id): PathId,
    StrictJson(request): StrictJson<BillDelegationRequest>,
) -> Result<(StatusCode, Json<BillDelegationResponse>), ApiError> {
    let delegate = parse_v7("user_id", &request.user_id)?;
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let bill = authorized_bill(&state, &access, bill_id, Action::Manage).await?;

    let members = state
        .store
        .list_members(bill.household_id)
        .await
        .map_err(|e| ApiError::internal("listing members", e))?;
    let Some(member) = members.iter().find(|member| member.user_id == delegate) else {
        return Err(ApiError::invalid_field(
            "user_id",
            "is not a member of this bill's household; invite them first",
        ));
    };
    // Approving shows every member's share, which only members who share
    // bills may read; a meter reader cannot.
    if !member.role.owes_bill_shares() {
        return Err(ApiError::invalid_field(
            "user_id",
            format!(
                "is this household's {}, who cannot read bills; delegate to a participant",
                member.role.name().replace('_', " ")
            ),
        ));
    }
    let delegation = DelegationRow {
        bill_id,
        household_id: bill.household_id,
        user_id: delegate,
        granted_by: caller.user_id,
        granted_at: now(),
    };
    state
        .store
        .insert_delegation(delegation.clone())
        .await
        .map_err(|e| ApiError::internal("storing a delegation", e))?;
    super::audit_change(
        &state,
        caller.user_id,
        "bill.delegate_approval",
        format!("bill:{bill_id}"),
        Outcome::Success,
        request_id.as_deref(),
        serde_json::json!({"delegate": delegate}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(BillDelegationResponse {
            bill_id: bill_id.to_string(),
            user_id: delegate.to_string(),
            granted_by: caller.user_id.to_string(),
            granted_at: rfc3339(delegation.granted_at)?,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/bills/{bill_id}/approval",
    tag = "money",
    security(("bearer" = [])),
    params(("bill_id" = String, Path, description = "UUIDv7 of the bill")),
    responses(
        (status = 200, description = "The frozen split; one charge per member share now exists.", body = BillSplitResponse),
        (status = 400, description = "The split can no longer be computed, for example a member left the household.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer or a delegate approves.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such bill, or the caller may not see it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This version is already approved, or a newer version exists.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve_bill(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(bill_id): PathId,
) -> Result<Json<BillSplitResponse>, ApiError> {
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let bill = authorized_bill(&state, &access, bill_id, Action::Approve).await?;
    if bill.status == "approved" {
        return Err(already_approved());
    }

    let prepared = prepare(&state, bill.household_id, &stored_request(&bill)?).await?;
    let frozen = prepared.split_response(&bill, true);
    let approved_at = now();
    let mut charges = Vec::new();
    for line in &prepared.split.lines {
        let user_id = Uuid::parse_str(&line.member_id)
            .map_err(|e| ApiError::internal("reading a split line's member", e))?;
        if line.amount.minor == 0 || user_id == bill.created_by {
            continue;
        }
        charges.push(ChargeRow {
            id: Uuid::now_v7(),
            bill_id,
            bill_version: bill.version,
            household_id: bill.household_id,
            user_id,
            payee_id: bill.created_by,
            amount_minor: line.amount.minor,
            currency: line.amount.currency.clone(),
            status: "open".to_owned(),
            created_at: approved_at,
        });
    }
    let cancelled: Vec<ChargeRow> = state
        .store
        .list_charges(ChargeScope::Bill(bill_id))
        .await
        .map_err(|e| ApiError::internal("listing a bill's charges", e))?
        .into_iter()
        .filter(|charge| charge.status == "open")
        .collect();
    let history = ledger::load(&state, Some(bill.household_id)).await?;
    let mut postings = Vec::new();
    for charge in &charges {
        postings.extend(ledger::charge_created(charge, approved_at)?);
    }
    for charge in &cancelled {
        postings.extend(ledger::charge_cancelled(charge, &history, approved_at)?);
    }

    let approval = BillApproval {
        bill_id,
        version: bill.version,
        approved_by: caller.user_id,
        approved_at,
        split_json: serde_json::to_string(&frozen)
            .map_err(|e| ApiError::internal("serializing a frozen split", e))?,
    };
    let approved = state
        .store
        .approve_bill(approval, charges.clone(), postings)
        .await
        .map_err(|e| ApiError::internal("approving a bill", e))?;
    if !approved {
        return Err(already_approved());
    }
    super::audit_change(
        &state,
        caller.user_id,
        "bill.approve",
        format!("bill:{bill_id}"),
        Outcome::Success,
        request_id.as_deref(),
        serde_json::json!({
            "version": bill.version,
            "charges": charges.len(),
            "cancelled_charges": cancelled.len(),
        }),
    )
    .await?;
    tracing::info!(%bill_id, version = bill.version, charges = charges.len(), "approved a bill");
    Ok(Json(frozen))
}

fn already_approved() -> ApiError {
    ApiError::Conflict {
        detail: "this bill version is already approved, or a newer version exists; reload the \
                 bill"
            .to_owned(),
    }
}

pub(super) fn charge_response(charge: &ChargeRow) -> Result<ChargeResponse, ApiError> {
    Ok(ChargeResponse {
        charge_id: charge.id.to_string(),
        bill_id: charge.bill_id.to_string(),
        bill_version: charge.bill_version,
        household_id: charge.household_id.to_string(),
        user_id: charge.user_id.to_string(),
        amount: money_body(charge.amount_minor, &charge.currency),
        status: match charge.status.as_str() {
            "paid" => ChargeStatus::Paid,
            "cancelled" => ChargeStatus::Cancelled,
            _ => ChargeStatus::Open,
        },
        created_at: rfc3339(charge.created_at)?,
    })
}

#[utoipa::path(
    get,
    path = "/v1/me/charges",
    tag = "money",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's charges in every household they belong to.", body = ChargeListResponse),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_my_charges(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<Json<ChargeListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let charges = state
        .store
        .list_charges(ChargeScope::User(caller.user_id))
        .await
        .map_err(|e| ApiError::internal("listing charges", e))?;
    // A charge of a household the caller has left is no longer theirs to see.
    let mut visible = Vec::new();
    for charge in &charges {
        let mut resource = in_household(ResourceKind::Charge, Some(charge.id), charge.household_id);
        resource.owner = Some(sharepay_domain::ids::UserId(charge.user_id));
        if access.allows(Action::Read, &resource) {
            visible.push(charge_response(charge)?);
        }
    }
    Ok(Json(ChargeListResponse { charges: visible }))
}

#[utoipa::path(
    get,
    path = "/v1/households/{household_id}/charges",
    tag = "money",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    responses(
        (status = 200, description = "Every charge of the household.", body = ChargeListResponse),
        (status = 404, description = "No such household, or the caller is not its primary payer.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_household_charges(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
) -> Result<Json<ChargeListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Charge, None, household_id);
    access.require(&state, Action::Read, &resource).await?;

    let charges = state
        .store
        .list_charges(ChargeScope::Household(household_id))
        .await
        .map_err(|e| ApiError::internal("listing charges", e))?;
    let charges = charges
        .iter()
        .map(charge_response)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ChargeListResponse { charges }))
}
