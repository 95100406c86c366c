//! Ledger stress: 1,000 random operations per case (charges, payments,
//! declines, partial refunds of both effects, reductions and settlements)
//! applied through the posting rules and checked against a plain model.
//!
//! Amounts are drawn from 1 to the current limit plus 10 minor units, so an
//! attempt on a paid charge or a fully refunded payment always exceeds its
//! limit, and the rules must reject exactly the attempts above it.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sharepay_domain::ids::{HouseholdId, ResourceId, UserId};
use sharepay_domain::ledger::{
    Balances, ChargeFacts, ChargePosition, ChargeRecord, ChargeStatus, Discrepancy, LedgerAccount,
    LedgerError, LedgerTransaction, PaymentAttempt, PaymentOutcome, RefundEffect, RefundRequest,
    Side, StatementPeriod, build_primary_payer_statement, build_statement, post_charge_created,
    post_charge_reduction, post_payment, post_refund, post_settlement, reconcile,
};
use sharepay_domain::meter::Timestamp;
use sharepay_domain::money::{Currency, Money};

const OPERATIONS: usize = 1_000;
const CASES: u32 = 24;
const HOUSEHOLD: HouseholdId = HouseholdId::from_u128(0xAA);
const PAYER: UserId = UserId::from_u128(1);
const PARTICIPANTS: [UserId; 3] = [
    UserId::from_u128(2),
    UserId::from_u128(3),
    UserId::from_u128(4),
];
const START: i64 = 1_800_000_000;
/// Extra minor units added to each limit when drawing an amount, so some
/// attempts exceed the limit.
const OVERSHOOT: i64 = 10;

/// One random step. `pick` chooses among existing charges or payments and
/// `draw` chooses an amount relative to the current limit.
#[derive(Clone, Debug)]
enum Operation {
    Charge {
        participant: usize,
        minor: i64,
    },
    Pay {
        pick: usize,
        draw: u64,
        declined: bool,
    },
    Refund {
        pick: usize,
        draw: u64,
        reduce: bool,
    },
    Reduce {
        pick: usize,
        draw: u64,
    },
    Settle {
        draw: u64,
    },
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        2 => (0..PARTICIPANTS.len(), 1..=100_000i64)
            .prop_map(|(participant, minor)| Operation::Charge { participant, minor }),
        4 => (any::<usize>(), any::<u64>(), prop::bool::weighted(0.2))
            .prop_map(|(pick, draw, declined)| Operation::Pay { pick, draw, declined }),
        2 => (any::<usize>(), any::<u64>(), any::<bool>())
            .prop_map(|(pick, draw, reduce)| Operation::Refund { pick, draw, reduce }),
        1 => (any::<usize>(), any::<u64>())
            .prop_map(|(pick, draw)| Operation::Reduce { pick, draw }),
        1 => any::<u64>().prop_map(|draw| Operation::Settle { draw }),
    ]
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["JPY", "EUR", "KWD"])
        .prop_map(|code| Currency::from_code(code).expect("currency in table"))
}

/// Draws an amount from 1 to `limit + OVERSHOOT`, treating a negative limit
/// as zero.
fn amount_up_to(limit: i64, draw: u64) -> i64 {
    let span = limit.max(0) + OVERSHOOT;
    let span = u64::try_from(span).expect("positive span");
    1 + i64::try_from(draw % span).expect("fits")
}

#[derive(Clone, Debug)]
struct ModelCharge {
    facts: ChargeFacts,
    charged: i64,
    reduced: i64,
    captured: i64,
    refunded: i64,
}

impl ModelCharge {
    fn outstanding(&self) -> i64 {
        self.charged - self.reduced - self.captured + self.refunded
    }

    /// Derives the status by the documented order of checks, written out
    /// again so the test does not trust `ChargePosition::status`.
    fn status(&self) -> ChargeStatus {
        let due = self.charged - self.reduced;
        if self.captured == 0 {
            if due <= 0 {
                ChargeStatus::Cancelled
            } else {
                ChargeStatus::Unpaid
            }
        } else if self.refunded == self.captured {
            ChargeStatus::Refunded
        } else if self.refunded > 0 {
            ChargeStatus::PartiallyRefunded
        } else if self.captured >= due {
            ChargeStatus::Paid
        } else {
            ChargeStatus::PartiallyPaid
        }
    }
}

#[derive(Clone, Debug)]
struct ModelPayment {
    charge: usize,
    id: ResourceId,
    captured: i64,
    refunded: i64,
}

/// The expected state, kept with plain integers.
struct Model {
    currency: Currency,
    charges: Vec<ModelCharge>,
    payments: Vec<ModelPayment>,
    settled: i64,
    transactions: Vec<LedgerTransaction>,
    next_id: u128,
    now: i64,
    rejected: usize,
}

