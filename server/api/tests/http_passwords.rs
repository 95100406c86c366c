//! Passwords over HTTPS on a live server: the stored hash format, the
//! pepper kept out of the database, rehashing after a pepper rotation, the
//! history rule of password changes, and login failure locks.

mod http_support;
mod identity_support;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sharepay_server::keys::KeyPurpose;
use uuid::Uuid;

use http_support::GOOD_PASSWORD;
use identity_support::{Live, claims_of, text};
use support::{contains, hex};

/// Passwords that each pass the policy.
const PASSWORDS: [&str; 6] = [
    "Copper-Meadow-Falcon-7x3q!",
    "Velvet-Harbor-Compass-8k5w!",
    "Granite-Orchid-Lantern-9m2z!",
    "Saffron-Glacier-Ribbon-4v6j!",
    "Maple-Thunder-Quiver-5b8n!",
    "Cobalt-Prairie-Whistle-6h1t!",
];

async fn change_password(
    live: &Live,
    access: &str,
    current: &str,
    new: &str,
) -> (StatusCode, Value) {
    let response = live
        .client
        .post(live.url("/v1/me/password"))
        .bearer_auth(access)
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
        .expect("send");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login_with(live: &Live, email: &str, password: &str) -> reqwest::Response {
    live.client
        .post(live.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_history_rejects_last_five() {
    let live = Live::start().await;
    let email = "history@example.com";
    live.register(email).await;
    let tokens = live.login(email, "device-1").await;
    let access = text(&tokens, "access_token").to_owned();
    live.step_up(email, &access).await;

    let mut current = GOOD_PASSWORD;
    for next in &PASSWORDS[..5] {
        let (status, body) = change_password(&live, &access, current, next).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        current = next;
    }

    for reused in PASSWORDS[..5].iter().rev() {
        let (status, body) = change_password(&live, &access, current, reused).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "reusing {reused}: {body}");
        assert_eq!(body["errors"][0]["field"], "new_password", "{body}");
    }
    let (sixth_back, body) = change_password(&live, &access, current, GOOD_PASSWORD).await;
    assert_eq!(
        sixth_back,
        StatusCode::NO_CONTENT,
        "the sixth password back is allowed again: {body}"
    );
    let (wrong_current, body) =
        change_password(&live, &access, "Not-The-Password-0000!", PASSWORDS[5]).await;
    assert_eq!(wrong_current, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "current_password", "{body}");
    let (too_short, _) = change_password(&live, &access, GOOD_PASSWORD, "Short-1!").await;
    assert_eq!(too_short, StatusCode::BAD_REQUEST);
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_ends_other_sessions() {
    let live = Live::start().await;
    let email = "change-sessions@example.com";
    live.register(email).await;
    let phone = live.login(email, "phone").await;
    let laptop = live.login(email, "laptop").await;
    live.step_up(email, text(&phone, "access_token")).await;

    let (status, _) = change_password(
        &live,
        text(&phone, "access_token"),
        GOOD_PASSWORD,
        PASSWORDS[0],
    )
    .await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        live.me_status(text(&phone, "access_token")).await,
        StatusCode::OK
    );
    assert_eq!(
        live.me_status(text(&laptop, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
    let old = login_with(&live, email, GOOD_PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = login_with(&live, email, PASSWORDS[0]).await;
    assert_eq!(new.status(), StatusCode::OK);
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_hash_format_and_pepper() {
    let live = Live::start().await;
    live.register("format@example.com").await;
    let tokens = live.login("format@example.com", "device-1").await;
    let user_id: Uuid = text(&claims_of(text(&tokens, "access_token")), "sub")
        .parse()
        .expect("user id");

    let stored = live
        .backend
        .data
        .identity
        .recent_passwords(user_id, 1)
        .await
        .expect("hash");
    let phc = &stored[0].phc;
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let salt = phc.split('$').nth(4).expect("salt field");
    let salt = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(salt)
        .expect("salt is base64");
    assert_eq!(salt.len(), 16);

    let pepper = live
        .backend
        .data
        .keys
        .current(KeyPurpose::PasswordPepper)
        .expect("pepper");
    let pepper = pepper.expose();
    let encodings = [
        pepper.to_vec(),
        hex(pepper).into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(pepper)
            .into_bytes(),
        base64::engine::general_purpose::STANDARD_NO_PAD
            .encode(pepper)
            .into_bytes(),
    ];
    let file = std::fs::read(
        live.backend
            .data_dir()
            .join(sharepay_server::data::DATABASE_FILE),
    )
    .expect("read the database file");
    let mut decrypted = Vec::new();
    for table in [
        "users",
        "sessions",
        "audit_log",
        "password_history",
        "login_throttle",
    ] {
        decrypted.extend(live.backend.raw_rows(table).await.concat());
    }
    assert!(contains(&decrypted, b"$argon2id$"), "the rows were read");
    for encoding in &encodings {
        assert!(
            !contains(&file, encoding),
            "pepper bytes in the database file"
        );
        assert!(!contains(&decrypted, encoding), "pepper bytes in a table");
    }
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pepper_rotation_rehashes_at_login() {
    let live = Live::start().await;
    let email = "rehash@example.com";
    live.register(email).await;
    let tokens = live.login(email, "device-1").await;
    let user_id: Uuid = text(&claims_of(text(&tokens, "access_token")), "sub")
        .parse()
        .expect("user id");
    let Live {
        backend, server, ..
    } = live;
    server.shutdown().await;
    let before = backend
        .data
        .identity
        .recent_passwords(user_id, 1)
        .await
        .expect("hash")
        .remove(0);
    let version = backend
        .data
        .keys
        .rotate(KeyPurpose::PasswordPepper)
        .expect("rotate the pepper");
    assert_eq!(version, 2);

    let live = Live::start_on(backend).await;
    live.login(email, "device-1").await;

    let after = live
        .backend
        .data
        .identity
        .recent_passwords(user_id, 1)
        .await
        .expect("hash")
        .remove(0);
    assert_eq!(before.pepper_version, 1);
    assert_eq!(after.pepper_version, 2);
    assert_ne!(before.phc, after.phc);
    live.login(email, "device-1").await;
    let wrong = login_with(&live, email, "Wrong-Password-Guess-77!").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_account() {
    let live = Live::start().await;
    let email = "lock@example.com";
    live.register(email).await;

    let mut unknown_detail = Value::Null;
    for attempt in 0..6 {
        // The unknown email goes first, so the known account's sixth
        // failure comes right before the locked attempt below.
        let unknown: Value = login_with(
            &live,
            &format!("nobody{attempt}@example.com"),
            GOOD_PASSWORD,
        )
        .await
        .json()
        .await
        .expect("problem");
        let response = login_with(&live, email, "Wrong-Password-Guess-77!").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
        let body: Value = response.json().await.expect("problem");
        assert_eq!(body["detail"], unknown["detail"], "one generic error");
        unknown_detail = unknown["detail"].clone();
    }
    let locked = login_with(&live, email, GOOD_PASSWORD).await;

    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(unknown_detail, "the email or password is wrong");
    tokio::time::sleep(Duration::from_secs(retry_after + 1)).await;
    let after_lock = login_with(&live, email, GOOD_PASSWORD).await;
    assert_eq!(after_lock.status(), StatusCode::OK, "the lock is temporary");
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_logins_all_count() {
    let live = Arc::new(Live::start().await);
    let email = "parallel@example.com";
    live.register(email).await;

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let live = Arc::clone(&live);
        tasks.push(tokio::spawn(async move {
            login_with(&live, email, "Wrong-Password-Guess-77!")
                .await
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), StatusCode::UNAUTHORIZED);
    }

    let index = live.backend.data.users.email_index(email).expect("index");
    let throttle = live
        .backend
        .data
        .identity
        .login_throttle(&format!("email:{}", hex(&index)))
        .await
        .expect("read")
        .expect("a counter");
    assert_eq!(throttle.failures, 8);
    let address = live
        .backend
        .data
        .identity
        .login_throttle("address:127.0.0.1")
        .await
        .expect("read")
        .expect("a counter");
    assert_eq!(address.failures, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_takes_similar_time() {
    let live = Live::start().await;
    live.register("timing@example.com").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for attempt in 0..4 {
        let started = Instant::now();
        let response = login_with(&live, "timing@example.com", "Wrong-Password-Guess-77!").await;
        known.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let started = Instant::now();
        let response = login_with(
            &live,
            &format!("absent{attempt}@example.com"),
            "Wrong-Password-Guess-77!",
        )
        .await;
        unknown.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    known.sort();
    unknown.sort();

    let known_median = known[2].as_secs_f64();
    let unknown_median = unknown[2].as_secs_f64();
    println!(
        "median wrong-password login: known {known_median:.3} s, unknown {unknown_median:.3} s"
    );
    let ratio = unknown_median / known_median;
    assert!((0.5..2.0).contains(&ratio), "ratio {ratio:.2}");
    live.server.shutdown().await;
}
