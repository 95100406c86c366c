//! Charges with each sandbox test card, idempotency and card deletion,
//! through `POST /v1/charges` over mTLS and through the in-process handle.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{phone_client, start_remote_vault, tokenize, user};
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::money::MoneyBody;
use sharepay_vault::processor::test_cards;
use sharepay_vault::{
    ChargeRequest, ChargeStatus, RunningVault, SandboxProcessor, ServiceError, VaultClient,
};

fn charge(user_id: UserId, token: &str, key: &str, minor: i64) -> ChargeRequest {
    ChargeRequest {
        user_id,
        token: token.to_owned(),
        amount: MoneyBody {
            minor,
            currency: "EUR".to_owned(),
        },
        idempotency_key: key.to_owned(),
        description: "Electricity, November".to_owned(),
    }
}

/// A remote vault with a sandbox, a phone client and both API clients.
struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Arc<SandboxProcessor>,
    vault: RunningVault,
    phone: reqwest::Client,
    remote: VaultClient,
}

impl Setup {
    async fn new(sandbox_timeout_delay: Duration, processor_timeout: Duration) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Arc::new(SandboxProcessor::new(sandbox_timeout_delay));
        let (vault, remote) =
            start_remote_vault(dir.path(), sandbox.clone(), processor_timeout).await;
        let phone = phone_client(&vault);
        Self {
            _dir: dir,
            sandbox,
            vault,
            phone,
            remote,
        }
    }

    async fn default() -> Self {
        Self::new(Duration::from_secs(60), Duration::from_secs(5)).await
    }

    /// The remote (HTTP) client first, then the in-process one.
    fn clients(&self) -> [(&'static str, VaultClient); 2] {
        [
            ("remote", self.remote.clone()),
            ("in-process", self.vault.in_process_client()),
        ]
    }

    async fn tokenize(&self, owner: UserId, number: &str, cvc: &str) -> String {
        tokenize(&self.vault, &self.phone, owner, number, cvc).await
    }
}

