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
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::identity::{admin, contact, devices, mfa, passwords, sessions, step_up, totp};
use crate::routes;
use crate::security::{admin as security_admin, pin_failures};
use crate::service::{admin as service_admin, endpoints as service_endpoints, oauth};

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
        pin_failures::report, security_admin::list_events, security_admin::unlock,
        service_admin::create_api_key, service_admin::list_api_keys, service_admin::revoke_api_key,
        service_admin::create_oauth_client, service_admin::list_oauth_clients,
        service_admin::revoke_oauth_client, oauth::token, service_endpoints::audit,
        service_endpoints::security_events,
        mfa::challenge, mfa::verify, contact::change_email, contact::verify_email,
        contact::resend_verification, contact::add_phone, contact::verify_phone,
        totp::status, totp::enroll, totp::confirm, totp::disable,
        totp::regenerate_recovery_codes, step_up::challenge, step_up::verify,
        devices::list, devices::revoke,
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "meta", description = "Health and the API description."),
        (name = "auth", description = "Registration and login."),
        (name = "account", description = "The signed-in user's own data."),
        (name = "mfa", description = "Second factors and step-up checks."),
        (name = "admin", description = "Operations for system administrators."),
        (name = "households", description = "Households, invitations, members, meters and meter readers."),
        (name = "security", description = "Security reports from phones."),
        (name = "service", description = "Service access by API key or OAuth2 client-credentials token."),
    )
)]
pub struct ApiDoc;

/// Adds the bearer-token and API key security schemes that authenticated
/// routes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        // `Authorization: ApiKey spk_<prefix>_<secret>`.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`ApiKey spk_<prefix>_<secret>`, created by an administrator",
            ))),
        );
    }
}

/// Returns the document as JSON text, built once per process.
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = ApiDoc::openapi();
        document.merge(<crate::households::HouseholdsApi as OpenApi>::openapi());
        document.merge(<crate::identity::webauthn::WebauthnApi as OpenApi>::openapi());
        document.merge(<crate::money::MoneyApi as OpenApi>::openapi());
        make_operation_ids_unique(&mut document);
        document.to_pretty_json().unwrap_or_else(|e| {
            format!("{{\"error\":\"serializing the OpenAPI document failed: {e}\"}}")
        })
    })
}

/// Renames every operation whose id (the handler's function name) another
/// operation shares, to its method and path, such as
/// `post_v1_me_step_up_challenge`. OpenAPI requires unique ids, and
/// handlers in different modules may share a name.
fn make_operation_ids_unique(document: &mut utoipa::openapi::OpenApi) {
    let mut counts = std::collections::HashMap::new();
    for item in document.paths.paths.values() {
        for operation in operations(item) {
            if let Some(id) = &operation.operation_id {
                *counts.entry(id.clone()).or_insert(0usize) += 1;
            }
        }
    }
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in operations_mut(item) {
            let shared = operation
                .operation_id
                .as_ref()
                .is_some_and(|id| counts.get(id).copied().unwrap_or(0) > 1);
            if shared {
                let slug: String = path
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let slug = slug.trim_matches('_').replace("__", "_");
                operation.operation_id = Some(format!("{method}_{slug}"));
            }
        }
    }
}

fn operations(
    item: &utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &utoipa::openapi::path::Operation> {
    [&item.get, &item.put, &item.post, &item.delete, &item.patch]
        .into_iter()
        .flatten()
}

fn operations_mut(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|operation| (method, operation)))
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
