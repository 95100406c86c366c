//! The phone core over real TLS 1.3 against `StandInApiServer`, a loopback
//! fixture standing in for the readings endpoint the server does not have
//! yet: the HTTP reading sender, pin rules, pin failure reports, the vault's
//! own pins and the fingerprint at login.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::fixture::{ACCESS_TOKEN, Scripted, StandInApiServer};
use common::{XorWrapper, reading};
use secrecy::SecretString;
use sharepay_client::{
    BackoffPolicy, ClientConfig, ClientError, DeviceInfo, DeviceInfoError, DeviceInfoProvider,
    EndpointConfig, OutboxState, SharePayClient,
};

const PASSWORD: &str = "Tulip-Harbor-4821!";

fn config(server: &StandInApiServer, dir: &std::path::Path) -> ClientConfig {
    let mut config = ClientConfig::new(
        server.url.clone(),
        server.ca_certificate_pem.clone(),
        server.spki_pins.clone(),
        dir,
    );
    config.backoff = BackoffPolicy {
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
        max_attempts: 3,
    };
    config
}

fn random_pins() -> Vec<String> {
    (0..2)
        .map(|_| {
            let key = rcgen::KeyPair::generate().expect("key");
            BASE64.encode(ring::digest::digest(
                &ring::digest::SHA256,
                &rcgen::PublicKeyData::subject_public_key_info(&key),
            ))
        })
        .collect()
}

async fn signed_in(server: &StandInApiServer, dir: &std::path::Path) -> SharePayClient {
    let client = SharePayClient::new(config(server, dir), Arc::new(XorWrapper(3))).expect("client");
    client
        .login("reader@example.org", SecretString::from(PASSWORD))
        .await
        .expect("login");
    client
}

struct FixedDevice;

impl DeviceInfoProvider for FixedDevice {
    fn device_info(&self) -> Result<DeviceInfo, DeviceInfoError> {
        Ok(common::device())
    }
}

#[tokio::test]
async fn sync_sends_idempotency_key_and_body() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = signed_in(&server, dir.path()).await;
    let item = client
        .submit_reading(reading("meter/a b", "1234.5"))
        .expect("submit");

    let summary = client.sync_now().await.expect("sync");

    assert_eq!(summary.accepted, 1);
    let received = server.readings();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].meter_id, "meter/a b",
        "meter id must be one path segment"
    );
    assert_eq!(
        received[0].idempotency_key.as_deref(),
        Some(item.idempotency_key.as_str())
    );
    assert_eq!(received[0].bearer.as_deref(), Some(ACCESS_TOKEN));
    assert_eq!(received[0].body, item.reading.to_request());
    let stored = client.outbox_items().expect("items").remove(0);
    assert_eq!(stored.state, OutboxState::Accepted);
    assert_eq!(stored.reading_id.as_deref(), Some("reading-1"));
}

