//! Reconciliation of a small household's ledger against charge records.

mod ledger_support;

use ledger_support::{ALICE, AT, BOB, Book, HOUSEHOLD, PAYER, charge, eur, id};
use sharepay_domain::ids::HouseholdId;
use sharepay_domain::ledger::{
    ChargeFacts, ChargeRecord, ChargeStatus, Discrepancy, LedgerAccount, LedgerTransaction,
    PaymentOutcome, Posting, RefundEffect, Side, TransactionKind, post_charge_created,
    post_settlement, reconcile,
};
use sharepay_domain::money::{Currency, Money};

fn record(facts: &ChargeFacts, status: ChargeStatus) -> ChargeRecord {
    ChargeRecord {
        charge: facts.charge,
        household: facts.household,
        participant: facts.participant,
        amount: facts.amount,
        status,
    }
}

/// Alice's charge 1 is paid, Bob's charge 2 is unpaid, and Alice's charge 3
/// is paid and then partly refunded.
fn consistent_book() -> (Book, Vec<ChargeRecord>) {
    let mut book = Book::new();
    let first = charge(1, ALICE, 4_000);
    let second = charge(2, BOB, 3_000);
    let third = charge(3, ALICE, 1_000);
    for facts in [&first, &second, &third] {
        book.create(facts);
    }
    book.pay(&first, 10, 4_000, PaymentOutcome::Captured)
        .expect("first payment");
    book.pay(&second, 20, 3_000, PaymentOutcome::Declined)
        .expect("declined payment");
    book.pay(&third, 30, 1_000, PaymentOutcome::Captured)
        .expect("third payment");
    book.refund(&third, 30, 400, RefundEffect::ChargeReduced)
        .expect("refund");

    let records = vec![
        record(&first, ChargeStatus::Paid),
        record(&second, ChargeStatus::Unpaid),
        record(&third, ChargeStatus::PartiallyRefunded),
    ];
    (book, records)
}

#[test]
fn consistent_ledger_is_clean() {
    let (book, records) = consistent_book();
    let report = reconcile(&records, &book.transactions);
    assert_eq!(report.discrepancies, Vec::new());
    assert!(report.is_clean());
    assert_eq!(report.charges_checked, 3);
    assert_eq!(report.transactions_checked, 6);
}

#[test]
fn paid_status_without_capture_is_reported() {
    let (book, mut records) = consistent_book();
    records[1].status = ChargeStatus::Paid;
    let report = reconcile(&records, &book.transactions);
    let expected = Discrepancy::StatusDiffers {
        charge: id(2),
        recorded: ChargeStatus::Paid,
        ledger: ChargeStatus::Unpaid,
    };
    assert_eq!(report.discrepancies, std::slice::from_ref(&expected));
    assert_eq!(
        expected.to_string(),
        format!(
            "charge {} is stored as paid, but its postings make it unpaid",
            id(2)
        )
    );
}

#[test]
fn charge_without_posting_is_reported() {
    let (book, mut records) = consistent_book();
    records.push(record(&charge(4, BOB, 500), ChargeStatus::Unpaid));
    let report = reconcile(&records, &book.transactions);
    assert_eq!(
        report.discrepancies,
        [Discrepancy::ChargeWithoutPosting { charge: id(4) }]
    );
}

#[test]
fn posting_without_charge_is_reported() {
    let (book, mut records) = consistent_book();
    records.remove(0);
    let report = reconcile(&records, &book.transactions);
    let orphans: Vec<_> = book
        .transactions
        .iter()
        .filter(|transaction| transaction.kind().charge() == Some(id(1)))
        .map(|transaction| Discrepancy::PostingWithoutCharge {
            charge: id(1),
            transaction: transaction.id(),
        })
        .collect();
    assert_eq!(orphans.len(), 2);
    assert_eq!(report.discrepancies, orphans);
}

#[test]
fn amount_difference_is_reported() {
    let (book, mut records) = consistent_book();
    records[1].amount = eur(3_001);
    let report = reconcile(&records, &book.transactions);
    assert_eq!(
        report.discrepancies,
        [Discrepancy::AmountDiffers {
            charge: id(2),
            recorded: eur(3_001),
            posted: eur(3_000),
        }]
    );
}

#[test]
fn duplicate_charge_posting_is_reported() {
    let (mut book, records) = consistent_book();
    let again = post_charge_created(id(5_000), AT, &charge(2, BOB, 3_000)).expect("posting");
    book.transactions.push(again);
    let report = reconcile(&records, &book.transactions);
    let created_first = book.transactions[1].id();
    assert_eq!(
        report.discrepancies,
        [
            Discrepancy::DuplicateChargePosting {
                charge: id(2),
                transactions: vec![created_first, id(5_000)],
            },
            Discrepancy::AmountDiffers {
                charge: id(2),
                recorded: eur(3_000),
                posted: eur(6_000),
            },
        ]
    );
}

#[test]
fn duplicate_record_is_reported() {
    let (book, mut records) = consistent_book();
    records.push(records[0]);
    let report = reconcile(&records, &book.transactions);
    assert_eq!(
        report.discrepancies,
        [Discrepancy::DuplicateChargeRecord { charge: id(1) }]
    );
}

