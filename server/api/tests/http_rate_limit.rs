//! Rate limits over real TLS: budgets per address (the TCP peer, or the
//! forwarded client behind a trusted proxy) and per account.

mod http_support;

use reqwest::StatusCode;
use sharepay_server::http_config::{HttpConfig, LOGIN_ROUTE, Rate, RateLimitRule};

use http_support::{TestServer, header, login_limited, problem_of, register_and_login};

/// Sends an empty login (400 when admitted) claiming to come from `forwarded`.
async fn login_from(server: &TestServer, forwarded: &str) -> StatusCode {
    server
        .http1()
        .post(server.url("/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("send")
        .status()
}

#[tokio::test]
async fn untrusted_forwarded_for_keeps_peer_key() {
    let server = TestServer::start(login_limited(2, &[])).await;

    assert_eq!(
        login_from(&server, "198.51.100.1").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        login_from(&server, "198.51.100.2").await,
        StatusCode::BAD_REQUEST
    );
    // A third address in the header does not buy a new budget.
    assert_eq!(
        login_from(&server, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn trusted_proxy_forwarded_for_sets_key() {
    let server = TestServer::start(login_limited(2, &["127.0.0.1"])).await;

    assert_eq!(
        login_from(&server, "198.51.100.1").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        login_from(&server, "198.51.100.1").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        login_from(&server, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy has its own budget, and an
    // entry the client wrote left of it does not matter.
    assert_eq!(
        login_from(&server, "203.0.113.50, 198.51.100.2").await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn rate_limited_response_has_retry_after() {
    let server = TestServer::start(login_limited(2, &[])).await;
    login_from(&server, "-").await;
    login_from(&server, "-").await;

    let response = server
        .http1()
        .post(server.url("/v1/auth/login"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("send");

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = header(&response, "retry-after")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let problem = problem_of(response).await;
    assert_eq!(problem.problem_type, "rate-limited");
}

#[tokio::test]
async fn login_attempts_limited_per_email() {
    let mut http = HttpConfig {
        trusted_proxies: vec!["127.0.0.1".to_owned()],
        ..HttpConfig::default()
    };
    http.rate_limits.insert(
        LOGIN_ROUTE.to_owned(),
        RateLimitRule {
            per_address: Some(Rate::per_minute(100)),
            per_account: Some(Rate::per_minute(1)),
        },
    );
    let server = TestServer::start(http).await;
    let attempt = |forwarded: &'static str, email: &'static str| {
        let request = server
            .http1()
            .post(server.url("/v1/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&serde_json::json!({"email": email, "password": "Wrong-Password-123!"}));
        async move { request.send().await.expect("send").status() }
    };

    assert_eq!(
        attempt("198.51.100.1", "victim@example.org").await,
        StatusCode::UNAUTHORIZED
    );
    // From a different address, the same account is still out of budget.
    assert_eq!(
        attempt("198.51.100.2", "Victim@Example.org").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("198.51.100.2", "other@example.org").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn signed_in_user_has_own_budget() {
    let mut http = HttpConfig::default();
    http.rate_limits.insert(
        "GET /v1/me".to_owned(),
        RateLimitRule {
            per_address: None,
            per_account: Some(Rate::per_minute(2)),
        },
    );
    let server = TestServer::start(http).await;
    let first = register_and_login(&server, "first@example.org").await;
    let second = register_and_login(&server, "second@example.org").await;
    let me = |token: &str| {
        let request = server.http1().get(server.url("/v1/me")).bearer_auth(token);
        async move { request.send().await.expect("send").status() }
    };

    assert_eq!(me(&first).await, StatusCode::OK);
    assert_eq!(me(&first).await, StatusCode::OK);
    assert_eq!(me(&first).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(me(&second).await, StatusCode::OK);
}
