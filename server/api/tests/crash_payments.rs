//! A burst of payments against a `sharepay-server` process that is killed
//! with SIGKILL in the middle, then restarted on the same data. Each
//! payment is retried under its first `Idempotency-Key` until it finishes.
//! Afterwards every charge must be paid exactly once: one succeeded
//! payment and one capture in the ledger.

#[macro_use]
mod money_support;
mod billing_support;
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sharepay_server::store::money::{ChargeScope, PaymentScope};
use uuid::Uuid;

use billing_support::{APPROVED_MASTERCARD, APPROVED_VISA, approved_household, save_card};
use money_support::{Api, client_trusting};
use support::{TEST_OPERATOR_SECRET, TestBackend};

/// Extra bills approved before the burst; each adds two charges.
const EXTRA_BILLS: usize = 10;
/// How long retries may take: a key left pending by the killed process
/// blocks retries for 60 seconds before a retry may take it over.
const RETRY_DEADLINE: Duration = Duration::from_secs(180);

/// A server process with the URL and CA it printed at start.
struct ServerProcess {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl ServerProcess {
    /// Starts `sharepay-server` on the backend's data and reads its start
    /// lines.
    fn start(backend: &TestBackend) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sharepay-server"));
        for (name, _) in std::env::vars() {
            if name.starts_with("SHAREPAY_") {
                command.env_remove(name);
            }
        }
        command
            .arg("--data-dir")
            .arg(backend.data_dir())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("SHAREPAY_OPERATOR_SECRET", TEST_OPERATOR_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(url) = &backend.config.database_url {
            command.arg("--database-url").arg(url.expose());
        }

        let mut child = command.spawn().expect("start sharepay-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut url = None;
        let mut ca = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read a start line");
            if let Some(value) = line.strip_prefix("listening: ") {
                url = Some(value.to_owned());
            }
            if let Some(value) = line.strip_prefix("ca-certificate: ") {
                ca = Some(value.to_owned());
            }
            if url.is_some() && ca.is_some() {
                break;
            }
        }

        let url = url.expect("the server prints its URL");
        let pem = std::fs::read(ca.expect("the server prints its CA")).expect("read the CA");
        Self {
            child,
            url,
            client: client_trusting(&pem),
        }
    }

    /// Stops the process with SIGKILL, as a crash would.
    fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("wait for the server");
    }
}

/// One charge to pay, with its payer's token and card.
#[derive(Clone)]
struct PendingPayment {
    token: String,
    charge_id: String,
    card: String,
}

impl PendingPayment {
    async fn send(&self, process_url: &str, client: &reqwest::Client) -> Option<StatusCode> {
        client
            .post(format!(
                "{process_url}/v1/charges/{}/payments",
                self.charge_id
            ))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", format!("crash-{}", self.charge_id))
            .json(&json!({"payment_method_id": self.card}))
            .send()
            .await
            .ok()
            .map(|response| response.status())
    }
}

async fn payments_survive_kill(backend: TestBackend) {
    // Set up with an in-process server, then stop it.
    let api = Api::start(&backend).await;
    let household = approved_household(&api).await;
    for index in 0..EXTRA_BILLS {
        let body = json!({
            "amount": {"minor": 1_000 + index as i64, "currency": "EUR"},
            "period_start": "2026-10-01", "period_end": "2026-10-31",
            "provider": format!("Provider {index}"), "split_mode": "equal",
            "members": [
                {"user_id": household.payer.user_id},
                {"user_id": household.alice.user_id},
                {"user_id": household.bob.user_id},
            ],
        });
        let path = format!("/v1/households/{}/bills", household.id);
        let (status, bill) = api
            .as_user(&household.payer, "POST", &path, Some(&body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bill}");
        let approval = format!(
            "/v1/bills/{}/approval",
            bill["bill_id"].as_str().expect("id")
        );
        let (status, _) = api.as_user(&household.payer, "POST", &approval, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut payments = Vec::new();
    for (caller, number) in [
        (&household.alice, APPROVED_VISA),
        (&household.bob, APPROVED_MASTERCARD),
    ] {
        let card = save_card(&api, caller, number).await;
        let (_, charges) = api.as_user(caller, "GET", "/v1/me/charges", None).await;
        for charge in charges["charges"].as_array().expect("charges") {
            payments.push(PendingPayment {
                token: caller.token.clone(),
                charge_id: charge["charge_id"].as_str().expect("id").to_owned(),
                card: card.clone(),
            });
        }
    }
    assert_eq!(payments.len(), 2 * (EXTRA_BILLS + 1));
    api.server.shutdown().await;

    // Burst, then SIGKILL as soon as the first payment has finished, while
    // the others still run.
    let process = ServerProcess::start(&backend);
    let (finished, mut statuses) = tokio::sync::mpsc::unbounded_channel();
    for payment in payments.clone() {
        let url = process.url.clone();
        let client = process.client.clone();
        let finished = finished.clone();
        tokio::spawn(async move {
            let _ = finished.send(payment.send(&url, &client).await);
        });
    }
    drop(finished);
    let mut finished_before_kill = 0;
    let wait_for_first = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(status) = statuses.recv().await {
            if status == Some(StatusCode::CREATED) {
                finished_before_kill += 1;
                break;
            }
        }
    });
    let _ = wait_for_first.await;
    process.kill();
    while let Some(status) = statuses.recv().await {
        if status == Some(StatusCode::CREATED) {
            finished_before_kill += 1;
        }
    }
    eprintln!(
        "{finished_before_kill} of {} payments finished before the kill",
        payments.len()
    );
    assert!(
        finished_before_kill >= 1,
        "the kill came before any payment finished"
    );
    assert!(
        finished_before_kill < payments.len(),
        "every payment finished before the kill, so nothing was interrupted"
    );

    // Restart and retry every payment under its first key until it finishes.
    let process = ServerProcess::start(&backend);
    let started = Instant::now();
    for payment in &payments {
        loop {
            let status = payment.send(&process.url, &process.client).await;
            if status == Some(StatusCode::CREATED) {
                break;
            }
            assert!(
                status == Some(StatusCode::SERVICE_UNAVAILABLE) || status.is_none(),
                "charge {}: {status:?}",
                payment.charge_id
            );
            assert!(
                started.elapsed() < RETRY_DEADLINE,
                "charge {} never finished",
                payment.charge_id
            );
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    process.kill();

    // Every charge is paid once: no payment lost, none applied twice.
    let household_id = Uuid::parse_str(&household.id).expect("uuid");
    let store = &backend.data.store;
    let ledger = store.list_ledger(Some(household_id)).await.expect("ledger");
    for charge in store
        .list_charges(ChargeScope::Household(household_id))
        .await
        .expect("charges")
    {
        assert_eq!(charge.status, "paid", "charge {}", charge.id);
        let succeeded = store
            .list_payments(PaymentScope::Charge(charge.id))
            .await
            .expect("payments")
            .iter()
            .filter(|payment| payment.status == "succeeded")
            .count();
        assert_eq!(succeeded, 1, "payments of charge {}", charge.id);
        let captures = ledger
            .iter()
            .filter(|transaction| {
                transaction.charge_id == charge.id && transaction.kind.contains("payment_captured")
            })
            .count();
        assert_eq!(captures, 1, "captures of charge {}", charge.id);
    }
}

on_both_backends!(payments_survive_kill);
