//! Who is calling: password hashing, access and refresh tokens, and the
//! extractor that turns a bearer token into an authenticated user.

pub mod password;
pub mod tokens;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// The caller of a request that carried a valid access token whose session
/// still exists.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticatedUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

impl FromRequestParts<AppState> for AuthenticatedUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |detail: &str| ApiError::Unauthorized {
            detail: detail.to_owned(),
        };
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            unauthorized("missing Authorization header; send `Bearer <access token>`")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                unauthorized("the Authorization header must be `Bearer <access token>`")
            })?;

        let claims = match state.tokens.verify(token) {
            Ok(claims) => claims,
            Err(e) => {
                tracing::info!(reason = %e, "rejected an access token");
                crate::security::rules::note_refused_token(state, parts, token, None).await?;
                return Err(unauthorized(
                    "the access token is invalid or expired; log in again or refresh",
                ));
            }
        };
        let user_id = Uuid::parse_str(&claims.sub)
            .map_err(|_| unauthorized("the access token is invalid"))?;
        let session_id = Uuid::parse_str(&claims.sid)
            .map_err(|_| unauthorized("the access token is invalid"))?;

        let session = state
            .store
            .find_session(session_id)
            .await
            .map_err(|e| ApiError::internal("loading a session", e))?;
        match session {
            Some(session) if session.user_id == user_id => {}
            _ => {
                crate::security::rules::note_refused_token(state, parts, token, Some(user_id))
                    .await?;
                return Err(unauthorized("the session has ended; log in again"));
            }
        }

        let route = crate::rate_limit::route_key(parts);
        state
            .limits
            .check_account(&route, crate::rate_limit::Account::User(user_id))?;
        Ok(Self {
            user_id,
            session_id,
        })
    }
}
