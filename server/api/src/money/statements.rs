//! Statements and the reconciliation report, both read from the ledger
//! through the domain's `build_statement` and `reconcile`.
//!
//! A member's statement covers one household and one period, one
//! statement per currency. A participant's reads their receivable account;
//! a primary payer's reads their settlement account. The reconciliation
//! report compares every charge row with the whole ledger.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use sharepay_domain::authz::{Action, Resource, ResourceKind, Role};
use sharepay_domain::ids::{HouseholdId, ResourceId, UserId};
use sharepay_domain::ledger::{
    ChargeRecord, ChargeStatus, LedgerAccount, LedgerTransaction, Statement, StatementPeriod,
    build_primary_payer_statement, build_statement, reconcile,
};
use sharepay_domain::meter::Timestamp;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::payments::{
    ReconciliationMismatchBody, ReconciliationResponse, StatementLineBody, StatementListResponse,
    StatementResponse,
};
use uuid::Uuid;

use super::{day_number, format_day, ledger, parse_date, stored_money};
use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, parse_v7};
use crate::households::access::{Access, in_household};
use crate::households::{now, request_id, rfc3339};
use crate::store::money::{ChargeRow, ChargeScope};

/// Query of `GET /v1/households/{household_id}/statements`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// UUIDv7 of the member; the caller when absent.
    pub member: Option<String>,
    /// First day, `YYYY-MM-DD`, included.
    pub from: String,
    /// Last day, `YYYY-MM-DD`, included.
    pub to: String,
}

