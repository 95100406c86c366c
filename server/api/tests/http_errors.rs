//! Every response, success or error, carries the security headers and a
//! request id, and every error is problem+json naming what failed.

mod http_support;

use reqwest::{Method, StatusCode};
use sharepay_server::http_config::HttpConfig;

use http_support::{
    GOOD_PASSWORD, SECURITY_HEADERS, TestServer, header, login_limited, problem_of,
    register_and_login,
};

#[tokio::test]
async fn security_headers_on_every_status() {
    let server = TestServer::start(login_limited(2, &[])).await;
    let client = server.http1();
    let token = register_and_login(&server, "headers@example.org").await;
    // The login above spent one of the two login requests.
    let spent = client
        .post(server.url("/v1/auth/login"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("second login");
    assert_eq!(spent.status(), StatusCode::BAD_REQUEST);
    let oversized = "x".repeat(65 * 1024);

    let cases: Vec<(StatusCode, reqwest::RequestBuilder)> = vec![
        (
            StatusCode::OK,
            client.get(server.url("/v1/me")).bearer_auth(&token),
        ),
        (StatusCode::UNAUTHORIZED, client.get(server.url("/v1/me"))),
        (
            StatusCode::NOT_FOUND,
            client.get(server.url("/v1/nothing-here")),
        ),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            client.request(Method::DELETE, server.url("/v1/me")),
        ),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            client
                .post(server.url("/v1/auth/register"))
                .header("content-type", "application/json")
                .body(oversized),
        ),
        (
            StatusCode::TOO_MANY_REQUESTS,
            client
                .post(server.url("/v1/auth/login"))
                .json(&serde_json::json!({})),
        ),
    ];

    for (expected, request) in cases {
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), expected);
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(header(&response, name), value, "{name} on {expected}");
        }
        let request_id = header(&response, "x-request-id");
        let parsed = uuid::Uuid::parse_str(&request_id).expect("request id is a UUID");
        assert_eq!(
            parsed.get_version_num(),
            7,
            "request id version on {expected}"
        );
        if expected != StatusCode::OK {
            let problem = problem_of(response).await;
            assert_eq!(problem.status, expected.as_u16());
        }
    }
}

#[tokio::test]
async fn oversized_body_is_413_problem() {
    let server = TestServer::start(HttpConfig::default()).await;
    let body = format!(
        r#"{{"email":"big@example.org","password":"{}"}}"#,
        "x".repeat(65 * 1024)
    );

    let response = server
        .http1()
        .post(server.url("/v1/auth/register"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let problem = problem_of(response).await;
    assert_eq!(problem.problem_type, "payload-too-large");
}

#[tokio::test]
async fn route_body_limit_overrides_default() {
    let mut http = HttpConfig::default();
    http.route_body_limits
        .insert("POST /v1/auth/register".to_owned(), 64);
    let server = TestServer::start(http).await;
    let body = serde_json::json!({"email": "limits@example.org", "password": GOOD_PASSWORD});

    let response = server.post_json("/v1/auth/register", &body).await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_json_field_is_named() {
    let server = TestServer::start(HttpConfig::default()).await;
    let body = serde_json::json!({
        "email": "field@example.org",
        "password": GOOD_PASSWORD,
        "is_admin": true,
    });

    let response = server
        .http2()
        .post(server.url("/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .expect("send");

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem = problem_of(response).await;
    assert_eq!(problem.problem_type, "invalid-input");
    assert_eq!(problem.errors.len(), 1);
    assert_eq!(problem.errors[0].field, "is_admin");
}

#[tokio::test]
async fn weak_password_lists_each_rule() {
    let server = TestServer::start(HttpConfig::default()).await;
    let body = serde_json::json!({"email": "weak@example.org", "password": "password"});

    let response = server.post_json("/v1/auth/register", &body).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem = problem_of(response).await;
    assert!(problem.errors.len() >= 3, "{:?}", problem.errors);
    assert!(problem.errors.iter().all(|e| e.field == "password"));
    assert!(!problem.detail.contains("password1"));
}

#[tokio::test]
async fn missing_content_type_is_problem() {
    let server = TestServer::start(HttpConfig::default()).await;

    let response = server
        .http1()
        .post(server.url("/v1/auth/login"))
        .body(r#"{"email":"a@example.org","password":"x"}"#)
        .send()
        .await
        .expect("send");

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem = problem_of(response).await;
    assert_eq!(problem.errors[0].field, "Content-Type");
}

#[tokio::test]
async fn client_request_id_is_replaced() {
    let server = TestServer::start(HttpConfig::default()).await;

    let response = server
        .http1()
        .get(server.url("/v1/nothing-here"))
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .expect("send");

    let request_id = header(&response, "x-request-id");
    assert_ne!(request_id, "client-chosen-id");
    let problem = problem_of(response).await;
    assert_eq!(problem.problem_type, "not-found");
}
