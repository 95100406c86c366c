//! Suspicious-activity rules over HTTPS on a live server. Each rule raises
//! its security event. A high-severity event reaches a webhook receiver on
//! 127.0.0.1 with a valid signature and locks the account until an
//! administrator unlocks it. A card from a new device is rejected without a
//! lock. Phones report pin failures.

mod http_support;
mod identity_support;
mod money_support;
mod security_support;
mod support;

use reqwest::StatusCode;
use ring::hmac;
use serde_json::{Value, json};
use sharepay_server::security::config::Threshold;
use sharepay_server::security::{SecurityConfig, kind};
use sharepay_server::store::security::{SecurityEventQuery, SecurityEventRow};

use http_support::GOOD_PASSWORD;
use identity_support::{Live, claims_of, text};
use security_support::{WEBHOOK_SECRET, WebhookReceiver, admin_events, admin_token, wrong_login};
use support::TestBackend;

/// Starts a live SQLCipher server with `security` settings.
async fn start_with(security: SecurityConfig) -> Live {
    let mut backend = TestBackend::sqlcipher().await;
    backend.config.security = security;
    Live::start_on(backend).await
}

/// Reads the stored events of `kind` straight from the store.
async fn stored_events(live: &Live, kind: &str) -> Vec<SecurityEventRow> {
    live.backend
        .data
        .security
        .list_security_events(SecurityEventQuery {
            kind: Some(kind.to_owned()),
            limit: 100,
            ..SecurityEventQuery::default()
        })
        .await
        .expect("list security events")
}