impl Model {
    fn new(currency: Currency) -> Model {
        Model {
            currency,
            charges: Vec::new(),
            payments: Vec::new(),
            settled: 0,
            transactions: Vec::new(),
            next_id: 1_000,
            now: START,
            rejected: 0,
        }
    }

    fn money(&self, minor: i64) -> Money {
        Money::from_minor(minor, self.currency)
    }

    fn next_id(&mut self) -> ResourceId {
        self.next_id += 1;
        ResourceId::from_u128(self.next_id)
    }

    fn position(&self, index: usize) -> ChargePosition {
        ChargePosition::from_history(&self.charges[index].facts, &self.transactions)
            .expect("consistent history")
    }

    fn clearing(&self) -> i64 {
        let net: i64 = self
            .charges
            .iter()
            .map(|charge| charge.captured - charge.refunded)
            .sum();
        net - self.settled
    }

    fn owed_to_payer(&self) -> i64 {
        let due: i64 = self
            .charges
            .iter()
            .map(|charge| charge.charged - charge.reduced)
            .sum();
        due - self.settled
    }

    /// Applies one operation through the posting rules and checks that the
    /// rules accept it exactly when the model finds it within its limit.
    fn apply(&mut self, operation: &Operation) -> Result<(), TestCaseError> {
        self.now += 60;
        match *operation {
            Operation::Charge { participant, minor } => self.charge(participant, minor),
            Operation::Pay {
                pick,
                draw,
                declined,
            } => self.pay(pick, draw, declined),
            Operation::Refund { pick, draw, reduce } => self.refund(pick, draw, reduce),
            Operation::Reduce { pick, draw } => self.reduce(pick, draw),
            Operation::Settle { draw } => self.settle(draw),
        }
    }

    fn charge(&mut self, participant: usize, minor: i64) -> Result<(), TestCaseError> {
        let facts = ChargeFacts {
            charge: self.next_id(),
            household: HOUSEHOLD,
            participant: PARTICIPANTS[participant],
            primary_payer: PAYER,
            amount: self.money(minor),
        };
        let transaction_id = self.next_id();
        let transaction = post_charge_created(transaction_id, Timestamp(self.now), &facts)
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        self.transactions.push(transaction);
        self.charges.push(ModelCharge {
            facts,
            charged: minor,
            reduced: 0,
            captured: 0,
            refunded: 0,
        });
        Ok(())
    }

    fn pay(&mut self, pick: usize, draw: u64, declined: bool) -> Result<(), TestCaseError> {
        if self.charges.is_empty() {
            return Ok(());
        }
        let index = pick % self.charges.len();
        let outstanding = self.charges[index].outstanding();
        let minor = amount_up_to(outstanding, draw);
        let attempt = PaymentAttempt {
            payment: self.next_id(),
            amount: self.money(minor),
            outcome: if declined {
                PaymentOutcome::Declined
            } else {
                PaymentOutcome::Captured
            },
        };
        let position = self.position(index);
        let transaction_id = self.next_id();
        let result = post_payment(
            transaction_id,
            Timestamp(self.now),
            &self.charges[index].facts,
            &position,
            &attempt,
        );

        if declined {
            prop_assert!(matches!(result, Ok(None)), "a decline gave {:?}", result);
            return Ok(());
        }
        if minor > outstanding {
            prop_assert!(
                matches!(result, Err(LedgerError::PaymentExceedsOutstanding { .. })),
                "payment of {minor} on {outstanding} outstanding gave {result:?}"
            );
            self.rejected += 1;
            return Ok(());
        }
        let posted = result.map_err(|error| TestCaseError::fail(error.to_string()))?;
        let Some(transaction) = posted else {
            return Err(TestCaseError::fail("a capture posted nothing"));
        };
        self.transactions.push(transaction);
        self.charges[index].captured += minor;
        self.payments.push(ModelPayment {
            charge: index,
            id: attempt.payment,
            captured: minor,
            refunded: 0,
        });
        Ok(())
    }

