//! The OpenAPI 3.1 document of the `/v1/` API, generated from the handler
//! annotations in `routes.rs` and the wire types, served at
//! `GET /v1/openapi.json`.
//!
//! Every route the router serves must be listed in [`ApiDoc`]; the
//! `http_openapi` integration test calls each documented operation on a live
//! server to catch a route missing from one side.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sharepay_domain::wire::{FieldError, Problem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::identity::{admin, passwords, sessions};
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SharePay API",
        description = "Households share recurring bills and settle them by card. Every error is RFC 9457 application/problem+json with a stable `type` slug and the request id, which is also in the X-Request-Id header."
    ),
    paths(
        routes::health, routes::register, routes::login, routes::me, openapi_json,
        sessions::refresh, sessions::list, sessions::revoke, sessions::revoke_others,
        sessions::jwks, admin::force_logout, passwords::change_password,
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "meta", description = "Health and the API description."),
        (name = "auth", description = "Registration and login."),
        (name = "account", description = "The signed-in user's own data."),
        (name = "admin", description = "Operations for system administrators."),
        (name = "households", description = "Households, invitations, members, meters and meter readers."),
    )
)]
pub struct ApiDoc;

/// Adds the bearer-token security scheme that authenticated routes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Returns the document as JSON text, built once per process.
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = ApiDoc::openapi();
        document.merge(<crate::households::HouseholdsApi as OpenApi>::openapi());
        document.merge(<crate::money::MoneyApi as OpenApi>::openapi());
        document.to_pretty_json().unwrap_or_else(|e| {
            format!("{{\"error\":\"serializing the OpenAPI document failed: {e}\"}}")
        })
    })
}

#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "This OpenAPI document.", content_type = "application/json", body = Object),
    )
)]
pub async fn openapi_json() -> Response {
    let mut response = document_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
