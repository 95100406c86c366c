//! Balanced ledger transactions: the only way postings enter the ledger.
//!
//! A [`LedgerTransaction`] can only be built, or deserialized, with at least
//! one debit and one credit, positive amounts, one currency, and debits equal
//! to credits. Code that has one may rely on that without checking again.

use serde::{Deserialize, Serialize};

use super::{LedgerAccount, LedgerError};
use crate::ids::{HouseholdId, ResourceId};
use crate::meter::Timestamp;
use crate::money::{Currency, Money};

/// The side of a posting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    /// Storage code: `debit` or `credit`.
    pub const fn code(&self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }

    /// Parses a code written by [`Side::code`].
    pub fn parse_code(code: &str) -> Result<Side, LedgerError> {
        match code {
            "debit" => Ok(Side::Debit),
            "credit" => Ok(Side::Credit),
            _ => Err(LedgerError::InvalidSideCode {
                code: code.to_owned(),
            }),
        }
    }
}

/// One line of a transaction: an amount debited or credited to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: LedgerAccount,
    pub side: Side,
    /// Always positive once inside a [`LedgerTransaction`].
    pub amount: Money,
}

impl Posting {
    pub const fn debit(account: LedgerAccount, amount: Money) -> Posting {
        Posting {
            account,
            side: Side::Debit,
            amount,
        }
    }

    pub const fn credit(account: LedgerAccount, amount: Money) -> Posting {
        Posting {
            account,
            side: Side::Credit,
            amount,
        }
    }

    /// Returns the amount as a signed balance change: positive for a debit,
    /// negative for a credit.
    ///
    /// Exact for every posting inside a [`LedgerTransaction`], whose amounts
    /// are positive. A free-standing credit of `i64::MIN` saturates to
    /// `i64::MAX` instead of panicking.
    pub fn signed_minor(&self) -> i64 {
        match self.side {
            Side::Debit => self.amount.minor(),
            Side::Credit => self.amount.minor().saturating_neg(),
        }
    }
}

/// The event that a transaction records, with the ids of its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransactionKind {
    /// A participant's share of an approved split became a charge.
    ChargeCreated { charge: ResourceId },
    /// Part or all of an unpaid charge was withdrawn, for example because
    /// the bill was changed and approved again.
    ChargeReduced { charge: ResourceId },
    /// The processor captured a card payment for a charge.
    PaymentCaptured {
        charge: ResourceId,
        payment: ResourceId,
    },
    /// Part or all of a captured payment went back to the card.
    PaymentRefunded {
        charge: ResourceId,
        payment: ResourceId,
        refund: ResourceId,
        effect: RefundEffect,
    },
    /// Collected money was paid out to a primary payer.
    Settlement { payout: ResourceId },
}

impl TransactionKind {
    /// Storage code of the kind, without its ids.
    pub const fn code(&self) -> &'static str {
        match self {
            TransactionKind::ChargeCreated { .. } => "charge_created",
            TransactionKind::ChargeReduced { .. } => "charge_reduced",
            TransactionKind::PaymentCaptured { .. } => "payment_captured",
            TransactionKind::PaymentRefunded { .. } => "payment_refunded",
            TransactionKind::Settlement { .. } => "settlement",
        }
    }

    /// Returns the charge this transaction belongs to, or `None` for a settlement.
    pub const fn charge(&self) -> Option<ResourceId> {
        match self {
            TransactionKind::ChargeCreated { charge }
            | TransactionKind::ChargeReduced { charge }
            | TransactionKind::PaymentCaptured { charge, .. }
            | TransactionKind::PaymentRefunded { charge, .. } => Some(*charge),
            TransactionKind::Settlement { .. } => None,
        }
    }
}

/// The effect of a refund on the charge that was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundEffect {
    /// The charge is unchanged, so the participant owes the refunded amount again,
    /// as after a mistaken or duplicate capture.
    ChargeReopened,
    /// The charge is lowered by the refunded amount, so the participant owes
    /// nothing more, as after a bill was corrected downwards.
    ChargeReduced,
}

/// A balanced set of postings in one household and one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TransactionFields")]
pub struct LedgerTransaction {
    id: ResourceId,
    household: HouseholdId,
    posted_at: Timestamp,
    kind: TransactionKind,
    postings: Vec<Posting>,
}

/// The unchecked form that deserialization goes through, so stored JSON is
/// checked exactly like a transaction built in code.
#[derive(Deserialize)]
struct TransactionFields {
    id: ResourceId,
    household: HouseholdId,
    posted_at: Timestamp,
    kind: TransactionKind,
    postings: Vec<Posting>,
}

impl TryFrom<TransactionFields> for LedgerTransaction {
    type Error = LedgerError;

