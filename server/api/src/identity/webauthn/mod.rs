//! FIDO2/WebAuthn: security keys and passkeys as an MFA method, built on
//! webauthn-rs 0.6.
//!
//! The signed-in user registers, lists and removes authenticators and
//! proves possession of one (an assertion) under `/v1/me/webauthn/`. The
//! login MFA challenge and step-up checks call [`start_authentication`]
//! and [`finish_authentication`] directly.
//!
//! Accepted origins are the web origin of the relying party and the
//! native-app origins on the allowlist in `[webauthn]`. Ceremony state
//! stays in the database, never in a cookie or a response.

pub mod config;
mod errors;
mod handlers;
pub mod service;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use utoipa::OpenApi;
use webauthn_rs::prelude::{Webauthn, WebauthnBuilder};

pub use config::WebauthnConfig;
pub use service::{
    StartedCeremony, VerifiedAssertion, finish_authentication, start_authentication,
};

use crate::AppState;

/// Routes of this module, merged into the `/v1/` router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/me/webauthn/registrations",
            post(handlers::start_registration),
        )
        .route(
            "/v1/me/webauthn/registrations/{ceremony_id}",
            post(handlers::finish_registration),
        )
        .route(
            "/v1/me/webauthn/credentials",
            get(handlers::list_credentials),
        )
        .route(
            "/v1/me/webauthn/credentials/{id}",
            delete(handlers::remove_credential),
        )
        .route(
            "/v1/me/webauthn/assertions",
            post(handlers::start_assertion),
        )
        .route(
            "/v1/me/webauthn/assertions/{ceremony_id}",
            post(handlers::finish_assertion),
        )
}

/// The OpenAPI description of [`routes`], merged into the served document.
#[derive(OpenApi)]
#[openapi(paths(
    handlers::start_registration,
    handlers::finish_registration,
    handlers::list_credentials,
    handlers::remove_credential,
    handlers::start_assertion,
    handlers::finish_assertion,
))]
pub struct WebauthnApi;

/// Builds the relying party from a validated configuration; `listen`
/// gives the port of a derived web origin.
pub fn relying_party(config: &WebauthnConfig, listen: SocketAddr) -> Result<Webauthn, String> {
    let describe = |(key, message): config::ConfigProblem| format!("{key}: {message}");
    let web_origin = config.web_origin(listen).map_err(describe)?;
    let native_origins = config.native_origins().map_err(describe)?;
    let timeout = Duration::from_secs(service::CEREMONY_MINUTES as u64 * 60);

    let mut builder = WebauthnBuilder::new(&config.rp_id, &web_origin)
        .map_err(|e| format!("webauthn.rp_origin does not fit webauthn.rp_id: {e}"))?
        .rp_name(&config.rp_name)
        .timeout(timeout);
    for origin in &native_origins {
        builder = builder.append_allowed_origin(origin);
    }
    builder
        .build()
        .map_err(|e| format!("the [webauthn] settings are invalid: {e}"))
}