#[utoipa::path(
    get,
    path = "/v1/households/{household_id}/statements",
    tag = "money",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household"), StatementQuery),
    responses(
        (status = 200, description = "The member's statements, one per currency with movements.", body = StatementListResponse),
        (status = 400, description = "A query field is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such household or member, or the caller may not see the member's statement.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn statements(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
    Query(query): Query<StatementQuery>,
) -> Result<Json<StatementListResponse>, ApiError> {
    // Parse.
    let member = match &query.member {
        Some(member) => parse_v7("member", member)?,
        None => caller.user_id,
    };
    let first_day = day_number(parse_date("from", &query.from)?);
    let last_day = day_number(parse_date("to", &query.to)?);
    if last_day < first_day {
        return Err(ApiError::invalid_field("to", "must not be before from"));
    }

    // Authorize: a primary payer reads every member's, a participant their own.
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let mut resource = in_household(ResourceKind::Charge, None, household_id);
    resource.owner = Some(UserId(member));
    access.require(&state, Action::Read, &resource).await?;

    // Load and build.
    let role = state
        .store
        .list_members(household_id)
        .await
        .map_err(|e| ApiError::internal("listing members", e))?
        .iter()
        .find(|row| row.user_id == member)
        .map(|row| row.role)
        .ok_or(ApiError::NotFound)?;
    let account = if role == Role::PrimaryPayer {
        LedgerAccount::PrimaryPayerSettlement {
            primary_payer: UserId(member),
        }
    } else {
        LedgerAccount::ParticipantReceivable {
            participant: UserId(member),
        }
    };
    let history = ledger::load(&state, Some(household_id)).await?;
    let currencies: BTreeSet<&'static str> = history
        .iter()
        .filter(|transaction| transaction.net_change(account) != 0 || touches(transaction, account))
        .map(|transaction| transaction.currency().code())
        .collect();
    let period = StatementPeriod {
        start: Timestamp::from_day(first_day),
        end: Timestamp::from_day(last_day + 1),
    };
    let mut statements = Vec::new();
    for code in currencies {
        let currency = stored_money(0, code)?.currency();
        let household = HouseholdId(household_id);
        let statement = match account {
            LedgerAccount::PrimaryPayerSettlement { primary_payer } => {
                build_primary_payer_statement(household, primary_payer, currency, period, &history)
            }
            _ => build_statement(household, UserId(member), currency, period, &history),
        }
        .map_err(|e| ApiError::internal("building a statement", e))?;
        statements.push(statement_response(&statement, first_day, last_day)?);
    }
    Ok(Json(StatementListResponse { statements }))
}

fn touches(transaction: &LedgerTransaction, account: LedgerAccount) -> bool {
    transaction
        .postings()
        .iter()
        .any(|posting| posting.account == account)
}

fn statement_response(
    statement: &Statement,
    first_day: i64,
    last_day: i64,
) -> Result<StatementResponse, ApiError> {
    let lines = statement
        .lines
        .iter()
        .map(|line| {
            Ok(StatementLineBody {
                at: rfc3339(timestamp(line.posted_at)?)?,
                kind: serde_json::to_value(line.kind)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                transaction_id: line.transaction.to_string(),
                charge_id: line.charge.map(|charge| charge.to_string()),
                amount: line.amount.into(),
                balance: line.balance.into(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(StatementResponse {
        household_id: statement.household.to_string(),
        user_id: statement.member.to_string(),
        account: statement.account.code(),
        from: format_day(first_day)?,
        to: format_day(last_day)?,
        opening_balance: statement.opening_balance.into(),
        lines,
        closing_balance: statement.closing_balance.into(),
        settled: statement.settled,
    })
}

fn timestamp(time: Timestamp) -> Result<time::OffsetDateTime, ApiError> {
    time::OffsetDateTime::from_unix_timestamp(time.0)
        .map_err(|e| ApiError::internal("converting a posting time", e))
}

#[utoipa::path(
    get,
    path = "/v1/admin/reconciliation",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ledger compared with every charge: balances and each mismatch.", body = ReconciliationResponse),
        (status = 404, description = "The caller is not a system administrator.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reconciliation(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<Json<ReconciliationResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    access
        .require(&state, Action::Read, &Resource::new(ResourceKind::Ledger))
        .await?;

    let charges = state
        .store
        .list_charges(ChargeScope::All)
        .await
        .map_err(|e| ApiError::internal("listing charges", e))?;
    let refunded = refunded_by_charge(&state, &charges).await?;
    let records = charges
        .iter()
        .map(|charge| charge_record(charge, refunded.get(&charge.id).copied().unwrap_or(0)))
        .collect::<Result<Vec<_>, _>>()?;
    let history = ledger::load(&state, None).await?;
    let report = reconcile(&records, &history);
    let mismatches = report
        .discrepancies
        .iter()
        .map(|discrepancy| {
            let fields = serde_json::to_value(discrepancy).unwrap_or_default();
            ReconciliationMismatchBody {
                charge_id: discrepancy_field(&fields, "charge"),
                transaction_id: discrepancy_field(&fields, "transaction"),
                problem: discrepancy.to_string(),
            }
        })
        .collect();
    Ok(Json(ReconciliationResponse {
        generated_at: rfc3339(now())?,
        charges: report.charges_checked as u64,
        ledger_transactions: report.transactions_checked as u64,
        clean: report.is_clean(),
        mismatches,
    }))
}

/// Returns the id a serialized discrepancy names under `name`, if any.
fn discrepancy_field(value: &serde_json::Value, name: &str) -> Option<String> {
    value
        .as_object()?
        .values()
        .find_map(|fields| fields.get(name))
        .and_then(|id| id.as_str().map(str::to_owned))
}

/// Sums the refunds of every charge's household, per charge.
async fn refunded_by_charge(
    state: &AppState,
    charges: &[ChargeRow],
) -> Result<BTreeMap<Uuid, i64>, ApiError> {
    let households: BTreeSet<Uuid> = charges.iter().map(|charge| charge.household_id).collect();
    let mut refunded = BTreeMap::new();
    for household in households {
        for refund in state
            .store
            .list_refunds(household)
            .await
            .map_err(|e| ApiError::internal("listing refunds", e))?
        {
            *refunded.entry(refund.charge_id).or_insert(0) += refund.amount_minor;
        }
    }
    Ok(refunded)
}

/// Describes a charge row as the reconciliation expects it, with the
/// status the ledger should show given the refunds stored for it.
fn charge_record(charge: &ChargeRow, refunded_minor: i64) -> Result<ChargeRecord, ApiError> {
    let status = match charge.status.as_str() {
        "cancelled" => ChargeStatus::Cancelled,
        "paid" if refunded_minor >= charge.amount_minor => ChargeStatus::Refunded,
        "paid" if refunded_minor > 0 => ChargeStatus::PartiallyRefunded,
        "paid" => ChargeStatus::Paid,
        _ => ChargeStatus::Unpaid,
    };
    Ok(ChargeRecord {
        charge: ResourceId(charge.id),
        household: HouseholdId(charge.household_id),
        participant: UserId(charge.user_id),
        amount: stored_money(charge.amount_minor, &charge.currency)?,
        status,
    })
}
