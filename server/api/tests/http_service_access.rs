//! Service access over HTTPS on a live server: API keys and OAuth2
//! client-credentials tokens, their scopes, revocation and wrong secrets,
//! and the separation of user tokens from service tokens.

mod http_support;
mod identity_support;
mod security_support;
mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;
use serde_json::{Value, json};

use identity_support::{Live, claims_of, text};
use security_support::admin_token;

/// Sends a GET with a raw `Authorization` value.
async fn get_authorized(live: &Live, path: &str, authorization: &str) -> (StatusCode, Value) {
    let response = live
        .client
        .get(live.url(path))
        .header("authorization", authorization)
        .send()
        .await
        .expect("send");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_admin(live: &Live, admin: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = live
        .client
        .post(live.url(path))
        .bearer_auth(admin)
        .json(body)
        .send()
        .await
        .expect("send");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn delete_admin(live: &Live, admin: &str, path: &str) -> StatusCode {
    live.client
        .delete(live.url(path))
        .bearer_auth(admin)
        .send()
        .await
        .expect("send")
        .status()
}

/// Requests a token with `form` and optional HTTP Basic credentials.
async fn request_token(live: &Live, basic: Option<(&str, &str)>, form: &str) -> reqwest::Response {
    let mut request = live
        .client
        .post(live.url("/v1/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some((id, secret)) = basic {
        let encoded = BASE64.encode(format!("{id}:{secret}"));
        request = request.header("authorization", format!("Basic {encoded}"));
    }
    request.send().await.expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_scopes_and_revocation() {
    let live = Live::start().await;
    let admin = admin_token(&live, "admin@example.com").await;

    let (status, created) = post_admin(
        &live,
        &admin,
        "/v1/admin/api-keys",
        &json!({"name": "audit export", "scopes": ["audit:read"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let api_key = text(&created, "api_key").to_owned();
    let prefix = text(&created, "prefix").to_owned();
    assert!(prefix.starts_with("spk_"), "{prefix}");
    assert_eq!(prefix.len(), 12, "{prefix}");
    assert!(api_key.starts_with(&format!("{prefix}_")));
    let secret = &api_key[prefix.len() + 1..];
    let (status, listed) = live.get_with("/v1/admin/api-keys", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["credentials"][0]["public_id"], prefix.as_str());
    assert!(!listed.to_string().contains(secret), "{listed}");
    let (status, problem) = post_admin(
        &live,
        &admin,
        "/v1/admin/api-keys",
        &json!({"name": "too much", "scopes": ["admin:all"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "scopes");

    let (status, page) = get_authorized(
        &live,
        "/v1/service/audit?limit=5",
        &format!("ApiKey {api_key}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["entries"].as_array().expect("entries").len(), 5);
    assert_eq!(page["entries"][0]["id"], 1);
    assert!(page["next_after_id"].is_i64());
    let (status, problem) = get_authorized(
        &live,
        "/v1/service/security-events",
        &format!("ApiKey {api_key}"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("security-events:read")
    );

    let mut wrong_secret = api_key.clone();
    let last = wrong_secret.pop().expect("last character");
    wrong_secret.push(if last == 'A' { 'B' } else { 'A' });
    let refused = [
        format!("ApiKey {wrong_secret}"),
        "ApiKey spk_00000000_unknown-key-secret".to_owned(),
        "ApiKey not-a-key".to_owned(),
        format!("Bearer {admin}"),
        api_key.clone(),
    ];
    for authorization in &refused {
        let (status, _) = get_authorized(&live, "/v1/service/audit", authorization).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:.20}");
    }
    let (status, _) = get_authorized(&live, "/v1/me", &format!("ApiKey {api_key}")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an API key is no user token"
    );

    let id = text(&created, "id");
    assert_eq!(
        delete_admin(&live, &admin, &format!("/v1/admin/api-keys/{id}")).await,
        StatusCode::NO_CONTENT
    );
    let (status, _) =
        get_authorized(&live, "/v1/service/audit", &format!("ApiKey {api_key}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        delete_admin(&live, &admin, &format!("/v1/admin/api-keys/{id}")).await,
        StatusCode::NOT_FOUND
    );
    let (_, listed) = live.get_with("/v1/admin/api-keys", &admin).await;
    assert!(
        listed["credentials"][0]["revoked_at"].is_string(),
        "{listed}"
    );
    live.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_client_credentials_grant() {
    let live = Live::start().await;
    let admin = admin_token(&live, "admin@example.com").await;
    let (status, client) = post_admin(
        &live,
        &admin,
        "/v1/admin/oauth-clients",
        &json!({"name": "siem", "scopes": ["security-events:read", "audit:read"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let client_id = text(&client, "client_id").to_owned();
    let client_secret = text(&client, "client_secret").to_owned();

    let response = request_token(
        &live,
        Some((&client_id, &client_secret)),
        "grant_type=client_credentials&scope=security-events%3Aread",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let token: Value = response.json().await.expect("token JSON");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 900);
    assert_eq!(token["scope"], "security-events:read");
    let access = text(&token, "access_token").to_owned();
    let claims = claims_of(&access);
    assert_eq!(claims["aud"], "sharepay-service");
    assert_eq!(claims["client_id"], client_id.as_str());
    let header = jsonwebtoken::decode_header(&access).expect("JWT header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);

    let bearer = format!("Bearer {access}");
    let (status, events) = get_authorized(&live, "/v1/service/security-events", &bearer).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let (status, _) = get_authorized(&live, "/v1/service/audit", &bearer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the token holds a subset");
    assert_eq!(live.me_status(&access).await, StatusCode::UNAUTHORIZED);

    let form_auth = request_token(
        &live,
        None,
        &format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}"
        ),
    )
    .await;
    assert_eq!(form_auth.status(), StatusCode::OK);
    let full: Value = form_auth.json().await.expect("token JSON");
    assert_eq!(full["scope"], "audit:read security-events:read");
    let full_bearer = format!("Bearer {}", text(&full, "access_token"));
    let (status, _) = get_authorized(&live, "/v1/service/audit", &full_bearer).await;
    assert_eq!(status, StatusCode::OK);

    let wrong = request_token(
        &live,
        Some((&client_id, "wrong-secret")),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().contains_key("www-authenticate"));
    let body: Value = wrong.json().await.expect("error JSON");
    assert_eq!(body["error"], "invalid_client");
    let cases = [
        ("grant_type=client_credentials&scope=admin", "invalid_scope"),
        ("grant_type=password", "unsupported_grant_type"),
        ("scope=audit%3Aread", "invalid_request"),
    ];
    for (form, expected) in cases {
        let response = request_token(&live, Some((&client_id, &client_secret)), form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form}");
        let body: Value = response.json().await.expect("error JSON");
        assert_eq!(body["error"], expected, "{form}");
    }
    let both = request_token(
        &live,
        Some((&client_id, &client_secret)),
        &format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}"
        ),
    )
    .await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);

    let id = text(&client, "id");
    assert_eq!(
        delete_admin(&live, &admin, &format!("/v1/admin/oauth-clients/{id}")).await,
        StatusCode::NO_CONTENT
    );
    let revoked = request_token(
        &live,
        Some((&client_id, &client_secret)),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = get_authorized(&live, "/v1/service/security-events", &full_bearer).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "tokens of a revoked client stop working"
    );
    live.server.shutdown().await;
}
