//! Helpers of the money tests. They build a household with a primary
//! payer, two participants and a meter reader, and two meters with
//! readings, one of them rolling over. They save cards at the embedded
//! vault's phone listener and capture every log line for scans.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use sharepay_server::store::identity::ROLE_ADMIN;

use crate::money_support::{Api, Caller};
use crate::support::TestBackend;

/// Test cards of the vault's sandbox processor.
pub const APPROVED_VISA: &str = "4242424242424242";
pub const APPROVED_MASTERCARD: &str = "5555555555554444";
pub const DECLINED_INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const SLOW_PROCESSOR: &str = "4000000000000259";
/// The sandbox fails every charge of this card without a decision.
pub const PROCESSING_ERROR: &str = "4000000000000119";
/// Charges are approved; every refund of them fails.
pub const REFUND_FAILS: &str = "4000000000005126";

/// A household whose bill is approved, with one charge per participant.
pub struct Household {
    pub id: String,
    pub payer: Caller,
    pub alice: Caller,
    pub bob: Caller,
    pub reader: Caller,
    pub bill_id: String,
    pub alice_meter: String,
    pub bob_meter: String,
}

/// Returns every log line the test binary's code emitted.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().expect("log buffer").clone()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

struct BufferWriter;

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        log_buffer()
            .lock()
            .map_err(|_| std::io::Error::other("log buffer poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log event at every level into the capture buffer.
pub fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(|| BufferWriter)
        .with_ansi(false)
        .try_init();
}

/// Creates the household, readings and bill, and approves the bill.
pub async fn approved_household(api: &Api) -> Household {
    let household = billed_household(api).await;
    let (status, split) = api
        .as_user(
            &household.payer,
            "POST",
            &format!("/v1/bills/{}/approval", household.bill_id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "approve: {split}");
    household
}

/// Creates the household with its members, meters and readings, and a
/// bill split by consumption that is not approved yet.
pub async fn billed_household(api: &Api) -> Household {
    let payer = api.sign_up("payer").await;
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;
    let reader = api.sign_up("reader").await;
    let (status, household) = api
        .as_user(
            &payer,
            "POST",
            "/v1/households",
            Some(&json!({"name": "Elm Street 5"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{household}");
    let id = household["household_id"].as_str().expect("id").to_owned();
    api.join(&payer, &id, &alice, "participant").await;
    api.join(&payer, &id, &bob, "participant").await;
    api.join(&payer, &id, &reader, "meter_reader").await;

    let alice_meter = meter(api, &payer, &id, "A-1", 6).await;
    let bob_meter = meter(api, &payer, &id, "B-1", 4).await;
    for meter_id in [&alice_meter, &bob_meter] {
        let (status, body) = api
            .as_user(
                &payer,
                "POST",
                &format!("/v1/meters/{meter_id}/readers"),
                Some(&json!({"user_id": reader.user_id})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    // Alice uses 30 units in October; Bob's 4-digit register rolls over
    // from 9980 to 20, which is 40 units.
    read(
        api,
        &reader,
        &alice_meter,
        "100",
        "2026-10-01T00:00:00Z",
        "accepted",
    )
    .await;
    read(
        api,
        &reader,
        &alice_meter,
        "130",
        "2026-11-01T00:00:00Z",
        "accepted",
    )
    .await;
    read(
        api,
        &reader,
        &bob_meter,
        "9980",
        "2026-10-01T00:00:00Z",
        "accepted",
    )
    .await;
    read(
        api,
        &reader,
        &bob_meter,
        "20",
        "2026-11-01T00:00:00Z",
        "flagged",
    )
    .await;

    let (status, bill) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{id}/bills"),
            Some(&bill_body(
                &payer,
                &alice,
                &bob,
                &alice_meter,
                &bob_meter,
                10_000,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bill}");
    Household {
        bill_id: bill["bill_id"].as_str().expect("bill id").to_owned(),
        id,
        payer,
        alice,
        bob,
        reader,
        alice_meter,
        bob_meter,
    }
}

/// Returns a bill of `minor` EUR cents for October with a 20.00 standing
/// charge, split by consumption among the payer (no meter), Alice and Bob.
pub fn bill_body(
    payer: &Caller,
    alice: &Caller,
    bob: &Caller,
    alice_meter: &str,
    bob_meter: &str,
    minor: i64,
) -> Value {
    json!({
        "amount": {"minor": minor, "currency": "EUR"},
        "standing_charge": {"minor": 2000, "currency": "EUR"},
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "provider": "City Water",
        "meter_ids": [alice_meter, bob_meter],
        "split_mode": "consumption",
        "members": [
            {"user_id": payer.user_id},
            {"user_id": alice.user_id, "meter_ids": [alice_meter]},
            {"user_id": bob.user_id, "meter_ids": [bob_meter]},
        ],
    })
}

async fn meter(api: &Api, payer: &Caller, household: &str, serial: &str, digits: u8) -> String {
    let (status, meter) = api
        .as_user(
            payer,
            "POST",
            &format!("/v1/households/{household}/meters"),
            Some(&json!({"serial": serial, "unit": "cubic_metre", "register_digits": digits})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{meter}");
    meter["meter_id"].as_str().expect("meter id").to_owned()
}

async fn read(api: &Api, reader: &Caller, meter: &str, value: &str, at: &str, expected: &str) {
    let body = json!({"value": value, "reading_time": at, "kind": "actual"});
    let key = Uuid::now_v7().to_string();
    let ((status, reading), _) = api
        .send_with_key(
            "POST",
            &format!("/v1/meters/{meter}/readings"),
            Some(&reader.token),
            Some(&body),
            Some(&key),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reading}");
    assert_eq!(reading["status"], expected, "{reading}");
}

/// Saves `number` at the embedded vault for `caller` the way a phone
/// does, registers the token with the API, and returns the payment method id.
pub async fn save_card(api: &Api, caller: &Caller, number: &str) -> String {
    let card = card_at_vault(api, caller, number, (12, 2030)).await;
    step_up(api, caller).await;
    let (status, method) = api
        .as_user(
            caller,
            "POST",
            "/v1/payment-methods",
            Some(&registration(&card)),
        )
        .await;
    // 200 means this user saved the card before.
    assert!(
        [StatusCode::CREATED, StatusCode::OK].contains(&status),
        "{status}: {method}"
    );
    method["payment_method_id"].as_str().expect("id").to_owned()
}

/// Builds the body of `POST /v1/payment-methods` from the vault's `card`
/// response.
pub fn registration(card: &Value) -> Value {
    json!({
        "vault_token": card["token"],
        "brand": card["brand"],
        "last4": card["last4"],
        "expiry_month": card["expiry_month"],
        "expiry_year": card["expiry_year"],
    })
}

/// Saves `number` with `expiry` (month, year) at the embedded vault with
/// an intake token of `caller`, as a phone does, and returns the vault's
/// response.
pub async fn card_at_vault(api: &Api, caller: &Caller, number: &str, expiry: (u8, u16)) -> Value {
    let (status, intake) = api
        .as_user(caller, "POST", "/v1/payment-methods/intake-token", None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{intake}");
    let vault_url = intake["vault_url"].as_str().expect("vault url");
    let response = vault_client(api)
        .post(format!("{vault_url}/v1/cards"))
        .bearer_auth(intake["intake_token"].as_str().expect("intake token"))
        .json(&json!({
            "number": number,
            "expiry_month": expiry.0,
            "expiry_year": expiry.1,
            "cvc": "123",
            "cardholder_name": "Test Holder",
        }))
        .send()
        .await
        .expect("the vault answers");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("card JSON")
}

/// Passes a step-up check for `caller`'s session with a code from the
/// development mailbox, as saving a card requires.
pub async fn step_up(api: &Api, caller: &Caller) {
    let (_, me) = api.as_user(caller, "GET", "/v1/me", None).await;
    let email = me["email"].as_str().expect("email").to_owned();
    // The server's CA lives in `data_dir/tls`, and the mailbox in `data_dir/mailbox`.
    let mailbox = api
        .server
        .ca_certificate_path
        .parent()
        .and_then(|tls| tls.parent())
        .expect("data directory")
        .join("mailbox");
    let before: Vec<std::path::PathBuf> = security_codes(&mailbox, &email)
        .into_iter()
        .map(|(path, _)| path)
        .collect();

    let body = json!({"method": "email_code"});
    let (status, sent) = api
        .as_user(caller, "POST", "/v1/me/step-up/challenge", Some(&body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let mut code = None;
    for _ in 0..200 {
        code = security_codes(&mailbox, &email)
            .into_iter()
            .find(|(path, _)| !before.contains(path))
            .map(|(_, code)| code);
        if code.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let code = code.expect("a new step-up code arrives in the mailbox within 10 s");

    let body = json!({"method": "email_code", "code": code});
    let (status, passed) = api
        .as_user(caller, "POST", "/v1/me/step-up/verify", Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{passed}");
}

/// Returns each security-code email to `email` with its six-digit code.
fn security_codes(mailbox: &std::path::Path, email: &str) -> Vec<(std::path::PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(mailbox) else {
        return Vec::new();
    };
    let to = format!("To: {email}");
    let mut codes = Vec::new();
    let finished = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"));
    for path in finished {
        let Ok(message) = std::fs::read_to_string(&path) else {
            continue;
        };
        if !message.lines().any(|line| line == to) || !message.contains("security code") {
            continue;
        }
        let body = message
            .split_once("\n\n")
            .map_or(message.as_str(), |(_, body)| body);
        let code = body
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == 6);
        if let Some(code) = code {
            codes.push((path, code.to_owned()));
        }
    }
    codes
}

/// Builds an HTTPS client that trusts the embedded vault's CA.
fn vault_client(api: &Api) -> reqwest::Client {
    let path = api
        .server
        .vault_startup_lines
        .iter()
        .find_map(|line| line.strip_prefix("vault-ca-certificate: "))
        .expect("the embedded vault prints its CA");
    let pem = std::fs::read(path).expect("read the vault CA");
    crate::money_support::client_trusting(&pem)
}

/// Signs up a user and grants them the system administrator role.
pub async fn administrator(api: &Api, backend: &TestBackend) -> Caller {
    let admin = api.sign_up("admin").await;
    backend
        .data
        .identity
        .grant_system_role(Uuid::parse_str(&admin.user_id).expect("uuid"), ROLE_ADMIN)
        .await
        .expect("grant the admin role");
    admin
}

/// Returns the id of `caller`'s only charge.
pub async fn only_charge(api: &Api, caller: &Caller) -> Value {
    let (status, charges) = api.as_user(caller, "GET", "/v1/me/charges", None).await;
    assert_eq!(status, StatusCode::OK, "{charges}");
    let list = charges["charges"].as_array().expect("charges");
    assert_eq!(list.len(), 1, "{charges}");
    list[0].clone()
}

/// Pays `charge` with `method` under `key`; returns status, body, replayed.
pub async fn pay(
    api: &Api,
    caller: &Caller,
    charge: &str,
    method: &str,
    key: &str,
) -> (StatusCode, Value, bool) {
    let ((status, body), replayed) = api
        .send_with_key(
            "POST",
            &format!("/v1/charges/{charge}/payments"),
            Some(&caller.token),
            Some(&json!({"payment_method_id": method})),
            Some(key),
        )
        .await;
    (status, body, replayed)
}
