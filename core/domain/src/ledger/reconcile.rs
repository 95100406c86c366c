//! Reconciliation of the ledger against the charges table.
//!
//! Each charge record should have exactly one `charge_created` posting of
//! the same amount, in the same household, for the same participant, and
//! its stored status should be the one its postings give. Every posting
//! that names a charge should name one that exists. Processor clearing
//! should not be overdrawn, and no primary payer should be paid out more
//! than their charges, as happens when a refund follows a payout.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    Balances, ChargeFacts, ChargePosition, ChargeStatus, LedgerAccount, LedgerTransaction,
    RefundEffect, Side, TransactionKind,
};
use crate::ids::{HouseholdId, ResourceId, UserId};
use crate::money::{Currency, Money};

/// A charge as the charges table stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRecord {
    pub charge: ResourceId,
    pub household: HouseholdId,
    pub participant: UserId,
    /// The amount first charged, before any reduction or refund.
    pub amount: Money,
    pub status: ChargeStatus,
}

/// The result of one reconciliation run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationReport {
    pub charges_checked: usize,
    pub transactions_checked: usize,
    /// Every difference found, in charge id order, then transaction id order.
    pub discrepancies: Vec<Discrepancy>,
}

impl ReconciliationReport {
    /// Returns `true` when no discrepancy was found.
    pub fn is_clean(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

/// One difference between the charges table and the ledger, or an account
/// balance that needs someone to act.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// The charges table lists the same charge id more than once.
    DuplicateChargeRecord { charge: ResourceId },
    /// A charge has no `charge_created` posting.
    ChargeWithoutPosting { charge: ResourceId },
    /// A charge has more than one `charge_created` posting.
    DuplicateChargePosting {
        charge: ResourceId,
        transactions: Vec<ResourceId>,
    },
    /// A posting names a charge that the charges table does not list.
    PostingWithoutCharge {
        charge: ResourceId,
        transaction: ResourceId,
    },
    /// The `charge_created` amount differs from the stored amount.
    AmountDiffers {
        charge: ResourceId,
        recorded: Money,
        posted: Money,
    },
    /// A posting of the charge is in another household.
    HouseholdDiffers {
        charge: ResourceId,
        transaction: ResourceId,
        recorded: HouseholdId,
        posted: HouseholdId,
    },
    /// A posting of the charge is in another currency.
    CurrencyDiffers {
        charge: ResourceId,
        transaction: ResourceId,
        recorded: Currency,
        posted: Currency,
    },
    /// A posting of the charge moves another participant's receivable.
    ParticipantDiffers {
        charge: ResourceId,
        transaction: ResourceId,
        recorded: UserId,
        posted: UserId,
    },
    /// The stored status differs from the status the postings give, such
    /// as a charge stored as paid with no capture.
    StatusDiffers {
        charge: ResourceId,
        recorded: ChargeStatus,
        ledger: ChargeStatus,
    },
    /// A payment of the charge has more refunded than captured.
    RefundExceedsCapture {
        charge: ResourceId,
        payment: ResourceId,
        captured: Money,
        refunded: Money,
    },
    /// The participant paid more than the charge, net of refunds.
    Overpaid { charge: ResourceId, excess: Money },
    /// The charge's totals do not fit in 64-bit minor units.
    Overflow { charge: ResourceId },
    /// Processor clearing has a credit balance: more was refunded or paid
    /// out than was captured.
    ClearingOverdrawn {
        household: HouseholdId,
        currency: Currency,
        balance: Money,
    },
    /// A primary payer's settlement account has a debit balance: they were
    /// paid out more than their charges are worth.
    PrimaryPayerOverpaid {
        household: HouseholdId,
        primary_payer: UserId,
        excess: Money,
    },
    /// The account balances do not fit in 64-bit minor units.
    BalanceOverflow,
    /// A posting moves an account, or uses a side, that the posting rule
    /// for its transaction kind never does.
    UnexpectedPosting {
        transaction: ResourceId,
        line: usize,
        account: LedgerAccount,
        side: Side,
    },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::DuplicateChargeRecord { charge } => {
                write!(
                    f,
                    "charge {charge} is listed more than once in the charges table"
                )
            }
            Discrepancy::ChargeWithoutPosting { charge } => {
                write!(f, "charge {charge} has no charge_created posting")
            }
            Discrepancy::DuplicateChargePosting {
                charge,
                transactions,
            } => write!(
                f,
                "charge {charge} has {} charge_created postings",
                transactions.len()
            ),
            Discrepancy::PostingWithoutCharge {
                charge,
                transaction,
            } => write!(
                f,
                "ledger transaction {transaction} names charge {charge}, which is not in the \
                 charges table"
            ),
            Discrepancy::AmountDiffers {
                charge,
                recorded,
                posted,
            } => write!(
                f,
                "charge {charge} is stored as {recorded} but posted as {posted}"
            ),
            Discrepancy::HouseholdDiffers {
                charge,
                transaction,
                recorded,
                posted,
            } => write!(
                f,
                "ledger transaction {transaction} of charge {charge} is in household {posted}, \
                 but the charge is in household {recorded}"
            ),
            Discrepancy::CurrencyDiffers {
                charge,
                transaction,
                recorded,
                posted,
            } => write!(
                f,
                "ledger transaction {transaction} of charge {charge} is in {posted}, but the \
                 charge is in {recorded}"
            ),
            Discrepancy::ParticipantDiffers {
                charge,
                transaction,
                recorded,
                posted,
            } => write!(
                f,
                "ledger transaction {transaction} of charge {charge} posts to the receivable \
                 of user {posted}, but the charge belongs to user {recorded}"
            ),
            Discrepancy::StatusDiffers {
                charge,
                recorded,
                ledger,
            } => write!(
                f,
                "charge {charge} is stored as {}, but its postings make it {}",
                recorded.code(),
                ledger.code()
            ),
            Discrepancy::RefundExceedsCapture {
                charge,
                payment,
                captured,
                refunded,
            } => write!(
                f,
                "payment {payment} of charge {charge} has {refunded} refunded but only \
                 {captured} captured"
            ),
            Discrepancy::Overpaid { charge, excess } => {
                write!(f, "charge {charge} is overpaid by {excess}")
            }
            Discrepancy::Overflow { charge } => write!(
                f,
                "the totals of charge {charge} do not fit in 64-bit minor units"
            ),
            Discrepancy::ClearingOverdrawn {
                household,
                currency,
                balance,
            } => write!(
                f,
                "processor clearing of household {household} in {currency} is overdrawn: \
                 balance {balance}"
            ),
            Discrepancy::PrimaryPayerOverpaid {
                household,
                primary_payer,
                excess,
            } => write!(
                f,
                "primary payer {primary_payer} of household {household} was paid out {excess} \
                 more than their charges"
            ),
            Discrepancy::BalanceOverflow => {
                write!(f, "the account balances do not fit in 64-bit minor units")
            }
            Discrepancy::UnexpectedPosting {
                transaction,
                line,
                account,
                side,
            } => write!(
                f,
                "ledger transaction {transaction} posting {line} is a {} to {account}, which \
                 its kind never posts",
                side.code()
            ),
        }
    }
}

