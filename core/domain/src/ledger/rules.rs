//! Posting rules: one function per money event, each returning a balanced
//! transaction or an error that names the limit the event would break.
//!
//! The rules check amounts against the charge's position. Before asking
//! the processor to move money, run the same check with
//! [`ChargePosition::check_payment`] or [`ChargePosition::check_refund`],
//! and load the position inside the database transaction that stores the
//! result, with the charge locked, so that two concurrent requests cannot
//! both pass the check.

use serde::{Deserialize, Serialize};

use super::{
    Balances, ChargePosition, LedgerAccount, LedgerError, LedgerTransaction, Posting, RefundEffect,
    TransactionKind,
};
use crate::ids::{HouseholdId, ResourceId, UserId};
use crate::meter::Timestamp;
use crate::money::Money;

/// The facts about a charge that its postings need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeFacts {
    pub charge: ResourceId,
    pub household: HouseholdId,
    /// The member who owes the charge.
    pub participant: UserId,
    /// The member who paid the provider and is owed the charge.
    pub primary_payer: UserId,
    pub amount: Money,
}

impl ChargeFacts {
    fn receivable(&self) -> LedgerAccount {
        LedgerAccount::ParticipantReceivable {
            participant: self.participant,
        }
    }

    fn settlement(&self) -> LedgerAccount {
        LedgerAccount::PrimaryPayerSettlement {
            primary_payer: self.primary_payer,
        }
    }
}

/// A card payment attempt for a charge, with the processor's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAttempt {
    pub payment: ResourceId,
    pub amount: Money,
    pub outcome: PaymentOutcome,
}

/// A refund of part or all of one captured payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// The captured payment that the money goes back to.
    pub payment: ResourceId,
    pub refund: ResourceId,
    pub amount: Money,
    pub effect: RefundEffect,
}

/// The processor's result for a payment attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    Captured,
    /// No money moved, so nothing is posted.
    Declined,
}

/// Posts a new charge: the participant owes the primary payer `charge.amount`.
///
/// Rejects a zero or negative amount, because a member with a zero share
/// gets no charge.
pub fn post_charge_created(
    id: ResourceId,
    posted_at: Timestamp,
    charge: &ChargeFacts,
) -> Result<LedgerTransaction, LedgerError> {
    if charge.amount.minor() <= 0 {
        return Err(LedgerError::AmountNotPositive {
            what: "the charge amount",
            amount: charge.amount,
            hint: ": create no charge for a member whose share is zero",
        });
    }
    LedgerTransaction::new(
        id,
        charge.household,
        posted_at,
        TransactionKind::ChargeCreated {
            charge: charge.charge,
        },
        vec![
            Posting::debit(charge.receivable(), charge.amount),
            Posting::credit(charge.settlement(), charge.amount),
        ],
    )
}

/// Posts a reduction of an unpaid charge, such as withdrawing the charges of
/// a bill version that was replaced. Partial reductions are allowed, up to
/// the outstanding amount.
pub fn post_charge_reduction(
    id: ResourceId,
    posted_at: Timestamp,
    charge: &ChargeFacts,
    position: &ChargePosition,
    amount: Money,
) -> Result<LedgerTransaction, LedgerError> {
    check_same_charge(charge, position)?;
    position.check_reduction(amount)?;
    LedgerTransaction::new(
        id,
        charge.household,
        posted_at,
        TransactionKind::ChargeReduced {
            charge: charge.charge,
        },
        vec![
            Posting::debit(charge.settlement(), amount),
            Posting::credit(charge.receivable(), amount),
        ],
    )
}

