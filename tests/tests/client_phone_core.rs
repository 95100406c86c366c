//! The phone core's local features against the real server: the
//! fingerprint at login, the outbox's rejection of a reading for an
//! unknown meter, and the session wipe at sign-out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use sharepay_client::{
    BackoffPolicy, DeviceInfo, DeviceInfoError, DeviceInfoProvider, NewReading, OutboxState,
    SharePayClient,
};
use sharepay_domain::meter::ReadingKind;
use sharepay_e2e::{GOOD_PASSWORD, TestServer, XorKeyWrapper};

struct Phone;

impl DeviceInfoProvider for Phone {
    fn device_info(&self) -> Result<DeviceInfo, DeviceInfoError> {
        Ok(DeviceInfo {
            platform: "ios".into(),
            os_version: "18.2".into(),
            model: "iPhone16,1".into(),
            app_version: "1.0.0".into(),
            locale: "en-GB".into(),
            time_zone: "Europe/London".into(),
            extra: HashMap::new(),
        })
    }
}

fn reading(meter_id: &str, value: &str) -> NewReading {
    NewReading {
        meter_id: meter_id.into(),
        value: value.into(),
        reading_time: "2026-12-04T08:15:00Z".into(),
        kind: ReadingKind::Actual,
        photo_sha256: None,
        location: None,
    }
}

async fn signed_in(server: &TestServer, dir: &std::path::Path, email: &str) -> SharePayClient {
    let mut config = server.client_config(dir);
    config.backoff = BackoffPolicy {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        max_attempts: 2,
    };
    let client = SharePayClient::new(config, Arc::new(XorKeyWrapper(9))).expect("client");
    client.set_device_info_provider(Arc::new(Phone));
    client
        .register(email, SecretString::from(GOOD_PASSWORD))
        .await
        .expect("register");
    client
        .login(email, SecretString::from(GOOD_PASSWORD))
        .await
        .expect("login with a device fingerprint");
    client
}

#[tokio::test]
async fn login_with_fingerprint_and_both_pins() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    assert_eq!(
        server.server.spki_pins.len(),
        2,
        "the server prints two pins"
    );

    let client = signed_in(&server, phone.path(), "fingerprint@example.org").await;

    assert!(client.has_session().expect("session"));
    let fingerprint = client
        .device_fingerprint()
        .expect("fingerprint")
        .expect("provider");
    assert_eq!(fingerprint.len(), 43);
    assert!(
        client
            .pending_pin_failure_reports()
            .expect("reports")
            .is_empty()
    );
}

#[tokio::test]
async fn reading_for_unknown_meter_rejected() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let client = signed_in(&server, phone.path(), "reader@example.org").await;
    // A well-formed meter id that the server does not know answers 404,
    // which is final: sending it again gets the same answer.
    let unknown_meter = "01890a5d-ac96-774b-bcce-b302099a8057";
    let item = client
        .submit_reading(reading(unknown_meter, "100.5"))
        .expect("submit");

    let summary = client.sync_now().await.expect("sync");

    assert_eq!(summary.pending, 0);
    assert_eq!(summary.rejected, 1);
    assert_eq!(summary.retries_scheduled, 0);
    let stored = client.outbox_items().expect("items").remove(0);
    assert_eq!(stored.idempotency_key, item.idempotency_key);
    assert_eq!(
        stored.attempts, 0,
        "a final rejection is not a failed attempt"
    );
    let OutboxState::Rejected { reasons } = stored.state else {
        panic!("expected a rejection, got {:?}", stored.state);
    };
    assert!(!reasons.is_empty());
    assert!(!reasons[0].is_empty(), "{reasons:?}");
}

#[tokio::test]
async fn sign_out_wipes_session_not_outbox() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");
    let client = signed_in(&server, phone.path(), "signout@example.org").await;
    client.me().await.expect("me");
    client
        .submit_reading(reading("meter-1", "7"))
        .expect("submit");
    let fingerprint = client.device_fingerprint().expect("fingerprint");

    client.sign_out_locally().expect("sign out");

    assert!(!client.has_session().expect("session"));
    assert!(client.cached_profile().expect("profile").is_none());
    assert_eq!(client.outbox_items().expect("items").len(), 1);
    assert_eq!(
        client.device_fingerprint().expect("fingerprint"),
        fingerprint
    );
    let error = client.me().await.expect_err("signed out");
    assert!(
        matches!(error, sharepay_client::ClientError::Unauthorized(_)),
        "{error:?}"
    );
}
