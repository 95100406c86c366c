//! Ledger stress on both backends. 1,000 random operations run through the
//! API: new bills approved into charges, captured and declined payments,
//! and partial refunds, some of them over the limit. Afterwards every
//! ledger transaction must balance, and the postings must match the
//! charges, payments and refunds in the tables.

#[macro_use]
mod money_support;
mod billing_support;
mod support;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::json;
use sharepay_server::http_config::RateLimitRule;
use sharepay_server::store::money::{ChargeScope, PaymentScope};
use uuid::Uuid;

use billing_support::{
    APPROVED_MASTERCARD, APPROVED_VISA, DECLINED_INSUFFICIENT_FUNDS, approved_household, pay,
    save_card,
};
use money_support::{Api, Caller};
use support::TestBackend;

const OPERATIONS: usize = 1_000;

/// A small deterministic generator (xorshift64), so a failure replays.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

async fn open_charges(api: &Api, caller: &Caller) -> Vec<String> {
    let (_, charges) = api.as_user(caller, "GET", "/v1/me/charges", None).await;
    charges["charges"]
        .as_array()
        .expect("charges")
        .iter()
        .filter(|charge| charge["status"] == "open")
        .map(|charge| charge["charge_id"].as_str().expect("id").to_owned())
        .collect()
}

