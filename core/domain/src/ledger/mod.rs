//! Double-entry bookkeeping for the money a household moves.
//!
//! Each household has, per currency, one receivable account per participant,
//! one settlement account per primary payer, and one processor clearing
//! account. Every money movement is a [`LedgerTransaction`] whose debits
//! equal its credits, built by one of the posting rules:
//!
//! | event | debit | credit |
//! |---|---|---|
//! | charge created | participant receivable | primary-payer settlement |
//! | charge reduced | primary-payer settlement | participant receivable |
//! | payment captured | processor clearing | participant receivable |
//! | payment declined | no posting | no posting |
//! | refund, charge reopened | participant receivable | processor clearing |
//! | refund, charge reduced | participant receivable and primary-payer settlement | processor clearing and participant receivable |
//! | settlement paid out | primary-payer settlement | processor clearing |
//!
//! From the transactions this module derives balances and the trial
//! balance, each member's statement for a period (participants and primary
//! payers), and a reconciliation report against the charges table.
//!
//! This module does no I/O and reads no clock: the caller passes ids and
//! times in. It must never accept an unbalanced transaction.

mod account;
mod balance;
mod position;
mod reconcile;
mod rules;
mod statement;
mod transaction;

pub use account::{AccountKey, LedgerAccount};
pub use balance::{Balances, TrialBalance};
pub use position::{ChargePosition, ChargeStatus, PaymentPosition};
pub use reconcile::{ChargeRecord, Discrepancy, ReconciliationReport, reconcile};
pub use rules::{
    ChargeFacts, PaymentAttempt, PaymentOutcome, RefundRequest, post_charge_created,
    post_charge_reduction, post_payment, post_refund, post_settlement,
};
pub use statement::{
    Statement, StatementLine, StatementLineKind, StatementPeriod, StatementTotals,
    build_primary_payer_statement, build_statement,
};
pub use transaction::{LedgerTransaction, Posting, RefundEffect, Side, TransactionKind};

use thiserror::Error;

use crate::ids::{HouseholdId, ResourceId};
use crate::meter::Timestamp;
use crate::money::{Money, MoneyError};

/// Error from building, loading or posting ledger transactions.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LedgerError {
    #[error("invalid ledger account code {code:?}: {reason}")]
    InvalidAccountCode { code: String, reason: &'static str },

    #[error("invalid posting side {code:?}: use \"debit\" or \"credit\"")]
    InvalidSideCode { code: String },

    #[error(
        "invalid charge status {code:?}: use unpaid, partially_paid, paid, partially_refunded, \
         refunded or cancelled"
    )]
    InvalidStatusCode { code: String },

    #[error(
        "ledger transaction {transaction} has no {} posting: a transaction needs at least \
         one debit and one credit", side.code()
    )]
    MissingSide { transaction: ResourceId, side: Side },

    #[error(
        "ledger transaction {transaction} posting {line} has amount {amount}: posting amounts \
         must be positive, so put the amount on the other side instead of negating it"
    )]
    NonPositiveAmount {
        transaction: ResourceId,
        line: usize,
        amount: Money,
    },

    #[error(
        "ledger transaction {transaction} posting {line} is in {found}, but the first posting \
         is in {expected}: post each currency in its own transaction"
    )]
    MixedCurrencies {
        transaction: ResourceId,
        line: usize,
        found: &'static str,
        expected: &'static str,
    },

    #[error(
        "ledger transaction {transaction} is unbalanced: debits total {debits} but credits \
         total {credits}"
    )]
    Unbalanced {
        transaction: ResourceId,
        debits: Money,
        credits: Money,
    },

    #[error("{what} is {amount}, but it must be positive{hint}")]
    AmountNotPositive {
        what: &'static str,
        amount: Money,
        hint: &'static str,
    },

    #[error(
        "{what} is in {found}, but charge {charge} is in {expected}: use the charge's currency"
    )]
    CurrencyMismatch {
        what: &'static str,
        charge: ResourceId,
        found: &'static str,
        expected: &'static str,
    },

    #[error(
        "ledger transaction {transaction} belongs to household {found}, but charge {charge} \
         belongs to household {expected}"
    )]
    HouseholdMismatch {
        transaction: ResourceId,
        charge: ResourceId,
        found: HouseholdId,
        expected: HouseholdId,
    },

    #[error(
        "the position passed is for charge {position}, but the posting is for charge {charge}: \
         load the position of the same charge"
    )]
    PositionMismatch {
        charge: ResourceId,
        position: ResourceId,
    },

    #[error(
        "charge {charge} has no charge_created posting: post the charge before its payments, \
         refunds or reductions"
    )]
    ChargeNotPosted { charge: ResourceId },

    #[error(
        "payment of {amount} exceeds the {outstanding} outstanding on charge {charge}: \
         charge the card at most the outstanding amount"
    )]
    PaymentExceedsOutstanding {
        charge: ResourceId,
        amount: Money,
        outstanding: Money,
    },

    #[error(
        "reduction of {amount} exceeds the {outstanding} outstanding on charge {charge}: \
         refund the captured part instead of reducing it"
    )]
    ReductionExceedsOutstanding {
        charge: ResourceId,
        amount: Money,
        outstanding: Money,
    },

    #[error(
        "payment {payment} has no captured amount on charge {charge}, so it cannot be refunded"
    )]
    UnknownPayment {
        charge: ResourceId,
        payment: ResourceId,
    },

    #[error(
        "refund of {amount} exceeds the {refundable} still refundable on payment {payment}: \
         refund at most what was captured minus earlier refunds"
    )]
    RefundExceedsPaid {
        payment: ResourceId,
        amount: Money,
        refundable: Money,
    },

    #[error(
        "settlement of {amount} exceeds the {available} collected and not yet paid out to \
         the primary payer: pay out at most that amount"
    )]
    SettlementExceedsCollected { amount: Money, available: Money },

    #[error(
        "the statement period starts at {} and ends at {} (Unix seconds): the start must be \
         before the end", start.0, end.0
    )]
    InvalidPeriod { start: Timestamp, end: Timestamp },

    #[error(transparent)]
    Money(#[from] MoneyError),
}
