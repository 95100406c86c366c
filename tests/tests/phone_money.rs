//! Money use cases of the phone core against the real server and its
//! embedded vault. A bill is split by consumption and approved, and cards
//! are saved at the vault over its own pinned TLS. A declined payment is
//! retried with another card, a payment is retried after its outcome was
//! lost, and the statement ends settled.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use secrecy::SecretString;
use serde_json::{Value, json};
use sharepay_client::{
    ClientError, EndpointConfig, NewCard, NewReading, PaymentAttemptState, SharePayClient,
};
use sharepay_domain::authz::Role;
use sharepay_domain::meter::ReadingKind;
use sharepay_domain::wire::billing::{BillMemberBody, BillRequest, BillStatus, ChargeStatus};
use sharepay_domain::wire::money::MoneyBody;
use sharepay_domain::wire::payments::PaymentStatus;
use sharepay_domain::wire::split::SplitMode;
use sharepay_e2e::phone::{
    TestDevice, household_with_reader, mailbox_codes, quick_backoff, sign_in, wait_for_code,
};
use sharepay_e2e::{GOOD_PASSWORD, TestServer, XorKeyWrapper, contains};
use tempfile::TempDir;
use totp_rs::{Algorithm, Builder, Secret, Totp};

const APPROVED_VISA: &str = "4242424242424242";
const DECLINED_INSUFFICIENT_FUNDS: &str = "4000000000009995";
/// Charged, but the sandbox responds only after the vault's deadline.
const TIMEOUT_AFTER_CHARGE: &str = "4000000000000259";
const CVC: &str = "739";

/// Opens a phone client whose configuration pins the embedded vault.
fn open_money_phone(server: &TestServer, dir: &Path) -> SharePayClient {
    let vault = server
        .server
        .vault_phone_endpoint
        .clone()
        .expect("the test server embeds the vault");
    let mut config = server.client_config(dir);
    config.backoff = quick_backoff(20);
    config.vault = Some(EndpointConfig {
        base_url: vault.url,
        ca_certificate_pem: vault.ca_certificate_pem,
        spki_pins: vault.spki_pins,
    });
    let client =
        SharePayClient::new(config, Arc::new(XorKeyWrapper(0x41))).expect("open the phone client");
    client.set_device_info_provider(Arc::new(TestDevice));
    client
}

fn card(number: &str) -> NewCard {
    NewCard {
        number: SecretString::from(number.to_owned()),
        expiry_month: 12,
        expiry_year: 2030,
        cvc: SecretString::from(CVC.to_owned()),
        cardholder_name: "Alice Example".to_owned(),
    }
}

/// Raw HTTPS calls to the API, for what the phone core has no use case for.
struct RawApi {
    http: reqwest::Client,
    base_url: String,
}

impl RawApi {
    fn new(server: &TestServer) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        let pem = server.server.ca_certificate_pem.as_bytes();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            roots.add(certificate.expect("CA PEM")).expect("add the CA");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .expect("HTTP client");
        Self {
            http,
            base_url: server.server.url.clone(),
        }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Registers `email` and enables TOTP with raw HTTP: a login, a step-up
/// with an emailed code, then enrollment confirmed with a TOTP code.
/// Returns the TOTP generator.
async fn register_with_totp(server: &TestServer, email: &str) -> Totp {
    let raw = RawApi::new(server);
    let credentials = json!({"email": email, "password": GOOD_PASSWORD});
    let (status, body) = raw.post("/v1/auth/register", None, &credentials).await;
    assert_eq!(status, 201, "register: {body}");
    let (status, tokens) = raw.post("/v1/auth/login", None, &credentials).await;
    assert_eq!(status, 200, "login: {tokens}");
    let token = tokens["access_token"].as_str().expect("access token");

    let mailbox = server.data_path().join("mailbox");
    let before = mailbox_codes(&mailbox, email).len();
    let body = json!({"method": "email_code"});
    let (status, sent) = raw
        .post("/v1/me/step-up/challenge", Some(token), &body)
        .await;
    assert_eq!(status, 202, "step-up challenge: {sent}");
    let code = wait_for_code(&mailbox, email, before + 1).await;
    let body = json!({"method": "email_code", "code": code});
    let (status, passed) = raw.post("/v1/me/step-up/verify", Some(token), &body).await;
    assert_eq!(status, 200, "step-up verify: {passed}");

    let (status, enrollment) = raw.post("/v1/me/mfa/totp", Some(token), &json!({})).await;
    assert_eq!(status, 200, "enroll TOTP: {enrollment}");
    let secret = enrollment["secret"].as_str().expect("TOTP secret");
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).expect("base32 secret"))
        .with_issuer(Some("SharePay"))
        .with_account_name(email)
        .build()
        .expect("TOTP generator");
    let code = totp.generate(unix_now()).to_string();
    let (status, confirmed) = raw
        .post(
            "/v1/me/mfa/totp/confirm",
            Some(token),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(status, 200, "confirm TOTP: {confirmed}");
    totp
}

