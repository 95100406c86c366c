//! Second factors through the phone core against the real server started
//! in this process: pinned TLS 1.3 on loopback, SQLCipher stores on both
//! sides, emailed codes read from the server's development mailbox, and
//! passkeys signed by webauthn-authenticator-rs's software passkey.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use sharepay_client::{
    ClientConfig, ClientError, DeviceInfo, DeviceInfoError, DeviceInfoProvider, PasskeyError,
    PasskeyProvider, RecoveryCodes, SharePayClient,
};
use sharepay_server::identity::webauthn::WebauthnConfig;
use sharepay_server::{RunningServer, ServerConfig};
use totp_rs::Totp;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnCError,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use common::XorWrapper;

const PASSWORD: &str = "Copper-Kettle-5519!";
/// The web origin the test server accepts. The soft passkey only signs it,
/// and nothing connects to it.
const WEB_ORIGIN: &str = "https://localhost:8443";
/// Subject of the emails that carry login and step-up codes.
const CODE_SUBJECT: &str = "Your SharePay security code";

/// A server in this process with its data directory.
struct Server {
    running: RunningServer,
    data_dir: PathBuf,
}

impl Server {
    /// Starts a server whose step-up checks last `step_up_seconds`.
    async fn start(root: &Path, step_up_seconds: u64) -> Self {
        let data_dir = root.join("server");
        let mut config = ServerConfig {
            data_dir: data_dir.clone(),
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            ..ServerConfig::default()
        };
        config.http.metrics_listen = None;
        config.notifications.poll_interval_ms = 50;
        config.mfa.step_up_seconds = step_up_seconds;
        config.webauthn = WebauthnConfig {
            rp_id: "localhost".to_owned(),
            rp_origin: Some(WEB_ORIGIN.to_owned()),
            ..WebauthnConfig::default()
        };
        let running = sharepay_server::start(config)
            .await
            .expect("start the server");
        Self { running, data_dir }
    }

    /// Opens a phone whose store lives in `root/name`. Each phone has its
    /// own install secret and so its own device fingerprint.
    fn phone(&self, root: &Path, name: &str) -> SharePayClient {
        let config = ClientConfig::new(
            self.running.url.clone(),
            self.running.ca_certificate_pem.clone(),
            self.running.spki_pins.clone(),
            root.join(name),
        );
        let client = SharePayClient::new(config, Arc::new(XorWrapper(0x5a))).expect("open phone");
        client.set_device_info_provider(Arc::new(Phone));
        client
    }

    /// Waits for the email after the first `seen` code emails to `email`,
    /// and returns its six-digit code.
    async fn emailed_code(&self, email: &str, seen: usize) -> SecretString {
        self.delivered_code(email, CODE_SUBJECT, seen).await
    }

    fn code_emails_to(&self, email: &str) -> usize {
        self.delivered_to(email, CODE_SUBJECT)
    }

    /// Waits for the message after the first `seen` messages to
    /// `recipient` (an address or a phone number) with `subject`, and
    /// returns its six-digit code.
    async fn delivered_code(&self, recipient: &str, subject: &str, seen: usize) -> SecretString {
        for _ in 0..100 {
            let messages = mailbox_messages(&self.data_dir.join("mailbox"), recipient, subject);
            if let Some(message) = messages.get(seen) {
                return SecretString::from(six_digit_code(message));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no message number {} to {recipient} with subject {subject:?} within 5 s",
            seen + 1
        );
    }

    fn delivered_to(&self, recipient: &str, subject: &str) -> usize {
        mailbox_messages(&self.data_dir.join("mailbox"), recipient, subject).len()
    }
}

struct Phone;

impl DeviceInfoProvider for Phone {
    fn device_info(&self) -> Result<DeviceInfo, DeviceInfoError> {
        Ok(common::device())
    }
}

/// Lists the messages to `recipient` with `subject` in the mailbox folder,
/// oldest first.
fn mailbox_messages(mailbox: &Path, recipient: &str, subject: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(mailbox) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    let to = format!("To: {recipient}");
    paths
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|message| message.lines().any(|line| line == to))
        .filter(|message| {
            message
                .lines()
                .any(|line| line.starts_with("Subject:") && line.contains(subject))
        })
        .collect()
}

