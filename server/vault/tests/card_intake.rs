//! Card intake over real TLS 1.3 with a pinned phone client.

mod common;

use std::time::Duration;

use common::{card_body, phone_client, post_card, start_default_vault, submit_card, user};

#[tokio::test]
async fn intake_returns_token_and_display_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let client = phone_client(&vault);

    let (status, body) = submit_card(
        &vault,
        &client,
        user(),
        &card_body("4242 4242 4242 4242", 12, 2030, "123"),
    )
    .await;

    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().expect("token");
    assert!(token.starts_with("tok_"), "{token}");
    assert_eq!(token.len(), 36, "{token}");
    assert!(token[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    assert_eq!(body["brand"], "visa");
    assert_eq!(body["last4"], "4242");
    assert_eq!(body["expiry_month"], 12);
    assert_eq!(body["expiry_year"], 2030);
    vault.shutdown().await;
}

#[tokio::test]
async fn invalid_cards_name_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let client = phone_client(&vault);
    let cases = [
        (
            "invalid Luhn",
            card_body("4242424242424241", 12, 2030, "123"),
            "number",
        ),
        (
            "expired",
            card_body("4242424242424242", 1, 2020, "123"),
            "expiry_year",
        ),
        (
            "Amex CVC length",
            card_body("378282246310005", 12, 2030, "123"),
            "cvc",
        ),
        (
            "Visa CVC length",
            card_body("4242424242424242", 12, 2030, "1234"),
            "cvc",
        ),
    ];

    for (case, body, field) in cases {
        let (status, problem) = submit_card(&vault, &client, user(), &body).await;
        assert_eq!(status, 400, "{case}: {problem}");
        assert_eq!(problem["type"], "invalid-input", "{case}");
        assert_eq!(problem["errors"][0]["field"], field, "{case}: {problem}");
        assert!(
            !problem.to_string().contains("424242424242"),
            "{case} echoes the number"
        );
    }
    vault.shutdown().await;
}

#[tokio::test]
async fn same_card_returns_existing_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let client = phone_client(&vault);
    let owner = user();

    let first = common::tokenize(&vault, &client, owner, "5555555555554444", "123").await;
    let second = common::tokenize(&vault, &client, owner, "5555 5555 5555 4444", "321").await;
    let other_user = common::tokenize(&vault, &client, user(), "5555555555554444", "123").await;

    assert_eq!(first, second, "same user, same card");
    assert_ne!(first, other_user, "another user gets its own token");
    vault.shutdown().await;
}

#[tokio::test]
async fn intake_token_is_single_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let client = phone_client(&vault);
    let intake = vault
        .handle()
        .issue_intake_token(user())
        .await
        .expect("token");
    let body = card_body("4242424242424242", 12, 2030, "123");
    let send = || post_card(&vault, &client, &intake.token, &body);

    let first = send().await;
    let second = send().await;
    let missing = client
        .post(format!("{}/v1/cards", vault.phone_url))
        .json(&body)
        .send()
        .await
        .expect("request without token");

    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(second.status().as_u16(), 401);
    assert_eq!(missing.status().as_u16(), 401);
    vault.shutdown().await;
}

#[tokio::test]
async fn incorrect_cvc_card_is_declined() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let client = phone_client(&vault);

    let (status, problem) = submit_card(
        &vault,
        &client,
        user(),
        &card_body("4000000000000101", 12, 2030, "123"),
    )
    .await;

    assert_eq!(status, 402, "{problem}");
    assert_eq!(problem["type"], "card-declined");
    vault.shutdown().await;
}

#[tokio::test]
async fn expired_intake_token_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = sharepay_vault::VaultConfig::new(dir.path());
    config.phone_listen = common::LOOPBACK;
    config.intake_token_lifetime = Duration::from_secs(1);
    let vault = sharepay_vault::start(config).await.expect("vault starts");
    let client = phone_client(&vault);
    let intake = vault
        .handle()
        .issue_intake_token(user())
        .await
        .expect("token");

    // Expiry is stored in whole seconds, so wait past the next full second.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let body = card_body("4242424242424242", 12, 2030, "123");
    let response = post_card(&vault, &client, &intake.token, &body).await;

    assert_eq!(response.status().as_u16(), 401);
    vault.shutdown().await;
}

#[tokio::test]
async fn intake_token_stops_after_five_failures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_default_vault(dir.path()).await;
    let client = phone_client(&vault);
    let intake = vault
        .handle()
        .issue_intake_token(user())
        .await
        .expect("token");
    let invalid = card_body("4242424242424241", 12, 2030, "123");
    let valid = card_body("4242424242424242", 12, 2030, "123");

    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = post_card(&vault, &client, &intake.token, &invalid).await;
        statuses.push(response.status().as_u16());
    }
    let valid_after_limit = post_card(&vault, &client, &intake.token, &valid).await;

    assert_eq!(statuses, [400; 5], "each invalid card is reported");
    assert_eq!(
        valid_after_limit.status().as_u16(),
        401,
        "the token is used up"
    );
    vault.shutdown().await;
}
