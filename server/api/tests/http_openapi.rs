//! The served OpenAPI document describes exactly the routes the server
//! serves, with the problem+json error schema.

mod http_support;

use reqwest::{Method, StatusCode};
use sharepay_server::http_config::HttpConfig;

use http_support::TestServer;

#[tokio::test]
async fn openapi_document_matches_routes() {
    let server = TestServer::start(HttpConfig::default()).await;
    let client = server.http1();

    let response = client
        .get(server.url("/v1/openapi.json"))
        .send()
        .await
        .expect("fetch the document");
    assert_eq!(response.status(), StatusCode::OK);
    let document: serde_json::Value = response.json().await.expect("JSON document");

    assert!(
        document["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.")
    );
    let problem = &document["components"]["schemas"]["Problem"];
    assert!(problem["properties"]["type"].is_object(), "{problem}");
    assert!(problem["properties"]["request_id"].is_object(), "{problem}");
    let email = &document["components"]["schemas"]["RegisterRequest"]["properties"]["email"];
    assert_eq!(email["maxLength"], 254);

    let paths = document["paths"].as_object().expect("paths");
    let mut operation_ids = std::collections::BTreeSet::new();
    for operations in paths.values() {
        for operation in operations.as_object().expect("operations").values() {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(
                operation_ids.insert(id.to_owned()),
                "operationId {id} is not unique"
            );
        }
    }
    assert_eq!(paths.len(), 71, "{:?}", paths.keys().collect::<Vec<_>>());
    for (path, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("HTTP method");
            let status = client
                .request(method.clone(), server.url(path))
                .send()
                .await
                .expect("send")
                .status();
            assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}
