//! A participant's statement for a period, read from their receivable
//! account: opening balance, one line per posting, closing balance.

use serde::{Deserialize, Serialize};

use super::{LedgerAccount, LedgerError, LedgerTransaction, Side, TransactionKind};
use crate::ids::{HouseholdId, ResourceId, UserId};
use crate::meter::Timestamp;
use crate::money::{Currency, Money};

/// A half-open span of time: `start` is included and `end` is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementPeriod {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// One participant's account in one household and currency over a period.
///
/// Amounts are from the participant's side: positive means they owe more.
/// `closing_balance` equals `opening_balance` plus every line. It also
/// equals the opening balance plus `totals.charges`, `totals.refunds` and
/// `totals.adjustments`, minus `totals.reductions` and `totals.payments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub household: HouseholdId,
    pub participant: UserId,
    pub currency: Currency,
    pub period: StatementPeriod,
    pub opening_balance: Money,
    pub lines: Vec<StatementLine>,
    pub totals: StatementTotals,
    pub closing_balance: Money,
    /// `true` when the closing balance is zero.
    pub settled: bool,
}

/// One posting to the participant's receivable account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub transaction: ResourceId,
    pub posted_at: Timestamp,
    pub kind: StatementLineKind,
    /// The charge the posting belongs to.
    pub charge: Option<ResourceId>,
    /// Positive when the participant owes more after this line.
    pub amount: Money,
    /// The balance after this line.
    pub balance: Money,
}

/// The kind of a statement line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementLineKind {
    Charge,
    ChargeReduction,
    Payment,
    Refund,
    /// A posting whose side does not fit its transaction kind. The posting
    /// rules never write one, so it points at a hand-made or corrupt entry.
    Adjustment,
}

/// Sums of the statement lines by kind, each as a non-negative magnitude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementTotals {
    pub charges: Money,
    pub reductions: Money,
    pub payments: Money,
    pub refunds: Money,
    /// Net of adjustment lines, positive when they raised the balance.
    pub adjustments: Money,
}

/// Builds the statement of `participant` for `period` from `transactions`.
///
/// Transactions may come in any order and from other households and
/// currencies, which are skipped. Postings before `period.start` make up
/// the opening balance, and postings at or after `period.end` are left
/// out. Lines are ordered by time, then transaction id, then posting order.
pub fn build_statement(
    household: HouseholdId,
    participant: UserId,
    currency: Currency,
    period: StatementPeriod,
    transactions: &[LedgerTransaction],
) -> Result<Statement, LedgerError> {
    if period.start >= period.end {
        return Err(LedgerError::InvalidPeriod {
            start: period.start,
            end: period.end,
        });
    }
    let account = LedgerAccount::ParticipantReceivable { participant };
    let mut relevant: Vec<&LedgerTransaction> = transactions
        .iter()
        .filter(|transaction| {
            transaction.household() == household && transaction.currency() == currency
        })
        .filter(|transaction| transaction.posted_at() < period.end)
        .collect();
    relevant.sort_by_key(|transaction| (transaction.posted_at(), transaction.id()));

    let zero = Money::zero(currency);
    let mut opening_balance = zero;
    let mut totals = StatementTotals {
        charges: zero,
        reductions: zero,
        payments: zero,
        refunds: zero,
        adjustments: zero,
    };
    let mut lines = Vec::new();
    let mut balance = zero;

    for transaction in relevant {
        for posting in transaction.postings() {
            if posting.account != account {
                continue;
            }
            let amount = Money::from_minor(posting.signed_minor(), currency);
            if transaction.posted_at() < period.start {
                opening_balance = opening_balance.checked_add(amount)?;
                balance = opening_balance;
                continue;
            }
            let kind = line_kind(transaction.kind(), posting.side);
            totals.add(kind, posting.amount, amount)?;
            balance = balance.checked_add(amount)?;
            lines.push(StatementLine {
                transaction: transaction.id(),
                posted_at: transaction.posted_at(),
                kind,
                charge: transaction.kind().charge(),
                amount,
                balance,
            });
        }
    }

    Ok(Statement {
        household,
        participant,
        currency,
        period,
        opening_balance,
        lines,
        totals,
        closing_balance: balance,
        settled: balance.is_zero(),
    })
}

/// Names a receivable posting by the transaction kind and the side that the
/// posting rules use for it.
fn line_kind(kind: TransactionKind, side: Side) -> StatementLineKind {
    match (kind, side) {
        (TransactionKind::ChargeCreated { .. }, Side::Debit) => StatementLineKind::Charge,
        (TransactionKind::ChargeReduced { .. }, Side::Credit) => StatementLineKind::ChargeReduction,
        (TransactionKind::PaymentCaptured { .. }, Side::Credit) => StatementLineKind::Payment,
        (TransactionKind::PaymentRefunded { .. }, Side::Debit) => StatementLineKind::Refund,
        // A refund that reduces the charge credits the receivable as well.
        (TransactionKind::PaymentRefunded { .. }, Side::Credit) => {
            StatementLineKind::ChargeReduction
        }
        _ => StatementLineKind::Adjustment,
    }
}

impl StatementTotals {
    fn add(
        &mut self,
        kind: StatementLineKind,
        magnitude: Money,
        signed: Money,
    ) -> Result<(), LedgerError> {
        let total = match kind {
            StatementLineKind::Charge => &mut self.charges,
            StatementLineKind::ChargeReduction => &mut self.reductions,
            StatementLineKind::Payment => &mut self.payments,
            StatementLineKind::Refund => &mut self.refunds,
            StatementLineKind::Adjustment => {
                self.adjustments = self.adjustments.checked_add(signed)?;
                return Ok(());
            }
        };
        *total = total.checked_add(magnitude)?;
        Ok(())
    }
}
