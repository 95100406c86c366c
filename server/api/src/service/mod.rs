//! Service and third-party access: API keys and OAuth2 client-credentials
//! tokens, each limited to scopes, and the endpoints they may call.
//!
//! User access tokens and service tokens have different audiences, so a
//! user token is rejected here and a service token is rejected by user
//! endpoints. Nothing here may log or return a secret other than once, to
//! the administrator who created it.

pub mod admin;
pub mod credentials;
pub mod endpoints;
pub mod oauth;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::routes::{record, request_id};
use crate::store::security::{CredentialKind, ServiceCredentialRow};
use credentials::{API_KEY_PREFIX_CHARS, API_KEY_START, secret_matches};

/// Scopes a service credential may hold.
pub mod scope {
    /// Read the audit trail: `GET /v1/service/audit`.
    pub const AUDIT_READ: &str = "audit:read";
    /// Read security events: `GET /v1/service/security-events`.
    pub const SECURITY_EVENTS_READ: &str = "security-events:read";
    pub const ALL: [&str; 2] = [AUDIT_READ, SECURITY_EVENTS_READ];
}

/// Routes of this module, merged into the `/v1/` router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/admin/api-keys",
            post(admin::create_api_key).get(admin::list_api_keys),
        )
        .route("/v1/admin/api-keys/{id}", delete(admin::revoke_api_key))
        .route(
            "/v1/admin/oauth-clients",
            post(admin::create_oauth_client).get(admin::list_oauth_clients),
        )
        .route(
            "/v1/admin/oauth-clients/{id}",
            delete(admin::revoke_oauth_client),
        )
        .route("/v1/oauth/token", post(oauth::token))
        .route("/v1/service/audit", get(endpoints::audit))
        .route(
            "/v1/service/security-events",
            get(endpoints::security_events),
        )
}

/// A service authenticated by an API key (`Authorization: ApiKey <key>`) or
/// an OAuth2 access token (`Authorization: Bearer <token>`), with the scopes
/// it has now.
#[derive(Clone, Debug)]
pub struct ServiceCaller {
    pub credential_id: Uuid,
    pub kind: CredentialKind,
    /// `spk_<prefix>` or the `client_id`.
    pub public_id: String,
    pub scopes: Vec<String>,
}

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| unauthorized(MISSING_CREDENTIAL))?;
        let caller = if let Some(key) = header.strip_prefix("ApiKey ") {
            authenticate_api_key(state, parts, SecretString::from(key.to_owned())).await?
        } else if let Some(token) = header.strip_prefix("Bearer ") {
            authenticate_token(state, parts, token).await?
        } else {
            return Err(unauthorized(MISSING_CREDENTIAL));
        };

        let route = crate::rate_limit::route_key(parts);
        state.limits.check_account(
            &route,
            crate::rate_limit::Account::User(caller.credential_id),
        )?;
        Ok(caller)
    }
}

const MISSING_CREDENTIAL: &str =
    "send `Authorization: ApiKey <API key>` or `Authorization: Bearer <OAuth2 access token>`";

fn unauthorized(detail: &str) -> ApiError {
    ApiError::Unauthorized {
        detail: detail.to_owned(),
    }
}

impl ServiceCaller {
    fn from_row(row: &ServiceCredentialRow, scopes: Vec<String>) -> Self {
        Self {
            credential_id: row.id,
            kind: row.kind,
            public_id: credentials::public_id(row),
            scopes,
        }
    }

    /// Rejects with 403, and audits the denial, unless the caller has
    /// `scope`.
    pub async fn require(
        &self,
        state: &AppState,
        route: &str,
        request_id: Option<&str>,
        scope: &str,
    ) -> Result<(), ApiError> {
        if self.scopes.iter().any(|held| held == scope) {
            return Ok(());
        }
        let event = AuditEvent::new(
            AuditKind::Authorization,
            Actor::System,
            "service.access",
            route,
            Outcome::Denied,
        )
        .reason("credential lacks the scope")
        .request_id(request_id)
        .details(serde_json::json!({
            "credential": self.public_id,
            "scope": scope,
        }));
        record(state, event).await?;
        Err(ApiError::Forbidden {
            detail: format!(
                "this credential lacks the scope `{scope}`; ask an administrator for one that has it"
            ),
        })
    }
}

