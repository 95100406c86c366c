//! The money flow end to end over HTTPS on both storage backends. A bill
//! is split by consumption while one register rolls over, approved into
//! charges and paid with cards saved at the embedded vault, including a
//! decline and a refund back to the card at the vault. The ledger must
//! balance, retries under one `Idempotency-Key` must charge and refund
//! once, a refund the processor rejects must post nothing, and no table,
//! log line or response may contain a card number.

#[macro_use]
mod money_support;
mod billing_support;
mod support;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sharepay_domain::money::{Currency, Money};
use sharepay_server::store::AuditQuery;
use sharepay_server::store::money::{
    ChargeScope, LedgerTransactionRow, PaymentMethodRow, PaymentScope,
};
use sharepay_vault::ChargeRefundRequest;
use uuid::Uuid;

use billing_support::{
    APPROVED_MASTERCARD, APPROVED_VISA, DECLINED_INSUFFICIENT_FUNDS, PROCESSING_ERROR,
    REFUND_FAILS, SLOW_PROCESSOR, approved_household, billed_household, captured_logs,
    card_at_vault, only_charge, pay, registration, save_card, step_up,
};
use money_support::Api;
use support::TestBackend;

/// Checks that every transaction balances per currency and returns the
/// sum of all debits.
fn assert_balanced(ledger: &[LedgerTransactionRow]) -> i64 {
    let mut total_debits = 0;
    for transaction in ledger {
        let mut net: BTreeMap<&str, i64> = BTreeMap::new();
        for entry in &transaction.entries {
            let signed = if entry.side == "debit" {
                total_debits += entry.amount_minor;
                entry.amount_minor
            } else {
                -entry.amount_minor
            };
            *net.entry(entry.currency.as_str()).or_default() += signed;
        }
        assert!(
            net.values().all(|sum| *sum == 0),
            "transaction {} ({}) is unbalanced: {net:?}",
            transaction.id,
            transaction.kind
        );
    }
    total_debits
}

