//! Sessions of the phone core against the real server: refresh ahead of
//! expiry, one refresh for many concurrent calls, the wipe and the
//! `SessionRevoked` event when the server ends the session, and logout.

use std::sync::Arc;
use std::time::Duration;

use sharepay_client::clock::SystemClock;
use sharepay_client::{ClientError, NewReading};
use sharepay_domain::meter::ReadingKind;
use sharepay_e2e::TestServer;
use sharepay_e2e::phone::{ShiftedClock, open_phone, sign_in, sign_in_new_device};

/// Moves the phone's clock to 30 s before the 15-minute access token
/// expires, inside the refresh margin.
const NEAR_EXPIRY: Duration = Duration::from_secs(15 * 60 - 30);

fn stored_refresh_token(client: &sharepay_client::SharePayClient) -> String {
    use secrecy::ExposeSecret;
    client
        .store()
        .refresh_token()
        .expect("read the store")
        .expect("a refresh token")
        .expose_secret()
        .to_owned()
}

#[tokio::test]
async fn refresh_ahead_of_expiry() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let clock = Arc::new(ShiftedClock::default());
    let (client, _events) = open_phone(&server, phone.path(), clock.clone());
    sign_in(&client, "early@example.org", true).await;
    let first = stored_refresh_token(&client);

    client.me().await.expect("me with a fresh token");
    assert_eq!(
        stored_refresh_token(&client),
        first,
        "a fresh access token is used as it is"
    );

    clock.advance(NEAR_EXPIRY);
    client.me().await.expect("me after the refresh");
    let second = stored_refresh_token(&client);
    assert_ne!(second, first, "an access token near expiry is refreshed");

    client.me().await.expect("me with the new token");
    assert_eq!(stored_refresh_token(&client), second, "one refresh only");
}

/// Two clients on one store stand for two terminal commands run at once:
/// each has no access token in memory, so both refresh. The lock file
/// beside the store makes the second present the token the first stored,
/// instead of the rotated one the server would take for reuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_store_keep_the_session() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    {
        let (client, _events) = open_phone(&server, phone.path(), Arc::new(SystemClock));
        sign_in(&client, "two.commands@example.org", true).await;
    }

    for round in 0..5 {
        let (first, first_events) = open_phone(&server, phone.path(), Arc::new(SystemClock));
        let (second, second_events) = open_phone(&server, phone.path(), Arc::new(SystemClock));
        let (one, two) = tokio::join!(first.me(), second.me());
        one.unwrap_or_else(|e| panic!("round {round}, first command: {e}"));
        two.unwrap_or_else(|e| panic!("round {round}, second command: {e}"));
        assert_eq!(first_events.session_revocations(), 0, "round {round}");
        assert_eq!(second_events.session_revocations(), 0, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_refresh_once() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let clock = Arc::new(ShiftedClock::default());
    let (client, events) = open_phone(&server, phone.path(), clock.clone());
    let client = Arc::new(client);
    sign_in(&client, "many@example.org", true).await;
    clock.advance(NEAR_EXPIRY);

    // Each call finds the token near expiry. Without serialized refreshes,
    // two of them would present the same refresh token, and the server
    // would end the session as stolen.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = Arc::clone(&client);
        calls.spawn(async move { client.me().await });
    }
    let results = calls.join_all().await;

    assert_eq!(results.len(), 8);
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    assert!(client.has_session().expect("session"));
    assert_eq!(events.session_revocations(), 0);
    let sessions = client.sessions().await.expect("sessions");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
}