    fn refund(&mut self, pick: usize, draw: u64, reduce: bool) -> Result<(), TestCaseError> {
        if self.payments.is_empty() {
            return Ok(());
        }
        let payment_index = pick % self.payments.len();
        let payment = self.payments[payment_index].clone();
        let refundable = payment.captured - payment.refunded;
        let minor = amount_up_to(refundable, draw);
        let effect = if reduce {
            RefundEffect::ChargeReduced
        } else {
            RefundEffect::ChargeReopened
        };
        let request = RefundRequest {
            payment: payment.id,
            refund: self.next_id(),
            amount: self.money(minor),
            effect,
        };
        let position = self.position(payment.charge);
        let transaction_id = self.next_id();
        let result = post_refund(
            transaction_id,
            Timestamp(self.now),
            &self.charges[payment.charge].facts,
            &position,
            &request,
        );

        if minor > refundable {
            prop_assert!(
                matches!(result, Err(LedgerError::RefundExceedsPaid { .. })),
                "refund of {minor} on {refundable} refundable gave {result:?}"
            );
            self.rejected += 1;
            return Ok(());
        }
        let transaction = result.map_err(|error| TestCaseError::fail(error.to_string()))?;
        self.transactions.push(transaction);
        self.payments[payment_index].refunded += minor;
        let charge = &mut self.charges[payment.charge];
        charge.refunded += minor;
        if reduce {
            charge.reduced += minor;
        }
        Ok(())
    }

    fn reduce(&mut self, pick: usize, draw: u64) -> Result<(), TestCaseError> {
        if self.charges.is_empty() {
            return Ok(());
        }
        let index = pick % self.charges.len();
        let outstanding = self.charges[index].outstanding();
        let minor = amount_up_to(outstanding, draw);
        let position = self.position(index);
        let transaction_id = self.next_id();
        let result = post_charge_reduction(
            transaction_id,
            Timestamp(self.now),
            &self.charges[index].facts,
            &position,
            self.money(minor),
        );

        if minor > outstanding {
            prop_assert!(
                matches!(result, Err(LedgerError::ReductionExceedsOutstanding { .. })),
                "reduction of {minor} on {outstanding} outstanding gave {result:?}"
            );
            self.rejected += 1;
            return Ok(());
        }
        let transaction = result.map_err(|error| TestCaseError::fail(error.to_string()))?;
        self.transactions.push(transaction);
        self.charges[index].reduced += minor;
        Ok(())
    }

    fn settle(&mut self, draw: u64) -> Result<(), TestCaseError> {
        let available = self.clearing().min(self.owed_to_payer());
        let minor = amount_up_to(available, draw);
        let balances = Balances::from_transactions(&self.transactions)
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        let transaction_id = self.next_id();
        let payout = self.next_id();
        let result = post_settlement(
            transaction_id,
            Timestamp(self.now),
            HOUSEHOLD,
            PAYER,
            payout,
            self.money(minor),
            &balances,
        );

        if minor > available {
            prop_assert!(
                matches!(result, Err(LedgerError::SettlementExceedsCollected { .. })),
                "settlement of {minor} on {available} available gave {result:?}"
            );
            self.rejected += 1;
            return Ok(());
        }
        let transaction = result.map_err(|error| TestCaseError::fail(error.to_string()))?;
        self.transactions.push(transaction);
        self.settled += minor;
        Ok(())
    }
}

/// Recomputes each transaction's sides from its postings, without the
/// ledger's own helpers.
fn check_every_transaction_balances(model: &Model) -> Result<(), TestCaseError> {
    for transaction in &model.transactions {
        let mut debits: i128 = 0;
        let mut credits: i128 = 0;
        for posting in transaction.postings() {
            prop_assert!(posting.amount.minor() > 0, "{transaction:?}");
            prop_assert_eq!(posting.amount.currency(), model.currency);
            match posting.side {
                Side::Debit => debits += i128::from(posting.amount.minor()),
                Side::Credit => credits += i128::from(posting.amount.minor()),
            }
        }
        prop_assert!(debits > 0, "{transaction:?}");
        prop_assert_eq!(debits, credits, "{:?}", transaction);
    }
    Ok(())
}

fn check_balances(model: &Model) -> Result<(), TestCaseError> {
    let balances = Balances::from_transactions(&model.transactions)
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    for trial in balances
        .trial_balance()
        .map_err(|error| TestCaseError::fail(error.to_string()))?
    {
        prop_assert_eq!(trial.debits, trial.credits);
    }

    let balance = |account| balances.balance(HOUSEHOLD, model.currency, account).minor();
    prop_assert_eq!(balance(LedgerAccount::ProcessorClearing), model.clearing());
    let settlement = LedgerAccount::PrimaryPayerSettlement {
        primary_payer: PAYER,
    };
    prop_assert_eq!(balance(settlement), -model.owed_to_payer());

    let mut owed: BTreeMap<UserId, i64> = BTreeMap::new();
    for charge in &model.charges {
        *owed.entry(charge.facts.participant).or_default() += charge.outstanding();
    }
    for participant in PARTICIPANTS {
        let receivable = LedgerAccount::ParticipantReceivable { participant };
        let expected = owed.get(&participant).copied().unwrap_or(0);
        prop_assert_eq!(balance(receivable), expected);
    }
    Ok(())
}

