//! WebAuthn over HTTPS on a live server, on both backends, driven by the
//! software authenticators of webauthn-authenticator-rs. The tests cover
//! registration and assertion of passkeys and security keys, the origin
//! allowlist with an Android app origin, single-use ceremonies bound to
//! their user, expiry and removal.

mod http_support;
mod identity_support;
mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sharepay_server::identity::webauthn::WebauthnConfig;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;

use identity_support::{Live, text};
use support::{TestBackend, contains};

/// The web origin the test server accepts. The soft authenticators only
/// sign it; nothing connects to it.
const WEB_ORIGIN: &str = "https://localhost:8443";
/// Milliseconds the soft authenticators are given per operation.
const TIMEOUT_MS: u32 = 60_000;

/// Builds the Android app origin of a signing certificate: the base64url
/// SHA-256 of its bytes.
fn android_origin(certificate: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, certificate);
    format!("android:apk-key-hash:{}", BASE64URL.encode(digest.as_ref()))
}

/// The iOS app origin the test server accepts.
const ALLOWED_IOS_ORIGIN: &str = "ios:bundle-id:com.example.sharepay";

fn allowed_android_origin() -> String {
    android_origin(b"sharepay release signing certificate")
}

/// Starts a server on a SQLCipher and one on a PostgreSQL backend, both
/// accepting `WEB_ORIGIN` and the allowed Android and iOS origins.
async fn servers() -> Vec<Live> {
    servers_with_step_up(300).await
}

/// Like [`servers`], with step-up checks valid for `step_up_seconds`.
async fn servers_with_step_up(step_up_seconds: u64) -> Vec<Live> {
    let mut live = Vec::new();
    for mut backend in [
        TestBackend::sqlcipher().await,
        TestBackend::postgres().await,
    ] {
        backend.config.webauthn = WebauthnConfig {
            rp_id: "localhost".to_owned(),
            rp_origin: Some(WEB_ORIGIN.to_owned()),
            allowed_native_origins: vec![allowed_android_origin(), ALLOWED_IOS_ORIGIN.to_owned()],
            ..WebauthnConfig::default()
        };
        backend.config.mfa.step_up_seconds = step_up_seconds;
        live.push(Live::start_on(backend).await);
    }
    live
}

fn origin(text: &str) -> Url {
    Url::parse(text).expect("origin URL")
}

/// A signed-in user of a live server.
struct User<'a> {
    live: &'a Live,
    access_token: String,
}

impl<'a> User<'a> {
    async fn sign_up(live: &'a Live, email: &str) -> Self {
        live.register(email).await;
        let tokens = live.login(email, "device-1").await;
        let access_token = text(&tokens, "access_token").to_owned();
        // Registering an authenticator needs a recent check.
        live.step_up(email, &access_token).await;
        Self { live, access_token }
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .live
            .client
            .post(self.live.url(path))
            .bearer_auth(&self.access_token)
            .json(body)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.live.get_with(path, &self.access_token).await
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.live
            .client
            .delete(self.live.url(path))
            .bearer_auth(&self.access_token)
            .send()
            .await
            .expect("send")
            .status()
    }

