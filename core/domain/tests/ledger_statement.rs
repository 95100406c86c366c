//! Participant statements over periods of a small household's ledger.

mod ledger_support;

use ledger_support::{ALICE, AT, BOB, Book, HOUSEHOLD, PAYER, charge, eur, id, settlement};
use sharepay_domain::ledger::{
    LedgerAccount, LedgerError, LedgerTransaction, PaymentOutcome, Posting, RefundEffect,
    StatementLineKind, StatementPeriod, TransactionKind, build_primary_payer_statement,
    build_statement, post_settlement,
};
use sharepay_domain::meter::Timestamp;
use sharepay_domain::money::{Currency, Money};

const DAY: i64 = 86_400;

fn eur_currency() -> Currency {
    Currency::from_code("EUR").expect("EUR in table")
}

fn period(start: i64, end: i64) -> StatementPeriod {
    StatementPeriod {
        start: Timestamp(start),
        end: Timestamp(end),
    }
}

/// Posts a month of activity for Alice and Bob, one event a day from `AT`:
/// Alice is charged 40.00 and 25.00, pays 40.00, pays 25.00 and gets 5.00
/// back with the charge reduced; Bob is charged 30.00 and pays nothing.
fn month_of_activity() -> Book {
    let mut book = Book::new();
    let first = charge(1, ALICE, 4_000);
    let second = charge(2, ALICE, 2_500);
    let bob = charge(3, BOB, 3_000);

    book.create(&first);
    book.create(&bob);
    book.now = Timestamp(AT.0 + DAY);
    book.create(&second);
    book.now = Timestamp(AT.0 + 2 * DAY);
    book.pay(&first, 10, 4_000, PaymentOutcome::Captured)
        .expect("first payment");
    book.now = Timestamp(AT.0 + 3 * DAY);
    book.pay(&second, 11, 2_500, PaymentOutcome::Declined)
        .expect("declined payment");
    book.pay(&second, 12, 2_500, PaymentOutcome::Captured)
        .expect("second payment");
    book.now = Timestamp(AT.0 + 4 * DAY);
    book.refund(&second, 12, 500, RefundEffect::ChargeReduced)
        .expect("refund");
    book
}

#[test]
fn whole_history_statement_is_settled() {
    let book = month_of_activity();
    let statement = build_statement(
        HOUSEHOLD,
        ALICE,
        eur_currency(),
        period(AT.0, AT.0 + 30 * DAY),
        &book.transactions,
    )
    .expect("statement");

    assert_eq!(statement.opening_balance, eur(0));
    assert_eq!(statement.member, ALICE);
    assert_eq!(
        statement.account,
        LedgerAccount::ParticipantReceivable { participant: ALICE }
    );
    let kinds: Vec<_> = statement.lines.iter().map(|line| line.kind).collect();
    assert_eq!(
        kinds,
        [
            StatementLineKind::Charge,
            StatementLineKind::Charge,
            StatementLineKind::Payment,
            StatementLineKind::Payment,
            StatementLineKind::Refund,
            StatementLineKind::ChargeReduction,
        ]
    );
    let amounts: Vec<_> = statement
        .lines
        .iter()
        .map(|line| line.amount.minor())
        .collect();
    assert_eq!(amounts, [4_000, 2_500, -4_000, -2_500, 500, -500]);
    let balances: Vec<_> = statement
        .lines
        .iter()
        .map(|line| line.balance.minor())
        .collect();
    assert_eq!(balances, [4_000, 6_500, 2_500, 0, 500, 0]);
    assert_eq!(statement.lines[0].charge, Some(id(1)));

    assert_eq!(statement.totals.charges, eur(6_500));
    assert_eq!(statement.totals.payments, eur(-6_500));
    assert_eq!(statement.totals.refunds, eur(500));
    assert_eq!(statement.totals.reductions, eur(-500));
    assert_eq!(statement.totals.payouts, eur(0));
    assert_eq!(statement.totals.adjustments, eur(0));
    assert_eq!(statement.totals.net(), Ok(eur(0)));
    assert_eq!(statement.closing_balance, eur(0));
    assert!(statement.settled);
}

#[test]
fn later_period_starts_from_opening_balance() {
    let book = month_of_activity();
    // Days 2 and 3: both payments, after both charges.
    let statement = build_statement(
        HOUSEHOLD,
        ALICE,
        eur_currency(),
        period(AT.0 + 2 * DAY, AT.0 + 4 * DAY),
        &book.transactions,
    )
    .expect("statement");
    assert_eq!(statement.opening_balance, eur(6_500));
    assert_eq!(statement.lines.len(), 2);
    assert_eq!(statement.totals.payments, eur(-6_500));
    assert_eq!(statement.closing_balance, eur(0));
    assert!(statement.settled);
}