/// Records a rejected service credential; `credential` names it by its
/// public part only.
async fn audit_rejection(
    state: &AppState,
    parts: &Parts,
    credential: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::Anonymous,
        "service.authenticate",
        credential,
        Outcome::Failure,
    )
    .reason(reason)
    .request_id(request_id(&parts.headers));
    record(state, event).await?;
    tracing::info!(reason, "rejected a service credential");
    Ok(())
}

/// Splits `spk_<prefix>_<secret>` into prefix and secret.
fn split_api_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(API_KEY_START)?;
    let prefix = rest.get(..API_KEY_PREFIX_CHARS)?;
    let secret = rest.get(API_KEY_PREFIX_CHARS..)?.strip_prefix('_')?;
    let prefix_ok = prefix.bytes().all(|b| b.is_ascii_hexdigit());
    (prefix_ok && !secret.is_empty()).then_some((prefix, secret))
}

async fn authenticate_api_key(
    state: &AppState,
    parts: &Parts,
    key: SecretString,
) -> Result<ServiceCaller, ApiError> {
    let rejected =
        || unauthorized("the API key is invalid or revoked; ask an administrator for a new one");
    let Some((prefix, secret)) = split_api_key(key.expose_secret()) else {
        audit_rejection(state, parts, "api_key:malformed", "malformed API key").await?;
        return Err(rejected());
    };
    let resource = format!("api_key:{API_KEY_START}{prefix}");
    let row = state
        .security
        .store
        .find_service_credential(CredentialKind::ApiKey, prefix)
        .await
        .map_err(|e| ApiError::internal("loading an API key", e))?;
    let Some(row) = row else {
        audit_rejection(state, parts, &resource, "unknown API key").await?;
        return Err(rejected());
    };
    if !secret_matches(&row.secret_hash, secret) {
        audit_rejection(state, parts, &resource, "wrong API key secret").await?;
        return Err(rejected());
    }
    if row.revoked_at.is_some() {
        audit_rejection(state, parts, &resource, "revoked API key").await?;
        return Err(rejected());
    }
    Ok(ServiceCaller::from_row(&row, row.scopes.clone()))
}

async fn authenticate_token(
    state: &AppState,
    parts: &Parts,
    token: &str,
) -> Result<ServiceCaller, ApiError> {
    let rejected = || {
        unauthorized(
            "the access token is invalid, expired or not a service token; request a new one at /v1/oauth/token",
        )
    };
    let claims = match state.tokens.verify_service(token) {
        Ok(claims) => claims,
        Err(e) => {
            audit_rejection(
                state,
                parts,
                "oauth_client:unknown",
                &format!("invalid service token: {e}"),
            )
            .await?;
            return Err(rejected());
        }
    };
    let row = state
        .security
        .store
        .find_service_credential(CredentialKind::OAuthClient, &claims.client_id)
        .await
        .map_err(|e| ApiError::internal("loading an OAuth2 client", e))?;
    let resource = format!("oauth_client:{}", claims.client_id);
    let Some(row) = row.filter(|row| row.revoked_at.is_none()) else {
        audit_rejection(state, parts, &resource, "unknown or revoked OAuth2 client").await?;
        return Err(rejected());
    };
    // The token carries the scopes granted at issue; only those the client
    // still has count.
    let scopes = claims
        .scope
        .split(' ')
        .filter(|scope| row.scopes.iter().any(|held| held == scope))
        .map(str::to_owned)
        .collect();
    Ok(ServiceCaller::from_row(&row, scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_splits_at_fixed_prefix() {
        assert_eq!(
            split_api_key("spk_0a1b2c3d_se_cr-et"),
            Some(("0a1b2c3d", "se_cr-et"))
        );
        assert_eq!(split_api_key("spk_0a1b2c3d_"), None);
        assert_eq!(split_api_key("spk_0a1b2c3dxsecret"), None);
        assert_eq!(split_api_key("spk_zzzzzzzz_secret"), None);
        assert_eq!(split_api_key("spk_0a1b"), None);
        assert_eq!(split_api_key("other_0a1b2c3d_secret"), None);
        assert_eq!(split_api_key("spk_é1b2c3d_secret"), None);
    }
}
