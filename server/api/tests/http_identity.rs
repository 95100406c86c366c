//! Access tokens, refresh tokens and sessions over HTTPS on a live server:
//! JWKS verification, forged tokens, rotation and reuse of refresh tokens,
//! the session limit and forced logout.

mod http_support;
mod identity_support;
mod support;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sharepay_server::keys::KeyPurpose;
use time::OffsetDateTime;

use identity_support::{Live, claims_of, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_verifies_against_jwks() {
    let live = Live::start().await;
    live.register("jwks@example.com").await;
    let tokens = live.login("jwks@example.com", "device-1").await;
    let access = text(&tokens, "access_token");

    let (status, jwks) = live.get_with("/v1/.well-known/jwks.json", "").await;
    assert_eq!(status, StatusCode::OK);
    let header = jsonwebtoken::decode_header(access).expect("header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("kid header");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} not in {jwks}"));
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    let key = DecodingKey::from_ed_components(text(jwk, "x")).expect("JWK x");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["sharepay-api"]);
    validation.set_issuer(&["sharepay"]);
    validation.validate_nbf = true;
    let verified = jsonwebtoken::decode::<Value>(access, &key, &validation).expect("verify");

    let claims = verified.claims;
    for claim in [
        "sub", "sid", "roles", "amr", "iss", "aud", "iat", "nbf", "exp",
    ] {
        assert!(
            !claims[claim].is_null(),
            "claim {claim} missing in {claims}"
        );
    }
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["roles"], json!([]));
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 900);
    live.server.shutdown().await;
}