#[tokio::test]
async fn statuses_map_to_outcomes() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = signed_in(&server, dir.path()).await;
    server.script(
        "m-422",
        vec![Scripted::Status(
            422,
            "value is below the previous reading".into(),
        )],
    );
    server.script(
        "m-409",
        vec![Scripted::Status(
            409,
            "a different reading has this key".into(),
        )],
    );
    server.script(
        "m-flag",
        vec![Scripted::Flag(vec!["unusually high".into()])],
    );
    server.script("m-503", vec![Scripted::Status(503, "try again".into())]);
    server.script(
        "m-404",
        vec![Scripted::Status(404, "meter not found".into())],
    );
    server.script(
        "m-403",
        vec![Scripted::Status(403, "readers may not submit here".into())],
    );
    server.script(
        "m-400",
        vec![Scripted::Status(400, "value is not a decimal".into())],
    );
    for meter in [
        "m-422", "m-409", "m-flag", "m-503", "m-404", "m-403", "m-400",
    ] {
        client.submit_reading(reading(meter, "5")).expect("submit");
    }

    let summary = client.sync_now().await.expect("sync");

    assert_eq!(summary.rejected, 5);
    assert_eq!(summary.flagged, 1);
    assert_eq!(summary.accepted, 1, "the 503 is retried, then accepted");
    assert_eq!(summary.retries_scheduled, 1);
    let states: HashMap<String, OutboxState> = client
        .outbox_items()
        .expect("items")
        .into_iter()
        .map(|item| (item.reading.meter_id, item.state))
        .collect();
    assert_eq!(
        states["m-422"],
        OutboxState::Rejected {
            reasons: vec!["value is below the previous reading".into()]
        }
    );
    assert_eq!(
        states["m-409"],
        OutboxState::Rejected {
            reasons: vec!["a different reading has this key".into()]
        }
    );
    assert_eq!(
        states["m-flag"],
        OutboxState::Flagged {
            reasons: vec!["unusually high".into()]
        }
    );
    assert_eq!(states["m-503"], OutboxState::Accepted);
    assert_eq!(
        states["m-404"],
        OutboxState::Rejected {
            reasons: vec!["meter not found".into()]
        }
    );
    assert_eq!(
        states["m-403"],
        OutboxState::Rejected {
            reasons: vec!["readers may not submit here".into()]
        }
    );
    assert_eq!(
        states["m-400"],
        OutboxState::Rejected {
            reasons: vec!["value is not a decimal".into()]
        }
    );
    let retried: Vec<_> = server
        .readings()
        .into_iter()
        .filter(|r| r.meter_id == "m-503")
        .map(|r| r.idempotency_key)
        .collect();
    assert_eq!(retried.len(), 2);
    assert_eq!(retried[0], retried[1], "a retry reuses the idempotency key");
}

#[tokio::test]
async fn unauthorized_stops_sync_keeps_queue() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = signed_in(&server, dir.path()).await;
    server.script("m-a", vec![Scripted::Status(401, "expired".into())]);
    client.submit_reading(reading("m-a", "5")).expect("submit");

    let summary = client.sync_now().await.expect("sync");

    assert!(summary.authentication_required);
    assert_eq!(summary.pending, 1);
    let item = client.outbox_items().expect("items").remove(0);
    assert_eq!(item.state, OutboxState::Queued);
}

#[tokio::test]
async fn unreachable_server_keeps_reading_queued() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = signed_in(&server, dir.path()).await;
    client.submit_reading(reading("m-a", "5")).expect("submit");
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;

    let summary = client.sync_now().await.expect("sync");

    assert_eq!(summary.pending, 1);
    let item = client.outbox_items().expect("items").remove(0);
    assert_eq!(item.state, OutboxState::Queued);
    assert_eq!(item.attempts, 3);
    let error = item.last_error.expect("last error");
    assert!(error.contains("cannot reach the server"), "{error}");
}

#[tokio::test]
async fn pin_failure_is_queued_for_report() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = config(&server, dir.path());
    config.spki_pins = random_pins();
    let client = SharePayClient::new(config, Arc::new(XorWrapper(3))).expect("client");

    let error = client
        .login("reader@example.org", SecretString::from(PASSWORD))
        .await
        .expect_err("unpinned key");

    assert!(matches!(error, ClientError::PinMismatch), "{error:?}");
    let pending = client.pending_pin_failure_reports().expect("reports");
    assert_eq!(pending.len(), 1);
    let report = &pending[0].report;
    assert_eq!(report.endpoint, "api");
    assert_eq!(report.host, "127.0.0.1");
    assert_eq!(
        report.presented_spki_sha256,
        vec![server.spki_pins[0].clone()]
    );
    assert!(report.occurred_at.ends_with('Z'), "{}", report.occurred_at);

    client.mark_reported(&[pending[0].id]).expect("mark");
    assert!(
        client
            .pending_pin_failure_reports()
            .expect("reports")
            .is_empty()
    );
}

