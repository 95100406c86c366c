//! The calling client as sessions record it: its address and user agent.

use axum::extract::FromRequestParts;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::ApiError;
use crate::serve::PeerAddr;

/// Longest user agent kept; longer ones are cut at a character boundary.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Address and user agent of the request, each absent when unknown.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// The client address behind trusted proxies, as rate limiting sees it.
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip_address = parts.extensions.get::<PeerAddr>().map(|PeerAddr(peer)| {
            state
                .limits
                .client_address(peer.ip(), &parts.headers)
                .to_string()
        });
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(MAX_USER_AGENT_CHARS).collect());
        Ok(Self {
            ip_address,
            user_agent,
        })
    }
}