/// Compares `charges` with `transactions` and lists every discrepancy.
///
/// After the per-charge checks, it checks each household's processor
/// clearing and settlement accounts, which settlements move. The function never
/// fails: a problem it cannot compute past becomes a discrepancy.
pub fn reconcile(
    charges: &[ChargeRecord],
    transactions: &[LedgerTransaction],
) -> ReconciliationReport {
    let mut by_charge: BTreeMap<ResourceId, Vec<&LedgerTransaction>> = BTreeMap::new();
    for transaction in transactions {
        if let Some(charge) = transaction.kind().charge() {
            by_charge.entry(charge).or_default().push(transaction);
        }
    }
    for postings in by_charge.values_mut() {
        postings.sort_by_key(|transaction| transaction.id());
    }

    let mut records: Vec<&ChargeRecord> = charges.iter().collect();
    records.sort_by_key(|record| record.charge);

    let mut discrepancies = Vec::new();
    let mut seen = BTreeSet::new();
    for record in records {
        if !seen.insert(record.charge) {
            discrepancies.push(Discrepancy::DuplicateChargeRecord {
                charge: record.charge,
            });
            continue;
        }
        let postings = by_charge.get(&record.charge).map_or(&[][..], Vec::as_slice);
        check_charge(record, postings, &mut discrepancies);
    }

    for (charge, postings) in &by_charge {
        if seen.contains(charge) {
            continue;
        }
        for transaction in postings {
            discrepancies.push(Discrepancy::PostingWithoutCharge {
                charge: *charge,
                transaction: transaction.id(),
            });
        }
    }

    let mut sorted: Vec<&LedgerTransaction> = transactions.iter().collect();
    sorted.sort_by_key(|transaction| transaction.id());
    for transaction in sorted {
        check_shape(transaction, &mut discrepancies);
    }
    check_accounts(transactions, &mut discrepancies);

    ReconciliationReport {
        charges_checked: charges.len(),
        transactions_checked: transactions.len(),
        discrepancies,
    }
}

