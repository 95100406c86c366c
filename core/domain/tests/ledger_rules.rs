//! Posting rules, charge positions and balances on a small household:
//! one primary payer and two participants, paying in EUR.

mod ledger_support;

use ledger_support::{
    ALICE, AT, BOB, Book, HOUSEHOLD, PAYER, charge, eur, id, receivable, settlement,
};
use sharepay_domain::ids::HouseholdId;
use sharepay_domain::ledger::{
    Balances, ChargeFacts, ChargePosition, ChargeStatus, LedgerAccount, LedgerError,
    PaymentAttempt, PaymentOutcome, RefundEffect, TransactionKind, post_charge_created,
    post_charge_reduction, post_payment, post_settlement,
};
use sharepay_domain::money::{Currency, Money};

#[test]
fn charge_then_full_payment_is_paid() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    assert_eq!(book.balance(receivable(ALICE)), 4_000);
    assert_eq!(book.balance(settlement()), -4_000);
    assert_eq!(book.position(&alice).status(), Ok(ChargeStatus::Unpaid));

    book.pay(&alice, 10, 4_000, PaymentOutcome::Captured)
        .expect("payment posts");
    assert_eq!(book.balance(receivable(ALICE)), 0);
    assert_eq!(book.balance(LedgerAccount::ProcessorClearing), 4_000);
    assert_eq!(book.position(&alice).status(), Ok(ChargeStatus::Paid));
    assert_eq!(book.position(&alice).outstanding(), Ok(eur(0)));
    book.assert_trial_balance_is_zero();
}

#[test]
fn declined_payment_posts_nothing() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    let posted = book
        .pay(&alice, 10, 4_000, PaymentOutcome::Declined)
        .expect("decline is not an error");
    assert_eq!(posted, None);
    assert_eq!(book.transactions.len(), 1);
    assert_eq!(book.position(&alice).status(), Ok(ChargeStatus::Unpaid));

    // A decline moved no money, so it is recorded even above the amount due.
    let above = book
        .pay(&alice, 11, 9_999, PaymentOutcome::Declined)
        .expect("decline above outstanding");
    assert_eq!(above, None);
}

#[test]
fn checks_run_before_money_moves() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    let position = book.position(&alice);
    assert_eq!(position.check_payment(eur(4_000)), Ok(()));
    assert!(matches!(
        position.check_payment(eur(4_001)),
        Err(LedgerError::PaymentExceedsOutstanding { .. })
    ));
    assert!(matches!(
        position.check_payment(eur(0)),
        Err(LedgerError::AmountNotPositive { .. })
    ));
    assert!(matches!(
        position.check_refund(id(10), eur(1)),
        Err(LedgerError::UnknownPayment { .. })
    ));
    assert_eq!(position.check_reduction(eur(4_000)), Ok(()));

    book.pay(&alice, 10, 1_000, PaymentOutcome::Captured)
        .expect("payment");
    let position = book.position(&alice);
    assert_eq!(position.check_refund(id(10), eur(1_000)), Ok(()));
    assert!(matches!(
        position.check_refund(id(10), eur(1_001)),
        Err(LedgerError::RefundExceedsPaid { .. })
    ));
    assert!(matches!(
        position.check_reduction(eur(3_001)),
        Err(LedgerError::ReductionExceedsOutstanding { .. })
    ));
}

#[test]
fn position_of_other_charge_is_rejected() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    let bob = charge(2, BOB, 3_000);
    book.create(&alice);
    book.create(&bob);
    let attempt = PaymentAttempt {
        payment: id(10),
        amount: eur(100),
        outcome: PaymentOutcome::Captured,
    };
    let result = post_payment(id(5), AT, &alice, &book.position(&bob), &attempt);
    assert_eq!(
        result,
        Err(LedgerError::PositionMismatch {
            charge: id(1),
            position: id(2),
        })
    );
}

#[test]
fn partial_payments_add_up() {
    let mut book = Book::new();
    let bob = charge(2, BOB, 3_001);
    book.create(&bob);
    book.pay(&bob, 20, 1_000, PaymentOutcome::Captured)
        .expect("first part");
    assert_eq!(
        book.position(&bob).status(),
        Ok(ChargeStatus::PartiallyPaid)
    );
    assert_eq!(book.position(&bob).outstanding(), Ok(eur(2_001)));
    book.pay(&bob, 21, 2_001, PaymentOutcome::Captured)
        .expect("second part");
    assert_eq!(book.position(&bob).status(), Ok(ChargeStatus::Paid));
}

