//! Pin failure reports reach the server over the next good connection.
//!
//! NOTE: needs the server's `POST /v1/security/pin-failures`; against a
//! server without that route the reports stay queued and this test fails.

use std::sync::Arc;

use base64::Engine;
use sharepay_client::{ClientError, SharePayClient};
use sharepay_e2e::phone::{TestDevice, sign_in};
use sharepay_e2e::{TestServer, XorKeyWrapper};

#[tokio::test]
async fn pin_failures_reach_the_server() {
    let server = TestServer::start().await;
    let phone = tempfile::tempdir().expect("phone dir");

    // Valid CA, but two pins that match no key of the server.
    let mut config = server.client_config(phone.path());
    config.spki_pins = vec![
        base64::engine::general_purpose::STANDARD.encode([1u8; 32]),
        base64::engine::general_purpose::STANDARD.encode([2u8; 32]),
    ];
    let wrong_pins = SharePayClient::new(config, Arc::new(XorKeyWrapper(0x33))).expect("client");
    for _ in 0..3 {
        let error = wrong_pins
            .register(
                "pinned@example.org",
                secrecy::SecretString::from("x".to_owned()),
            )
            .await
            .expect_err("pin mismatch");
        assert!(matches!(error, ClientError::PinMismatch), "{error:?}");
    }
    let queued = wrong_pins.pending_pin_failure_reports().expect("reports");
    assert_eq!(queued.len(), 3);
    assert_eq!(queued[0].report.endpoint, "api");
    drop(wrong_pins);

    let client = SharePayClient::new(
        server.client_config(phone.path()),
        Arc::new(XorKeyWrapper(0x33)),
    )
    .expect("client with the right pins");
    client.set_device_info_provider(Arc::new(TestDevice));
    sign_in(&client, "pinned@example.org", true).await;

    let left = client.pending_pin_failure_reports().expect("reports");
    assert!(left.is_empty(), "still queued: {left:?}");
}