/// Posts the result of a payment attempt. A captured payment moves money
/// from the participant's receivable into processor clearing. A declined
/// one posts nothing and returns `None`, whatever the outstanding amount,
/// because no money moved.
///
/// Rejects a capture above the outstanding amount, so call
/// [`ChargePosition::check_payment`] before charging the card.
pub fn post_payment(
    id: ResourceId,
    posted_at: Timestamp,
    charge: &ChargeFacts,
    position: &ChargePosition,
    attempt: &PaymentAttempt,
) -> Result<Option<LedgerTransaction>, LedgerError> {
    let PaymentAttempt {
        payment,
        amount,
        outcome,
    } = *attempt;
    check_same_charge(charge, position)?;
    if outcome == PaymentOutcome::Declined {
        position.check_amount("the payment amount", amount)?;
        return Ok(None);
    }
    position.check_payment(amount)?;
    let transaction = LedgerTransaction::new(
        id,
        charge.household,
        posted_at,
        TransactionKind::PaymentCaptured {
            charge: charge.charge,
            payment,
        },
        vec![
            Posting::debit(LedgerAccount::ProcessorClearing, amount),
            Posting::credit(charge.receivable(), amount),
        ],
    )?;
    Ok(Some(transaction))
}

/// Posts a refund of part or all of one captured payment. Call
/// [`ChargePosition::check_refund`] before asking the processor for it.
///
/// The refund never exceeds what the payment captured minus its earlier
/// refunds. With [`RefundEffect::ChargeReopened`] the participant owes the
/// amount again. With [`RefundEffect::ChargeReduced`] the same transaction
/// also lowers the charge, so the participant's balance does not change
/// and the primary payer is owed that much less.
pub fn post_refund(
    id: ResourceId,
    posted_at: Timestamp,
    charge: &ChargeFacts,
    position: &ChargePosition,
    request: &RefundRequest,
) -> Result<LedgerTransaction, LedgerError> {
    let RefundRequest {
        payment,
        refund,
        amount,
        effect,
    } = *request;
    check_same_charge(charge, position)?;
    position.check_refund(payment, amount)?;

    let mut postings = vec![
        Posting::debit(charge.receivable(), amount),
        Posting::credit(LedgerAccount::ProcessorClearing, amount),
    ];
    if effect == RefundEffect::ChargeReduced {
        postings.push(Posting::debit(charge.settlement(), amount));
        postings.push(Posting::credit(charge.receivable(), amount));
    }
    LedgerTransaction::new(
        id,
        charge.household,
        posted_at,
        TransactionKind::PaymentRefunded {
            charge: charge.charge,
            payment,
            refund,
            effect,
        },
        postings,
    )
}

/// Posts a payout of collected money from processor clearing to a primary
/// payer.
///
/// Rejects an amount above what clearing contains or above what the household
/// owes this primary payer, both read from `balances`, because the payout
/// would otherwise pay out money not yet collected.
///
/// NOTE: clearing is one account per household and currency, so with two
/// primary payers in one household this check cannot tell whose
/// participants paid the money in clearing.
pub fn post_settlement(
    id: ResourceId,
    posted_at: Timestamp,
    household: HouseholdId,
    primary_payer: UserId,
    payout: ResourceId,
    amount: Money,
    balances: &Balances,
) -> Result<LedgerTransaction, LedgerError> {
    if amount.minor() <= 0 {
        return Err(LedgerError::AmountNotPositive {
            what: "the settlement amount",
            amount,
            hint: "",
        });
    }
    let currency = amount.currency();
    let settlement = LedgerAccount::PrimaryPayerSettlement { primary_payer };
    let held = balances.balance(household, currency, LedgerAccount::ProcessorClearing);
    let owed = balances
        .balance(household, currency, settlement)
        .checked_neg()?;
    let available = if held.minor() < owed.minor() {
        held
    } else {
        owed
    };
    if amount.minor() > available.minor() {
        return Err(LedgerError::SettlementExceedsCollected {
            amount,
            available: if available.is_negative() {
                Money::zero(currency)
            } else {
                available
            },
        });
    }
    LedgerTransaction::new(
        id,
        household,
        posted_at,
        TransactionKind::Settlement { payout },
        vec![
            Posting::debit(settlement, amount),
            Posting::credit(LedgerAccount::ProcessorClearing, amount),
        ],
    )
}

fn check_same_charge(charge: &ChargeFacts, position: &ChargePosition) -> Result<(), LedgerError> {
    if position.charge != charge.charge {
        return Err(LedgerError::PositionMismatch {
            charge: charge.charge,
            position: position.charge,
        });
    }
    Ok(())
}
