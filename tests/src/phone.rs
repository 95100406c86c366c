//! Phone-side helpers for end-to-end tests: a device, a clock the test can
//! move forward, a recorder of the core's events, and a household with a
//! meter reader set up through the client's own use cases.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use sharepay_client::clock::{Clock, SystemClock};
use sharepay_client::{
    BackoffPolicy, DeviceInfo, DeviceInfoError, DeviceInfoProvider, NewReading, SharePayClient,
    SyncEvent, SyncEventListener,
};
use sharepay_domain::authz::Role;
use sharepay_domain::meter::{MeterUnit, ReadingKind};
use sharepay_domain::wire::households::CreateMeterRequest;

use crate::{GOOD_PASSWORD, TestServer, XorKeyWrapper};

/// A phone with fixed attributes.
pub struct TestDevice;

impl DeviceInfoProvider for TestDevice {
    fn device_info(&self) -> Result<DeviceInfo, DeviceInfoError> {
        Ok(DeviceInfo {
            platform: "android".into(),
            os_version: "15".into(),
            model: "Pixel 9".into(),
            app_version: "1.0.0".into(),
            locale: "de-DE".into(),
            time_zone: "Europe/Berlin".into(),
            extra: HashMap::new(),
        })
    }
}

/// The system clock shifted by an offset that the test sets, so the client
/// believes its access token is about to expire. Sleeping is real.
#[derive(Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, by: Duration) {
        let by_ms = i64::try_from(by.as_millis()).expect("a short shift");
        self.offset_ms.fetch_add(by_ms, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Clock for ShiftedClock {
    fn now_unix_ms(&self) -> i64 {
        SystemClock.now_unix_ms() + self.offset_ms.load(Ordering::SeqCst)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Records every event the core emits.
#[derive(Default)]
pub struct EventLog {
    events: Mutex<Vec<SyncEvent>>,
}

impl EventLog {
    pub fn events(&self) -> Vec<SyncEvent> {
        self.events.lock().expect("event log").clone()
    }

    pub fn session_revocations(&self) -> usize {
        self.events()
            .iter()
            .filter(|event| matches!(event, SyncEvent::SessionRevoked { .. }))
            .count()
    }
}

impl SyncEventListener for EventLog {
    fn on_event(&self, event: &SyncEvent) {
        self.events.lock().expect("event log").push(event.clone());
    }
}

/// Retries that wait at most a few milliseconds, so tests stay fast.
pub fn quick_backoff(max_attempts: u32) -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        max_attempts,
    }
}

/// Opens a phone client on `dir` with `clock`, the test device and an
/// event log.
pub fn open_phone(
    server: &TestServer,
    dir: &Path,
    clock: Arc<dyn Clock>,
) -> (SharePayClient, Arc<EventLog>) {
    let mut config = server.client_config(dir);
    config.backoff = quick_backoff(20);
    let client = SharePayClient::with_clock(config, Arc::new(XorKeyWrapper(0x33)), clock)
        .expect("open the phone client");
    client.set_device_info_provider(Arc::new(TestDevice));
    let events = Arc::new(EventLog::default());
    client.set_sync_event_listener(events.clone());
    (client, events)
}

/// Registers `email` (unless `register` is false) and logs in.
pub async fn sign_in(client: &SharePayClient, email: &str, register: bool) {
    if register {
        client
            .register(email, SecretString::from(GOOD_PASSWORD))
            .await
            .expect("register");
    }
    client
        .login(email, SecretString::from(GOOD_PASSWORD))
        .await
        .expect("login");
}

/// Logs in `email` on another phone of the same user: the server treats
/// it as a new device, so the login passes MFA with the code it emails to
/// the development mailbox of `server`.
pub async fn sign_in_new_device(server: &TestServer, client: &SharePayClient, email: &str) {
    let error = client
        .login(email, SecretString::from(GOOD_PASSWORD))
        .await
        .expect_err("a new device needs a second check");
    match &error {
        sharepay_client::ClientError::MfaRequired { methods } => {
            assert!(methods.iter().any(|m| m == "email_code"), "{methods:?}");
        }
        other => panic!("expected MfaRequired, got {other:?}"),
    }
    let mailbox = server.data_dir.path().join("mailbox");
    let before = mailbox_codes(&mailbox, email).len();
    client
        .send_mfa_code("email_code")
        .await
        .expect("send the code");
    let code = wait_for_code(&mailbox, email, before + 1).await;
    client
        .complete_mfa("email_code", SecretString::from(code))
        .await
        .expect("pass MFA with the emailed code");
}

/// Returns the six-digit MFA codes (login and step-up) sent to `recipient`,
/// oldest file first. Other coded messages, such as the email verification
/// sent at registration, are skipped because one may arrive late and be
/// mistaken for the code a test waits for.
pub fn mailbox_codes(mailbox: &Path, recipient: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(mailbox) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        // A message being written is a hidden `.partial` file; only
        // finished messages end in `.txt`.
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|text| {
            text.contains(recipient) && text.lines().any(|line| line == "Kind: mfa_code")
        })
        .filter_map(|text| {
            let body = text
                .split_once("\n\n")
                .map_or(text.as_str(), |(_, body)| body);
            body.split(|c: char| !c.is_ascii_digit())
                .find(|word| word.len() == 6)
                .map(str::to_owned)
        })
        .collect()
}