fn unix_now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).expect("after 1970")
}

/// Logs the phone in with TOTP through the core, so its session has a
/// recent MFA check, as saving a card requires. The code is the next
/// step's, because the server accepts each step once and enrollment used
/// the current one.
async fn sign_in_with_totp(client: &SharePayClient, email: &str, totp: &Totp) {
    let error = client
        .login(email, SecretString::from(GOOD_PASSWORD))
        .await
        .expect_err("a user with TOTP needs a second check");
    match &error {
        ClientError::MfaRequired { methods } => {
            assert!(methods.iter().any(|m| m == "totp"), "{methods:?}");
        }
        other => panic!("expected MfaRequired, got {other:?}"),
    }
    let code = totp.generate(unix_now() + 30).to_string();
    client
        .complete_mfa("totp", SecretString::from(code))
        .await
        .expect("pass MFA with TOTP");
}

/// A household with an approved bill, and the participant's phone signed
/// in with a recent TOTP check.
struct BilledHousehold {
    household_id: String,
    bill_id: String,
    payer: SharePayClient,
    alice: SharePayClient,
    alice_user_id: String,
}

/// Sets up a household: the payer signs up, a meter reader and Alice
/// join, and the reader sends October's readings of Alice's meter. Then
/// the payer enters a 100.00 EUR bill with a 20.00 standing charge, split
/// by consumption between the payer (no meter) and Alice.
async fn billed_household(server: &TestServer, dirs: &[TempDir; 3]) -> BilledHousehold {
    let payer = open_money_phone(server, dirs[0].path());
    let reader = open_money_phone(server, dirs[1].path());
    sign_in(&payer, "payer@example.org", true).await;
    sign_in(&reader, "reader@example.org", true).await;
    let setup = household_with_reader(&payer, &reader).await;

    for (value, at) in [
        ("100", "2026-10-01T00:00:00Z"),
        ("130", "2026-11-01T00:00:00Z"),
    ] {
        reader
            .submit_reading(NewReading {
                meter_id: setup.meter_id.clone(),
                value: value.into(),
                reading_time: at.into(),
                kind: ReadingKind::Actual,
                photo_sha256: None,
                location: None,
            })
            .expect("queue a reading");
    }
    let summary = reader.sync_now().await.expect("sync");
    assert_eq!(summary.accepted, 2, "{summary:?}");

    let alice_email = "alice@example.org";
    let totp = register_with_totp(server, alice_email).await;
    let alice = open_money_phone(server, dirs[2].path());
    sign_in_with_totp(&alice, alice_email, &totp).await;
    let invitation = payer
        .create_invitation(&setup.household_id, Role::Participant, None)
        .await
        .expect("invite Alice");
    let membership = alice
        .accept_invitation(&SecretString::from(invitation.code.clone()))
        .await
        .expect("Alice joins");
    let payer_user_id = payer.me().await.expect("payer profile").user_id;

    let request = BillRequest {
        amount: eur(10_000),
        period_start: "2026-10-01".into(),
        period_end: "2026-10-31".into(),
        provider: "City Power".into(),
        standing_charge: Some(eur(2_000)),
        meter_ids: vec![setup.meter_id.clone()],
        split_mode: SplitMode::Consumption,
        members: vec![
            member(&payer_user_id, None),
            member(&membership.user_id, Some(vec![setup.meter_id.clone()])),
        ],
    };
    let bill = payer
        .add_bill(&setup.household_id, &request)
        .await
        .expect("add the bill");
    assert_eq!(bill.status, BillStatus::Proposed);
    BilledHousehold {
        household_id: setup.household_id,
        bill_id: bill.bill_id,
        payer,
        alice,
        alice_user_id: membership.user_id,
    }
}

/// Data folders of the payer's, the reader's and Alice's phones.
fn phone_dirs() -> [TempDir; 3] {
    [(); 3].map(|()| tempfile::tempdir().expect("phone data folder"))
}

fn eur(minor: i64) -> MoneyBody {
    MoneyBody {
        minor,
        currency: "EUR".into(),
    }
}

fn member(user_id: &str, meter_ids: Option<Vec<String>>) -> BillMemberBody {
    BillMemberBody {
        user_id: user_id.to_owned(),
        included: None,
        shares: None,
        basis_points: None,
        amount: None,
        meter_ids,
    }
}

/// Approves the bill as the payer and returns Alice's open charge id.
async fn approve_and_find_charge(household: &BilledHousehold) -> String {
    household
        .payer
        .approve_bill(&household.bill_id)
        .await
        .expect("approve");
    let charges = household.alice.my_charges().await.expect("my charges");
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0].status, ChargeStatus::Open);
    charges[0].charge_id.clone()
}

