//! The position of one charge: what was charged, paid, refunded and is still due.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    ChargeFacts, LedgerAccount, LedgerError, LedgerTransaction, RefundEffect, TransactionKind,
};
use crate::ids::ResourceId;
use crate::money::Money;

/// Totals of one charge, folded from its ledger transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargePosition {
    pub charge: ResourceId,
    /// Sum of `charge_created` postings; more than one is a reconciliation
    /// finding, but the sum is still what the ledger holds.
    pub charged: Money,
    /// Withdrawn by `charge_reduced` postings and by refunds with
    /// [`RefundEffect::ChargeReduced`].
    pub reduced: Money,
    pub captured: Money,
    pub refunded: Money,
    /// Number of `charge_created` transactions seen.
    pub created_postings: usize,
    payments: BTreeMap<ResourceId, PaymentPosition>,
}

/// Captured and refunded totals of one payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentPosition {
    pub captured: Money,
    pub refunded: Money,
}

/// The state of a charge as the ledger shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// Nothing captured, and some amount is still due.
    Unpaid,
    /// Some captured, less than the amount due, and nothing refunded.
    PartiallyPaid,
    /// Captured at least the amount due, and nothing refunded.
    Paid,
    /// Some, but not all, of the captured amount refunded.
    PartiallyRefunded,
    /// Everything captured was refunded.
    Refunded,
    /// Reduced to zero before anything was captured.
    Cancelled,
}

impl ChargeStatus {
    /// Storage code, the same as the JSON form.
    pub const fn code(&self) -> &'static str {
        match self {
            ChargeStatus::Unpaid => "unpaid",
            ChargeStatus::PartiallyPaid => "partially_paid",
            ChargeStatus::Paid => "paid",
            ChargeStatus::PartiallyRefunded => "partially_refunded",
            ChargeStatus::Refunded => "refunded",
            ChargeStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a code written by [`ChargeStatus::code`].
    pub fn parse_code(code: &str) -> Result<ChargeStatus, LedgerError> {
        let all = [
            ChargeStatus::Unpaid,
            ChargeStatus::PartiallyPaid,
            ChargeStatus::Paid,
            ChargeStatus::PartiallyRefunded,
            ChargeStatus::Refunded,
            ChargeStatus::Cancelled,
        ];
        all.into_iter()
            .find(|status| status.code() == code)
            .ok_or_else(|| LedgerError::InvalidStatusCode {
                code: code.to_owned(),
            })
    }
}

impl ChargePosition {
    /// Folds the transactions of `charge.charge` out of `history`.
    ///
    /// Transactions of other charges and settlements are skipped, so the
    /// caller may pass a whole household's ledger. A transaction of this
    /// charge in another household or currency is an error, because it
    /// means the stored ledger is corrupt.
    pub fn from_history<'a, I>(
        charge: &ChargeFacts,
        history: I,
    ) -> Result<ChargePosition, LedgerError>
    where
        I: IntoIterator<Item = &'a LedgerTransaction>,
    {
        let zero = Money::zero(charge.amount.currency());
        let mut position = ChargePosition {
            charge: charge.charge,
            charged: zero,
            reduced: zero,
            captured: zero,
            refunded: zero,
            created_postings: 0,
            payments: BTreeMap::new(),
        };
        for transaction in history {
            if transaction.kind().charge() != Some(charge.charge) {
                continue;
            }
            check_same_charge(charge, transaction)?;
            position.apply(transaction)?;
        }
        Ok(position)
    }

    fn apply(&mut self, transaction: &LedgerTransaction) -> Result<(), LedgerError> {
        match transaction.kind() {
            TransactionKind::ChargeCreated { .. } => {
                self.charged = self.charged.checked_add(transaction.amount())?;
                self.created_postings += 1;
            }
            TransactionKind::ChargeReduced { .. } => {
                self.reduced = self.reduced.checked_add(transaction.amount())?;
            }
            TransactionKind::PaymentCaptured { payment, .. } => {
                let amount = transaction.amount();
                self.captured = self.captured.checked_add(amount)?;
                let entry = self.payment_entry(payment);
                entry.captured = entry.captured.checked_add(amount)?;
            }
            TransactionKind::PaymentRefunded {
                payment, effect, ..
            } => {
                // A refund that also reduces the charge has four postings, so
                // the refunded amount is the credit to processor clearing.
                let cleared = transaction.net_change(LedgerAccount::ProcessorClearing);
                let amount = Money::from_minor(cleared, transaction.currency()).checked_neg()?;
                self.refunded = self.refunded.checked_add(amount)?;
                if effect == RefundEffect::ChargeReduced {
                    self.reduced = self.reduced.checked_add(amount)?;
                }
                let entry = self.payment_entry(payment);
                entry.refunded = entry.refunded.checked_add(amount)?;
            }
            TransactionKind::Settlement { .. } => {}
        }
        Ok(())
    }

    fn payment_entry(&mut self, payment: ResourceId) -> &mut PaymentPosition {
        let zero = Money::zero(self.charged.currency());
        self.payments.entry(payment).or_insert(PaymentPosition {
            captured: zero,
            refunded: zero,
        })
    }

    /// Computes the amount still owed: charged minus reduced, minus the net of
    /// captures and refunds. Negative when the participant overpaid.
    pub fn outstanding(&self) -> Result<Money, LedgerError> {
        Ok(self
            .amount_due()?
            .checked_sub(self.captured)?
            .checked_add(self.refunded)?)
    }