/// Returns the first run of exactly six digits in a message's body.
fn six_digit_code(message: &str) -> String {
    let body = message.split_once("\n\n").map_or(message, |(_, body)| body);
    body.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("no six-digit code in {message}"))
        .to_owned()
}

fn password() -> SecretString {
    SecretString::from(PASSWORD)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Registers `email` on `phone` and logs in there. The registering device
/// is known, so the login needs no second check.
async fn sign_up(phone: &SharePayClient, email: &str) {
    phone.register(email, password()).await.expect("register");
    phone.login(email, password()).await.expect("login");
}

/// Passes a step-up check with a code emailed to `email`.
async fn step_up_by_email(server: &Server, phone: &SharePayClient, email: &str) {
    let seen = server.code_emails_to(email);
    phone
        .send_step_up_code("email_code")
        .await
        .expect("send a step-up code");
    let code = server.emailed_code(email, seen).await;
    phone
        .step_up("email_code", code)
        .await
        .expect("pass the step-up check");
}

/// Enrolls TOTP through the core and returns the generator of its codes
/// and the recovery codes.
async fn enroll_totp(
    server: &Server,
    phone: &SharePayClient,
    email: &str,
) -> (Totp, RecoveryCodes) {
    step_up_by_email(server, phone, email).await;
    let enrollment = phone.start_totp_enrollment().await.expect("start TOTP");
    assert!(
        enrollment
            .otpauth_uri
            .expose_secret()
            .starts_with("otpauth://totp/"),
        "the key URI has the otpauth scheme"
    );
    assert!(
        enrollment.qr_png_base64.is_some(),
        "the server drew a QR code"
    );
    let totp = Totp::from_url(enrollment.otpauth_uri.expose_secret()).expect("otpauth URI");
    assert_eq!(
        totp.secret().to_base32(),
        enrollment.secret.expose_secret(),
        "the secret is the one in the key URI"
    );

    let code = SecretString::from(totp.generate(unix_now()).to_string());
    let recovery = phone
        .confirm_totp_enrollment(code)
        .await
        .expect("confirm TOTP");
    (totp, recovery)
}

/// Logs in, expects a second check and returns its methods.
async fn login_needing_mfa(phone: &SharePayClient, email: &str) -> Vec<String> {
    match phone.login(email, password()).await {
        Err(ClientError::MfaRequired { methods }) => methods,
        other => panic!("expected MfaRequired, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_code_passes_login_once() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), 300).await;
    let phone = server.phone(root.path(), "phone");
    let email = "totp.user@example.org";
    sign_up(&phone, email).await;

    let (totp, recovery) = enroll_totp(&server, &phone, email).await;
    assert_eq!(recovery.codes.len(), 10);
    let factors = phone.mfa_factors().await.expect("factors");
    assert!(factors.totp_enabled);
    assert_eq!(factors.recovery_codes_left, 10);
    assert!(factors.methods.contains(&"totp".to_owned()), "{factors:?}");

    phone.logout().await.expect("logout");
    let methods = login_needing_mfa(&phone, email).await;
    assert!(methods.contains(&"totp".to_owned()), "{methods:?}");
    assert!(methods.contains(&"recovery_code".to_owned()), "{methods:?}");
    // The next step's code is within the one-step skew, and its step was
    // not used by the confirmation.
    let code = totp.generate(unix_now() + 30).to_string();
    phone
        .complete_mfa("totp", SecretString::from(code.clone()))
        .await
        .expect("TOTP passes the login");
    assert_eq!(phone.me().await.expect("profile").email, email);

    phone.logout().await.expect("logout");
    login_needing_mfa(&phone, email).await;
    let replayed = phone
        .complete_mfa("totp", SecretString::from(code))
        .await
        .expect_err("a used TOTP code is rejected");
    assert!(
        matches!(
            replayed,
            ClientError::InvalidInput(_) | ClientError::Unauthorized(_)
        ),
        "{replayed:?}"
    );
    assert!(!phone.has_session().expect("store"), "no session was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_code_passes_login_once() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), 300).await;
    let phone = server.phone(root.path(), "phone");
    let email = "recovery.user@example.org";
    sign_up(&phone, email).await;
    let (_totp, recovery) = enroll_totp(&server, &phone, email).await;
    let first = recovery.codes[0].clone();

    phone.logout().await.expect("logout");
    login_needing_mfa(&phone, email).await;
    phone
        .complete_mfa("recovery_code", first.clone())
        .await
        .expect("a recovery code passes the login");
    let factors = phone.mfa_factors().await.expect("factors");
    assert_eq!(factors.recovery_codes_left, 9);

    phone.logout().await.expect("logout");
    login_needing_mfa(&phone, email).await;
    let reused = phone
        .complete_mfa("recovery_code", first)
        .await
        .expect_err("a used recovery code is rejected");
    assert!(
        matches!(
            reused,
            ClientError::InvalidInput(_) | ClientError::Unauthorized(_)
        ),
        "{reused:?}"
    );
    phone
        .complete_mfa("recovery_code", recovery.codes[1].clone())
        .await
        .expect("another recovery code passes the same challenge");

    // The login's check counts as a recent one, so regenerating needs no
    // further step-up. The new codes replace the old ones.
    let renewed = phone
        .regenerate_recovery_codes()
        .await
        .expect("regenerate recovery codes");
    assert_eq!(renewed.codes.len(), 10);
    phone.logout().await.expect("logout");
    login_needing_mfa(&phone, email).await;
    let replaced = phone
        .complete_mfa("recovery_code", recovery.codes[2].clone())
        .await;
    assert!(replaced.is_err(), "a replaced recovery code still worked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_code_passes_login_on_new_device() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), 300).await;
    let email = "email.user@example.org";
    sign_up(&server.phone(root.path(), "first-phone"), email).await;

    let second = server.phone(root.path(), "second-phone");
    let methods = login_needing_mfa(&second, email).await;
    assert_eq!(methods, vec!["email_code".to_owned()]);
    let seen = server.code_emails_to(email);
    second
        .send_mfa_code("email_code")
        .await
        .expect("send the login code");
    let code = server.emailed_code(email, seen).await;

    let wrong = if code.expose_secret() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let rejected = second
        .complete_mfa("email_code", SecretString::from(wrong))
        .await;
    assert!(rejected.is_err(), "a wrong emailed code passed");
    second
        .complete_mfa("email_code", code)
        .await
        .expect("the emailed code passes the login");
    assert_eq!(second.me().await.expect("profile").email, email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_needs_step_up_first() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), 300).await;
    let phone = server.phone(root.path(), "phone");
    let email = "step.up@example.org";
    sign_up(&phone, email).await;

    let rejected = phone
        .start_totp_enrollment()
        .await
        .expect_err("enrollment needs a recent check");
    let ClientError::StepUpRequired { methods } = rejected else {
        panic!("expected StepUpRequired, got {rejected:?}");
    };
    assert_eq!(methods, vec!["email_code".to_owned()]);

    let wrong_method = phone
        .step_up("webauthn", SecretString::from("123456"))
        .await
        .expect_err("webauthn takes no code");
    assert!(
        matches!(wrong_method, ClientError::InvalidInput(_)),
        "{wrong_method:?}"
    );

    step_up_by_email(&server, &phone, email).await;
    phone
        .start_totp_enrollment()
        .await
        .expect("enrollment succeeds after the step-up check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_phone_sms_code_login() {
    const PHONE: &str = "+4915112345678";
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), 300).await;
    let phone = server.phone(root.path(), "phone");
    let email = "sms.user@example.org";
    sign_up(&phone, email).await;
    step_up_by_email(&server, &phone, email).await;

    let malformed = phone
        .add_phone("0151 1234567")
        .await
        .expect_err("a number without + is not E.164");
    assert!(
        matches!(malformed, ClientError::InvalidInput(_)),
        "{malformed:?}"
    );
    let sent = phone.add_phone(PHONE).await.expect("add the phone");
    assert_eq!(sent.channel, "sms");
    let code = server.delivered_code(PHONE, "Phone verification", 0).await;
    phone.verify_phone(code).await.expect("verify the phone");
    let factors = phone.mfa_factors().await.expect("factors");
    assert!(factors.phone_verified);
    assert!(
        factors.methods.contains(&"sms_code".to_owned()),
        "{factors:?}"
    );

    phone.logout().await.expect("logout");
    let methods = login_needing_mfa(&phone, email).await;
    assert_eq!(methods, vec!["sms_code".to_owned()]);
    phone
        .send_mfa_code("sms_code")
        .await
        .expect("send the SMS code");
    let code = server.delivered_code(PHONE, CODE_SUBJECT, 0).await;
    phone
        .complete_mfa("sms_code", code)
        .await
        .expect("the SMS code passes the login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_address_verifies_with_code() {
    const SUBJECT: &str = "Confirm your SharePay email address";
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), 300).await;
    let phone = server.phone(root.path(), "phone");
    let email = "verify.user@example.org";
    sign_up(&phone, email).await;
    let before = phone.mfa_factors().await.expect("factors");
    assert!(!before.email_verified);

    let seen = server.delivered_to(email, SUBJECT);
    let sent = phone
        .resend_email_verification()
        .await
        .expect("send a verification code");
    assert_eq!(sent.channel, "email");
    let code = server.delivered_code(email, SUBJECT, seen).await;
    phone.verify_email(code).await.expect("verify the address");

    let after = phone.mfa_factors().await.expect("factors");
    assert!(after.email_verified);
}

/// A [`PasskeyProvider`] backed by a software passkey that signs for
/// [`WEB_ORIGIN`], as a platform authenticator would for its app.
struct SoftPasskeyProvider {
    passkey: Mutex<SoftPasskey>,
}

impl SoftPasskeyProvider {
    fn new() -> Self {
        Self {
            passkey: Mutex::new(SoftPasskey::new(true)),
        }
    }
}

fn failed(reason: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Failed {
        reason: reason.to_string(),
    }
}

fn origin() -> Url {
    Url::parse(WEB_ORIGIN).expect("origin URL")
}

impl SoftPasskeyProvider {
    /// Reads `public_key` as the `publicKey` member of `O`, runs
    /// `ceremony` on the soft passkey and returns its result as JSON.
    fn run<O, R>(
        &self,
        public_key: serde_json::Value,
        ceremony: impl FnOnce(&mut SoftPasskey, Url, O) -> Result<R, WebauthnCError>,
    ) -> Result<String, PasskeyError>
    where
        O: serde::de::DeserializeOwned,
        R: serde::Serialize,
    {
        let options: O = serde_json::from_value(serde_json::json!({ "publicKey": public_key }))
            .map_err(failed)?;
        let mut passkey = self.passkey.lock().expect("passkey");
        let result =
            ceremony(&mut passkey, origin(), options).map_err(|e| failed(format!("{e:?}")))?;
        serde_json::to_string(&result).map_err(failed)
    }
}

impl PasskeyProvider for SoftPasskeyProvider {
    fn create_credential(&self, request_json: String) -> Result<String, PasskeyError> {
        let public_key = serde_json::from_str(&request_json).map_err(failed)?;
        self.run(
            public_key,
            |passkey, origin, options: CreationChallengeResponse| {
                passkey.do_registration(origin, options)
            },
        )
    }

    fn get_assertion(&self, request_json: String) -> Result<String, PasskeyError> {
        let mut public_key: serde_json::Value =
            serde_json::from_str(&request_json).map_err(failed)?;
        // Platforms verify the user for passkeys; the soft passkey does so
        // only when the options require it.
        public_key["userVerification"] = serde_json::json!("required");
        self.run(
            public_key,
            |passkey, origin, options: RequestChallengeResponse| {
                passkey.do_authentication(origin, options)
            },
        )
    }
}

/// A provider whose user always dismisses the prompt.
struct CancellingProvider;

impl PasskeyProvider for CancellingProvider {
    fn create_credential(&self, _request_json: String) -> Result<String, PasskeyError> {
        Err(PasskeyError::Cancelled)
    }

    fn get_assertion(&self, _request_json: String) -> Result<String, PasskeyError> {
        Err(PasskeyError::Cancelled)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_registers_and_passes_checks() {
    const STEP_UP_SECONDS: u64 = 3;
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), STEP_UP_SECONDS).await;
    let phone = server.phone(root.path(), "phone");
    let email = "passkey.user@example.org";
    sign_up(&phone, email).await;
    let provider = Arc::new(SoftPasskeyProvider::new());

    step_up_by_email(&server, &phone, email).await;
    let registered = phone
        .register_passkey(provider.clone(), "Test phone")
        .await
        .expect("register a passkey");
    assert_eq!(registered.kind, "passkey");
    assert_eq!(registered.name, "Test phone");
    let listed = phone.list_passkeys().await.expect("list passkeys");
    assert_eq!(listed, vec![registered.clone()]);
    let factors = phone.mfa_factors().await.expect("factors");
    assert!(
        factors.methods.contains(&"webauthn".to_owned()),
        "{factors:?}"
    );

    let second = server.phone(root.path(), "second-phone");
    let methods = login_needing_mfa(&second, email).await;
    assert_eq!(methods, vec!["webauthn".to_owned()]);
    second
        .complete_mfa_with_passkey(provider.clone())
        .await
        .expect("the passkey passes the login");
    assert_eq!(second.me().await.expect("profile").email, email);

    // Once the first phone's check has expired, a change needs a new one,
    // which the passkey passes.
    tokio::time::sleep(Duration::from_millis(STEP_UP_SECONDS * 1_000 + 100)).await;
    let rejected = phone
        .start_totp_enrollment()
        .await
        .expect_err("the earlier check expired");
    let ClientError::StepUpRequired { methods } = rejected else {
        panic!("expected StepUpRequired, got {rejected:?}");
    };
    assert!(methods.contains(&"webauthn".to_owned()), "{methods:?}");
    let assertion = phone
        .step_up_with_passkey(provider.clone())
        .await
        .expect("the passkey passes the step-up check");
    assert_eq!(assertion.credential_id, registered.id);
    assert!(assertion.user_verified);
    phone
        .start_totp_enrollment()
        .await
        .expect("the change succeeds after the passkey check");

    phone
        .remove_passkey(&registered.id)
        .await
        .expect("remove the passkey");
    assert!(phone.list_passkeys().await.expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_passkey_gives_typed_error() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = Server::start(root.path(), 300).await;
    let phone = server.phone(root.path(), "phone");
    let email = "cancel.user@example.org";
    sign_up(&phone, email).await;
    step_up_by_email(&server, &phone, email).await;

    let error = phone
        .register_passkey(Arc::new(CancellingProvider), "Test phone")
        .await
        .expect_err("a cancelled prompt registers nothing");

    assert!(
        matches!(error, ClientError::Passkey(PasskeyError::Cancelled)),
        "{error:?}"
    );
    assert!(error.to_string().contains("cancelled"), "{error}");
    assert!(phone.list_passkeys().await.expect("list").is_empty());
}
