//! Conversion between the domain ledger and its stored rows. Each posting
//! is built with the domain's rules (`sharepay_domain::ledger`) and stored
//! as rows. Stored rows load back through the domain's balanced
//! constructor, so a corrupt stored transaction is an error, not a number.
//!
//! This module must never write a posting rule of its own.

use sharepay_domain::ids::{HouseholdId, ResourceId, UserId};
use sharepay_domain::ledger::{
    ChargeFacts, ChargePosition, LedgerAccount, LedgerTransaction, PaymentAttempt, PaymentOutcome,
    Posting, RefundEffect, RefundRequest, Side, TransactionKind, post_charge_created,
    post_charge_reduction, post_payment, post_refund,
};
use sharepay_domain::meter::Timestamp;
use time::OffsetDateTime;
use uuid::Uuid;

use super::stored_money;
use crate::AppState;
use crate::error::ApiError;
use crate::store::money::{ChargeRow, LedgerEntryRow, LedgerTransactionRow, PaymentRow};

fn ledger_error(context: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(context, error)
}

pub(super) fn charge_facts(charge: &ChargeRow) -> Result<ChargeFacts, ApiError> {
    Ok(ChargeFacts {
        charge: ResourceId(charge.id),
        household: HouseholdId(charge.household_id),
        participant: UserId(charge.user_id),
        primary_payer: UserId(charge.payee_id),
        amount: stored_money(charge.amount_minor, &charge.currency)?,
    })
}

/// Folds a charge's postings out of its household's ledger.
fn position_of(
    charge: &ChargeRow,
    history: &[LedgerTransaction],
) -> Result<(ChargeFacts, ChargePosition), ApiError> {
    let facts = charge_facts(charge)?;
    let position = ChargePosition::from_history(&facts, history)
        .map_err(|e| ledger_error("reading a charge's ledger position", e))?;
    Ok((facts, position))
}

fn timestamp(time: OffsetDateTime) -> Timestamp {
    Timestamp(time.unix_timestamp())
}

/// Posts a new charge: the participant owes the primary payer its amount.
pub(super) fn charge_created(
    charge: &ChargeRow,
    at: OffsetDateTime,
) -> Result<Vec<LedgerTransactionRow>, ApiError> {
    let facts = charge_facts(charge)?;
    let transaction = post_charge_created(ResourceId(Uuid::now_v7()), timestamp(at), &facts)
        .map_err(|e| ledger_error("posting a charge", e))?;
    Ok(vec![to_row(&transaction, charge.id)?])
}

/// Posts the withdrawal of an open charge that a newer approved bill
/// version replaces. `history` is the household's ledger.
pub(super) fn charge_cancelled(
    charge: &ChargeRow,
    history: &[LedgerTransaction],
    at: OffsetDateTime,
) -> Result<Vec<LedgerTransactionRow>, ApiError> {
    let (facts, position) = position_of(charge, history)?;
    let outstanding = position
        .outstanding()
        .map_err(|e| ledger_error("reading a charge's outstanding amount", e))?;
    if outstanding.minor() <= 0 {
        return Ok(Vec::new());
    }
    let transaction = post_charge_reduction(
        ResourceId(Uuid::now_v7()),
        timestamp(at),
        &facts,
        &position,
        outstanding,
    )
    .map_err(|e| ledger_error("posting a charge reduction", e))?;
    Ok(vec![to_row(&transaction, charge.id)?])
}

/// Posts a captured payment; `history` is the household's ledger.
pub(super) fn payment_captured(
    charge: &ChargeRow,
    payment: &PaymentRow,
    history: &[LedgerTransaction],
    at: OffsetDateTime,
) -> Result<Vec<LedgerTransactionRow>, ApiError> {
    let (facts, position) = position_of(charge, history)?;
    let attempt = PaymentAttempt {
        payment: ResourceId(payment.id),
        amount: stored_money(payment.amount_minor, &payment.currency)?,
        outcome: PaymentOutcome::Captured,
    };
    let transaction = post_payment(
        ResourceId(Uuid::now_v7()),
        timestamp(at),
        &facts,
        &position,
        &attempt,
    )
    .map_err(|e| ledger_error("posting a payment", e))?;
    transaction
        .map(|transaction| to_row(&transaction, charge.id))
        .into_iter()
        .collect()
}