fn check_charge_totals(model: &Model) -> Result<(), TestCaseError> {
    for (index, charge) in model.charges.iter().enumerate() {
        let position = model.position(index);
        prop_assert_eq!(position.created_postings, 1);
        prop_assert_eq!(position.charged.minor(), charge.charged);
        prop_assert_eq!(position.reduced.minor(), charge.reduced);
        prop_assert_eq!(position.captured.minor(), charge.captured);
        prop_assert_eq!(position.refunded.minor(), charge.refunded);
        prop_assert_eq!(
            position.outstanding().map(|money| money.minor()),
            Ok(charge.outstanding())
        );
        prop_assert!(charge.outstanding() >= 0, "{charge:?}");
        prop_assert_eq!(position.status(), Ok(charge.status()));
    }
    for payment in &model.payments {
        let position = model.position(payment.charge);
        let found = position
            .payment(payment.id)
            .ok_or_else(|| TestCaseError::fail("captured payment missing"))?;
        prop_assert_eq!(found.captured.minor(), payment.captured);
        prop_assert_eq!(found.refunded.minor(), payment.refunded);
        prop_assert!(payment.refunded <= payment.captured);
    }
    Ok(())
}

fn check_statements(model: &Model) -> Result<(), TestCaseError> {
    let period = StatementPeriod {
        start: Timestamp(START),
        end: Timestamp(model.now + 1),
    };
    let middle = StatementPeriod {
        start: Timestamp(START + (model.now - START) / 2),
        end: period.end,
    };
    for participant in PARTICIPANTS {
        let owed: i64 = model
            .charges
            .iter()
            .filter(|charge| charge.facts.participant == participant)
            .map(ModelCharge::outstanding)
            .sum();
        for span in [period, middle] {
            let statement = build_statement(
                HOUSEHOLD,
                participant,
                model.currency,
                span,
                &model.transactions,
            )
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(statement.closing_balance.minor(), owed);
            prop_assert_eq!(statement.settled, owed == 0);

            let lines: i64 = statement.lines.iter().map(|line| line.amount.minor()).sum();
            prop_assert_eq!(statement.opening_balance.minor() + lines, owed);
            let totals = statement.totals;
            let net = totals
                .net()
                .map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(statement.opening_balance.minor() + net.minor(), owed);
            prop_assert_eq!(totals.adjustments.minor(), 0);
        }
    }

    let statement = build_primary_payer_statement(
        HOUSEHOLD,
        PAYER,
        model.currency,
        period,
        &model.transactions,
    )
    .map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(statement.closing_balance.minor(), -model.owed_to_payer());
    prop_assert_eq!(statement.totals.payouts.minor(), model.settled);
    prop_assert_eq!(statement.totals.adjustments.minor(), 0);
    Ok(())
}

fn check_reconciliation(model: &Model) -> Result<(), TestCaseError> {
    let mut records: Vec<ChargeRecord> = model
        .charges
        .iter()
        .map(|charge| ChargeRecord {
            charge: charge.facts.charge,
            household: HOUSEHOLD,
            participant: charge.facts.participant,
            amount: charge.facts.amount,
            status: charge.status(),
        })
        .collect();
    // Refunds after a payout can overdraw clearing and leave the primary
    // payer paid more than their charges are now worth. Those are the only
    // findings a ledger written by the posting rules may have.
    let mut expected = Vec::new();
    // Account order puts settlement accounts before processor clearing.
    if model.owed_to_payer() < 0 {
        expected.push(Discrepancy::PrimaryPayerOverpaid {
            household: HOUSEHOLD,
            primary_payer: PAYER,
            excess: model.money(-model.owed_to_payer()),
        });
    }
    if model.clearing() < 0 {
        expected.push(Discrepancy::ClearingOverdrawn {
            household: HOUSEHOLD,
            currency: model.currency,
            balance: model.money(model.clearing()),
        });
    }
    let report = reconcile(&records, &model.transactions);
    prop_assert_eq!(&report.discrepancies, &expected);

    if let Some(first) = records.first_mut() {
        first.amount = model.money(first.amount.minor() + 1);
        let report = reconcile(&records, &model.transactions);
        prop_assert_eq!(report.discrepancies.len(), expected.len() + 1);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_operations_keep_ledger_consistent(
        currency in currency(),
        operations in prop::collection::vec(operation(), OPERATIONS),
    ) {
        let mut model = Model::new(currency);
        for operation in &operations {
            model.apply(operation)?;
        }

        check_every_transaction_balances(&model)?;
        check_balances(&model)?;
        check_charge_totals(&model)?;
        check_statements(&model)?;
        check_reconciliation(&model)?;
        // Each case should exercise both sides of the limits.
        prop_assert!(model.rejected > 0, "no attempt was rejected");
        prop_assert!(model.transactions.len() > OPERATIONS / 2);
    }
}
