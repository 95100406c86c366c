//! Posting rules: one function per money event, each returning a balanced
//! transaction or an error that names the limit the event would break.
//!
//! The rules check amounts against the charge's position, so call them
//! before asking the processor to move money, with the position loaded in
//! the same database transaction that will store the result.

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

    fn check_amount(&self, what: &'static str, amount: Money) -> Result<(), LedgerError> {
        if amount.currency() != self.amount.currency() {
            return Err(LedgerError::CurrencyMismatch {
                what,
                charge: self.charge,
                found: amount.currency().code(),
                expected: self.amount.currency().code(),
            });
        }
        if amount.minor() <= 0 {
            return Err(LedgerError::AmountNotPositive {
                what,
                amount,
                hint: "",
            });
        }
        Ok(())
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
    charge.check_amount("the reduction amount", amount)?;
    check_posted(position)?;
    let outstanding = position.outstanding()?;
    if amount.minor() > outstanding.minor() {
        return Err(LedgerError::ReductionExceedsOutstanding {
            charge: charge.charge,
            amount,
            outstanding,
        });
    }
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
/// from the participant's receivable into processor clearing; a declined
/// one posts nothing and returns `None`.
///
/// Rejects a capture above the outstanding amount, so check with this
/// function, or [`ChargePosition::outstanding`], before charging the card.
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
    charge.check_amount("the payment amount", amount)?;
    check_posted(position)?;
    let outstanding = position.outstanding()?;
    if amount.minor() > outstanding.minor() {
        return Err(LedgerError::PaymentExceedsOutstanding {
            charge: charge.charge,
            amount,
            outstanding,
        });
    }
    if outcome == PaymentOutcome::Declined {
        return Ok(None);
    }
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

/// Posts a refund of part or all of one captured payment.
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
    charge.check_amount("the refund amount", amount)?;
    check_posted(position)?;
    let Some(paid) = position.payment(payment) else {
        return Err(LedgerError::UnknownPayment {
            charge: charge.charge,
            payment,
        });
    };
    let refundable = paid.refundable()?;
    if amount.minor() > refundable.minor() {
        return Err(LedgerError::RefundExceedsPaid {
            payment,
            amount,
            refundable,
        });
    }

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

fn check_posted(position: &ChargePosition) -> Result<(), LedgerError> {
    if position.created_postings == 0 {
        return Err(LedgerError::ChargeNotPosted {
            charge: position.charge,
        });
    }
    Ok(())
}