#[tokio::test]
async fn sandbox_cards_give_documented_outcomes() {
    let setup = Setup::default().await;
    let cases = [
        (
            test_cards::VISA_APPROVED,
            "123",
            ChargeStatus::Approved,
            None,
            false,
        ),
        (
            test_cards::MASTERCARD_APPROVED,
            "123",
            ChargeStatus::Approved,
            None,
            false,
        ),
        (
            test_cards::AMEX_APPROVED,
            "1234",
            ChargeStatus::Approved,
            None,
            false,
        ),
        (
            test_cards::DECLINED_INSUFFICIENT_FUNDS,
            "123",
            ChargeStatus::Declined,
            Some("insufficient_funds"),
            false,
        ),
        (
            test_cards::DECLINED_STOLEN,
            "123",
            ChargeStatus::Declined,
            Some("stolen_card"),
            false,
        ),
        (
            test_cards::REQUIRES_AUTHENTICATION,
            "123",
            ChargeStatus::RequiresAuthentication,
            None,
            false,
        ),
        (
            test_cards::PROCESSING_ERROR,
            "123",
            ChargeStatus::Failed,
            None,
            true,
        ),
    ];

    for (client_name, client) in setup.clients() {
        for (index, (number, cvc, status, reason, retryable)) in cases.into_iter().enumerate() {
            let owner = user();
            let token = setup.tokenize(owner, number, cvc).await;
            let key = format!("{client_name}-case-{index}");

            let response = client
                .charge(&charge(owner, &token, &key, 2_500))
                .await
                .expect("charge answered");

            let card = format!("{client_name}, card ending {}", &number[number.len() - 4..]);
            assert_eq!(response.status, status, "{card}");
            let reason_slug = response
                .decline_reason
                .map(|r| serde_json::to_value(r).expect("slug"));
            assert_eq!(reason_slug, reason.map(serde_json::Value::from), "{card}");
            assert_eq!(response.retryable, retryable, "{card}");
            assert_eq!(response.processor_reference.is_some(), !retryable, "{card}");
            let json = serde_json::to_string(&response).expect("serialize");
            assert!(
                !json.contains(number),
                "{card}: the response contains the number"
            );
        }
    }
    assert_eq!(
        setup.sandbox.charge_count(),
        6,
        "three approvals per client moved money"
    );
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn timeout_retry_charges_once() {
    let setup = Setup::new(Duration::from_secs(3), Duration::from_millis(300)).await;

    for (client_name, client) in setup.clients() {
        let owner = user();
        let token = setup
            .tokenize(owner, test_cards::TIMEOUT_AFTER_CHARGE, "123")
            .await;
        let request = charge(owner, &token, &format!("rent-2026-12-{client_name}"), 4_200);
        let charges_before = setup.sandbox.charge_count();

        let first = client.charge(&request).await.expect("first attempt");
        let retry = client.charge(&request).await.expect("retry");
        let replay = client.charge(&request).await.expect("replay");

        assert_eq!(first.status, ChargeStatus::Failed, "{client_name}");
        assert!(first.retryable, "{client_name}: a timeout is retryable");
        assert_eq!(retry.status, ChargeStatus::Approved, "{client_name}");
        assert_eq!(replay, retry, "{client_name}: a completed charge replays");
        assert_eq!(
            setup.sandbox.charge_count() - charges_before,
            1,
            "{client_name}: the card was charged once"
        );
    }
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn reused_key_other_body_is_rejected() {
    let setup = Setup::default().await;

    for (client_name, client) in setup.clients() {
        let owner = user();
        let token = setup
            .tokenize(owner, test_cards::VISA_APPROVED, "123")
            .await;
        let key = format!("water-2026-12-{client_name}");

        let first = client
            .charge(&charge(owner, &token, &key, 1_000))
            .await
            .expect("first charge");
        let error = client
            .charge(&charge(owner, &token, &key, 1_001))
            .await
            .expect_err("same key, other amount");

        assert_eq!(first.status, ChargeStatus::Approved, "{client_name}");
        assert!(
            matches!(error, ServiceError::IdempotencyKeyReused),
            "{client_name}: {error:?}"
        );
        assert_eq!(error.to_problem().status, 422, "{client_name}");
    }
    assert_eq!(setup.sandbox.charge_count(), 2);
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn concurrent_duplicates_execute_once() {
    let setup = Setup::default().await;
    let owner = user();
    let token = setup
        .tokenize(owner, test_cards::VISA_APPROVED, "123")
        .await;
    let request = charge(owner, &token, "gas-2026-12-parallel", 3_000);

    let mut tasks = Vec::new();
    for index in 0..8 {
        let client = setup.clients()[index % 2].1.clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move { client.charge(&request).await }));
    }
    let mut charge_ids = Vec::new();
    for task in tasks {
        let response = task.await.expect("task").expect("charge");
        charge_ids.push(response.charge_id);
    }

    charge_ids.sort();
    charge_ids.dedup();
    assert_eq!(
        charge_ids.len(),
        1,
        "every duplicate got the first response"
    );
    assert_eq!(setup.sandbox.charge_count(), 1);
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn invalid_charge_names_fields() {
    let setup = Setup::default().await;
    let mut request = charge(user(), "tok_not-a-token", "short", 0);
    request.amount.currency = "EURO".to_owned();

    let error = setup
        .remote
        .charge(&request)
        .await
        .expect_err("invalid charge");

    let problem = error.to_problem();
    let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(problem.problem_type, "invalid-input");
    assert_eq!(
        fields,
        [
            "token",
            "amount.currency",
            "amount.minor",
            "idempotency_key"
        ]
    );
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn deleted_card_charge_is_not_found() {
    let setup = Setup::default().await;

    for (client_name, client) in setup.clients() {
        let owner = user();
        let token = setup
            .tokenize(owner, test_cards::VISA_APPROVED, "123")
            .await;

        let not_owner = client
            .delete_card(user(), &token)
            .await
            .expect_err("not the owner");
        client
            .delete_card(owner, &token)
            .await
            .expect("owner deletes");
        let key = format!("after-delete-{client_name}");
        let error = client
            .charge(&charge(owner, &token, &key, 500))
            .await
            .expect_err("charge on a deleted card");

        assert!(
            matches!(not_owner, ServiceError::NotFound),
            "{client_name}: {not_owner:?}"
        );
        assert!(
            matches!(error, ServiceError::NotFound),
            "{client_name}: {error:?}"
        );
        assert_eq!(
            error.to_problem().problem_type,
            "not-found",
            "{client_name}"
        );
    }
    setup.vault.shutdown().await;
}
