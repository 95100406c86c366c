//! A member's statement for a period, read from one of their accounts:
//! opening balance, one line per posting, closing balance.
//!
//! A participant's statement reads their receivable account and a primary
//! payer's reads their settlement account. Both use the ledger's sign, so a
//! positive amount means the member owes the household more, and a
//! negative balance on a primary payer's statement is what the household
//! still owes them.

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

/// One member's account in one household and currency over a period.
///
/// `closing_balance` equals `opening_balance` plus every line, and also
/// `opening_balance` plus every field of `totals`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub household: HouseholdId,
    pub member: UserId,
    /// The member's receivable or settlement account that the lines move.
    pub account: LedgerAccount,
    pub currency: Currency,
    pub period: StatementPeriod,
    pub opening_balance: Money,
    pub lines: Vec<StatementLine>,
    pub totals: StatementTotals,
    pub closing_balance: Money,
    /// `true` when the closing balance is zero.
    pub settled: bool,
}

/// One posting to the statement's account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub transaction: ResourceId,
    pub posted_at: Timestamp,
    pub kind: StatementLineKind,
    /// The charge the posting belongs to, or `None` for a payout.
    pub charge: Option<ResourceId>,
    /// Positive when the member owes the household more after this line.
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
    /// Collected money paid out to the primary payer.
    Payout,
    /// A posting whose side or account does not fit its transaction kind.
    /// The posting rules never write one, so it points at a hand-made or
    /// corrupt entry.
    Adjustment,
}

/// Sums of the statement lines by kind, signed like the lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementTotals {
    pub charges: Money,
    pub reductions: Money,
    pub payments: Money,
    pub refunds: Money,
    pub payouts: Money,
    pub adjustments: Money,
}

/// Builds the statement of `participant` for `period` from `transactions`,
/// read from their receivable account.
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
    let account = LedgerAccount::ParticipantReceivable { participant };
    build_account_statement(
        household,
        participant,
        account,
        currency,
        period,
        transactions,
    )
}

/// Builds the statement of `primary_payer` for `period` from
/// `transactions`, read from their settlement account: charges they are
/// owed, reductions, and payouts to them. Input and order are as for
/// [`build_statement`].
pub fn build_primary_payer_statement(
    household: HouseholdId,
    primary_payer: UserId,
    currency: Currency,
    period: StatementPeriod,
    transactions: &[LedgerTransaction],
) -> Result<Statement, LedgerError> {
    let account = LedgerAccount::PrimaryPayerSettlement { primary_payer };
    build_account_statement(
        household,
        primary_payer,
        account,
        currency,
        period,
        transactions,
    )
}

fn build_account_statement(
    household: HouseholdId,
    member: UserId,
    account: LedgerAccount,
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
        payouts: zero,
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
            let kind = line_kind(account, transaction.kind(), posting.side);
            totals.add(kind, amount)?;
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
        member,
        account,
        currency,
        period,
        opening_balance,
        lines,
        totals,
        closing_balance: balance,
        settled: balance.is_zero(),
    })
}

/// Names a posting by its account, transaction kind and side, as the
/// posting rules write them.
fn line_kind(account: LedgerAccount, kind: TransactionKind, side: Side) -> StatementLineKind {
    use StatementLineKind as Line;
    use TransactionKind as Kind;

    match account {
        LedgerAccount::ParticipantReceivable { .. } => match (kind, side) {
            (Kind::ChargeCreated { .. }, Side::Debit) => Line::Charge,
            (Kind::ChargeReduced { .. }, Side::Credit) => Line::ChargeReduction,
            (Kind::PaymentCaptured { .. }, Side::Credit) => Line::Payment,
            (Kind::PaymentRefunded { .. }, Side::Debit) => Line::Refund,
            // A refund that reduces the charge credits the receivable as well.
            (Kind::PaymentRefunded { .. }, Side::Credit) => Line::ChargeReduction,
            _ => Line::Adjustment,
        },
        LedgerAccount::PrimaryPayerSettlement { .. } => match (kind, side) {
            (Kind::ChargeCreated { .. }, Side::Credit) => Line::Charge,
            (Kind::ChargeReduced { .. } | Kind::PaymentRefunded { .. }, Side::Debit) => {
                Line::ChargeReduction
            }
            (Kind::Settlement { .. }, Side::Debit) => Line::Payout,
            _ => Line::Adjustment,
        },
        LedgerAccount::ProcessorClearing => Line::Adjustment,
    }
}

impl StatementTotals {
    fn add(&mut self, kind: StatementLineKind, amount: Money) -> Result<(), LedgerError> {
        let total = match kind {
            StatementLineKind::Charge => &mut self.charges,
            StatementLineKind::ChargeReduction => &mut self.reductions,
            StatementLineKind::Payment => &mut self.payments,
            StatementLineKind::Refund => &mut self.refunds,
            StatementLineKind::Payout => &mut self.payouts,
            StatementLineKind::Adjustment => &mut self.adjustments,
        };
        *total = total.checked_add(amount)?;
        Ok(())
    }

    /// Adds up every total: the closing balance minus the opening balance.
    pub fn net(&self) -> Result<Money, LedgerError> {
        let mut net = self.charges;
        for total in [
            self.reductions,
            self.payments,
            self.refunds,
            self.payouts,
            self.adjustments,
        ] {
            net = net.checked_add(total)?;
        }
        Ok(net)
    }
}