#[tokio::test]
async fn vault_uses_its_own_pins() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut wrong = config(&server, dir.path());
    wrong.vault = Some(EndpointConfig {
        base_url: server.url.clone(),
        ca_certificate_pem: server.ca_certificate_pem.clone(),
        spki_pins: random_pins(),
    });
    let client = SharePayClient::new(wrong, Arc::new(XorWrapper(3))).expect("client");

    let error = client
        .vault_health()
        .await
        .expect_err("vault pins do not match");
    assert!(matches!(error, ClientError::PinMismatch), "{error:?}");
    client
        .login("reader@example.org", SecretString::from(PASSWORD))
        .await
        .expect("the API pins still match");
    let pending = client.pending_pin_failure_reports().expect("reports");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].report.endpoint, "vault");
    drop(client);

    let mut right = config(&server, dir.path());
    right.vault = Some(EndpointConfig {
        base_url: server.url.clone(),
        ca_certificate_pem: server.ca_certificate_pem.clone(),
        spki_pins: server.spki_pins.clone(),
    });
    let client = SharePayClient::new(right, Arc::new(XorWrapper(3))).expect("client");
    assert_eq!(
        client.vault_health().await.expect("vault health").status,
        "ok"
    );
}

#[tokio::test]
async fn two_pins_required_unless_flag() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut single = config(&server, dir.path());
    single.spki_pins.truncate(1);

    let error = SharePayClient::new(single.clone(), Arc::new(XorWrapper(3)))
        .err()
        .expect("one pin must be refused");
    let message = error.to_string();
    assert!(matches!(error, ClientError::InvalidInput(_)), "{error:?}");
    assert!(message.contains("spki_pins"), "{message}");
    assert!(message.contains("allow_single_pin"), "{message}");

    single.allow_single_pin = true;
    let client = SharePayClient::new(single, Arc::new(XorWrapper(3))).expect("dev flag");
    client
        .login("reader@example.org", SecretString::from(PASSWORD))
        .await
        .expect("login with one pin");

    let mut vault_single = config(&server, dir.path());
    vault_single.vault = Some(EndpointConfig {
        base_url: server.url.clone(),
        ca_certificate_pem: server.ca_certificate_pem.clone(),
        spki_pins: server.spki_pins[..1].to_vec(),
    });
    let error = SharePayClient::new(vault_single, Arc::new(XorWrapper(3)))
        .err()
        .expect("one vault pin must be refused");
    assert!(error.to_string().contains("vault.spki_pins"), "{error}");
}

#[tokio::test]
async fn login_sends_device_fingerprint() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client =
        SharePayClient::new(config(&server, dir.path()), Arc::new(XorWrapper(3))).expect("client");
    client.set_device_info_provider(Arc::new(FixedDevice));
    let fingerprint = client
        .device_fingerprint()
        .expect("fingerprint")
        .expect("provider set");

    client
        .login("reader@example.org", SecretString::from(PASSWORD))
        .await
        .expect("login");

    let logins = server.logins();
    assert_eq!(
        logins[0].device_fingerprint.as_deref(),
        Some(fingerprint.as_str())
    );
    client.wipe_all().expect("wipe all");
    let after = client
        .device_fingerprint()
        .expect("fingerprint")
        .expect("provider set");
    assert_ne!(after, fingerprint);
}

#[tokio::test]
async fn sign_out_keeps_unsent_readings() {
    let server = StandInApiServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = signed_in(&server, dir.path()).await;
    client.submit_reading(reading("m-a", "5")).expect("submit");

    client.sign_out_locally().expect("sign out");

    assert!(!client.has_session().expect("session"));
    let summary = client.sync_now().await.expect("sync without session");
    assert!(summary.authentication_required);
    assert_eq!(client.outbox_items().expect("items").len(), 1);
    assert!(server.readings().is_empty());
}