fn check_charge(
    record: &ChargeRecord,
    postings: &[&LedgerTransaction],
    discrepancies: &mut Vec<Discrepancy>,
) {
    let charge = record.charge;
    let mut matching: Vec<&LedgerTransaction> = Vec::new();
    for transaction in postings {
        if let Some(found) = check_owner(record, transaction) {
            discrepancies.push(found);
            continue;
        }
        discrepancies.extend(check_participant(record, transaction));
        matching.push(transaction);
    }

    let facts = ChargeFacts {
        charge,
        household: record.household,
        participant: record.participant,
        // Only used to build postings, which reconciliation never does.
        primary_payer: record.participant,
        amount: record.amount,
    };
    let Ok(position) = ChargePosition::from_history(&facts, matching.iter().copied()) else {
        discrepancies.push(Discrepancy::Overflow { charge });
        return;
    };

    match position.created_postings {
        0 => {
            discrepancies.push(Discrepancy::ChargeWithoutPosting { charge });
            return;
        }
        1 => {}
        _ => discrepancies.push(Discrepancy::DuplicateChargePosting {
            charge,
            transactions: created_transactions(&matching),
        }),
    }
    if position.charged != record.amount {
        discrepancies.push(Discrepancy::AmountDiffers {
            charge,
            recorded: record.amount,
            posted: position.charged,
        });
    }

    for (payment, paid) in position.payments() {
        if paid.refunded.minor() > paid.captured.minor() {
            discrepancies.push(Discrepancy::RefundExceedsCapture {
                charge,
                payment,
                captured: paid.captured,
                refunded: paid.refunded,
            });
        }
    }

    let (Ok(status), Ok(outstanding)) = (position.status(), position.outstanding()) else {
        discrepancies.push(Discrepancy::Overflow { charge });
        return;
    };
    if outstanding.is_negative() {
        match outstanding.checked_neg() {
            Ok(excess) => discrepancies.push(Discrepancy::Overpaid { charge, excess }),
            Err(_) => discrepancies.push(Discrepancy::Overflow { charge }),
        }
    }
    if status != record.status {
        discrepancies.push(Discrepancy::StatusDiffers {
            charge,
            recorded: record.status,
            ledger: status,
        });
    }
}

/// Reports each posting whose account and side do not fit the transaction
/// kind, as the posting rules write them.
fn check_shape(transaction: &LedgerTransaction, discrepancies: &mut Vec<Discrepancy>) {
    for (line, posting) in transaction.postings().iter().enumerate() {
        if !fits_kind(transaction.kind(), posting.account, posting.side) {
            discrepancies.push(Discrepancy::UnexpectedPosting {
                transaction: transaction.id(),
                line,
                account: posting.account,
                side: posting.side,
            });
        }
    }
}