/// Signs `claims` with the server's real signing key under `kid`.
fn sign_with_server_key(live: &Live, kid: &str, claims: &Value) -> String {
    let key = live
        .backend
        .data
        .keys
        .current(KeyPurpose::JwtSigning)
        .expect("signing key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(key.expose())).expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_access_tokens_are_rejected() {
    let live = Live::start().await;
    live.register("forge@example.com").await;
    let tokens = live.login("forge@example.com", "device-1").await;
    let access = text(&tokens, "access_token").to_owned();
    let kid = jsonwebtoken::decode_header(&access)
        .expect("header")
        .kid
        .expect("kid");
    let claims = claims_of(&access);
    assert_eq!(live.me_status(&access).await, StatusCode::OK);
    let (_, jwks) = live.get_with("/v1/.well-known/jwks.json", "").await;
    let public_x = text(&jwks["keys"][0], "x").to_owned();
    let now = OffsetDateTime::now_utc().unix_timestamp();

    let unsigned = format!(
        "{}.{}.",
        BASE64URL.encode(br#"{"alg":"none","typ":"JWT"}"#),
        BASE64URL.encode(claims.to_string())
    );
    let mut hs256_header = Header::new(Algorithm::HS256);
    hs256_header.kid = Some(kid.clone());
    let hs256_with_public_key = jsonwebtoken::encode(
        &hs256_header,
        &claims,
        &EncodingKey::from_secret(&BASE64URL.decode(&public_x).expect("x")),
    )
    .expect("sign HS256");
    let hs256_with_jwk_text = jsonwebtoken::encode(
        &hs256_header,
        &claims,
        &EncodingKey::from_secret(public_x.as_bytes()),
    )
    .expect("sign HS256");
    let mut expired_claims = claims.clone();
    expired_claims["iat"] = json!(now - 3600);
    expired_claims["nbf"] = json!(now - 3600);
    expired_claims["exp"] = json!(now - 1800);
    let expired = sign_with_server_key(&live, &kid, &expired_claims);
    let mut future_claims = claims.clone();
    future_claims["nbf"] = json!(now + 600);
    future_claims["exp"] = json!(now + 1200);
    let not_yet_valid = sign_with_server_key(&live, &kid, &future_claims);
    let unknown_kid = sign_with_server_key(&live, "unknown-key-id", &claims);
    let mut wrong_audience = claims.clone();
    wrong_audience["aud"] = json!("another-api");
    let wrong_audience = sign_with_server_key(&live, &kid, &wrong_audience);
    let mut altered = claims.clone();
    altered["roles"] = json!(["admin"]);
    let parts: Vec<&str> = access.split('.').collect();
    let altered_claims = format!(
        "{}.{}.{}",
        parts[0],
        BASE64URL.encode(altered.to_string()),
        parts[2]
    );

    let forgeries = [
        ("alg none", unsigned),
        ("HS256 keyed with the public key", hs256_with_public_key),
        ("HS256 keyed with the JWK text", hs256_with_jwk_text),
        ("expired", expired),
        ("not yet valid", not_yet_valid),
        ("unknown kid", unknown_kid),
        ("wrong audience", wrong_audience),
        ("altered claims", altered_claims),
    ];
    for (name, token) in forgeries {
        assert_eq!(
            live.me_status(&token).await,
            StatusCode::UNAUTHORIZED,
            "the {name} token must be rejected"
        );
    }
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes() {
    let live = Live::start().await;
    live.register("rotate@example.com").await;
    let first = live.login("rotate@example.com", "device-1").await;
    let first_refresh = text(&first, "refresh_token").to_owned();

    let (status, second) = live.refresh(&first_refresh, "device-1").await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let second_refresh = text(&second, "refresh_token").to_owned();
    let second_access = text(&second, "access_token").to_owned();
    assert_ne!(first_refresh, second_refresh);
    assert_eq!(live.me_status(&second_access).await, StatusCode::OK);
    let (other_device, _) = live.refresh(&second_refresh, "device-2").await;
    assert_eq!(other_device, StatusCode::UNAUTHORIZED);

    let (reuse, _) = live.refresh(&first_refresh, "device-1").await;

    assert_eq!(reuse, StatusCode::UNAUTHORIZED);
    assert_eq!(
        live.me_status(&second_access).await,
        StatusCode::UNAUTHORIZED,
        "reuse must end the session of the whole family"
    );
    let (after_reuse, _) = live.refresh(&second_refresh, "device-1").await;
    assert_eq!(after_reuse, StatusCode::UNAUTHORIZED);
    let audit = live.backend.raw_rows("audit_log").await;
    assert!(
        audit
            .iter()
            .any(|row| support::contains(row, b"refresh token reused")),
        "the reuse must be audited as a security event"
    );
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_refreshes_one_succeeds() {
    let live = Arc::new(Live::start().await);
    live.register("race@example.com").await;
    let tokens = live.login("race@example.com", "device-1").await;
    let refresh = text(&tokens, "refresh_token").to_owned();

    let mut tasks = Vec::new();
    for _ in 0..2 {
        let live = Arc::clone(&live);
        let refresh = refresh.clone();
        tasks.push(tokio::spawn(async move {
            live.refresh(&refresh, "device-1").await.0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }

    let succeeded = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(succeeded, 1, "{statuses:?}");
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_limit_evicts_oldest_login() {
    let live = Live::start().await;
    live.register("limit@example.com").await;
    let mut logins = Vec::new();
    for index in 0..6 {
        logins.push(
            live.login("limit@example.com", &format!("device-{index}"))
                .await,
        );
    }
    let oldest = text(&logins[0], "access_token");
    let newest = text(&logins[5], "access_token");

    assert_eq!(live.me_status(oldest).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        live.me_status(text(&logins[1], "access_token")).await,
        StatusCode::OK
    );
    let (status, listed) = live.get_with("/v1/sessions", newest).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = listed["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 5);
    assert_eq!(sessions[4]["current"], true);
    assert_eq!(sessions[4]["device_fingerprint"], "device-5");
    assert_eq!(sessions[4]["ip_address"], "127.0.0.1");
    let (refresh, _) = live
        .refresh(text(&logins[0], "refresh_token"), "device-0")
        .await;
    assert_eq!(refresh, StatusCode::UNAUTHORIZED);
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_ends_own_sessions() {
    let live = Live::start().await;
    live.register("own@example.com").await;
    let a = live.login("own@example.com", "device-a").await;
    let b = live.login("own@example.com", "device-b").await;
    let c = live.login("own@example.com", "device-c").await;
    let access_a = text(&a, "access_token");
    let session_b = claims_of(text(&b, "access_token"))["sid"]
        .as_str()
        .expect("sid")
        .to_owned();

    let deleted = live
        .client
        .delete(live.url(&format!("/v1/sessions/{session_b}")))
        .bearer_auth(access_a)
        .send()
        .await
        .expect("send");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        live.me_status(text(&b, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
    let again = live
        .client
        .delete(live.url(&format!("/v1/sessions/{session_b}")))
        .bearer_auth(access_a)
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    let others = live
        .client
        .delete(live.url("/v1/sessions"))
        .bearer_auth(access_a)
        .send()
        .await
        .expect("send");
    assert_eq!(others.status(), StatusCode::OK);
    let body: Value = others.json().await.expect("body");
    assert_eq!(body["revoked"], 1);
    assert_eq!(
        live.me_status(text(&c, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(live.me_status(access_a).await, StatusCode::OK);
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_logout_ends_victim_sessions() {
    let live = Live::start().await;
    live.register("admin@example.com").await;
    live.register("victim@example.com").await;
    let victim = live.login("victim@example.com", "victim-phone").await;
    let victim_access = text(&victim, "access_token");
    let victim_id = claims_of(victim_access)["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let path = format!("/v1/admin/users/{victim_id}/force-logout");
    let before_grant = live.login("admin@example.com", "admin-laptop").await;
    let refused = live
        .client
        .post(live.url(&path))
        .bearer_auth(text(&before_grant, "access_token"))
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let output = live
        .backend
        .run_cli(&["user", "grant-admin", "Admin@Example.com"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let admin = live.login("admin@example.com", "admin-laptop").await;
    assert_eq!(
        claims_of(text(&admin, "access_token"))["roles"],
        json!(["admin"])
    );
    let forced = live
        .client
        .post(live.url(&path))
        .bearer_auth(text(&admin, "access_token"))
        .send()
        .await
        .expect("send");

    assert_eq!(forced.status(), StatusCode::OK);
    let unknown = live
        .client
        .post(live.url(&format!(
            "/v1/admin/users/{}/force-logout",
            uuid::Uuid::now_v7()
        )))
        .bearer_auth(text(&admin, "access_token"))
        .send()
        .await
        .expect("send");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "an unknown user");
    assert_eq!(
        live.me_status(victim_access).await,
        StatusCode::UNAUTHORIZED
    );
    let (refresh, _) = live
        .refresh(text(&victim, "refresh_token"), "victim-phone")
        .await;
    assert_eq!(refresh, StatusCode::UNAUTHORIZED);
    live.server.shutdown().await;
}

/// Runs `tests/lib/verify_jwt.py` (PyJWT) on a real token and the served
/// JWKS. Ignored by default because it needs Python with `pyjwt[crypto]`;
/// `tests/run` installs it and runs this test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with pyjwt[crypto]"]
async fn pyjwt_verifies_access_token() {
    let live = Live::start().await;
    live.register("pyjwt@example.com").await;
    let tokens = live.login("pyjwt@example.com", "device-1").await;
    let (_, jwks) = live.get_with("/v1/.well-known/jwks.json", "").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let jwks_path = dir.path().join("jwks.json");
    let token_path = dir.path().join("token.txt");
    std::fs::write(&jwks_path, jwks.to_string()).expect("write JWKS");
    std::fs::write(&token_path, text(&tokens, "access_token")).expect("write token");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/lib/verify_jwt.py");

    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(&jwks_path)
        .arg(&token_path)
        .output()
        .expect("run python3");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "PyJWT rejected the token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("PyJWT verified claims: {stdout}");
    let claims: Value = serde_json::from_str(&stdout).expect("claims JSON");
    assert_eq!(
        claims["sub"],
        claims_of(text(&tokens, "access_token"))["sub"]
    );
    let mut forged = text(&tokens, "access_token").to_owned();
    forged.push('A');
    std::fs::write(&token_path, forged).expect("write forged token");
    let rejected = std::process::Command::new("python3")
        .arg(script)
        .arg(&jwks_path)
        .arg(&token_path)
        .output()
        .expect("run python3");
    assert!(
        !rejected.status.success(),
        "PyJWT must reject a changed signature"
    );
    live.server.shutdown().await;
}