/// Reads every file under `dir`, recursively, with its path.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).expect("read file");
            files.push((path, bytes));
        }
    }
    files
}

#[tokio::test]
async fn decline_then_other_card_settles() {
    let server = TestServer::start().await;
    let dirs = phone_dirs();
    let household = billed_household(&server, &dirs).await;

    // The payer reads the split with its explanation, then approves it.
    let split = household
        .payer
        .bill_split(&household.bill_id)
        .await
        .expect("split");
    assert!(!split.frozen);
    let total: i64 = split.split.lines.iter().map(|line| line.amount.minor).sum();
    assert_eq!(total, 10_000, "the split sums to the bill");
    for line in &split.split.lines {
        assert!(!line.explanation.is_empty(), "{line:?}");
    }
    let alice_line = split
        .split
        .lines
        .iter()
        .find(|line| line.member_id == household.alice_user_id)
        .expect("Alice's line");
    let bills = household
        .payer
        .bills(&household.household_id)
        .await
        .expect("bills");
    assert_eq!(bills.len(), 1);
    let charge_id = approve_and_find_charge(&household).await;
    let shown = household
        .alice
        .bill(&household.bill_id)
        .await
        .expect("show bill");
    assert_eq!(shown.status, BillStatus::Approved);
    let household_charges = household
        .payer
        .household_charges(&household.household_id)
        .await
        .expect("household charges");
    assert!(
        household_charges
            .iter()
            .any(|charge| charge.charge_id == charge_id)
    );

    // Alice saves a card that is declined and one that is approved.
    let declined = household
        .alice
        .save_card(card(DECLINED_INSUFFICIENT_FUNDS))
        .await
        .expect("save the declined card");
    let approved = household
        .alice
        .save_card(card(APPROVED_VISA))
        .await
        .expect("save the approved card");
    assert_eq!(declined.last4, "9995");
    assert_eq!(approved.brand, "visa");
    // Saving the same card again gives back the card already saved.
    let again = household
        .alice
        .save_card(card(APPROVED_VISA))
        .await
        .expect("save the approved card again");
    assert_eq!(again.payment_method_id, approved.payment_method_id);
    let methods = household.alice.payment_methods().await.expect("methods");
    assert_eq!(methods.len(), 2);
    let displays = household.alice.card_displays().expect("displays");
    let last4s: Vec<&str> = displays.iter().map(|card| card.last4.as_str()).collect();
    assert_eq!(last4s, ["9995", "4242"]);

    // The declined card gives a typed decline with its reason.
    let error = household
        .alice
        .pay_charge(&charge_id, &declined.payment_method_id)
        .await
        .expect_err("declined");
    match &error {
        ClientError::PaymentDeclined(message) => {
            assert!(message.contains("insufficient_funds"), "{message}");
        }
        other => panic!("expected PaymentDeclined, got {other:?}"),
    }

    // Paying again with the other card is a new attempt with a new key.
    let payment = household
        .alice
        .pay_charge(&charge_id, &approved.payment_method_id)
        .await
        .expect("pay with the approved card");
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.amount, alice_line.amount);
    let attempts = household
        .alice
        .store()
        .payment_attempts(&charge_id)
        .expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].state, PaymentAttemptState::Declined);
    assert_eq!(attempts[1].state, PaymentAttemptState::Succeeded);
    assert_ne!(attempts[0].idempotency_key, attempts[1].idempotency_key);

    let paid_again = household
        .alice
        .pay_charge(&charge_id, &approved.payment_method_id)
        .await
        .expect_err("already paid");
    assert!(
        matches!(paid_again, ClientError::Conflict(_)),
        "{paid_again:?}"
    );

    // Alice's statement is settled.
    let statements = household
        .alice
        .statements(&household.household_id, None, "2026-01-01", "2030-12-31")
        .await
        .expect("statements");
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(statements[0].settled, "{:?}", statements[0]);
    let payments = statements[0]
        .lines
        .iter()
        .filter(|line| line.kind == "payment")
        .count();
    assert_eq!(payments, 1, "{:?}", statements[0]);

    // Removing a card removes it at the API and in the store.
    household
        .alice
        .remove_card(&declined.payment_method_id)
        .await
        .expect("remove the declined card");
    let methods = household.alice.payment_methods().await.expect("methods");
    assert_eq!(methods.len(), 1);
    let displays = household.alice.card_displays().expect("displays");
    assert_eq!(displays.len(), 1);
    assert_eq!(displays[0].last4, "4242");

    // Neither card number nor the CVC reached a file of Alice's phone.
    let cvc_json = format!("\"cvc\":\"{CVC}\"");
    for (path, bytes) in files_under(dirs[2].path()) {
        for number in [APPROVED_VISA, DECLINED_INSUFFICIENT_FUNDS] {
            assert!(
                !contains(&bytes, number.as_bytes()),
                "{} has a card number",
                path.display()
            );
        }
        assert!(
            !contains(&bytes, cvc_json.as_bytes()),
            "{} has the CVC",
            path.display()
        );
    }
}