#[test]
fn payment_above_outstanding_is_rejected() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    book.pay(&alice, 10, 3_000, PaymentOutcome::Captured)
        .expect("part payment");
    let error = book
        .pay(&alice, 11, 1_001, PaymentOutcome::Captured)
        .expect_err("overpayment");
    assert_eq!(
        error,
        LedgerError::PaymentExceedsOutstanding {
            charge: id(1),
            amount: eur(1_001),
            outstanding: eur(1_000),
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "payment of €10.01 exceeds the €10.00 outstanding on charge {}: charge the card \
             at most the outstanding amount",
            id(1)
        )
    );
}

#[test]
fn payment_before_charge_posting_is_rejected() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    let error = book
        .pay(&alice, 10, 4_000, PaymentOutcome::Captured)
        .expect_err("no charge posted");
    assert_eq!(error, LedgerError::ChargeNotPosted { charge: id(1) });
}

#[test]
fn payment_in_other_currency_is_rejected() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    let usd = Money::from_minor(4_000, Currency::from_code("USD").expect("USD in table"));
    let attempt = PaymentAttempt {
        payment: id(10),
        amount: usd,
        outcome: PaymentOutcome::Captured,
    };
    let result = post_payment(id(5), AT, &alice, &book.position(&alice), &attempt);
    assert!(
        matches!(
            result,
            Err(LedgerError::CurrencyMismatch {
                found: "USD",
                expected: "EUR",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn zero_charge_is_rejected_with_hint() {
    let error = post_charge_created(id(5), AT, &charge(1, ALICE, 0)).expect_err("zero share");
    assert_eq!(
        error.to_string(),
        "the charge amount is €0.00, but it must be positive: create no charge for a member \
         whose share is zero"
    );
}

#[test]
fn refund_reopening_charge_leaves_amount_owed() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    book.pay(&alice, 10, 4_000, PaymentOutcome::Captured)
        .expect("payment");
    book.refund(&alice, 10, 1_500, RefundEffect::ChargeReopened)
        .expect("partial refund");

    let position = book.position(&alice);
    assert_eq!(position.status(), Ok(ChargeStatus::PartiallyRefunded));
    assert_eq!(position.outstanding(), Ok(eur(1_500)));
    assert_eq!(book.balance(receivable(ALICE)), 1_500);
    assert_eq!(book.balance(LedgerAccount::ProcessorClearing), 2_500);
    assert_eq!(book.balance(settlement()), -4_000);
    book.assert_trial_balance_is_zero();
}

#[test]
fn refund_reducing_charge_lowers_what_payer_is_owed() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    book.pay(&alice, 10, 4_000, PaymentOutcome::Captured)
        .expect("payment");
    book.refund(&alice, 10, 1_500, RefundEffect::ChargeReduced)
        .expect("partial refund");

    let refund = book.transactions.last().expect("refund posted");
    assert_eq!(refund.postings().len(), 4);
    let position = book.position(&alice);
    assert_eq!(position.refunded, eur(1_500));
    assert_eq!(position.reduced, eur(1_500));
    assert_eq!(position.amount_due(), Ok(eur(2_500)));
    assert_eq!(position.outstanding(), Ok(eur(0)));
    assert_eq!(book.balance(receivable(ALICE)), 0);
    assert_eq!(book.balance(LedgerAccount::ProcessorClearing), 2_500);
    assert_eq!(book.balance(settlement()), -2_500);
    book.assert_trial_balance_is_zero();
}

#[test]
fn refunds_never_exceed_what_was_paid() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    book.pay(&alice, 10, 2_500, PaymentOutcome::Captured)
        .expect("first payment");
    book.pay(&alice, 11, 1_500, PaymentOutcome::Captured)
        .expect("second payment");
    book.refund(&alice, 11, 1_000, RefundEffect::ChargeReopened)
        .expect("first refund");

    let error = book
        .refund(&alice, 11, 501, RefundEffect::ChargeReopened)
        .expect_err("above what payment 11 has left");
    assert_eq!(
        error,
        LedgerError::RefundExceedsPaid {
            payment: id(11),
            amount: eur(501),
            refundable: eur(500),
        }
    );

    book.refund(&alice, 11, 500, RefundEffect::ChargeReopened)
        .expect("rest of payment 11");
    let unknown = book
        .refund(&alice, 12, 1, RefundEffect::ChargeReopened)
        .expect_err("payment 12 never captured");
    assert_eq!(
        unknown,
        LedgerError::UnknownPayment {
            charge: id(1),
            payment: id(12),
        }
    );
}

#[test]
fn full_refund_gives_refunded_status() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    book.pay(&alice, 10, 4_000, PaymentOutcome::Captured)
        .expect("payment");
    book.refund(&alice, 10, 4_000, RefundEffect::ChargeReduced)
        .expect("full refund");
    assert_eq!(book.position(&alice).status(), Ok(ChargeStatus::Refunded));
    assert_eq!(book.balance(settlement()), 0);
    assert_eq!(book.balance(LedgerAccount::ProcessorClearing), 0);
}