/// Posts a refund that lowers the charge by the refunded amount, so the
/// participant owes nothing more and the primary payer is owed that much
/// less. `history` is the household's ledger.
pub(super) fn refund(
    charge: &ChargeRow,
    payment_id: Uuid,
    refund_id: Uuid,
    amount_minor: i64,
    history: &[LedgerTransaction],
    at: OffsetDateTime,
) -> Result<Vec<LedgerTransactionRow>, ApiError> {
    let (facts, position) = position_of(charge, history)?;
    let request = RefundRequest {
        payment: ResourceId(payment_id),
        refund: ResourceId(refund_id),
        amount: stored_money(amount_minor, &charge.currency)?,
        effect: RefundEffect::ChargeReduced,
    };
    let transaction = post_refund(
        ResourceId(Uuid::now_v7()),
        timestamp(at),
        &facts,
        &position,
        &request,
    )
    .map_err(|e| ApiError::invalid_field("amount", e.to_string()))?;
    Ok(vec![to_row(&transaction, charge.id)?])
}

fn side_code(side: Side) -> &'static str {
    match side {
        Side::Debit => "debit",
        Side::Credit => "credit",
    }
}

fn to_row(
    transaction: &LedgerTransaction,
    charge_id: Uuid,
) -> Result<LedgerTransactionRow, ApiError> {
    let kind = serde_json::to_string(&transaction.kind())
        .map_err(|e| ledger_error("serializing a ledger transaction kind", e))?;
    let posted_at = OffsetDateTime::from_unix_timestamp(transaction.posted_at().0)
        .map_err(|e| ledger_error("converting a posting time", e))?;
    Ok(LedgerTransactionRow {
        id: transaction.id().0,
        household_id: transaction.household().0,
        kind,
        reference_id: reference_of(transaction.kind()).unwrap_or(charge_id),
        charge_id,
        posted_at,
        entries: transaction
            .postings()
            .iter()
            .map(|posting| LedgerEntryRow {
                account: posting.account.code(),
                side: side_code(posting.side).to_owned(),
                amount_minor: posting.amount.minor(),
                currency: posting.amount.currency().code().to_owned(),
            })
            .collect(),
    })
}

/// Returns the payment or refund a transaction records, if any.
fn reference_of(kind: TransactionKind) -> Option<Uuid> {
    match kind {
        TransactionKind::PaymentCaptured { payment, .. } => Some(payment.0),
        TransactionKind::PaymentRefunded { refund, .. } => Some(refund.0),
        _ => None,
    }
}

/// Rebuilds a stored transaction through the domain's balanced constructor.
pub(super) fn from_row(row: &LedgerTransactionRow) -> Result<LedgerTransaction, ApiError> {
    let kind: TransactionKind = serde_json::from_str(&row.kind)
        .map_err(|e| ledger_error("reading a stored ledger transaction kind", e))?;
    let mut postings = Vec::with_capacity(row.entries.len());
    for entry in &row.entries {
        let account = LedgerAccount::parse_code(&entry.account)
            .map_err(|e| ledger_error("reading a stored ledger account", e))?;
        let amount = stored_money(entry.amount_minor, &entry.currency)?;
        postings.push(match entry.side.as_str() {
            "debit" => Posting::debit(account, amount),
            "credit" => Posting::credit(account, amount),
            other => {
                return Err(ledger_error(
                    "reading a stored ledger entry",
                    format!("{other:?} is not a side"),
                ));
            }
        });
    }
    LedgerTransaction::new(
        ResourceId(row.id),
        HouseholdId(row.household_id),
        Timestamp(row.posted_at.unix_timestamp()),
        kind,
        postings,
    )
    .map_err(|e| ledger_error("loading a stored ledger transaction", e))
}

/// Loads the ledger of one household, or of all households, as domain
/// transactions.
pub(super) async fn load(
    state: &AppState,
    household_id: Option<Uuid>,
) -> Result<Vec<LedgerTransaction>, ApiError> {
    let rows = state
        .store
        .list_ledger(household_id)
        .await
        .map_err(|e| ApiError::internal("loading the ledger", e))?;
    rows.iter().map(from_row).collect()
}