fn decode_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_burst_alerts_and_locks() {
    // The receiver fails the first delivery, so the alert must be retried.
    let mut receiver = WebhookReceiver::start(1).await;
    let live = start_with(SecurityConfig {
        login_failure_burst: Threshold::new(3, 600),
        ..receiver.config()
    })
    .await;
    let admin = admin_token(&live, "admin@example.com").await;
    live.register("victim@example.com").await;
    let session = live.login("victim@example.com", "victim-phone").await;
    let victim_id = claims_of(text(&session, "access_token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();

    for attempt in 1..=3 {
        let (status, _) = live
            .post("/v1/auth/login", &wrong_login("victim@example.com"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }

    let rejected = receiver.next().await;
    let delivery = receiver.next().await;
    assert_eq!(
        rejected.body, delivery.body,
        "a retry resends the same body"
    );
    let signature = delivery.headers["x-sharepay-signature"]
        .to_str()
        .expect("signature text");
    let tag = decode_hex(signature.strip_prefix("sha256=").expect("sha256= prefix"));
    let key = hmac::Key::new(hmac::HMAC_SHA256, WEBHOOK_SECRET.as_bytes());
    hmac::verify(&key, &delivery.body, &tag).expect("the signature verifies");
    let wrong_key = hmac::Key::new(hmac::HMAC_SHA256, b"another-secret-of-the-same-length!!");
    assert!(hmac::verify(&wrong_key, &delivery.body, &tag).is_err());
    assert_eq!(delivery.headers["content-type"], "application/json");
    let alert: Value = serde_json::from_slice(&delivery.body).expect("alert JSON");
    assert_eq!(alert["kind"], kind::LOGIN_FAILURE_BURST);
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["user_id"], victim_id.as_str());
    assert_eq!(alert["account_locked"], true);
    assert_eq!(alert["details"]["failures"], 3);
    assert_eq!(
        delivery.headers["x-sharepay-event-id"],
        alert["id"].as_str().expect("id")
    );

    let good_login = json!({"email": "victim@example.com", "password": GOOD_PASSWORD});
    let (status, problem) = live.post("/v1/auth/login", &good_login).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "account-locked");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("administrator"),
        "{problem}"
    );
    assert_eq!(
        live.me_status(text(&session, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
    let (refresh, _) = live
        .refresh(text(&session, "refresh_token"), "victim-phone")
        .await;
    assert_eq!(refresh, StatusCode::UNAUTHORIZED);

    let page = admin_events(&live, &admin, &format!("user_id={victim_id}&severity=high")).await;
    let events = page["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["kind"], kind::LOGIN_FAILURE_BURST);
    assert_eq!(events[0]["reviewed"], false);
    assert_eq!(events[0]["id"], alert["id"]);

    let unlock = live
        .client
        .post(live.url(&format!("/v1/admin/users/{victim_id}/unlock")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(unlock.status(), StatusCode::OK);
    let unlocked: Value = unlock.json().await.expect("unlock body");
    assert_eq!(unlocked["was_locked"], true);
    assert_eq!(unlocked["reviewed_events"], 1);
    live.login("victim@example.com", "victim-phone").await;
    let page = admin_events(&live, &admin, &format!("user_id={victim_id}")).await;
    assert_eq!(page["events"][0]["reviewed"], true);
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlock_needs_admin_role() {
    let live = start_with(SecurityConfig::default()).await;
    live.register("plain@example.com").await;
    let tokens = live.login("plain@example.com", "device-1").await;
    let user_id = claims_of(text(&tokens, "access_token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();

    let response = live
        .client
        .post(live.url(&format!("/v1/admin/users/{user_id}/unlock")))
        .bearer_auth(text(&tokens, "access_token"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, _) = live
        .get_with("/v1/admin/security-events", text(&tokens, "access_token"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_raises_event() {
    let live = start_with(SecurityConfig {
        credential_stuffing: Threshold::new(3, 600),
        ..SecurityConfig::default()
    })
    .await;

    for index in 0..3 {
        let email = format!("nobody{index}@example.com");
        let (status, _) = live.post("/v1/auth/login", &wrong_login(&email)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let events = stored_events(&live, kind::CREDENTIAL_STUFFING).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].severity, "high");
    assert_eq!(events[0].user_id, None);
    assert_eq!(events[0].client_address.as_deref(), Some("127.0.0.1"));
    let details: Value = serde_json::from_str(&events[0].details).expect("details");
    assert_eq!(details["distinct_accounts"], 3);
    assert!(
        !events[0].details.contains("nobody"),
        "{}",
        events[0].details
    );

    // The same account again does not count twice, and the count restarted.
    for email in ["nobody3@example.com", "nobody3@example.com"] {
        live.post("/v1/auth/login", &wrong_login(email)).await;
    }
    assert_eq!(
        stored_events(&live, kind::CREDENTIAL_STUFFING).await.len(),
        1
    );
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_raise_events() {
    let live = start_with(SecurityConfig {
        refused_tokens_per_address: Threshold::new(4, 600),
        refused_tokens_per_subject: Threshold::new(3, 600),
        ..SecurityConfig::default()
    })
    .await;
    live.register("target@example.com").await;
    let tokens = live.login("target@example.com", "device-1").await;
    let access = text(&tokens, "access_token");
    let subject = claims_of(access)["sub"].as_str().expect("sub").to_owned();
    let mut forged = access.to_owned();
    forged.push('A');

    for _ in 0..3 {
        assert_eq!(live.me_status(&forged).await, StatusCode::UNAUTHORIZED);
    }
    let events = stored_events(&live, kind::REFUSED_TOKENS).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].user_id.map(|id| id.to_string()), Some(subject));
    assert_eq!(events[0].severity, "medium");
    assert!(events[0].details.contains(r#""counted_by":"subject""#));

    assert_eq!(live.me_status("not-a-jwt").await, StatusCode::UNAUTHORIZED);
    let events = stored_events(&live, kind::REFUSED_TOKENS).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].user_id, None);
    assert_eq!(events[1].client_address.as_deref(), Some("127.0.0.1"));
    assert!(events[1].details.contains(r#""counted_by":"address""#));

    // Medium events alert no one and lock nothing.
    assert_eq!(live.me_status(access).await, StatusCode::OK);
    live.server.shutdown().await;
}

fn pin_report(endpoint: &str) -> Value {
    json!({
        "occurred_at": "2026-01-31T08:00:00Z",
        "endpoint": endpoint,
        "host": "api.sharepay.test",
        "presented_spki_sha256": ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_failures_become_events() {
    let live = start_with(SecurityConfig::default()).await;
    live.register("phone@example.com").await;
    let tokens = live.login("phone@example.com", "device-1").await;
    let user_id = claims_of(text(&tokens, "access_token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();

    let anonymous = json!({"reports": [pin_report("api"), pin_report("vault")]});
    let (status, body) = live.post("/v1/security/pin-failures", &anonymous).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 2);
    let signed_in = live
        .client
        .post(live.url("/v1/security/pin-failures"))
        .bearer_auth(text(&tokens, "access_token"))
        .json(&json!({"reports": [pin_report("api")]}))
        .send()
        .await
        .expect("send");
    assert_eq!(signed_in.status(), StatusCode::ACCEPTED);
    let invalid = json!({"reports": [pin_report("database")]});
    let (status, problem) = live.post("/v1/security/pin-failures", &invalid).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "reports[0].endpoint");

    let events = stored_events(&live, kind::PIN_FAILURE).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.iter().all(|event| event.severity == "medium"));
    let owners: Vec<Option<String>> = events
        .iter()
        .map(|event| event.user_id.map(|id| id.to_string()))
        .collect();
    assert_eq!(owners, [None, None, Some(user_id)]);
    assert!(events[1].details.contains(r#""endpoint":"vault""#));

    let mut rate_limited = None;
    for _ in 0..20 {
        let response = live
            .client
            .post(live.url("/v1/security/pin-failures"))
            .json(&json!({"reports": [pin_report("api")]}))
            .send()
            .await
            .expect("send");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            rate_limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let response = rate_limited.expect("the per-address budget must run out");
    assert!(response.headers().contains_key("retry-after"));
    live.server.shutdown().await;
}

/// Builds a card registration body, as the vault would return it, whose
/// token repeats `token_letter`.
fn card_body(token_letter: char) -> Value {
    json!({
        "vault_token": format!("tok_{}", token_letter.to_string().repeat(32)),
        "brand": "visa",
        "last4": "4242",
        "expiry_month": 12,
        "expiry_year": 2099,
    })
}

/// Saves a test card at the embedded vault with an intake token of the
/// session `access_token`, and returns the body that registers it.
async fn card_at_vault(live: &Live, access_token: &str) -> Value {
    let (status, intake) = live
        .post_with("/v1/payment-methods/intake-token", access_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{intake}");
    let vault = live
        .server
        .vault_phone_endpoint
        .as_ref()
        .expect("the server embeds the vault");
    let response = money_support::client_trusting(vault.ca_certificate_pem.as_bytes())
        .post(format!("{}/v1/cards", vault.url))
        .bearer_auth(intake["intake_token"].as_str().expect("intake token"))
        .json(&json!({
            "number": "4242424242424242",
            "expiry_month": 12,
            "expiry_year": 2030,
            "cvc": "123",
            "cardholder_name": "Test Holder",
        }))
        .send()
        .await
        .expect("the vault answers");
    let status = response.status();
    let card: Value = response.json().await.expect("card JSON");
    assert_eq!(status, StatusCode::CREATED, "{card}");
    json!({
        "vault_token": card["token"],
        "brand": card["brand"],
        "last4": card["last4"],
        "expiry_month": card["expiry_month"],
        "expiry_year": card["expiry_year"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_device_card_rejected_without_lock() {
    let live = start_with(SecurityConfig::default()).await;
    live.register("second@example.com").await;
    let first = live.login("second@example.com", "device-1").await;
    let first_token = text(&first, "access_token").to_owned();
    // The second device passes MFA with an emailed code, which is also the
    // session's step-up check, so only the new-device rule applies.
    let second = live.login("second@example.com", "device-2").await;
    let second_token = text(&second, "access_token").to_owned();
    assert_eq!(stored_events(&live, kind::NEW_DEVICE).await.len(), 1);

    let (status, problem) = live
        .post_with("/v1/payment-methods", &second_token, &card_body('a'))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "new-device-payment-change", "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("signed in for longer"), "{problem}");
    assert!(detail.contains("retry from this device after"), "{problem}");

    let events = stored_events(&live, kind::NEW_DEVICE_PAYMENT_CHANGE).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].severity, "medium");
    let details: Value = serde_json::from_str(&events[0].details).expect("details JSON");
    assert_eq!(details["device_fingerprint"], "device-2");
    let allowed_at = details["allowed_at"].as_i64().expect("allowed_at");
    let window = SecurityConfig::default().new_device_payment_window_secs as i64;
    let new_device_at = stored_events(&live, kind::NEW_DEVICE).await[0]
        .created_at
        .unix_timestamp();
    assert_eq!(allowed_at, new_device_at + window);

    // The account stays open, so both sessions still work.
    let (status, methods) = live.get_with("/v1/payment-methods", &second_token).await;
    assert_eq!(status, StatusCode::OK, "{methods}");
    assert_eq!(methods["payment_methods"], json!([]));
    let (status, _) = live
        .post_with("/v1/payment-methods", &second_token, &card_body('b'))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a retry is rejected too");
    let (status, problem) = live
        .post_with(
            "/v1/payment-methods/intake-token",
            &second_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "new-device-payment-change", "{problem}");
    assert_eq!(
        live.me_status(&second_token).await,
        StatusCode::OK,
        "a rejected retry does not lock either"
    );

    // The first device never had a new-device login, so it saves a card.
    live.step_up("second@example.com", &first_token).await;
    let card = card_at_vault(&live, &first_token).await;
    let (status, saved) = live
        .post_with("/v1/payment-methods", &first_token, &card)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let (status, methods) = live.get_with("/v1/payment-methods", &second_token).await;
    assert_eq!(status, StatusCode::OK, "{methods}");
    assert_eq!(methods["payment_methods"].as_array().map(Vec::len), Some(1));
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_device_card_allowed_after_window() {
    let live = start_with(SecurityConfig {
        new_device_payment_window_secs: 1,
        ..SecurityConfig::default()
    })
    .await;
    live.register("later@example.com").await;
    live.login("later@example.com", "device-1").await;
    let second = live.login("later@example.com", "device-2").await;
    let second_token = text(&second, "access_token");

    // Stored times have one-second precision, so wait two seconds.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let card = card_at_vault(&live, second_token).await;
    let (status, saved) = live
        .post_with("/v1/payment-methods", second_token, &card)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert!(
        stored_events(&live, kind::NEW_DEVICE_PAYMENT_CHANGE)
            .await
            .is_empty()
    );
    live.server.shutdown().await;
}
