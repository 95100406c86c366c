//! Charges through the vault with each sandbox test card, idempotency and
//! card deletion.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{phone_client, start_vault, tokenize, user};
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::money::MoneyBody;
use sharepay_vault::processor::test_cards;
use sharepay_vault::{ChargeRequest, ChargeStatus, SandboxProcessor, ServiceError};

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

#[tokio::test]
async fn sandbox_cards_give_documented_outcomes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Arc::new(SandboxProcessor::default());
    let vault = start_vault(dir.path(), sandbox.clone(), Duration::from_secs(5), None).await;
    let client = phone_client(&vault);
    let vault_client = vault.in_process_client();
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

    for (index, (number, cvc, status, reason, retryable)) in cases.into_iter().enumerate() {
        let owner = user();
        let token = tokenize(&vault, &client, owner, number, cvc).await;
        let key = format!("charge-case-{index}");

        let response = vault_client
            .charge(&charge(owner, &token, &key, 2_500))
            .await
            .expect("charge answered");

        let last4 = &number[number.len() - 4..];
        assert_eq!(response.status, status, "card ending {last4}");
        let reason_slug = response
            .decline_reason
            .map(|r| serde_json::to_value(r).expect("slug"));
        assert_eq!(
            reason_slug,
            reason.map(serde_json::Value::from),
            "card ending {last4}"
        );
        assert_eq!(response.retryable, retryable, "card ending {last4}");
        let json = serde_json::to_string(&response).expect("serialize");
        assert!(!json.contains(number), "response contains the card number");
    }
    assert_eq!(
        sandbox.charge_count(),
        3,
        "only the three approvals moved money"
    );
    vault.shutdown().await;
}

#[tokio::test]
async fn timeout_retry_charges_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Arc::new(SandboxProcessor::new(Duration::from_secs(3)));
    let vault = start_vault(
        dir.path(),
        sandbox.clone(),
        Duration::from_millis(300),
        None,
    )
    .await;
    let client = phone_client(&vault);
    let owner = user();
    let token = tokenize(
        &vault,
        &client,
        owner,
        test_cards::TIMEOUT_AFTER_CHARGE,
        "123",
    )
    .await;
    let request = charge(owner, &token, "rent-2026-12-ada", 4_200);
    let vault_client = vault.in_process_client();

    let first = vault_client.charge(&request).await.expect("first attempt");
    let retry = vault_client.charge(&request).await.expect("retry");
    let replay = vault_client.charge(&request).await.expect("replay");

    assert_eq!(first.status, ChargeStatus::Failed);
    assert!(first.retryable, "a timeout is retryable");
    assert_eq!(retry.status, ChargeStatus::Approved);
    assert_eq!(
        replay, retry,
        "a completed charge replays its stored response"
    );
    assert_eq!(sandbox.charge_count(), 1, "the card was charged once");
    vault.shutdown().await;
}

#[tokio::test]
async fn reused_key_other_body_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Arc::new(SandboxProcessor::default());
    let vault = start_vault(dir.path(), sandbox.clone(), Duration::from_secs(5), None).await;
    let client = phone_client(&vault);
    let owner = user();
    let token = tokenize(&vault, &client, owner, test_cards::VISA_APPROVED, "123").await;
    let vault_client = vault.in_process_client();

    let first = vault_client
        .charge(&charge(owner, &token, "water-2026-12", 1_000))
        .await
        .expect("first charge");
    let error = vault_client
        .charge(&charge(owner, &token, "water-2026-12", 1_001))
        .await
        .expect_err("same key, other amount");

    assert_eq!(first.status, ChargeStatus::Approved);
    assert!(
        matches!(error, ServiceError::IdempotencyKeyReused),
        "{error:?}"
    );
    assert_eq!(error.to_problem().status, 422);
    assert_eq!(sandbox.charge_count(), 1);
    vault.shutdown().await;
}

#[tokio::test]
async fn concurrent_duplicates_execute_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Arc::new(SandboxProcessor::default());
    let vault = start_vault(dir.path(), sandbox.clone(), Duration::from_secs(5), None).await;
    let client = phone_client(&vault);
    let owner = user();
    let token = tokenize(&vault, &client, owner, test_cards::VISA_APPROVED, "123").await;
    let request = charge(owner, &token, "gas-2026-12-parallel", 3_000);

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let vault_client = vault.in_process_client();
        let request = request.clone();
        tasks.push(tokio::spawn(
            async move { vault_client.charge(&request).await },
        ));
    }
    let mut charge_ids = Vec::new();
    for task in tasks {
        let response = task.await.expect("task").expect("charge");
        charge_ids.push(response.charge_id);
    }

    charge_ids.dedup();
    assert_eq!(
        charge_ids.len(),
        1,
        "every duplicate got the first response"
    );
    assert_eq!(sandbox.charge_count(), 1);
    vault.shutdown().await;
}

#[tokio::test]
async fn deleted_card_charge_is_not_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_vault(
        dir.path(),
        Arc::new(SandboxProcessor::default()),
        Duration::from_secs(5),
        None,
    )
    .await;
    let client = phone_client(&vault);
    let owner = user();
    let token = tokenize(&vault, &client, owner, test_cards::VISA_APPROVED, "123").await;
    let vault_client = vault.in_process_client();

    let other_owner = vault_client
        .delete_card(user(), &token)
        .await
        .expect_err("not the owner");
    vault_client
        .delete_card(owner, &token)
        .await
        .expect("owner deletes");
    let error = vault_client
        .charge(&charge(owner, &token, "after-delete-1", 500))
        .await
        .expect_err("charge on a deleted card");

    assert!(
        matches!(other_owner, ServiceError::NotFound),
        "{other_owner:?}"
    );
    assert!(matches!(error, ServiceError::NotFound), "{error:?}");
    assert_eq!(error.to_problem().problem_type, "not-found");
    vault.shutdown().await;
}