    fn try_from(fields: TransactionFields) -> Result<Self, Self::Error> {
        LedgerTransaction::new(
            fields.id,
            fields.household,
            fields.posted_at,
            fields.kind,
            fields.postings,
        )
    }
}

impl LedgerTransaction {
    /// Builds a transaction after checking that it balances.
    ///
    /// Rejects a list without at least one debit and one credit, an amount
    /// that is zero or negative, postings in more than one currency, and
    /// debits whose total differs from the credits' total. Use this to load
    /// stored transactions back, too.
    pub fn new(
        id: ResourceId,
        household: HouseholdId,
        posted_at: Timestamp,
        kind: TransactionKind,
        postings: Vec<Posting>,
    ) -> Result<LedgerTransaction, LedgerError> {
        check_balanced(id, &postings)?;
        Ok(LedgerTransaction {
            id,
            household,
            posted_at,
            kind,
            postings,
        })
    }

    pub const fn id(&self) -> ResourceId {
        self.id
    }

    pub const fn household(&self) -> HouseholdId {
        self.household
    }

    pub const fn posted_at(&self) -> Timestamp {
        self.posted_at
    }

    pub const fn kind(&self) -> TransactionKind {
        self.kind
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// Returns the currency of every posting.
    pub fn currency(&self) -> Currency {
        // `new` guarantees at least two postings in one currency.
        self.postings[0].amount.currency()
    }

    /// Adds up the debits, which equal the credits.
    pub fn amount(&self) -> Money {
        let debits = self
            .postings
            .iter()
            .filter(|posting| posting.side == Side::Debit)
            .map(|posting| posting.amount.minor());
        // `new` checked this sum for overflow.
        Money::from_minor(debits.sum(), self.currency())
    }

    /// Computes the net change this transaction makes to `account`, debit positive.
    pub fn net_change(&self, account: LedgerAccount) -> i64 {
        self.postings
            .iter()
            .filter(|posting| posting.account == account)
            .map(Posting::signed_minor)
            .sum()
    }
}

fn check_balanced(transaction: ResourceId, postings: &[Posting]) -> Result<(), LedgerError> {
    let Some(first) = postings.first() else {
        return Err(LedgerError::MissingSide {
            transaction,
            side: Side::Debit,
        });
    };
    let currency = first.amount.currency();
    let mut debits = Money::zero(currency);
    let mut credits = Money::zero(currency);

    for (line, posting) in postings.iter().enumerate() {
        if posting.amount.currency() != currency {
            return Err(LedgerError::MixedCurrencies {
                transaction,
                line,
                found: posting.amount.currency().code(),
                expected: currency.code(),
            });
        }
        if posting.amount.minor() <= 0 {
            return Err(LedgerError::NonPositiveAmount {
                transaction,
                line,
                amount: posting.amount,
            });
        }
        match posting.side {
            Side::Debit => debits = debits.checked_add(posting.amount)?,
            Side::Credit => credits = credits.checked_add(posting.amount)?,
        }
    }

    for (side, total) in [(Side::Debit, debits), (Side::Credit, credits)] {
        if total.is_zero() {
            return Err(LedgerError::MissingSide { transaction, side });
        }
    }
    if debits != credits {
        return Err(LedgerError::Unbalanced {
            transaction,
            debits,
            credits,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    const TRANSACTION: ResourceId = ResourceId::from_u128(1);
    const HOUSEHOLD: HouseholdId = HouseholdId::from_u128(2);
    const CHARGE: ResourceId = ResourceId::from_u128(3);
    const ALICE: UserId = UserId::from_u128(10);
    const PAYER: UserId = UserId::from_u128(11);

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("EUR").expect("EUR in table"))
    }

    fn receivable() -> LedgerAccount {
        LedgerAccount::ParticipantReceivable { participant: ALICE }
    }

    fn settlement() -> LedgerAccount {
        LedgerAccount::PrimaryPayerSettlement {
            primary_payer: PAYER,
        }
    }

    fn build(postings: Vec<Posting>) -> Result<LedgerTransaction, LedgerError> {
        LedgerTransaction::new(
            TRANSACTION,
            HOUSEHOLD,
            Timestamp(1_700_000_000),
            TransactionKind::ChargeCreated { charge: CHARGE },
            postings,
        )
    }

    #[test]
    fn side_codes_round_trip() {
        for side in [Side::Debit, Side::Credit] {
            assert_eq!(Side::parse_code(side.code()), Ok(side));
        }
        assert_eq!(
            Side::parse_code("Debit"),
            Err(LedgerError::InvalidSideCode {
                code: "Debit".to_owned()
            })
        );
    }

    #[test]
    fn balanced_transaction_is_accepted() {
        let transaction = build(vec![
            Posting::debit(receivable(), eur(1000)),
            Posting::credit(settlement(), eur(600)),
            Posting::credit(settlement(), eur(400)),
        ])
        .expect("balanced");
        assert_eq!(transaction.amount(), eur(1000));
        assert_eq!(transaction.net_change(receivable()), 1000);
        assert_eq!(transaction.net_change(settlement()), -1000);
        assert_eq!(transaction.net_change(LedgerAccount::ProcessorClearing), 0);
    }

    #[test]
    fn unequal_sides_are_rejected() {
        let result = build(vec![
            Posting::debit(receivable(), eur(1000)),
            Posting::credit(settlement(), eur(999)),
        ]);
        assert_eq!(
            result,
            Err(LedgerError::Unbalanced {
                transaction: TRANSACTION,
                debits: eur(1000),
                credits: eur(999),
            })
        );
    }

    #[test]
    fn zero_and_negative_amounts_are_rejected() {
        for minor in [0, -5] {
            let result = build(vec![
                Posting::debit(receivable(), eur(minor)),
                Posting::credit(settlement(), eur(minor)),
            ]);
            assert_eq!(
                result,
                Err(LedgerError::NonPositiveAmount {
                    transaction: TRANSACTION,
                    line: 0,
                    amount: eur(minor),
                })
            );
        }
    }

    #[test]
    fn mixed_currencies_are_rejected() {
        let usd = Money::from_minor(100, Currency::from_code("USD").expect("USD in table"));
        let result = build(vec![
            Posting::debit(receivable(), eur(100)),
            Posting::credit(settlement(), usd),
        ]);
        assert_eq!(
            result,
            Err(LedgerError::MixedCurrencies {
                transaction: TRANSACTION,
                line: 1,
                found: "USD",
                expected: "EUR",
            })
        );
    }

    #[test]
    fn one_sided_or_empty_lists_are_rejected() {
        assert_eq!(
            build(Vec::new()),
            Err(LedgerError::MissingSide {
                transaction: TRANSACTION,
                side: Side::Debit,
            })
        );
        assert_eq!(
            build(vec![Posting::debit(receivable(), eur(5))]),
            Err(LedgerError::MissingSide {
                transaction: TRANSACTION,
                side: Side::Credit,
            })
        );
    }

    #[test]
    fn overflowing_totals_are_rejected() {
        let result = build(vec![
            Posting::debit(receivable(), eur(i64::MAX)),
            Posting::debit(receivable(), eur(1)),
            Posting::credit(settlement(), eur(i64::MAX)),
        ]);
        assert!(matches!(result, Err(LedgerError::Money(_))), "{result:?}");
    }

    #[test]
    fn kind_json_is_stable() {
        // Stored rows keep this JSON, so a change here breaks loading them.
        let kind = TransactionKind::PaymentRefunded {
            charge: ResourceId::from_u128(1),
            payment: ResourceId::from_u128(2),
            refund: ResourceId::from_u128(3),
            effect: RefundEffect::ChargeReduced,
        };
        let json = serde_json::to_string(&kind).expect("serialize");
        assert_eq!(
            json,
            "{\"kind\":\"payment_refunded\",\
             \"charge\":\"00000000-0000-0000-0000-000000000001\",\
             \"payment\":\"00000000-0000-0000-0000-000000000002\",\
             \"refund\":\"00000000-0000-0000-0000-000000000003\",\
             \"effect\":\"charge_reduced\"}"
        );
        assert_eq!(
            serde_json::from_str::<TransactionKind>(&json).ok(),
            Some(kind)
        );

        let kinds = [
            TransactionKind::ChargeCreated { charge: CHARGE },
            TransactionKind::ChargeReduced { charge: CHARGE },
            TransactionKind::PaymentCaptured {
                charge: CHARGE,
                payment: TRANSACTION,
            },
            kind,
            TransactionKind::Settlement {
                payout: TRANSACTION,
            },
        ];
        for kind in kinds {
            let json = serde_json::to_value(kind).expect("serialize");
            assert_eq!(json["kind"], kind.code(), "{json}");
        }
    }

    #[test]
    fn deserializing_checks_balance() {
        let transaction = build(vec![
            Posting::debit(receivable(), eur(250)),
            Posting::credit(settlement(), eur(250)),
        ])
        .expect("balanced");
        let json = serde_json::to_string(&transaction).expect("serialize");
        let back: LedgerTransaction = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, transaction);

        let tampered = json.replacen("\"minor\":250", "\"minor\":251", 1);
        assert_ne!(tampered, json);
        let error = serde_json::from_str::<LedgerTransaction>(&tampered)
            .expect_err("unbalanced JSON must not load");
        assert!(error.to_string().contains("unbalanced"), "{error}");
    }
}