#[test]
fn unpaid_member_is_not_settled() {
    let book = month_of_activity();
    let statement = build_statement(
        HOUSEHOLD,
        BOB,
        eur_currency(),
        period(AT.0, AT.0 + 30 * DAY),
        &book.transactions,
    )
    .expect("statement");
    assert_eq!(statement.lines.len(), 1);
    assert_eq!(statement.closing_balance, eur(3_000));
    assert!(!statement.settled);
}

#[test]
fn period_end_is_excluded() {
    let book = month_of_activity();
    let statement = build_statement(
        HOUSEHOLD,
        ALICE,
        eur_currency(),
        period(AT.0, AT.0 + DAY),
        &book.transactions,
    )
    .expect("statement");
    assert_eq!(statement.lines.len(), 1);
    assert_eq!(statement.closing_balance, eur(4_000));
}

#[test]
fn input_order_does_not_matter() {
    let book = month_of_activity();
    let mut reversed = book.transactions.clone();
    reversed.reverse();
    let whole = period(AT.0, AT.0 + 30 * DAY);
    let forward = build_statement(HOUSEHOLD, ALICE, eur_currency(), whole, &book.transactions);
    let backward = build_statement(HOUSEHOLD, ALICE, eur_currency(), whole, &reversed);
    assert_eq!(forward, backward);
}

#[test]
fn other_currency_is_a_separate_statement() {
    let book = month_of_activity();
    let usd = Currency::from_code("USD").expect("USD in table");
    let statement = build_statement(
        HOUSEHOLD,
        ALICE,
        usd,
        period(AT.0, AT.0 + 30 * DAY),
        &book.transactions,
    )
    .expect("statement");
    assert!(statement.lines.is_empty());
    assert_eq!(statement.closing_balance, Money::zero(usd));
    assert!(statement.settled);
}

#[test]
fn empty_period_is_rejected() {
    let error = build_statement(HOUSEHOLD, ALICE, eur_currency(), period(AT.0, AT.0), &[])
        .expect_err("empty period");
    assert_eq!(error, LedgerError::InvalidPeriod { start: AT, end: AT });
}

#[test]
fn unexpected_side_becomes_adjustment() {
    // A payment that debits the receivable is not what the posting rules
    // write, so the statement shows it as an adjustment.
    let odd = LedgerTransaction::new(
        id(77),
        HOUSEHOLD,
        AT,
        TransactionKind::PaymentCaptured {
            charge: id(1),
            payment: id(10),
        },
        vec![
            Posting::debit(
                LedgerAccount::ParticipantReceivable { participant: ALICE },
                eur(100),
            ),
            Posting::credit(LedgerAccount::ProcessorClearing, eur(100)),
        ],
    )
    .expect("balanced");
    let statement = build_statement(
        HOUSEHOLD,
        ALICE,
        eur_currency(),
        period(AT.0, AT.0 + DAY),
        &[odd],
    )
    .expect("statement");
    assert_eq!(statement.lines[0].kind, StatementLineKind::Adjustment);
    assert_eq!(statement.totals.adjustments, eur(100));
    assert_eq!(statement.closing_balance, eur(100));
}

#[test]
fn primary_payer_statement_shows_what_is_owed() {
    let mut book = month_of_activity();
    book.now = Timestamp(AT.0 + 5 * DAY);
    let payout = post_settlement(
        id(500),
        book.now,
        HOUSEHOLD,
        PAYER,
        id(501),
        eur(5_000),
        &book.balances(),
    )
    .expect("payout");
    book.transactions.push(payout);

    let statement = build_primary_payer_statement(
        HOUSEHOLD,
        PAYER,
        eur_currency(),
        period(AT.0, AT.0 + 30 * DAY),
        &book.transactions,
    )
    .expect("statement");
    assert_eq!(statement.member, PAYER);
    assert_eq!(statement.account, settlement());
    let kinds: Vec<_> = statement.lines.iter().map(|line| line.kind).collect();
    assert_eq!(
        kinds,
        [
            StatementLineKind::Charge,
            StatementLineKind::Charge,
            StatementLineKind::Charge,
            StatementLineKind::ChargeReduction,
            StatementLineKind::Payout,
        ]
    );
    // Charged 95.00, reduced by the 5.00 refund, 50.00 paid out.
    assert_eq!(statement.totals.charges, eur(-9_500));
    assert_eq!(statement.totals.reductions, eur(500));
    assert_eq!(statement.totals.payouts, eur(5_000));
    assert_eq!(statement.closing_balance, eur(-4_000));
    assert_eq!(
        statement.closing_balance,
        book.balances()
            .balance(HOUSEHOLD, eur_currency(), settlement())
    );
    assert!(!statement.settled);
}