/// Waits up to 5 s for the `count`-th code to `recipient` and returns the
/// newest code.
pub async fn wait_for_code(mailbox: &Path, recipient: &str, count: usize) -> String {
    for _ in 0..100 {
        let codes = mailbox_codes(mailbox, recipient);
        if codes.len() >= count {
            return codes.last().cloned().expect("a code");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no code for {recipient} in {} within 5 s",
        mailbox.display()
    );
}

/// Ids of a household set up by its primary payer, with one meter assigned
/// to a meter reader who joined by invitation.
pub struct ReaderSetup {
    pub household_id: String,
    pub meter_id: String,
    pub reader_user_id: String,
}

/// Creates a household as `payer`, invites `reader` as meter reader, adds
/// a 6-digit kWh meter and assigns it to the reader.
pub async fn household_with_reader(payer: &SharePayClient, reader: &SharePayClient) -> ReaderSetup {
    let household = payer
        .create_household("Flat 3, Mill Lane")
        .await
        .expect("create household");
    let invitation = payer
        .create_invitation(&household.household_id, Role::MeterReader, Some(24))
        .await
        .expect("invite");
    let membership = reader
        .accept_invitation(&SecretString::from(invitation.code.clone()))
        .await
        .expect("accept");
    let meter = payer
        .add_meter(
            &household.household_id,
            &CreateMeterRequest {
                serial: "EM-0001".into(),
                unit: MeterUnit::KilowattHour,
                register_digits: 6,
                dwelling_unit: None,
            },
        )
        .await
        .expect("add meter");
    payer
        .assign_meter_reader(&meter.meter_id, &membership.user_id)
        .await
        .expect("assign reader");
    ReaderSetup {
        household_id: household.household_id,
        meter_id: meter.meter_id,
        reader_user_id: membership.user_id,
    }
}

/// Builds `count` actual readings of one meter, `interval` apart from
/// `start`, with a register that grows by 0.25 per reading from 1000.
pub fn growing_readings(
    meter_id: &str,
    count: usize,
    start: time::OffsetDateTime,
    interval: time::Duration,
) -> Vec<NewReading> {
    (0..count)
        .map(|index| {
            let steps = i32::try_from(index).expect("a small count");
            NewReading {
                meter_id: meter_id.to_owned(),
                value: format!("{}.{:03}", 1_000 + index / 4, (index % 4) * 250),
                reading_time: (start + interval * steps)
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("format the reading time"),
                kind: ReadingKind::Actual,
                photo_sha256: None,
                location: None,
            }
        })
        .collect()
}