fn fits_kind(kind: TransactionKind, account: LedgerAccount, side: Side) -> bool {
    use LedgerAccount::{ParticipantReceivable, PrimaryPayerSettlement, ProcessorClearing};
    use Side::{Credit, Debit};

    match kind {
        TransactionKind::ChargeCreated { .. } => matches!(
            (account, side),
            (ParticipantReceivable { .. }, Debit) | (PrimaryPayerSettlement { .. }, Credit)
        ),
        TransactionKind::ChargeReduced { .. } => matches!(
            (account, side),
            (PrimaryPayerSettlement { .. }, Debit) | (ParticipantReceivable { .. }, Credit)
        ),
        TransactionKind::PaymentCaptured { .. } => matches!(
            (account, side),
            (ProcessorClearing, Debit) | (ParticipantReceivable { .. }, Credit)
        ),
        TransactionKind::PaymentRefunded { effect, .. } => match (account, side) {
            (ParticipantReceivable { .. }, Debit) | (ProcessorClearing, Credit) => true,
            (PrimaryPayerSettlement { .. }, Debit) | (ParticipantReceivable { .. }, Credit) => {
                effect == RefundEffect::ChargeReduced
            }
            _ => false,
        },
        TransactionKind::Settlement { .. } => matches!(
            (account, side),
            (PrimaryPayerSettlement { .. }, Debit) | (ProcessorClearing, Credit)
        ),
    }
}

/// Reports overdrawn clearing and overpaid primary payers, in account order.
fn check_accounts(transactions: &[LedgerTransaction], discrepancies: &mut Vec<Discrepancy>) {
    let Ok(balances) = Balances::from_transactions(transactions) else {
        discrepancies.push(Discrepancy::BalanceOverflow);
        return;
    };
    for (key, balance) in balances.iter() {
        match key.account {
            LedgerAccount::ProcessorClearing if balance.is_negative() => {
                discrepancies.push(Discrepancy::ClearingOverdrawn {
                    household: key.household,
                    currency: key.currency,
                    balance,
                });
            }
            LedgerAccount::PrimaryPayerSettlement { primary_payer } if balance.minor() > 0 => {
                discrepancies.push(Discrepancy::PrimaryPayerOverpaid {
                    household: key.household,
                    primary_payer,
                    excess: balance,
                });
            }
            _ => {}
        }
    }
}

/// Reports a posting in another household or currency, which then takes no
/// further part in the charge's totals.
fn check_owner(record: &ChargeRecord, transaction: &LedgerTransaction) -> Option<Discrepancy> {
    if transaction.household() != record.household {
        return Some(Discrepancy::HouseholdDiffers {
            charge: record.charge,
            transaction: transaction.id(),
            recorded: record.household,
            posted: transaction.household(),
        });
    }
    if transaction.currency() != record.amount.currency() {
        return Some(Discrepancy::CurrencyDiffers {
            charge: record.charge,
            transaction: transaction.id(),
            recorded: record.amount.currency(),
            posted: transaction.currency(),
        });
    }
    None
}

/// Reports each other participant whose receivable the posting moves.
fn check_participant(record: &ChargeRecord, transaction: &LedgerTransaction) -> Vec<Discrepancy> {
    let others: BTreeSet<UserId> = transaction
        .postings()
        .iter()
        .filter_map(|posting| match posting.account {
            LedgerAccount::ParticipantReceivable { participant } => Some(participant),
            _ => None,
        })
        .filter(|participant| *participant != record.participant)
        .collect();
    others
        .into_iter()
        .map(|posted| Discrepancy::ParticipantDiffers {
            charge: record.charge,
            transaction: transaction.id(),
            recorded: record.participant,
            posted,
        })
        .collect()
}

fn created_transactions(transactions: &[&LedgerTransaction]) -> Vec<ResourceId> {
    transactions
        .iter()
        .filter(|transaction| matches!(transaction.kind(), TransactionKind::ChargeCreated { .. }))
        .map(|transaction| transaction.id())
        .collect()
}