async fn random_operations(mut backend: TestBackend) {
    // The operations come from one address faster than the default
    // per-address budget allows.
    backend.config.http.default_rate_limit = RateLimitRule::default();
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let payers = [&household.alice, &household.bob];
    let good_cards = [
        save_card(&api, &household.alice, APPROVED_VISA).await,
        save_card(&api, &household.bob, APPROVED_MASTERCARD).await,
    ];
    let bad_cards = [
        save_card(&api, &household.alice, DECLINED_INSUFFICIENT_FUNDS).await,
        save_card(&api, &household.bob, DECLINED_INSUFFICIENT_FUNDS).await,
    ];
    let mut random = Random(0x5eed_0000_0000_0001);
    let mut payments: Vec<String> = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();

    for operation in 0..OPERATIONS {
        let who = random.below(2) as usize;
        let kind = match random.below(10) {
            0 => "bill",
            1..=4 => "payment",
            5 => "declined_payment",
            _ => "refund",
        };
        match kind {
            "bill" => {
                let minor = 100 + random.below(50_000) as i64;
                let body = json!({
                    "amount": {"minor": minor, "currency": "EUR"},
                    "period_start": "2026-10-01", "period_end": "2026-10-31",
                    "provider": format!("Provider {operation}"), "split_mode": "equal",
                    "members": [
                        {"user_id": household.payer.user_id},
                        {"user_id": household.alice.user_id},
                        {"user_id": household.bob.user_id},
                    ],
                });
                let (status, bill) = api
                    .as_user(
                        &household.payer,
                        "POST",
                        &format!("/v1/households/{}/bills", household.id),
                        Some(&body),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{bill}");
                let path = format!(
                    "/v1/bills/{}/approval",
                    bill["bill_id"].as_str().expect("id")
                );
                let (status, split) = api.as_user(&household.payer, "POST", &path, None).await;
                assert_eq!(status, StatusCode::OK, "{split}");
            }
            "payment" | "declined_payment" => {
                let open = open_charges(&api, payers[who]).await;
                if open.is_empty() {
                    *counts.entry("skipped, no open charge").or_default() += 1;
                    continue;
                }
                let charge = &open[random.below(open.len() as u64) as usize];
                let card = if kind == "payment" {
                    &good_cards[who]
                } else {
                    &bad_cards[who]
                };
                let key = Uuid::now_v7().to_string();
                let (status, body, _) = pay(&api, payers[who], charge, card, &key).await;
                if kind == "payment" {
                    assert_eq!(status, StatusCode::CREATED, "{body}");
                    payments.push(body["payment_id"].as_str().expect("id").to_owned());
                } else {
                    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
                }
            }
            _ => {
                if payments.is_empty() {
                    *counts.entry("skipped, no payment").or_default() += 1;
                    continue;
                }
                let payment = &payments[random.below(payments.len() as u64) as usize];
                let minor = 1 + random.below(3_000) as i64;
                let body =
                    json!({"amount": {"minor": minor, "currency": "EUR"}, "reason": "stress"});
                let key = Uuid::now_v7().to_string();
                let ((status, refund), _) = api
                    .send_with_key(
                        "POST",
                        &format!("/v1/payments/{payment}/refunds"),
                        Some(&household.payer.token),
                        Some(&body),
                        Some(&key),
                    )
                    .await;
                assert!(
                    status == StatusCode::CREATED || status == StatusCode::BAD_REQUEST,
                    "{status}: {refund}"
                );
            }
        }
        *counts.entry(kind).or_default() += 1;
    }
    eprintln!("operations by kind: {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), OPERATIONS);
    check_ledger_matches_tables(&backend, &household.id).await;

    let admin = billing_support::administrator(&api, &backend).await;
    let (status, report) = api
        .as_user(&admin, "GET", "/v1/admin/reconciliation", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["clean"], true, "{report}");
    api.server.shutdown().await;
}

/// Checks that every transaction balances, and that per charge the
/// ledger's charge, capture and refund postings equal the table rows.
async fn check_ledger_matches_tables(backend: &TestBackend, household: &str) {
    let household = Uuid::parse_str(household).expect("uuid");
    let store = &backend.data.store;
    let ledger = store.list_ledger(Some(household)).await.expect("ledger");
    let mut created: BTreeMap<Uuid, i64> = BTreeMap::new();
    let mut captured: BTreeMap<Uuid, i64> = BTreeMap::new();
    let mut refunded: BTreeMap<Uuid, i64> = BTreeMap::new();
    for transaction in &ledger {
        let debits: i64 = transaction
            .entries
            .iter()
            .filter(|entry| entry.side == "debit")
            .map(|entry| entry.amount_minor)
            .sum();
        let credits: i64 = transaction
            .entries
            .iter()
            .filter(|entry| entry.side == "credit")
            .map(|entry| entry.amount_minor)
            .sum();
        assert_eq!(
            debits, credits,
            "transaction {} is unbalanced",
            transaction.id
        );
        let first = transaction.entries[0].amount_minor;
        let target = if transaction.kind.contains("charge_created") {
            &mut created
        } else if transaction.kind.contains("payment_captured") {
            &mut captured
        } else if transaction.kind.contains("payment_refunded") {
            &mut refunded
        } else {
            continue;
        };
        *target.entry(transaction.charge_id).or_default() += first;
    }

    let charges = store
        .list_charges(ChargeScope::Household(household))
        .await
        .expect("charges");
    let refunds = store.list_refunds(household).await.expect("refunds");
    for charge in &charges {
        assert_eq!(
            created.get(&charge.id),
            Some(&charge.amount_minor),
            "charge {}",
            charge.id
        );
        let payments = store
            .list_payments(PaymentScope::Charge(charge.id))
            .await
            .expect("payments");
        let paid: i64 = payments
            .iter()
            .filter(|payment| payment.status == "succeeded")
            .map(|payment| payment.amount_minor)
            .sum();
        let expected_paid = if charge.status == "paid" {
            charge.amount_minor
        } else {
            0
        };
        assert_eq!(paid, expected_paid, "payments of charge {}", charge.id);
        assert_eq!(
            captured.get(&charge.id).copied().unwrap_or(0),
            paid,
            "captures of charge {}",
            charge.id
        );
        let refunded_rows: i64 = refunds
            .iter()
            .filter(|refund| refund.charge_id == charge.id)
            .map(|refund| refund.amount_minor)
            .sum();
        assert!(
            refunded_rows <= paid,
            "refunds of charge {} exceed its payment",
            charge.id
        );
        assert_eq!(
            refunded.get(&charge.id).copied().unwrap_or(0),
            refunded_rows,
            "refund postings of charge {}",
            charge.id
        );
    }
    assert_eq!(
        created.len(),
        charges.len(),
        "a posting names an unknown charge"
    );
}

on_both_backends!(random_operations);