async fn whole_money_flow(mut backend: TestBackend) {
    billing_support::capture_logs();
    // Payments of 50.00 EUR or more open a monitoring case.
    let eur = Currency::from_code("EUR").expect("EUR");
    backend.config.monitoring.thresholds = vec![Money::from_minor(5_000, eur)];
    let api = Api::start(&backend).await;
    let mut responses: Vec<String> = Vec::new();
    let household = billed_household(&api).await;
    let bill_path = format!("/v1/bills/{}", household.bill_id);

    // Every member can read the proposed split with its explanation, but
    // the meter reader cannot.
    let (status, split) = api
        .as_user(&household.alice, "GET", &format!("{bill_path}/split"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{split}");
    assert_eq!(split["frozen"], false);
    let lines = split["split"]["lines"].as_array().expect("lines");
    let total: i64 = lines
        .iter()
        .map(|line| line["amount"]["minor"].as_i64().expect("minor"))
        .sum();
    assert_eq!(total, 10_000, "{split}");
    let share = |user: &str| {
        lines
            .iter()
            .find(|line| line["member_id"] == user)
            .map(|line| line["amount"]["minor"].as_i64().expect("minor"))
            .expect("line of member")
    };
    // The standing charge 2000 splits three ways and the usage part 8000
    // by 0:30:40; the leftover cent goes to the largest remainder (payer).
    assert_eq!(share(&household.payer.user_id), 667, "{split}");
    assert_eq!(share(&household.alice.user_id), 4095, "{split}");
    assert_eq!(share(&household.bob.user_id), 5238, "{split}");
    assert!(
        lines
            .iter()
            .all(|line| !line["explanation"].as_str().unwrap_or("").is_empty()),
        "{split}"
    );
    // The payer has no meter, so their usage is zero and complete rather
    // than marked as a gap in the readings.
    let usage_of = |user: &str| {
        split["usage"]
            .as_array()
            .expect("usage")
            .iter()
            .find(|usage| usage["user_id"] == user)
            .cloned()
            .expect("usage of member")
    };
    let payer_usage = usage_of(&household.payer.user_id);
    assert_eq!(payer_usage["meter_count"], 0, "{split}");
    assert_eq!(payer_usage["usage"], "0", "{split}");
    assert_eq!(payer_usage["complete"], true, "{split}");
    let alice_usage = usage_of(&household.alice.user_id);
    assert_eq!(alice_usage["meter_count"], 1, "{split}");
    responses.push(split.to_string());
    let (status, _) = api
        .as_user(
            &household.reader,
            "GET",
            &format!("{bill_path}/split"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the meter reader sees no bill"
    );

    // A participant cannot approve; the primary payer can, once.
    let (status, _) = api
        .as_user(
            &household.alice,
            "POST",
            &format!("{bill_path}/approval"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, frozen) = api
        .as_user(
            &household.payer,
            "POST",
            &format!("{bill_path}/approval"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{frozen}");
    assert_eq!(frozen["frozen"], true);
    let (status, _) = api
        .as_user(
            &household.payer,
            "POST",
            &format!("{bill_path}/approval"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "approving twice");

    // One charge per participant share; none for the payer who paid the provider.
    let alice_charge = only_charge(&api, &household.alice).await;
    let bob_charge = only_charge(&api, &household.bob).await;
    assert_eq!(alice_charge["amount"]["minor"], 4095);
    assert_eq!(bob_charge["amount"]["minor"], 5238);
    let (_, payer_charges) = api
        .as_user(&household.payer, "GET", "/v1/me/charges", None)
        .await;
    assert_eq!(payer_charges["charges"].as_array().map(Vec::len), Some(0));
    let (status, all) = api
        .as_user(
            &household.payer,
            "GET",
            &format!("/v1/households/{}/charges", household.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["charges"].as_array().map(Vec::len), Some(2), "{all}");
    responses.push(all.to_string());

    // A new card needs a recent MFA check in the session.
    let unchecked = json!({
        "vault_token": format!("tok_{}", "0".repeat(32)),
        "brand": "visa", "last4": "4242", "expiry_month": 12, "expiry_year": 2030,
    });
    let (status, refused) = api
        .as_user(
            &household.alice,
            "POST",
            "/v1/payment-methods",
            Some(&unchecked),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["type"], "step-up-required", "{refused}");

    // Cards go to the vault; the API keeps tokens and display data.
    let alice_card = save_card(&api, &household.alice, APPROVED_VISA).await;
    let alice_again = save_card(&api, &household.alice, APPROVED_VISA).await;
    assert_eq!(alice_again, alice_card, "the same card is saved once");
    let bob_declined = save_card(&api, &household.bob, DECLINED_INSUFFICIENT_FUNDS).await;
    let bob_card = save_card(&api, &household.bob, APPROVED_MASTERCARD).await;
    let (_, methods) = api
        .as_user(&household.bob, "GET", "/v1/payment-methods", None)
        .await;
    assert_eq!(
        methods["payment_methods"].as_array().map(Vec::len),
        Some(2),
        "{methods}"
    );
    responses.push(methods.to_string());

    // Payments: Alice pays; Bob's first card is declined and the charge stays open.
    let alice_charge_id = alice_charge["charge_id"].as_str().expect("id");
    let bob_charge_id = bob_charge["charge_id"].as_str().expect("id");
    let (status, alice_payment, _) = pay(
        &api,
        &household.alice,
        alice_charge_id,
        &alice_card,
        "alice-pay-1",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{alice_payment}");
    assert_eq!(alice_payment["status"], "succeeded");
    let (status, declined, _) = pay(
        &api,
        &household.bob,
        bob_charge_id,
        &bob_declined,
        "bob-pay-1",
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{declined}");
    assert_eq!(declined["type"], "payment-declined");
    assert!(
        declined["detail"]
            .as_str()
            .unwrap_or("")
            .contains("insufficient_funds"),
        "{declined}"
    );
    assert_eq!(only_charge(&api, &household.bob).await["status"], "open");
    let (status, bob_payment, _) =
        pay(&api, &household.bob, bob_charge_id, &bob_card, "bob-pay-2").await;
    assert_eq!(status, StatusCode::CREATED, "{bob_payment}");
    assert_eq!(only_charge(&api, &household.bob).await["status"], "paid");
    let (status, paid_again, _) =
        pay(&api, &household.bob, bob_charge_id, &bob_card, "bob-pay-3").await;
    assert_eq!(status, StatusCode::CONFLICT, "{paid_again}");
    responses.extend([
        alice_payment.to_string(),
        declined.to_string(),
        bob_payment.to_string(),
    ]);

    // Refunds: only the primary payer, at most what was paid.
    let refund_path = format!(
        "/v1/payments/{}/refunds",
        alice_payment["payment_id"].as_str().expect("payment id")
    );
    let refund = json!({"amount": {"minor": 500, "currency": "EUR"}, "reason": "meter misread"});
    let ((status, _), _) = api
        .send_with_key(
            "POST",
            &refund_path,
            Some(&household.alice.token),
            Some(&refund),
            Some("r-0"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a participant cannot refund");
    let ((status, _), _) = api
        .send_with_key(
            "POST",
            &refund_path,
            Some(&household.bob.token),
            Some(&refund),
            Some("r-0"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another member's payment is hidden"
    );
    let ((status, refunded), _) = api
        .send_with_key(
            "POST",
            &refund_path,
            Some(&household.payer.token),
            Some(&refund),
            Some("r-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{refunded}");
    let too_much = json!({"amount": {"minor": 4000, "currency": "EUR"}, "reason": "all of it"});
    let ((status, rejected), _) = api
        .send_with_key(
            "POST",
            &refund_path,
            Some(&household.payer.token),
            Some(&too_much),
            Some("r-2"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{rejected}");
    assert_eq!(rejected["errors"][0]["field"], "amount");

    // A retry under the same key replays the first refund.
    let ((status, retried), replayed) = api
        .send_with_key(
            "POST",
            &refund_path,
            Some(&household.payer.token),
            Some(&refund),
            Some("r-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{retried}");
    assert!(replayed, "the retry must replay the stored refund");
    assert_eq!(retried["refund_id"], refunded["refund_id"]);
    responses.extend([refunded.to_string(), rejected.to_string()]);

    // The vault refunded 500 of the card charge, once: asking it for the
    // whole payment names exactly what is left.
    let payment_id =
        Uuid::parse_str(alice_payment["payment_id"].as_str().expect("id")).expect("uuid");
    let payment = backend
        .data
        .store
        .find_payment(payment_id)
        .await
        .expect("payment")
        .expect("the payment exists");
    let vault_charge_id = payment
        .vault_charge_id
        .clone()
        .expect("the payment stores the vault's charge id");
    let vault = api.server.embedded_vault_client().expect("embedded vault");
    let whole = ChargeRefundRequest {
        amount: sharepay_domain::wire::money::MoneyBody {
            minor: payment.amount_minor,
            currency: "EUR".to_owned(),
        },
        idempotency_key: "probe-refund-whole-payment".to_owned(),
    };
    let probe = vault
        .refund(&vault_charge_id, &whole)
        .await
        .expect_err("500 are already refunded at the vault");
    let left = payment.amount_minor - 500;
    assert!(
        probe
            .to_string()
            .contains(&format!("at most {left} minor units")),
        "{probe}"
    );

    // The ledger balances and matches the charges, payments and refund.
    let ledger = backend.data.store.list_ledger(None).await.expect("ledger");
    let debits = assert_balanced(&ledger);
    let charged: i64 = backend
        .data
        .store
        .list_charges(ChargeScope::Household(
            Uuid::parse_str(&household.id).expect("uuid"),
        ))
        .await
        .expect("charges")
        .iter()
        .map(|charge| charge.amount_minor)
        .sum();
    assert_eq!(charged, 4095 + 5238);
    // Charges, two captures, and a refund that posts both of its halves.
    assert_eq!(debits, charged + charged + 500 + 500, "{ledger:#?}");

    // Statements add up, and both participants owe nothing at the end.
    for member in [&household.alice, &household.bob] {
        let path = format!(
            "/v1/households/{}/statements?member={}&from=2026-01-01&to=2026-12-31",
            household.id, member.user_id
        );
        let (status, statements) = api.as_user(&household.payer, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{statements}");
        let statement = &statements["statements"][0];
        let lines: i64 = statement["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|line| line["amount"]["minor"].as_i64().expect("minor"))
            .sum();
        let opening = statement["opening_balance"]["minor"]
            .as_i64()
            .expect("opening");
        let closing = statement["closing_balance"]["minor"]
            .as_i64()
            .expect("closing");
        assert_eq!(opening + lines, closing, "{statement}");
        assert_eq!(closing, 0, "{statement}");
        assert_eq!(statement["settled"], true);
        responses.push(statements.to_string());
    }
    let bob_own = format!(
        "/v1/households/{}/statements?member={}&from=2026-01-01&to=2026-12-31",
        household.id, household.alice.user_id
    );
    let (status, _) = api.as_user(&household.bob, "GET", &bob_own, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a participant reads only their own statement"
    );

    // The administrator reconciles the ledger and reviews monitoring cases.
    let admin = billing_support::administrator(&api, &backend).await;
    let (status, report) = api
        .as_user(&admin, "GET", "/v1/admin/reconciliation", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["clean"], true, "{report}");
    assert_eq!(report["charges"], 2, "{report}");
    let (status, cases) = api
        .as_user(&admin, "GET", "/v1/admin/monitoring-cases", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cases}");
    let bob_payment_id = bob_payment["payment_id"].clone();
    let case = cases["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|case| case["rule"] == "amount_threshold" && case["payment_id"] == bob_payment_id)
        .cloned()
        .unwrap_or_else(|| panic!("no amount_threshold case for Bob's payment: {cases}"));
    let close = format!(
        "/v1/admin/monitoring-cases/{}/close",
        case["case_id"].as_str().expect("id")
    );
    let resolution = json!({"resolution": "utility bill, amount expected"});
    let (status, closed) = api.as_user(&admin, "POST", &close, Some(&resolution)).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["status"], "closed");
    let (status, _) = api.as_user(&admin, "POST", &close, Some(&resolution)).await;
    assert_eq!(status, StatusCode::CONFLICT, "closing twice");
    let (status, _) = api
        .as_user(&household.payer, "POST", &close, Some(&resolution))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only administrators see cases"
    );
    let audit = backend
        .data
        .store
        .list_audit(AuditQuery {
            after_id: 0,
            since: None,
            limit: 10_000,
        })
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|row| row.action == "monitoring_case.close"),
        "closing a case is audited"
    );
    responses.extend([report.to_string(), cases.to_string(), closed.to_string()]);

    assert_no_card_numbers(&backend, &responses).await;
    api.server.shutdown().await;
}

/// Scans every API table, the captured log lines and the response bodies
/// for the test card numbers.
async fn assert_no_card_numbers(backend: &TestBackend, responses: &[String]) {
    let numbers = [
        APPROVED_VISA,
        APPROVED_MASTERCARD,
        DECLINED_INSUFFICIENT_FUNDS,
    ];
    let tables = [
        "users",
        "sessions",
        "audit_log",
        "households",
        "household_members",
        "household_invitations",
        "meters",
        "meter_assignments",
        "meter_readings",
        "reading_corrections",
        "idempotency_keys",
        "bills",
        "bill_delegations",
        "charges",
        "payment_methods",
        "payments",
        "refunds",
        "ledger_transactions",
        "ledger_entries",
        "monitoring_cases",
    ];
    for table in tables {
        for row in backend.raw_rows(table).await {
            for number in numbers {
                assert!(
                    !support::contains(&row, number.as_bytes()),
                    "table {table} holds a card number"
                );
            }
        }
    }
    let logs = captured_logs();
    assert!(!logs.is_empty(), "the log capture caught nothing");
    for number in numbers {
        assert!(!logs.contains(number), "a log line holds a card number");
        for body in responses {
            assert!(
                !body.contains(number),
                "a response holds a card number: {body}"
            );
        }
    }
}

async fn payment_retries_charge_once(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let card = save_card(&api, &household.alice, APPROVED_VISA).await;
    let charge = only_charge(&api, &household.alice).await;
    let charge_id = charge["charge_id"].as_str().expect("id").to_owned();

    // Concurrent duplicates run once: the others replay or wait.
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let http = api.http.clone();
        let url = format!("{}/v1/charges/{charge_id}/payments", api.server.url);
        let token = household.alice.token.clone();
        let body = json!({"payment_method_id": card});
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "same-key-1")
                .json(&body)
                .send()
                .await
                .expect("request");
            let replayed = response.headers().contains_key("idempotent-replayed");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, replayed, body)
        }));
    }
    let mut first_runs = 0;
    let mut payment_ids = Vec::new();
    for task in tasks {
        let (status, replayed, body) = task.await.expect("task");
        assert!(
            status == StatusCode::CREATED || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}: {body}"
        );
        if status == StatusCode::CREATED {
            if !replayed {
                first_runs += 1;
            }
            payment_ids.push(body["payment_id"].clone());
        }
    }
    assert_eq!(first_runs, 1, "exactly one request ran");

    // A retry replays the stored response; another body under the key is 422.
    let (status, replay, replayed) =
        pay(&api, &household.alice, &charge_id, &card, "same-key-1").await;
    assert_eq!(status, StatusCode::CREATED, "{replay}");
    assert!(replayed);
    assert!(
        payment_ids.iter().all(|id| *id == replay["payment_id"]),
        "{payment_ids:?}"
    );
    let other_card = save_card(&api, &household.alice, APPROVED_MASTERCARD).await;
    let (status, reused, _) = pay(
        &api,
        &household.alice,
        &charge_id,
        &other_card,
        "same-key-1",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reused}");

    let captures = backend
        .data
        .store
        .list_ledger(None)
        .await
        .expect("ledger")
        .iter()
        .filter(|transaction| transaction.kind.contains("payment_captured"))
        .count();
    assert_eq!(captures, 1, "the card was charged once");
    api.server.shutdown().await;
}

async fn timeout_retry_charges_once(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let card = save_card(&api, &household.alice, SLOW_PROCESSOR).await;
    let charge = only_charge(&api, &household.alice).await;
    let charge_id = charge["charge_id"].as_str().expect("id").to_owned();

    // The processor responds after the vault's timeout, so the outcome is
    // unknown. The payment stays pending and the charge open.
    let (status, unknown, _) = pay(&api, &household.alice, &charge_id, &card, "slow-1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{unknown}");
    assert_eq!(unknown["type"], "payment-outcome-unknown");
    assert_eq!(only_charge(&api, &household.alice).await["status"], "open");

    // The retry continues the same payment under the same vault key.
    let mut outcome = (StatusCode::SERVICE_UNAVAILABLE, Value::Null);
    for _ in 0..10 {
        let (status, body, _) = pay(&api, &household.alice, &charge_id, &card, "slow-1").await;
        outcome = (status, body);
        if status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
    }
    assert_eq!(outcome.0, StatusCode::CREATED, "{}", outcome.1);
    let payments = backend
        .data
        .store
        .list_payments(PaymentScope::Charge(
            Uuid::parse_str(&charge_id).expect("uuid"),
        ))
        .await
        .expect("payments");
    assert_eq!(payments.len(), 1, "one payment row: {payments:?}");
    let captures = backend
        .data
        .store
        .list_ledger(None)
        .await
        .expect("ledger")
        .iter()
        .filter(|transaction| transaction.kind.contains("payment_captured"))
        .count();
    assert_eq!(captures, 1, "the card was charged once");
    api.server.shutdown().await;
}

async fn changed_bill_needs_new_approval(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let bill_path = format!("/v1/bills/{}", household.bill_id);
    let body = billing_support::bill_body(
        &household.payer,
        &household.alice,
        &household.bob,
        &household.alice_meter,
        &household.bob_meter,
        12_000,
    );

    let (status, changed) = api
        .as_user(&household.payer, "PUT", &bill_path, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["status"], "proposed");
    let (status, _) = api
        .as_user(
            &household.payer,
            "POST",
            &format!("{bill_path}/approval"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, charges) = api
        .as_user(
            &household.payer,
            "GET",
            &format!("/v1/households/{}/charges", household.id),
            None,
        )
        .await;
    let list = charges["charges"].as_array().expect("charges");
    let open: i64 = list
        .iter()
        .filter(|charge| charge["status"] == "open")
        .map(|charge| charge["amount"]["minor"].as_i64().expect("minor"))
        .sum();
    let cancelled = list
        .iter()
        .filter(|charge| charge["status"] == "cancelled")
        .count();
    assert_eq!(cancelled, 2, "{charges}");
    assert!(open > 9_333, "{charges}");
    assert_balanced(&backend.data.store.list_ledger(None).await.expect("ledger"));
    api.server.shutdown().await;
}

async fn delegate_approves_one_bill(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = billed_household(&api).await;
    let bill_path = format!("/v1/bills/{}", household.bill_id);

    let (status, _) = api
        .as_user(
            &household.bob,
            "POST",
            &format!("{bill_path}/approval"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "before the delegation");
    let (status, refused) = api
        .as_user(
            &household.payer,
            "POST",
            &format!("{bill_path}/delegations"),
            Some(&json!({"user_id": household.reader.user_id})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "user_id", "{refused}");
    let (status, delegation) = api
        .as_user(
            &household.payer,
            "POST",
            &format!("{bill_path}/delegations"),
            Some(&json!({"user_id": household.bob.user_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{delegation}");
    let (status, frozen) = api
        .as_user(
            &household.bob,
            "POST",
            &format!("{bill_path}/approval"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{frozen}");
    api.server.shutdown().await;
}

/// A refund the processor rejects returns 409 with the reason, posts
/// nothing, and returns the same on a retry under the same key.
async fn failed_refund_posts_nothing(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let card = save_card(&api, &household.alice, REFUND_FAILS).await;
    let charge = only_charge(&api, &household.alice).await;
    let charge_id = charge["charge_id"].as_str().expect("id").to_owned();
    let (status, payment, _) = pay(&api, &household.alice, &charge_id, &card, "pay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let ledger_before = backend
        .data
        .store
        .list_ledger(None)
        .await
        .expect("ledger")
        .len();

    let refund_path = format!(
        "/v1/payments/{}/refunds",
        payment["payment_id"].as_str().expect("payment id")
    );
    let refund = json!({"amount": {"minor": 100, "currency": "EUR"}, "reason": "overcharged"});
    for attempt in ["first", "retry"] {
        let ((status, failed), _) = api
            .send_with_key(
                "POST",
                &refund_path,
                Some(&household.payer.token),
                Some(&refund),
                Some("refund-fails-1"),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{attempt}: {failed}");
        let detail = failed["detail"].as_str().expect("detail");
        assert!(
            detail.contains("expired_or_canceled_card"),
            "{attempt}: {detail}"
        );
    }

    let ledger_after = backend
        .data
        .store
        .list_ledger(None)
        .await
        .expect("ledger")
        .len();
    let refunds = backend
        .data
        .store
        .list_refunds(Uuid::parse_str(&household.id).expect("uuid"))
        .await
        .expect("refunds");
    assert_eq!(ledger_after, ledger_before, "a failed refund posts nothing");
    assert!(refunds.is_empty(), "{refunds:?}");
    assert_eq!(only_charge(&api, &household.alice).await["status"], "paid");
    api.server.shutdown().await;
}

/// Checks that a bill naming a meter reader, who owes no share, is rejected
/// on that member's field.
async fn meter_reader_owes_no_share(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = billed_household(&api).await;
    let body = json!({
        "amount": {"minor": 9_000, "currency": "EUR"},
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "provider": "City Water",
        "split_mode": "equal",
        "members": [
            {"user_id": household.alice.user_id},
            {"user_id": household.reader.user_id},
        ],
    });

    let (status, problem) = api
        .as_user(
            &household.payer,
            "POST",
            &format!("/v1/households/{}/bills", household.id),
            Some(&body),
        )
        .await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "members[1].user_id",
        "{problem}"
    );
    let message = problem["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("meter reader"), "{message}");
    api.server.shutdown().await;
}

/// Checks that the API registers only the caller's cards at the vault,
/// stores the vault's display data, and takes a new expiry on a re-save.
async fn cards_are_checked_at_the_vault(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = billed_household(&api).await;
    let (alice, bob) = (&household.alice, &household.bob);
    step_up(&api, alice).await;

    let bobs_card = card_at_vault(&api, bob, APPROVED_VISA, (12, 2030)).await;
    let (status, problem) = api
        .as_user(
            alice,
            "POST",
            "/v1/payment-methods",
            Some(&registration(&bobs_card)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "vault_token", "{problem}");

    let card = card_at_vault(&api, alice, APPROVED_VISA, (12, 2030)).await;
    let mut false_display = registration(&card);
    false_display["brand"] = json!("mastercard");
    false_display["last4"] = json!("9999");
    let (status, saved) = api
        .as_user(alice, "POST", "/v1/payment-methods", Some(&false_display))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["brand"], "visa", "{saved}");
    assert_eq!(saved["last4"], "4242", "{saved}");

    let reissued = card_at_vault(&api, alice, APPROVED_VISA, (11, 2031)).await;
    let (status, again) = api
        .as_user(
            alice,
            "POST",
            "/v1/payment-methods",
            Some(&registration(&reissued)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["payment_method_id"], saved["payment_method_id"]);
    assert_eq!(again["expiry_month"], 11, "{again}");
    assert_eq!(again["expiry_year"], 2031, "{again}");
    api.server.shutdown().await;
}

/// Checks that a card whose payment has no known outcome is not deleted,
/// because the retry that finishes the payment needs it.
async fn card_of_pending_payment_stays(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let card = save_card(&api, &household.alice, PROCESSING_ERROR).await;
    let charge = only_charge(&api, &household.alice).await;
    let charge_id = charge["charge_id"].as_str().expect("charge id");

    let (status, unknown, _) = pay(&api, &household.alice, charge_id, &card, "pending-1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{unknown}");
    let (status, problem) = api
        .as_user(
            &household.alice,
            "DELETE",
            &format!("/v1/payment-methods/{card}"),
            None,
        )
        .await;

    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("no known outcome"), "{detail}");
    api.server.shutdown().await;
}

/// Checks that a payment with a card missing from the vault charges
/// nothing and leaves the charge open for another card.
async fn card_gone_from_vault_is_declined(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let alice = &household.alice;
    let user_id = Uuid::parse_str(&alice.user_id).expect("user id");
    // As after a deletion at the vault that the API did not see.
    let lost_card = PaymentMethodRow {
        id: Uuid::now_v7(),
        user_id,
        vault_token: format!("tok_{}", "7".repeat(32)),
        brand: "visa".to_owned(),
        last4: "4242".to_owned(),
        expiry_month: 12,
        expiry_year: 2030,
        created_at: time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("seconds"),
        deleted_at: None,
    };
    backend
        .data
        .store
        .insert_payment_method(lost_card.clone())
        .await
        .expect("store the payment method");
    let charge = only_charge(&api, alice).await;
    let charge_id = charge["charge_id"].as_str().expect("charge id");

    let (status, declined, _) =
        pay(&api, alice, charge_id, &lost_card.id.to_string(), "gone-1").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{declined}");
    let detail = declined["detail"].as_str().expect("detail");
    assert!(detail.contains("card_not_found"), "{detail}");

    let card = save_card(&api, alice, APPROVED_VISA).await;
    let (status, paid, _) = pay(&api, alice, charge_id, &card, "gone-2").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    api.server.shutdown().await;
}

/// Checks that a member who owes an open charge is not removed until it is
/// paid, because a removed member could neither see nor pay it.
async fn debtor_is_not_removed(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    let path = format!(
        "/v1/households/{}/members/{}",
        household.id, household.bob.user_id
    );

    let (status, problem) = api.as_user(&household.payer, "DELETE", &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("owes 1 open charge"), "{detail}");

    let card = save_card(&api, &household.bob, APPROVED_VISA).await;
    let charge = only_charge(&api, &household.bob).await;
    let charge_id = charge["charge_id"].as_str().expect("charge id");
    let (status, paid, _) = pay(&api, &household.bob, charge_id, &card, "bob-1").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    let (status, removed) = api.as_user(&household.payer, "DELETE", &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{removed}");
    api.server.shutdown().await;
}

on_both_backends!(
    debtor_is_not_removed,
    card_gone_from_vault_is_declined,
    cards_are_checked_at_the_vault,
    card_of_pending_payment_stays,
    meter_reader_owes_no_share,
    whole_money_flow,
    failed_refund_posts_nothing,
    payment_retries_charge_once,
    timeout_retry_charges_once,
    changed_bill_needs_new_approval,
    delegate_approves_one_bill,
);
