//! Identity beyond the password check: sessions and their refresh tokens,
//! the published JWT keys and their rotation, administration of sessions,
//! second factors (TOTP, email and SMS codes, recovery codes), login MFA
//! challenges, step-up checks and known devices.
//!
//! Handlers here follow the same steps as `routes.rs`, and every decision
//! about a session is recorded in the audit trail. Nothing here may log or
//! return a refresh token other than to the client it was issued to.

pub mod admin;
pub mod client;
pub mod codes;
pub mod config;
pub mod contact;
pub mod devices;
pub mod factors;
pub mod login;
pub mod mfa;
pub mod mfa_config;
pub mod passwords;
pub mod sessions;
pub mod step_up;
pub mod totp;
pub mod webauthn;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};
use tokio::sync::watch;

pub use config::IdentityConfig;

use crate::AppState;
use crate::auth::tokens::TokenSigner;
use crate::keys::KeyProvider;

/// Routes of this module, merged into the `/v1/` router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/.well-known/jwks.json", get(sessions::jwks))
        .route("/v1/auth/refresh", post(sessions::refresh))
        .route(
            "/v1/sessions",
            get(sessions::list).delete(sessions::revoke_others),
        )
        .route("/v1/sessions/{id}", delete(sessions::revoke))
        .route("/v1/me/password", post(passwords::change_password))
        .route("/v1/auth/mfa/challenge", post(mfa::challenge))
        .route("/v1/auth/mfa/verify", post(mfa::verify))
        .route("/v1/me/email", post(contact::change_email))
        .route("/v1/me/email/verify", post(contact::verify_email))
        .route(
            "/v1/me/email/verification",
            post(contact::resend_verification),
        )
        .route("/v1/me/phone", post(contact::add_phone))
        .route("/v1/me/phone/verify", post(contact::verify_phone))
        .route("/v1/me/mfa", get(totp::status))
        .route("/v1/me/mfa/totp", post(totp::enroll).delete(totp::disable))
        .route("/v1/me/mfa/totp/confirm", post(totp::confirm))
        .route(
            "/v1/me/mfa/recovery-codes",
            post(totp::regenerate_recovery_codes),
        )
        .route("/v1/me/step-up/challenge", post(step_up::challenge))
        .route("/v1/me/step-up/verify", post(step_up::verify))
        .route("/v1/devices", get(devices::list))
        .route("/v1/devices/{id}", delete(devices::revoke))
        .route(
            "/v1/admin/users/{id}/force-logout",
            post(admin::force_logout),
        )
}

/// Rotates the JWT signing key every `period` until `shutdown` turns true.
/// A failed rotation is logged, and signing goes on with the current key.
pub async fn rotate_signing_keys(
    tokens: Arc<TokenSigner>,
    keys: Arc<dyn KeyProvider>,
    period: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(period);
    // The first tick fires at once; the key loaded at start is fresh enough.
    interval.tick().await;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.changed() => return,
        }
        match tokens.rotate(keys.as_ref()) {
            Ok(kid) => tracing::info!(%kid, "rotated the JWT signing key"),
            Err(e) => tracing::error!(error = %e, "rotating the JWT signing key failed"),
        }
    }
}