#[test]
fn wrong_participant_household_and_currency_are_reported() {
    let (mut book, mut records) = consistent_book();
    records[1].participant = ALICE;
    let report = reconcile(&records, &book.transactions);
    assert_eq!(
        report.discrepancies,
        [Discrepancy::ParticipantDiffers {
            charge: id(2),
            transaction: book.transactions[1].id(),
            recorded: ALICE,
            posted: BOB,
        }]
    );

    let other_household = HouseholdId::from_u128(0xBB);
    let foreign = ChargeFacts {
        household: other_household,
        ..charge(1, ALICE, 100)
    };
    book.transactions
        .push(post_charge_created(id(98), AT, &foreign).expect("posting"));
    let usd = Money::from_minor(100, Currency::from_code("USD").expect("USD in table"));
    let dollars = ChargeFacts {
        amount: usd,
        ..charge(1, ALICE, 100)
    };
    book.transactions
        .push(post_charge_created(id(99), AT, &dollars).expect("posting"));
    records[1].participant = BOB;
    let report = reconcile(&records, &book.transactions);
    assert_eq!(
        report.discrepancies,
        [
            Discrepancy::HouseholdDiffers {
                charge: id(1),
                transaction: id(98),
                recorded: HOUSEHOLD,
                posted: other_household,
            },
            Discrepancy::CurrencyDiffers {
                charge: id(1),
                transaction: id(99),
                recorded: Currency::from_code("EUR").expect("EUR in table"),
                posted: usd.currency(),
            },
        ]
    );
}

#[test]
fn overpayment_and_excess_refund_are_reported() {
    // Neither can come from the posting rules, so build the entries by hand,
    // as a corrupt or hand-edited table would contain them.
    let (mut book, records) = consistent_book();
    let receivable = LedgerAccount::ParticipantReceivable { participant: BOB };
    let overpay = LedgerTransaction::new(
        id(97),
        HOUSEHOLD,
        AT,
        TransactionKind::PaymentCaptured {
            charge: id(2),
            payment: id(21),
        },
        vec![
            Posting::debit(LedgerAccount::ProcessorClearing, eur(3_500)),
            Posting::credit(receivable, eur(3_500)),
        ],
    )
    .expect("balanced");
    let refund = LedgerTransaction::new(
        id(96),
        HOUSEHOLD,
        AT,
        TransactionKind::PaymentRefunded {
            charge: id(2),
            payment: id(21),
            refund: id(22),
            effect: RefundEffect::ChargeReopened,
        },
        vec![
            Posting::debit(receivable, eur(3_600)),
            Posting::credit(LedgerAccount::ProcessorClearing, eur(3_600)),
        ],
    )
    .expect("balanced");
    book.transactions.push(overpay);
    let report = reconcile(&records, &book.transactions);
    assert_eq!(
        report.discrepancies,
        [
            Discrepancy::Overpaid {
                charge: id(2),
                excess: eur(500),
            },
            Discrepancy::StatusDiffers {
                charge: id(2),
                recorded: ChargeStatus::Unpaid,
                ledger: ChargeStatus::Paid,
            },
        ]
    );

    book.transactions.push(refund);
    let report = reconcile(&records, &book.transactions);
    assert_eq!(
        report.discrepancies[0],
        Discrepancy::RefundExceedsCapture {
            charge: id(2),
            payment: id(21),
            captured: eur(3_500),
            refunded: eur(3_600),
        }
    );
}

#[test]
fn refund_after_payout_is_reported() {
    let mut book = Book::new();
    let alice = charge(1, ALICE, 4_000);
    book.create(&alice);
    book.pay(&alice, 10, 4_000, PaymentOutcome::Captured)
        .expect("payment");
    let payout = post_settlement(
        id(50),
        AT,
        HOUSEHOLD,
        PAYER,
        id(51),
        eur(4_000),
        &book.balances(),
    )
    .expect("payout");
    book.transactions.push(payout);
    book.refund(&alice, 10, 1_000, RefundEffect::ChargeReduced)
        .expect("refund");

    let records = [record(&alice, ChargeStatus::PartiallyRefunded)];
    let report = reconcile(&records, &book.transactions);
    let currency = Currency::from_code("EUR").expect("EUR in table");
    assert_eq!(
        report.discrepancies,
        [
            Discrepancy::PrimaryPayerOverpaid {
                household: HOUSEHOLD,
                primary_payer: PAYER,
                excess: eur(1_000),
            },
            Discrepancy::ClearingOverdrawn {
                household: HOUSEHOLD,
                currency,
                balance: eur(-1_000),
            },
        ]
    );
}

#[test]
fn posting_of_wrong_shape_is_reported() {
    // A capture that debits the receivable instead of crediting it: the
    // transaction balances, but no posting rule writes it.
    let (mut book, records) = consistent_book();
    let backwards = LedgerTransaction::new(
        id(95),
        HOUSEHOLD,
        AT,
        TransactionKind::PaymentCaptured {
            charge: id(2),
            payment: id(23),
        },
        vec![
            Posting::debit(
                LedgerAccount::ParticipantReceivable { participant: BOB },
                eur(100),
            ),
            Posting::credit(LedgerAccount::ProcessorClearing, eur(100)),
        ],
    )
    .expect("balanced");
    book.transactions.push(backwards);

    let report = reconcile(&records, &book.transactions);
    let unexpected: Vec<_> = report
        .discrepancies
        .iter()
        .filter(|found| matches!(found, Discrepancy::UnexpectedPosting { .. }))
        .cloned()
        .collect();
    assert_eq!(
        unexpected,
        [
            Discrepancy::UnexpectedPosting {
                transaction: id(95),
                line: 0,
                account: LedgerAccount::ParticipantReceivable { participant: BOB },
                side: Side::Debit,
            },
            Discrepancy::UnexpectedPosting {
                transaction: id(95),
                line: 1,
                account: LedgerAccount::ProcessorClearing,
                side: Side::Credit,
            },
        ]
    );
}
