//! The API-facing listener of a remote vault accepts only client
//! certificates issued by the configured client CA.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestCa, phone_client, remote_client, start_vault, tokenize, user};
use sharepay_domain::wire::money::MoneyBody;
use sharepay_vault::processor::test_cards;
use sharepay_vault::{
    ChargeRefundRequest, ChargeRefundStatus, ChargeRequest, ChargeStatus, RunningVault,
    SandboxProcessor, ServiceError,
};

async fn remote_vault(dir: &std::path::Path, client_ca: &TestCa) -> RunningVault {
    let ca_path = dir.join("client-ca.pem");
    std::fs::write(&ca_path, &client_ca.certificate_pem).expect("write client CA");
    start_vault(
        &dir.join("vault"),
        Arc::new(SandboxProcessor::default()),
        Duration::from_secs(5),
        Some(&ca_path),
    )
    .await
}

#[tokio::test]
async fn configured_ca_client_is_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client_ca = TestCa::new("SharePay API clients");
    let vault = remote_vault(dir.path(), &client_ca).await;
    let api = remote_client(&vault, client_ca.issue_client("sharepay-server"));
    let owner = user();

    let intake = api
        .issue_intake_token(owner)
        .await
        .expect("intake token over mTLS");
    let phone = phone_client(&vault);
    let token = tokenize(&vault, &phone, owner, test_cards::VISA_APPROVED, "123").await;
    let card = api.card(owner, &token).await.expect("card over mTLS");
    let strangers = api
        .card(user(), &token)
        .await
        .expect_err("another user's card");
    let charged = api
        .charge(&ChargeRequest {
            user_id: owner,
            token: token.clone(),
            amount: MoneyBody {
                minor: 1_999,
                currency: "EUR".to_owned(),
            },
            idempotency_key: "remote-charge-1".to_owned(),
            description: "Internet".to_owned(),
        })
        .await
        .expect("charge over mTLS");
    let refunded = api
        .refund(
            &charged.charge_id,
            &ChargeRefundRequest {
                amount: MoneyBody {
                    minor: 999,
                    currency: "EUR".to_owned(),
                },
                idempotency_key: "remote-refund-1".to_owned(),
            },
        )
        .await
        .expect("refund over mTLS");
    api.delete_card(owner, &token)
        .await
        .expect("delete over mTLS");
    let deleted_again = api
        .delete_card(owner, &token)
        .await
        .expect_err("already deleted");

    assert!(intake.expires_at > time::OffsetDateTime::now_utc());
    assert_eq!(card.token, token);
    assert_eq!(card.last4, "4242");
    assert!(matches!(strangers, ServiceError::NotFound), "{strangers:?}");
    assert_eq!(charged.status, ChargeStatus::Approved);
    assert_eq!(refunded.status, ChargeRefundStatus::Succeeded);
    assert!(
        matches!(deleted_again, ServiceError::NotFound),
        "{deleted_again:?}"
    );
    vault.shutdown().await;
}

#[tokio::test]
async fn other_ca_client_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client_ca = TestCa::new("SharePay API clients");
    let other_ca = TestCa::new("Someone else");
    let vault = remote_vault(dir.path(), &client_ca).await;
    let api = remote_client(&vault, other_ca.issue_client("sharepay-server"));

    let error = api
        .issue_intake_token(user())
        .await
        .expect_err("foreign client certificate");

    assert!(matches!(error, ServiceError::Transport(_)), "{error:?}");
    vault.shutdown().await;
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client_ca = TestCa::new("SharePay API clients");
    let vault = remote_vault(dir.path(), &client_ca).await;
    // The phone's client trusts and pins the vault but has no certificate.
    let no_identity = phone_client(&vault);
    let api_url = vault.api_url.clone().expect("remote listener");

    let result = no_identity
        .post(format!("{api_url}/v1/intake-tokens"))
        .json(&serde_json::json!({ "user_id": user() }))
        .send()
        .await;

    let error = result.expect_err("the handshake must fail without a client certificate");
    assert!(error.is_connect() || error.is_request(), "{error:?}");
    vault.shutdown().await;
}

#[tokio::test]
async fn phone_listener_lacks_api_routes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client_ca = TestCa::new("SharePay API clients");
    let vault = remote_vault(dir.path(), &client_ca).await;
    let phone = phone_client(&vault);

    let response = phone
        .post(format!("{}/v1/intake-tokens", vault.phone_url))
        .json(&serde_json::json!({ "user_id": user() }))
        .send()
        .await
        .expect("phone listener answers");

    assert_eq!(response.status().as_u16(), 404);
    let card = phone
        .get(format!(
            "{}/v1/cards/tok_{}?user_id={}",
            vault.phone_url,
            "0".repeat(32),
            user()
        ))
        .send()
        .await
        .expect("phone listener answers");
    assert_eq!(
        card.status().as_u16(),
        404,
        "no card lookup on the phone side"
    );
    vault.shutdown().await;
}