    /// Starts a registration of `kind`; returns the ceremony id and the
    /// options for the authenticator.
    async fn start_registration(&self, kind: &str) -> (String, CreationChallengeResponse) {
        let (status, body) = self
            .post("/v1/me/webauthn/registrations", &json!({ "kind": kind }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let options = serde_json::from_value(json!({ "publicKey": body["public_key"] }))
            .expect("creation options");
        (text(&body, "ceremony_id").to_owned(), options)
    }

    async fn finish_registration(
        &self,
        ceremony_id: &str,
        credential: &Value,
    ) -> (StatusCode, Value) {
        let path = format!("/v1/me/webauthn/registrations/{ceremony_id}");
        self.post(
            &path,
            &json!({ "name": "Test key", "credential": credential }),
        )
        .await
    }

    /// Registers the authenticator at the web origin and returns the
    /// stored credential's view.
    async fn register(&self, authenticator: &mut impl AuthenticatorBackend, kind: &str) -> Value {
        let (ceremony_id, options) = self.start_registration(kind).await;
        let credential = authenticator
            .do_registration(origin(WEB_ORIGIN), options)
            .expect("the authenticator registers");
        let (status, body) = self
            .finish_registration(&ceremony_id, &json!(credential))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    async fn start_assertion(&self) -> (String, RequestChallengeResponse) {
        let (status, body) = self.post("/v1/me/webauthn/assertions", &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let options = serde_json::from_value(json!({ "publicKey": body["public_key"] }))
            .expect("request options");
        (text(&body, "ceremony_id").to_owned(), options)
    }

    /// Starts an assertion whose options the client changes to require
    /// user verification, as a platform authenticator may do for passkeys.
    /// The soft authenticators verify the user only when the options
    /// require it.
    async fn start_assertion_verifying_user(&self) -> (String, RequestChallengeResponse) {
        let (status, mut body) = self.post("/v1/me/webauthn/assertions", &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["public_key"]["userVerification"], "preferred",
            "{body}"
        );
        body["public_key"]["userVerification"] = json!("required");
        let options = serde_json::from_value(json!({ "publicKey": body["public_key"] }))
            .expect("request options");
        (text(&body, "ceremony_id").to_owned(), options)
    }

    async fn finish_assertion(&self, ceremony_id: &str, credential: &Value) -> (StatusCode, Value) {
        let path = format!("/v1/me/webauthn/assertions/{ceremony_id}");
        self.post(&path, &json!({ "credential": credential })).await
    }

    /// Runs an assertion at the web origin and returns the finishing
    /// response.
    async fn assert_with(
        &self,
        authenticator: &mut impl AuthenticatorBackend,
    ) -> (StatusCode, Value) {
        let (ceremony_id, options) = self.start_assertion().await;
        let credential = authenticator
            .do_authentication(origin(WEB_ORIGIN), options)
            .expect("the authenticator signs");
        self.finish_assertion(&ceremony_id, &json!(credential))
            .await
    }
}

/// Returns the first problem field of an error body.
fn problem_field(body: &Value) -> &str {
    body["errors"][0]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no field error in {body}"))
}

async fn audit_contains(live: &Live, needle: &str) -> bool {
    live.backend
        .raw_rows("audit_log")
        .await
        .iter()
        .any(|row| contains(row, needle.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_registers_and_asserts() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "passkey@example.com").await;
        let mut passkey = SoftPasskey::new(true);

        let registered = user.register(&mut passkey, "passkey").await;
        assert_eq!(registered["kind"], "passkey", "{backend}");
        assert_eq!(registered["name"], "Test key", "{backend}");
        assert!(
            registered["last_used_at"].is_null(),
            "{backend}: {registered}"
        );

        let (status, verified) = user.assert_with(&mut passkey).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {verified}");
        assert_eq!(verified["credential_id"], registered["id"], "{backend}");
        assert_eq!(verified["user_verified"], true, "{backend}");

        let (status, list) = user.get("/v1/me/webauthn/credentials").await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        let credentials = list["credentials"].as_array().expect("credentials");
        assert_eq!(credentials.len(), 1, "{backend}: {list}");
        assert!(
            credentials[0]["last_used_at"].is_string(),
            "{backend}: {list}"
        );

        // A second assertion works too, with the stored counter updated.
        let (status, body) = user.assert_with(&mut passkey).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert!(
            audit_contains(&live, "webauthn.register").await,
            "{backend}"
        );
        assert!(audit_contains(&live, "webauthn.assert").await, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_key_and_passkey_assert() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "mixed@example.com").await;
        let (mut security_key, _attestation_ca) = SoftToken::new(true).expect("soft token");
        let mut passkey = SoftPasskey::new(true);

        let key = user.register(&mut security_key, "security_key").await;
        assert_eq!(key["kind"], "security_key", "{backend}");
        let (status, verified) = user.assert_with(&mut security_key).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {verified}");
        assert_eq!(verified["credential_id"], key["id"], "{backend}");

        // With both kinds registered, one ceremony accepts either, and it
        // still requires user verification of the passkey.
        let second = user.register(&mut passkey, "passkey").await;
        let (status, body) = user.assert_with(&mut passkey).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{backend}: {body}");
        assert!(
            text(&body, "detail").contains("did not verify the user"),
            "{backend}: {body}"
        );
        let (ceremony_id, options) = user.start_assertion_verifying_user().await;
        let assertion = passkey
            .do_authentication(origin(WEB_ORIGIN), options)
            .expect("the authenticator signs");
        let (status, verified) = user.finish_assertion(&ceremony_id, &json!(assertion)).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {verified}");
        assert_eq!(verified["credential_id"], second["id"], "{backend}");
        assert_eq!(verified["user_verified"], true, "{backend}");
        let (status, verified) = user.assert_with(&mut security_key).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {verified}");
        assert_eq!(verified["credential_id"], key["id"], "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_not_allowed_is_rejected() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "origin@example.com").await;
        let mut passkey = SoftPasskey::new(true);

        // A subdomain passes the client's own check but is not the RP's origin.
        let (ceremony_id, options) = user.start_registration("passkey").await;
        let credential = passkey
            .do_registration(origin("https://evil.localhost:8443"), options)
            .expect("the authenticator registers");
        let (status, body) = user
            .finish_registration(&ceremony_id, &json!(credential))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(
            problem_field(&body),
            "credential.response.clientDataJSON",
            "{backend}"
        );
        assert!(
            text(&body, "detail").contains("evil.localhost"),
            "{backend}: {body}"
        );

        // An app signed with another certificate.
        let (ceremony_id, options) = user.start_registration("passkey").await;
        let other_app = origin(&android_origin(b"someone else's signing certificate"));
        let credential = AuthenticatorBackend::perform_register(
            &mut passkey,
            other_app,
            options.public_key,
            TIMEOUT_MS,
        )
        .expect("the authenticator registers");
        let (status, body) = user
            .finish_registration(&ceremony_id, &json!(credential))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(
            problem_field(&body),
            "credential.response.clientDataJSON",
            "{backend}"
        );

        // An assertion from a foreign origin, with a registered credential.
        user.register(&mut passkey, "passkey").await;
        let (ceremony_id, options) = user.start_assertion().await;
        let credential = passkey
            .do_authentication(origin("https://evil.localhost:8443"), options)
            .expect("the authenticator signs");
        let (status, body) = user
            .finish_assertion(&ceremony_id, &json!(credential))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(
            problem_field(&body),
            "credential.response.clientDataJSON",
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_app_origins_work() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "apps@example.com").await;

        for app in [allowed_android_origin(), ALLOWED_IOS_ORIGIN.to_owned()] {
            let app = origin(&app);
            let mut passkey = SoftPasskey::new(true);

            // Native apps are not web origins, so the browser-side checks
            // of `do_registration` do not apply. The backend call signs as
            // the app.
            let (ceremony_id, options) = user.start_registration("passkey").await;
            let credential = AuthenticatorBackend::perform_register(
                &mut passkey,
                app.clone(),
                options.public_key,
                TIMEOUT_MS,
            )
            .expect("the authenticator registers");
            let (status, registered) = user
                .finish_registration(&ceremony_id, &json!(credential))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{backend} {app}: {registered}");

            let (ceremony_id, options) = user.start_assertion().await;
            let credential = AuthenticatorBackend::perform_auth(
                &mut passkey,
                app.clone(),
                options.public_key,
                TIMEOUT_MS,
            )
            .expect("the authenticator signs");
            let (status, verified) = user
                .finish_assertion(&ceremony_id, &json!(credential))
                .await;
            assert_eq!(status, StatusCode::OK, "{backend} {app}: {verified}");
            assert_eq!(
                verified["credential_id"], registered["id"],
                "{backend} {app}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremony_finishes_only_once() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "once@example.com").await;
        let mut passkey = SoftPasskey::new(true);

        let (ceremony_id, options) = user.start_registration("passkey").await;
        let credential = json!(
            passkey
                .do_registration(origin(WEB_ORIGIN), options)
                .expect("the authenticator registers")
        );
        let (status, body) = user.finish_registration(&ceremony_id, &credential).await;
        assert_eq!(status, StatusCode::CREATED, "{backend}: {body}");
        let (status, body) = user.finish_registration(&ceremony_id, &credential).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(problem_field(&body), "ceremony_id", "{backend}");

        let (ceremony_id, options) = user.start_assertion().await;
        let assertion = json!(
            passkey
                .do_authentication(origin(WEB_ORIGIN), options)
                .expect("the authenticator signs")
        );
        let (status, body) = user.finish_assertion(&ceremony_id, &assertion).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let (status, body) = user.finish_assertion(&ceremony_id, &assertion).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(problem_field(&body), "ceremony_id", "{backend}");

        // A registration ceremony cannot finish an assertion.
        let (registration_id, _) = user.start_registration("security_key").await;
        let (status, body) = user.finish_assertion(&registration_id, &assertion).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(problem_field(&body), "ceremony_id", "{backend}");

        // The same signed assertion replayed on a fresh ceremony fails too,
        // because it signs the old challenge.
        let (fresh_id, _) = user.start_assertion().await;
        let (status, body) = user.finish_assertion(&fresh_id, &assertion).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(
            problem_field(&body),
            "credential.response.clientDataJSON",
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_users_ceremony_is_rejected() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let alice = User::sign_up(&live, "alice@example.com").await;
        let mallory = User::sign_up(&live, "mallory@example.com").await;
        let mut alice_key = SoftPasskey::new(true);
        let mut mallory_key = SoftPasskey::new(true);
        alice.register(&mut alice_key, "passkey").await;
        mallory.register(&mut mallory_key, "passkey").await;

        let (alice_ceremony, alice_options) = alice.start_assertion().await;
        let (_, mallory_options) = mallory.start_assertion().await;
        let mallory_assertion = json!(
            mallory_key
                .do_authentication(origin(WEB_ORIGIN), mallory_options)
                .expect("the authenticator signs")
        );
        let (status, body) = mallory
            .finish_assertion(&alice_ceremony, &mallory_assertion)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(problem_field(&body), "ceremony_id", "{backend}");
        assert!(
            audit_contains(&live, "ceremony of another user").await,
            "{backend}"
        );

        // The attempt did not use up Alice's ceremony.
        let alice_assertion = json!(
            alice_key
                .do_authentication(origin(WEB_ORIGIN), alice_options)
                .expect("the authenticator signs")
        );
        let (status, body) = alice
            .finish_assertion(&alice_ceremony, &alice_assertion)
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_ceremony_is_rejected() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "expired@example.com").await;
        let mut passkey = SoftPasskey::new(true);

        let (ceremony_id, options) = user.start_registration("passkey").await;
        let credential = json!(
            passkey
                .do_registration(origin(WEB_ORIGIN), options)
                .expect("the authenticator registers")
        );
        let backdate = match backend {
            "postgres" => "UPDATE webauthn_ceremonies SET expires_at = now() - interval '1 second'",
            _ => "UPDATE webauthn_ceremonies SET expires_at = 0",
        };
        live.backend.raw_execute(backdate).await.expect("backdate");

        let (status, body) = user.finish_registration(&ceremony_id, &credential).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(problem_field(&body), "ceremony_id", "{backend}");
        assert!(
            text(&body, "detail").contains("expired"),
            "{backend}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_credentials() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "malformed@example.com").await;
        let mut passkey = SoftPasskey::new(true);
        let registered = user.register(&mut passkey, "passkey").await;

        let (ceremony_id, _) = user.start_assertion().await;
        let (status, body) = user
            .finish_assertion(&ceremony_id, &json!({ "id": "abc", "rawId": "!!" }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert!(
            problem_field(&body).starts_with("credential"),
            "{backend}: {body}"
        );

        let (status, body) = user.finish_assertion(&ceremony_id, &json!(null)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(problem_field(&body), "credential", "{backend}");

        // A credential removed after the ceremony started is unknown.
        let (ceremony_id, options) = user.start_assertion().await;
        let assertion = json!(
            passkey
                .do_authentication(origin(WEB_ORIGIN), options)
                .expect("the authenticator signs")
        );
        let path = format!("/v1/me/webauthn/credentials/{}", text(&registered, "id"));
        assert_eq!(
            user.delete(&path).await,
            StatusCode::NO_CONTENT,
            "{backend}"
        );
        let (status, body) = user.finish_assertion(&ceremony_id, &assertion).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert_eq!(problem_field(&body), "credential.rawId", "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_removal() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "remove@example.com").await;
        let other = User::sign_up(&live, "other@example.com").await;
        let mut passkey = SoftPasskey::new(true);
        let registered = user.register(&mut passkey, "passkey").await;
        let path = format!("/v1/me/webauthn/credentials/{}", text(&registered, "id"));

        assert_eq!(
            other.delete(&path).await,
            StatusCode::NOT_FOUND,
            "{backend}"
        );
        assert_eq!(
            user.delete(&path).await,
            StatusCode::NO_CONTENT,
            "{backend}"
        );
        assert_eq!(user.delete(&path).await, StatusCode::NOT_FOUND, "{backend}");
        let (status, list) = user.get("/v1/me/webauthn/credentials").await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        assert_eq!(list["credentials"], json!([]), "{backend}");
        assert!(audit_contains(&live, "webauthn.remove").await, "{backend}");

        let (status, body) = user.post("/v1/me/webauthn/assertions", &json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_limit_is_enforced() {
    for live in servers().await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "limit@example.com").await;
        let mut passkey = SoftPasskey::new(true);
        for _ in 0..19 {
            user.register(&mut passkey, "passkey").await;
        }

        // Two ceremonies started at 19 credentials: only one may finish.
        let mut pending = Vec::new();
        for _ in 0..2 {
            let (ceremony_id, options) = user.start_registration("passkey").await;
            let credential = passkey
                .do_registration(origin(WEB_ORIGIN), options)
                .expect("the authenticator registers");
            pending.push((ceremony_id, json!(credential)));
        }
        let (status, body) = user.finish_registration(&pending[0].0, &pending[0].1).await;
        assert_eq!(status, StatusCode::CREATED, "{backend}: {body}");
        let (status, body) = user.finish_registration(&pending[1].0, &pending[1].1).await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend}: {body}");

        let (status, body) = user
            .post(
                "/v1/me/webauthn/registrations",
                &json!({ "kind": "passkey" }),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend}: {body}");
        assert!(text(&body, "detail").contains("20"), "{backend}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_passes_login_mfa_and_step_up() {
    for live in servers_with_step_up(3).await {
        let backend = live.backend.backend_name();
        let user = User::sign_up(&live, "passkey.login@example.com").await;
        let mut passkey = SoftPasskey::new(true);
        user.register(&mut passkey, "passkey").await;

        // A registered passkey makes every login ask for it, in place of
        // an emailed code.
        let login = json!({
            "email": "passkey.login@example.com",
            "password": http_support::GOOD_PASSWORD,
            "device_fingerprint": "device-2",
        });
        let (status, challenge) = live.post("/v1/auth/login", &login).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {challenge}");
        assert_eq!(challenge["mfa_required"], true, "{backend}");
        assert_eq!(challenge["methods"], json!(["webauthn"]), "{backend}");
        let mfa_token = text(&challenge, "mfa_token").to_owned();

        let (status, ceremony) = live
            .post(
                "/v1/auth/mfa/webauthn/options",
                &json!({ "mfa_token": mfa_token }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {ceremony}");
        let options = serde_json::from_value(json!({ "publicKey": ceremony["public_key"] }))
            .expect("request options");
        let credential = passkey
            .do_authentication(origin(WEB_ORIGIN), options)
            .expect("the authenticator signs");
        let verify = json!({
            "mfa_token": mfa_token,
            "ceremony_id": text(&ceremony, "ceremony_id"),
            "credential": credential,
        });
        let (status, tokens) = live.post("/v1/auth/mfa/webauthn/verify", &verify).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {tokens}");
        let amr = identity_support::claims_of(text(&tokens, "access_token"))["amr"].clone();
        assert_eq!(amr, json!(["pwd", "hwk", "mfa"]), "{backend}");

        let (status, replay) = live.post("/v1/auth/mfa/webauthn/verify", &verify).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend}: {replay}");

        // The first session's step-up for the registration has expired, so
        // changing the password needs a new one, which an assertion passes.
        tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
        let change = json!({
            "current_password": http_support::GOOD_PASSWORD,
            "new_password": "Granite-Orchid-Lantern-9m2z!",
        });
        let (status, refused) = user.post("/v1/me/password", &change).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{backend}: {refused}");
        assert!(
            refused["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("step-up-required")),
            "{backend}: {refused}"
        );
        assert!(
            refused["detail"]
                .as_str()
                .is_some_and(|d| d.contains("webauthn")),
            "{backend}: {refused}"
        );
        let (status, body) = user.assert_with(&mut passkey).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let (status, body) = user.post("/v1/me/password", &change).await;
        assert!(status.is_success(), "{backend}: {status} {body}");
    }
}