#[tokio::test]
async fn lost_payment_outcome_retry_charges_once() {
    let server = TestServer::start().await;
    let dirs = phone_dirs();
    let household = billed_household(&server, &dirs).await;
    let charge_id = approve_and_find_charge(&household).await;
    let slow = household
        .alice
        .save_card(card(TIMEOUT_AFTER_CHARGE))
        .await
        .expect("save the slow card");

    // The vault gives up before the processor responds, so the outcome is
    // unknown and the attempt stays pending.
    let error = household
        .alice
        .pay_charge(&charge_id, &slow.payment_method_id)
        .await
        .expect_err("the outcome is unknown");
    assert!(
        matches!(error, ClientError::Server { status: 503, .. }),
        "{error:?}"
    );
    let attempts = household
        .alice
        .store()
        .payment_attempts(&charge_id)
        .expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, PaymentAttemptState::Pending);
    let first_key = attempts[0].idempotency_key.clone();

    // Another card is rejected while the first attempt has no outcome.
    let other = household
        .alice
        .save_card(card(APPROVED_VISA))
        .await
        .expect("save another card");
    let rejected = household
        .alice
        .pay_charge(&charge_id, &other.payment_method_id)
        .await
        .expect_err("the first attempt is pending");
    assert!(matches!(rejected, ClientError::Conflict(_)), "{rejected:?}");

    // The app is killed and reopened: the retry sends the stored key.
    drop(household.alice);
    let alice = open_money_phone(&server, dirs[2].path());
    let payment = alice
        .pay_charge(&charge_id, &slow.payment_method_id)
        .await
        .expect("the retry learns the approval");
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    let attempts = alice
        .store()
        .payment_attempts(&charge_id)
        .expect("attempts");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].idempotency_key, first_key);
    assert_eq!(attempts[0].state, PaymentAttemptState::Succeeded);

    let statements = alice
        .statements(&household.household_id, None, "2026-01-01", "2030-12-31")
        .await
        .expect("statements");
    let payments = statements[0]
        .lines
        .iter()
        .filter(|line| line.kind == "payment")
        .count();
    assert_eq!(payments, 1, "charged once: {:?}", statements[0]);
    assert!(statements[0].settled, "{:?}", statements[0]);
}

#[tokio::test]
async fn vault_wrong_pin_is_rejected() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let vault = server
        .server
        .vault_phone_endpoint
        .clone()
        .expect("embedded vault");
    let mut config = server.client_config(dir.path());
    // Pins of keys the vault does not have, under the vault's real CA.
    config.vault = Some(EndpointConfig {
        base_url: vault.url,
        ca_certificate_pem: vault.ca_certificate_pem,
        spki_pins: vec![
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=".into(),
        ],
    });
    let client =
        SharePayClient::new(config, Arc::new(XorKeyWrapper(0x42))).expect("open the phone");
    client.set_device_info_provider(Arc::new(TestDevice));
    sign_in(&client, "pinned@example.org", true).await;

    let error = client
        .save_card(card(APPROVED_VISA))
        .await
        .expect_err("the vault's key matches no pin");
    assert!(matches!(error, ClientError::PinMismatch), "{error:?}");
    assert!(client.payment_methods().await.expect("methods").is_empty());
    assert!(client.card_displays().expect("displays").is_empty());
}

#[tokio::test]
async fn save_card_without_vault_fails() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = SharePayClient::new(
        server.client_config(dir.path()),
        Arc::new(XorKeyWrapper(0x43)),
    )
    .expect("open the phone");
    client.set_device_info_provider(Arc::new(TestDevice));
    sign_in(&client, "novault@example.org", true).await;

    let error = client
        .save_card(card(APPROVED_VISA))
        .await
        .expect_err("no vault configured");
    match &error {
        ClientError::InvalidInput(message) => {
            assert!(message.contains("ClientConfig::vault"), "{message}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_card_is_rejected_locally() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let client = open_money_phone(&server, dir.path());
    sign_in(&client, "typo@example.org", true).await;

    let error = client
        .save_card(card("4242424242424241"))
        .await
        .expect_err("bad check digit");
    match &error {
        ClientError::InvalidInput(message) => {
            assert!(message.starts_with("card_number: "), "{message}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(client.payment_methods().await.expect("methods").is_empty());
}
