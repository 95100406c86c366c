//! Identity beyond the password check: sessions and their refresh tokens,
//! the published JWT keys and their rotation, and administration of
//! sessions.
//!
//! Handlers here follow the same steps as `routes.rs`, and every decision
//! about a session is recorded in the audit trail. Nothing here may log or
//! return a refresh token other than to the client it was issued to.

pub mod admin;
pub mod client;
pub mod config;
pub mod login;
pub mod passwords;
pub mod sessions;
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