    /// Computes the charge after reductions: charged minus reduced.
    pub fn amount_due(&self) -> Result<Money, LedgerError> {
        Ok(self.charged.checked_sub(self.reduced)?)
    }

    /// Returns the captured and refunded totals of `payment`, if it captured anything.
    pub fn payment(&self, payment: ResourceId) -> Option<PaymentPosition> {
        self.payments.get(&payment).copied()
    }

    /// Lists every payment captured for this charge, in id order.
    pub fn payments(&self) -> impl Iterator<Item = (ResourceId, PaymentPosition)> + '_ {
        self.payments.iter().map(|(id, position)| (*id, *position))
    }

    /// Derives the status from the totals, in this order of checks:
    ///
    /// 1. nothing captured: `Cancelled` when nothing is due, else `Unpaid`;
    /// 2. everything captured was refunded: `Refunded`;
    /// 3. anything refunded: `PartiallyRefunded`;
    /// 4. captures cover the amount due: `Paid`;
    /// 5. otherwise `PartiallyPaid`.
    pub fn status(&self) -> Result<ChargeStatus, LedgerError> {
        let due = self.amount_due()?;
        let status = if self.captured.is_zero() {
            if due.minor() <= 0 {
                ChargeStatus::Cancelled
            } else {
                ChargeStatus::Unpaid
            }
        } else if self.refunded == self.captured {
            ChargeStatus::Refunded
        } else if !self.refunded.is_zero() {
            ChargeStatus::PartiallyRefunded
        } else if self.captured.minor() >= due.minor() {
            ChargeStatus::Paid
        } else {
            ChargeStatus::PartiallyPaid
        };
        Ok(status)
    }
}

impl ChargePosition {
    /// Checks that capturing `amount` fits the outstanding amount. Call it
    /// before charging the card, and [`super::post_payment`] checks it again.
    pub fn check_payment(&self, amount: Money) -> Result<(), LedgerError> {
        self.check_amount("the payment amount", amount)?;
        let outstanding = self.outstanding()?;
        if amount.minor() > outstanding.minor() {
            return Err(LedgerError::PaymentExceedsOutstanding {
                charge: self.charge,
                amount,
                outstanding,
            });
        }
        Ok(())
    }

    /// Checks that refunding `amount` of `payment` stays within what the
    /// payment captured minus its earlier refunds. Call it before asking the
    /// processor for the refund, and [`super::post_refund`] checks it again.
    pub fn check_refund(&self, payment: ResourceId, amount: Money) -> Result<(), LedgerError> {
        self.check_amount("the refund amount", amount)?;
        let Some(paid) = self.payment(payment) else {
            return Err(LedgerError::UnknownPayment {
                charge: self.charge,
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
        Ok(())
    }

    /// Checks that reducing the charge by `amount` fits the outstanding
    /// amount.
    pub fn check_reduction(&self, amount: Money) -> Result<(), LedgerError> {
        self.check_amount("the reduction amount", amount)?;
        let outstanding = self.outstanding()?;
        if amount.minor() > outstanding.minor() {
            return Err(LedgerError::ReductionExceedsOutstanding {
                charge: self.charge,
                amount,
                outstanding,
            });
        }
        Ok(())
    }

    /// Checks that `amount` is positive and in the charge's currency, and
    /// that the charge itself was posted.
    pub(super) fn check_amount(
        &self,
        what: &'static str,
        amount: Money,
    ) -> Result<(), LedgerError> {
        let currency = self.charged.currency();
        if amount.currency() != currency {
            return Err(LedgerError::CurrencyMismatch {
                what,
                charge: self.charge,
                found: amount.currency().code(),
                expected: currency.code(),
            });
        }
        if amount.minor() <= 0 {
            return Err(LedgerError::AmountNotPositive {
                what,
                amount,
                hint: "",
            });
        }
        if self.created_postings == 0 {
            return Err(LedgerError::ChargeNotPosted {
                charge: self.charge,
            });
        }
        Ok(())
    }
}

impl PaymentPosition {
    /// Computes captured minus refunded: the maximum a further refund may return.
    pub fn refundable(&self) -> Result<Money, LedgerError> {
        Ok(self.captured.checked_sub(self.refunded)?)
    }
}

fn check_same_charge(
    charge: &ChargeFacts,
    transaction: &LedgerTransaction,
) -> Result<(), LedgerError> {
    if transaction.household() != charge.household {
        return Err(LedgerError::HouseholdMismatch {
            transaction: transaction.id(),
            charge: charge.charge,
            found: transaction.household(),
            expected: charge.household,
        });
    }
    if transaction.currency() != charge.amount.currency() {
        return Err(LedgerError::CurrencyMismatch {
            what: "a stored ledger transaction",
            charge: charge.charge,
            found: transaction.currency().code(),
            expected: charge.amount.currency().code(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for code in [
            "unpaid",
            "partially_paid",
            "paid",
            "partially_refunded",
            "refunded",
            "cancelled",
        ] {
            let status = ChargeStatus::parse_code(code).expect("known code");
            assert_eq!(status.code(), code);
            let json = serde_json::to_string(&status).expect("serialize");
            assert_eq!(json, format!("\"{code}\""));
        }
        assert_eq!(
            ChargeStatus::parse_code("open"),
            Err(LedgerError::InvalidStatusCode {
                code: "open".to_owned()
            })
        );
    }
}