#[test]
fn reduction_cancels_unpaid_charge() {
    let mut book = Book::new();
    let bob = charge(2, BOB, 3_000);
    book.create(&bob);

    let too_much = post_charge_reduction(id(7), AT, &bob, &book.position(&bob), eur(3_001));
    assert_eq!(
        too_much,
        Err(LedgerError::ReductionExceedsOutstanding {
            charge: id(2),
            amount: eur(3_001),
            outstanding: eur(3_000),
        })
    );

    let reduction =
        post_charge_reduction(id(7), AT, &bob, &book.position(&bob), eur(3_000)).expect("cancel");
    assert_eq!(
        reduction.kind(),
        TransactionKind::ChargeReduced { charge: id(2) }
    );
    book.transactions.push(reduction);
    assert_eq!(book.position(&bob).status(), Ok(ChargeStatus::Cancelled));
    assert_eq!(book.balance(receivable(BOB)), 0);
    assert_eq!(book.balance(settlement()), 0);
}

#[test]
fn settlement_pays_out_only_collected_money() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    let bob = charge(2, BOB, 3_000);
    book.create(&alice);
    book.create(&bob);
    book.pay(&alice, 10, 4_000, PaymentOutcome::Captured)
        .expect("alice pays");

    let settle = |amount: i64, balances: &Balances| {
        post_settlement(id(9), AT, HOUSEHOLD, PAYER, id(90), eur(amount), balances)
    };
    let balances = book.balances();
    assert_eq!(
        settle(4_001, &balances),
        Err(LedgerError::SettlementExceedsCollected {
            amount: eur(4_001),
            available: eur(4_000),
        })
    );

    let payout = settle(4_000, &balances).expect("collected amount");
    book.transactions.push(payout);
    assert_eq!(book.balance(LedgerAccount::ProcessorClearing), 0);
    assert_eq!(book.balance(settlement()), -3_000);
    assert_eq!(
        settle(1, &book.balances()),
        Err(LedgerError::SettlementExceedsCollected {
            amount: eur(1),
            available: eur(0),
        })
    );
    book.assert_trial_balance_is_zero();
}

#[test]
fn position_rejects_transaction_from_other_household() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    let foreign = ChargeFacts {
        household: HouseholdId::from_u128(0xBB),
        ..alice
    };
    let result = ChargePosition::from_history(&foreign, &book.transactions);
    assert!(
        matches!(result, Err(LedgerError::HouseholdMismatch { .. })),
        "{result:?}"
    );
}

#[test]
fn position_skips_other_charges() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    let bob = charge(2, BOB, 3_000);
    book.create(&alice);
    book.create(&bob);
    book.pay(&bob, 20, 3_000, PaymentOutcome::Captured)
        .expect("bob pays");
    let position = book.position(&alice);
    assert_eq!(position.charged, eur(4_000));
    assert_eq!(position.captured, eur(0));
    assert_eq!(position.payments().count(), 0);
}

#[test]
fn trial_balance_is_per_household_and_currency() {
    let mut book = Book::new();
    book.create(&charge(1, ALICE, 4_000));
    let usd = Money::from_minor(700, Currency::from_code("USD").expect("USD in table"));
    let other = ChargeFacts {
        household: HouseholdId::from_u128(0xBB),
        amount: usd,
        ..charge(2, BOB, 0)
    };
    book.create(&other);

    let trial = book.balances().trial_balance().expect("totals fit");
    assert_eq!(trial.len(), 2);
    assert_eq!(trial[0].household, HOUSEHOLD);
    assert_eq!(trial[0].debits, eur(4_000));
    assert_eq!(trial[0].credits, eur(4_000));
    assert_eq!(trial[1].currency.code(), "USD");
    assert_eq!(trial[1].debits, usd);
    book.assert_trial_balance_is_zero();
}
