//! Second factors over HTTPS on a live server: TOTP checked against the
//! independent `oathtool`, email codes in the development mailbox and over
//! SMTP, SMS codes, login challenges for new devices, step-up checks and
//! device revocation.

mod http_support;
mod identity_support;
mod mfa_support;
mod support;

use std::time::Duration;

use base64::Engine;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use mfa_support::{MfaLive, SmtpSink, code_in, oathtool};
use support::TestBackend;

const VERIFY_SUBJECT: &str = "Confirm your SharePay email address";
const CODE_SUBJECT: &str = "Your SharePay security code";
const NEW_DEVICE_SUBJECT: &str = "New sign-in on your SharePay account";

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {value}"))
}

/// Enables TOTP for the user of `token` and returns the base32 secret.
async fn enable_totp(live: &MfaLive, email: &str, token: &str) -> String {
    live.step_up_by_email(email, token).await;
    let (status, enrollment) = live.post("/v1/me/mfa/totp", Some(token), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{enrollment}");
    let secret = text(&enrollment, "secret").to_owned();
    assert!(text(&enrollment, "otpauth_uri").starts_with("otpauth://totp/SharePay:"));
    let png = base64::engine::general_purpose::STANDARD
        .decode(text(&enrollment, "qr_png_base64"))
        .expect("base64 QR code");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the QR code is a PNG"
    );

    let code = oathtool(&secret, 0);
    let (status, confirmed) = live
        .post(
            "/v1/me/mfa/totp/confirm",
            Some(token),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(
        confirmed["recovery_codes"].as_array().expect("codes").len(),
        10
    );
    secret
}

async fn totp_accepted_once(backend: TestBackend) {
    let live = MfaLive::start(backend, |_| {}).await;
    let email = "totp@example.org";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    let secret = enable_totp(&live, email, &token).await;

    // The confirmation used the current step; the next step is within the
    // one-step skew and unused.
    let challenge = live.login(email, "phone-a").await;
    assert_eq!(challenge["mfa_required"], true, "{challenge}");
    assert_eq!(challenge["methods"], json!(["totp", "recovery_code"]));
    let next_code = oathtool(&secret, 30);
    let body =
        json!({"mfa_token": text(&challenge, "mfa_token"), "method": "totp", "code": next_code});
    let (status, tokens) = live.post("/v1/auth/mfa/verify", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        claims(text(&tokens, "access_token"))["amr"],
        json!(["pwd", "otp", "mfa"])
    );

    let replay = live.login(email, "phone-a").await;
    let body =
        json!({"mfa_token": text(&replay, "mfa_token"), "method": "totp", "code": next_code});
    let (status, problem) = live.post("/v1/auth/mfa/verify", None, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(
        text(&problem, "detail").contains("already used"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_code_accepted_once_sqlcipher() {
    totp_accepted_once(TestBackend::sqlcipher().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_code_accepted_once_postgres() {
    totp_accepted_once(TestBackend::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_code_works_once() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "recovery@example.org";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    live.step_up_by_email(email, &token).await;
    let (status, enrollment) = live.post("/v1/me/mfa/totp", Some(&token), &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let code = oathtool(text(&enrollment, "secret"), 0);
    let (_, confirmed) = live
        .post(
            "/v1/me/mfa/totp/confirm",
            Some(&token),
            &json!({"code": code}),
        )
        .await;
    let recovery = confirmed["recovery_codes"][0]
        .as_str()
        .expect("a code")
        .to_owned();

    let first = live.login(email, "phone-a").await;
    let body = json!({"mfa_token": text(&first, "mfa_token"), "method": "recovery_code", "code": recovery});
    let (status, tokens) = live.post("/v1/auth/mfa/verify", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    let second = live.login(email, "phone-a").await;
    let body = json!({"mfa_token": text(&second, "mfa_token"), "method": "recovery_code", "code": recovery});
    let (status, problem) = live.post("/v1/auth/mfa/verify", None, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (_, status_body) = live.get("/v1/me/mfa", text(&tokens, "access_token")).await;
    assert_eq!(status_body["recovery_codes_left"], 9);
}

async fn new_device_needs_email_code(backend: TestBackend) {
    let live = MfaLive::start(backend, |_| {}).await;
    let email = "device@example.org";
    live.register(email, "phone-a").await;
    live.access_token(email, "phone-a").await;

    let challenge = live.login(email, "laptop-b").await;
    assert_eq!(challenge["mfa_required"], true, "{challenge}");
    assert_eq!(challenge["methods"], json!(["email_code"]));
    let notice = live.wait_for_message(email, NEW_DEVICE_SUBJECT).await;
    assert!(notice.contains("new device"), "{notice}");

    let mfa_token = text(&challenge, "mfa_token").to_owned();
    let body = json!({"mfa_token": mfa_token, "method": "email_code"});
    let (status, sent) = live.post("/v1/auth/mfa/challenge", None, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["channel"], "email");
    let code = live.wait_for_code(email, CODE_SUBJECT, 1).await;
    let body = json!({"mfa_token": mfa_token, "method": "email_code", "code": code});
    let (status, tokens) = live.post("/v1/auth/mfa/verify", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = text(&tokens, "access_token").to_owned();
    assert_eq!(claims(&access)["amr"], json!(["pwd", "email_code", "mfa"]));

    let (status, problem) = live.post("/v1/auth/mfa/verify", None, &body).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a completed challenge is used up: {problem}"
    );
    let again = live.login(email, "laptop-b").await;
    assert!(
        again["access_token"].is_string(),
        "device is known now: {again}"
    );
    let (status, devices) = live.get("/v1/devices", &access).await;
    assert_eq!(status, StatusCode::OK);
    let fingerprints: Vec<&str> = devices["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|device| device["fingerprint"].as_str().expect("fingerprint"))
        .collect();
    assert_eq!(fingerprints, vec!["phone-a", "laptop-b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_device_needs_email_code_sqlcipher() {
    new_device_needs_email_code(TestBackend::sqlcipher().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_device_needs_email_code_postgres() {
    new_device_needs_email_code(TestBackend::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_fingerprint_is_new_device() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "nofingerprint@example.org";
    live.register(email, "phone-a").await;

    let body = json!({"email": email, "password": http_support::GOOD_PASSWORD});
    let (status, answer) = live.post("/v1/auth/login", None, &body).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["mfa_required"], true, "{answer}");
}

async fn email_codes_lock_and_single_use(backend: TestBackend) {
    let live = MfaLive::start(backend, |_| {}).await;
    let email = "codes@example.org";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    let code = live.wait_for_code(email, VERIFY_SUBJECT, 1).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for attempt in 1..=5 {
        let (status, problem) = live
            .post("/v1/me/email/verify", Some(&token), &json!({"code": wrong}))
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "attempt {attempt}: {problem}"
        );
    }
    let (status, problem) = live
        .post("/v1/me/email/verify", Some(&token), &json!({"code": code}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "locked after 5 wrong: {problem}"
    );
    assert!(text(&problem, "detail").contains("too many"), "{problem}");

    let (status, _) = live
        .post("/v1/me/email/verification", Some(&token), &json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let fresh = live.wait_for_code(email, VERIFY_SUBJECT, 2).await;
    let (status, problem) = live
        .post("/v1/me/email/verify", Some(&token), &json!({"code": fresh}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
    let (status, problem) = live
        .post("/v1/me/email/verify", Some(&token), &json!({"code": fresh}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "single use: {problem}");
    let (_, me) = live.get("/v1/me", &token).await;
    assert_eq!(me["email_verified"], true, "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_lock_and_single_use_sqlcipher() {
    email_codes_lock_and_single_use(TestBackend::sqlcipher().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_lock_and_single_use_postgres() {
    email_codes_lock_and_single_use(TestBackend::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_code_expires() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |config| {
        config.mfa.code_ttl_seconds = 1;
    })
    .await;
    let email = "expiry@example.org";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    let code = live.wait_for_code(email, VERIFY_SUBJECT, 1).await;

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, problem) = live
        .post("/v1/me/email/verify", Some(&token), &json!({"code": code}))
        .await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(text(&problem, "detail").contains("expired"), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_server_receives_code() {
    let mut sink = SmtpSink::start().await;
    let port = sink.port;
    let live = MfaLive::start(TestBackend::sqlcipher().await, move |config| {
        config.notifications.email = sharepay_server::notify::config::EmailAdapter::Smtp;
        config.notifications.smtp.host = "127.0.0.1".to_owned();
        config.notifications.smtp.port = port;
        config.notifications.smtp.tls = sharepay_server::notify::config::SmtpTls::None;
        config.notifications.smtp.from = "SharePay <no-reply@sharepay.test>".to_owned();
    })
    .await;
    let email = "smtp@example.org";
    live.register(email, "phone-a").await;

    let mail = tokio::time::timeout(Duration::from_secs(10), sink.received.recv())
        .await
        .expect("a message within 10 s")
        .expect("the sink is running");

    assert_eq!(mail.recipients, vec![format!("<{email}>")]);
    assert!(mail.data.contains(&format!("To: {email}")), "{}", mail.data);
    assert!(mail.data.contains(VERIFY_SUBJECT), "{}", mail.data);
    let code = code_in(&mail.data);
    let token = live.access_token(email, "phone-a").await;
    let (status, problem) = live
        .post("/v1/me/email/verify", Some(&token), &json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
    assert!(
        live.messages(email, VERIFY_SUBJECT).is_empty(),
        "nothing in the mailbox"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_expires_after_window() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |config| {
        config.mfa.step_up_seconds = 2;
    })
    .await;
    let email = "stepup@example.org";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    let change = json!({
        "current_password": http_support::GOOD_PASSWORD,
        "new_password": "Copper-Harbor-Lamp-917!",
    });

    let (status, problem) = live.post("/v1/me/password", Some(&token), &change).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "step-up-required");
    assert!(text(&problem, "detail").contains("email_code"), "{problem}");
    assert_eq!(problem["methods"], json!(["email_code"]), "{problem}");

    let (status, sent) = live
        .post(
            "/v1/me/step-up/challenge",
            Some(&token),
            &json!({"method": "email_code"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let code = live.wait_for_code(email, CODE_SUBJECT, 1).await;
    let (status, passed) = live
        .post(
            "/v1/me/step-up/verify",
            Some(&token),
            &json!({"method": "email_code", "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{passed}");
    let (status, problem) = live.post("/v1/me/password", Some(&token), &change).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let back = json!({
        "current_password": "Copper-Harbor-Lamp-917!",
        "new_password": "Velvet-Canyon-Drum-482!",
    });
    let (status, problem) = live.post("/v1/me/password", Some(&token), &back).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "step-up-required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_totp_needs_step_up() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |config| {
        config.mfa.step_up_seconds = 1;
    })
    .await;
    let email = "disable@example.org";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    let secret = enable_totp(&live, email, &token).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let (status, problem) = live
        .send(Method::DELETE, "/v1/me/mfa/totp", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(text(&problem, "detail").contains("totp"), "{problem}");

    let code = oathtool(&secret, 30);
    let (status, passed) = live
        .post(
            "/v1/me/step-up/verify",
            Some(&token),
            &json!({"method": "totp", "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{passed}");
    let (status, _) = live
        .send(Method::DELETE, "/v1/me/mfa/totp", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, mfa) = live.get("/v1/me/mfa", &token).await;
    assert_eq!(mfa["totp_enabled"], false);
    assert_eq!(mfa["methods"], json!(["email_code"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_factor_after_phone_verification() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "sms@example.org";
    let phone = "+4915112345678";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    live.step_up_by_email(email, &token).await;

    let (status, sent) = live
        .post("/v1/me/phone", Some(&token), &json!({"phone": phone}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["channel"], "sms");
    let code = live.wait_for_code(phone, "Phone verification", 1).await;
    let (status, problem) = live
        .post("/v1/me/phone/verify", Some(&token), &json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");

    let challenge = live.login(email, "phone-a").await;
    assert_eq!(challenge["methods"], json!(["sms_code"]), "{challenge}");
    let mfa_token = text(&challenge, "mfa_token").to_owned();
    let (status, _) = live
        .post(
            "/v1/auth/mfa/challenge",
            None,
            &json!({"mfa_token": mfa_token, "method": "sms_code"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = live.wait_for_code(phone, CODE_SUBJECT, 1).await;
    let body = json!({"mfa_token": mfa_token, "method": "sms_code", "code": code});
    let (status, tokens) = live.post("/v1/auth/mfa/verify", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        claims(text(&tokens, "access_token"))["amr"],
        json!(["pwd", "sms", "mfa"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_dies_after_five_wrong_codes() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "fivewrong@example.org";
    live.register(email, "phone-a").await;
    live.access_token(email, "phone-a").await;
    let challenge = live.login(email, "tablet-c").await;
    let mfa_token = text(&challenge, "mfa_token").to_owned();
    let (status, _) = live
        .post(
            "/v1/auth/mfa/challenge",
            None,
            &json!({"mfa_token": mfa_token, "method": "email_code"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = live.wait_for_code(email, CODE_SUBJECT, 1).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for attempt in 1..=5 {
        let body = json!({"mfa_token": mfa_token, "method": "email_code", "code": wrong});
        let (status, problem) = live.post("/v1/auth/mfa/verify", None, &body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "attempt {attempt}: {problem}"
        );
    }
    let body = json!({"mfa_token": mfa_token, "method": "email_code", "code": code});
    let (status, problem) = live.post("/v1/auth/mfa/verify", None, &body).await;

    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_device_ends_its_sessions() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "revoke@example.org";
    live.register(email, "phone-a").await;
    let phone_token = live.access_token(email, "phone-a").await;
    let challenge = live.login(email, "laptop-b").await;
    let mfa_token = text(&challenge, "mfa_token").to_owned();
    live.post(
        "/v1/auth/mfa/challenge",
        None,
        &json!({"mfa_token": mfa_token, "method": "email_code"}),
    )
    .await;
    let code = live.wait_for_code(email, CODE_SUBJECT, 1).await;
    let body = json!({"mfa_token": mfa_token, "method": "email_code", "code": code});
    let (_, tokens) = live.post("/v1/auth/mfa/verify", None, &body).await;
    let laptop_token = text(&tokens, "access_token").to_owned();

    let (_, devices) = live.get("/v1/devices", &phone_token).await;
    let laptop_id = devices["devices"][1]["id"]
        .as_str()
        .expect("device id")
        .to_owned();
    let (status, revoked) = live
        .send(
            Method::DELETE,
            &format!("/v1/devices/{laptop_id}"),
            Some(&phone_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["sessions_ended"], 1);

    let (status, _) = live.get("/v1/me", &laptop_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = live.get("/v1/me", &phone_token).await;
    assert_eq!(status, StatusCode::OK);
    let again = live.login(email, "laptop-b").await;
    assert_eq!(
        again["mfa_required"], true,
        "a revoked device needs MFA: {again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_gateway_receives_code() {
    let mut gateway = mfa_support::SmsGatewaySink::start(200).await;
    let url = gateway.url.clone();
    let live = MfaLive::start(TestBackend::sqlcipher().await, move |config| {
        config.notifications.sms = sharepay_server::notify::config::SmsAdapter::Gateway;
        config.notifications.sms_gateway.url = Some(url);
        config.notifications.sms_gateway.bearer_token =
            Some(secrecy::SecretString::from("gateway-test-token".to_owned()));
    })
    .await;
    let email = "gateway@example.org";
    let phone = "+4915187654321";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;
    live.step_up_by_email(email, &token).await;

    let (status, _) = live
        .post("/v1/me/phone", Some(&token), &json!({"phone": phone}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let sms = tokio::time::timeout(Duration::from_secs(10), gateway.received.recv())
        .await
        .expect("an SMS within 10 s")
        .expect("the gateway is running");

    assert_eq!(
        sms.authorization.as_deref(),
        Some("Bearer gateway-test-token")
    );
    assert_eq!(sms.body["to"], phone);
    let text = sms.body["text"].as_str().expect("text");
    let code = code_in(&format!("\n\n{text}"));
    let (status, problem) = live
        .post("/v1/me/phone/verify", Some(&token), &json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_stores_only_ciphertext() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "cipher@example.org";
    live.register(email, "phone-a").await;
    let code = live.wait_for_code(email, VERIFY_SUBJECT, 1).await;

    let rows = live.backend.raw_rows("notification_outbox").await;
    assert_eq!(rows.len(), 1);
    assert!(
        !support::contains(&rows[0], email.as_bytes()),
        "the recipient is encrypted"
    );
    assert!(
        !support::contains(&rows[0], code.as_bytes()),
        "the body is encrypted"
    );
    let codes = live.backend.raw_rows("one_time_codes").await;
    assert!(
        !support::contains(&codes[0], code.as_bytes()),
        "codes are hashed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_delivery_is_retried_then_given_up() {
    // A port that was just free: nothing listens there.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let live = MfaLive::start(TestBackend::sqlcipher().await, move |config| {
        config.notifications.email = sharepay_server::notify::config::EmailAdapter::Smtp;
        config.notifications.smtp.port = closed_port;
        config.notifications.smtp.tls = sharepay_server::notify::config::SmtpTls::None;
        config.notifications.max_attempts = 2;
        config.notifications.retry_base_seconds = 1;
    })
    .await;
    live.register("unreachable@example.org", "phone-a").await;

    let mut outcome = None;
    for _ in 0..100 {
        let connection = live.backend.sqlite_connection();
        let row: (u32, bool, Option<String>) = connection
            .query_row(
                "SELECT attempts, failed_at IS NOT NULL, last_error FROM notification_outbox",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .expect("read the outbox row");
        if row.1 {
            outcome = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (attempts, _, last_error) = outcome.expect("delivery given up within 10 s");
    assert_eq!(attempts, 2);
    let last_error = last_error.expect("last error");
    assert!(last_error.contains("SMTP"), "{last_error}");
    assert!(!last_error.contains("unreachable@"), "{last_error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_resends_are_rate_limited() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "flood@example.org";
    live.register(email, "phone-a").await;
    let token = live.access_token(email, "phone-a").await;

    for attempt in 1..=3 {
        let (status, body) = live
            .post("/v1/me/email/verification", Some(&token), &json!({}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "resend {attempt}: {body}");
    }
    let (status, problem) = live
        .post("/v1/me/email/verification", Some(&token), &json!({}))
        .await;

    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert_eq!(problem["type"], "rate-limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_change_needs_step_up_and_new_code() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let old_email = "before@example.org";
    let new_email = "after@example.org";
    live.register(old_email, "phone-a").await;
    let token = live.access_token(old_email, "phone-a").await;
    let change = json!({"email": new_email});

    let (status, problem) = live.post("/v1/me/email", Some(&token), &change).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "step-up-required");

    live.post(
        "/v1/me/step-up/challenge",
        Some(&token),
        &json!({"method": "email_code"}),
    )
    .await;
    let code = live.wait_for_code(old_email, CODE_SUBJECT, 1).await;
    let (status, _) = live
        .post(
            "/v1/me/step-up/verify",
            Some(&token),
            &json!({"method": "email_code", "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, sent) = live.post("/v1/me/email", Some(&token), &change).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let notice = live
        .wait_for_message(old_email, "Your SharePay email address is being changed")
        .await;
    assert!(
        !notice.contains(new_email),
        "the notice does not reveal the new address"
    );
    let (_, me) = live.get("/v1/me", &token).await;
    assert_eq!(me["email"], old_email, "unchanged until verified");

    let code = live
        .wait_for_code(new_email, "Confirm your new SharePay email address", 1)
        .await;
    let (status, problem) = live
        .post("/v1/me/email/verify", Some(&token), &json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
    let (_, me) = live.get("/v1/me", &token).await;
    assert_eq!(me["email"], new_email);
    assert_eq!(me["email_verified"], true);
    let login = json!({"email": new_email, "password": http_support::GOOD_PASSWORD, "device_fingerprint": "phone-a"});
    let (status, tokens) = live.post("/v1/auth/login", None, &login).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_factor_needs_step_up() {
    let live = MfaLive::start(TestBackend::sqlcipher().await, |_| {}).await;
    let email = "stolen.token@example.org";
    live.register(email, "phone-a").await;
    // A password-only session, as a stolen access token would be.
    let token = live.access_token(email, "phone-a").await;

    let attempts = [
        ("/v1/me/mfa/totp", json!({})),
        ("/v1/me/phone", json!({"phone": "+4915112345678"})),
        ("/v1/me/webauthn/registrations", json!({})),
    ];
    for (path, body) in attempts {
        let (status, problem) = live.post(path, Some(&token), &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        assert_eq!(problem["type"], "step-up-required", "{path}");
    }

    live.step_up_by_email(email, &token).await;
    let (status, enrollment) = live.post("/v1/me/mfa/totp", Some(&token), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{enrollment}");
}