#[tokio::test]
async fn ended_session_wipes_and_notifies() {
    let server = TestServer::start().await;
    let phone_a = tempfile::tempdir().expect("phone dir");
    let phone_b = tempfile::tempdir().expect("phone dir");
    let (a, a_events) = open_phone(&server, phone_a.path(), Arc::new(SystemClock));
    let (b, _) = open_phone(&server, phone_b.path(), Arc::new(SystemClock));
    sign_in(&a, "two.phones@example.org", true).await;
    sign_in_new_device(&server, &b, "two.phones@example.org").await;
    a.me().await.expect("profile cached on A");
    a.submit_reading(NewReading {
        meter_id: "meter-kept".into(),
        value: "12".into(),
        reading_time: "2026-11-30T07:00:00Z".into(),
        kind: ReadingKind::Actual,
        photo_sha256: None,
        location: None,
    })
    .expect("queue a reading");

    let sessions = b.sessions().await.expect("sessions");
    assert_eq!(sessions.len(), 2);
    let other = sessions
        .iter()
        .find(|session| !session.current)
        .expect("A's session");
    b.end_session(&other.id).await.expect("end A's session");

    let error = a.me().await.expect_err("A's session is over");
    assert!(matches!(error, ClientError::SessionRevoked(_)), "{error:?}");
    assert!(!a.has_session().expect("session"), "refresh token wiped");
    assert!(
        a.cached_profile().expect("profile").is_none(),
        "profile wiped"
    );
    assert_eq!(a.outbox_items().expect("outbox").len(), 1, "outbox kept");
    assert_eq!(a_events.session_revocations(), 1);

    let error = a.me().await.expect_err("still signed out");
    assert!(matches!(error, ClientError::Unauthorized(_)), "{error:?}");
    assert_eq!(a_events.session_revocations(), 1, "raised once");
    b.me().await.expect("B keeps its session");
}

#[tokio::test]
async fn end_others_keeps_current() {
    let server = TestServer::start().await;
    let phones: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("phone dir"))
        .collect();
    let mut clients = Vec::new();
    for (index, phone) in phones.iter().enumerate() {
        let (client, events) = open_phone(&server, phone.path(), Arc::new(SystemClock));
        if index == 0 {
            sign_in(&client, "three.phones@example.org", true).await;
        } else {
            sign_in_new_device(&server, &client, "three.phones@example.org").await;
        }
        clients.push((client, events));
    }

    let ended = clients[0].0.end_other_sessions().await.expect("end others");

    assert_eq!(ended, 2);
    clients[0]
        .0
        .me()
        .await
        .expect("this device stays signed in");
    for (client, events) in &clients[1..] {
        let error = client.me().await.expect_err("session ended");
        assert!(matches!(error, ClientError::SessionRevoked(_)), "{error:?}");
        assert!(!client.has_session().expect("session"));
        assert_eq!(events.session_revocations(), 1);
    }
}

#[tokio::test]
async fn logout_ends_server_session() {
    let server = TestServer::start().await;
    let phone_a = tempfile::tempdir().expect("phone dir");
    let phone_b = tempfile::tempdir().expect("phone dir");
    let (a, a_events) = open_phone(&server, phone_a.path(), Arc::new(SystemClock));
    let (b, _) = open_phone(&server, phone_b.path(), Arc::new(SystemClock));
    sign_in(&a, "leaving@example.org", true).await;
    sign_in_new_device(&server, &b, "leaving@example.org").await;
    let fingerprint = a.device_fingerprint().expect("fingerprint");

    let confirmed = a.logout().await.expect("logout");

    assert!(confirmed, "the server ended the session");
    assert!(!a.has_session().expect("session"));
    assert_eq!(a.device_fingerprint().expect("fingerprint"), fingerprint);
    assert_eq!(
        a_events.session_revocations(),
        0,
        "a logout is no revocation"
    );
    let sessions = b.sessions().await.expect("sessions");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert!(sessions[0].current);
}

#[tokio::test]
async fn end_session_rejects_empty_id() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let (client, _) = open_phone(&server, phone.path(), Arc::new(SystemClock));
    sign_in(&client, "empty.id@example.org", true).await;

    let error = client.end_session(" ").await.expect_err("empty id");

    assert!(matches!(error, ClientError::InvalidInput(_)), "{error:?}");
    assert!(error.to_string().contains("session_id"), "{error}");
}
