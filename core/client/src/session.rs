//! The signed-in session: login, the access token in memory, refresh token
//! rotation, calls that carry the access token, and the end of a session.
//!
//! The access token never touches the disk. The refresh token lives only in
//! the encrypted store, field-encrypted, and is rotated on every refresh:
//! the server treats a second use of a refresh token as theft and ends the
//! whole session. So refreshes are serialized by one async lock, and a call
//! that waited for the lock uses the token its predecessor obtained instead
//! of refreshing again.

use std::sync::{Mutex, MutexGuard};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sharepay_domain::wire::auth::{
    RefreshRequest, RevokedSessionsResponse, SessionListResponse, SessionView,
};
use sharepay_domain::wire::mfa::{LoginResponse, MfaChallengeRequest, MfaVerifyRequest};
use sharepay_domain::wire::{LoginRequest, MeResponse, TokenResponse};
use subtle::ConstantTimeEq;

use crate::api::{decode, decode_empty};
use crate::error::ClientError;
use crate::sync::SyncEvent;
use crate::{SharePayClient, lock_or_recover};

/// An access token is refreshed when less than this is left of its
/// lifetime, so a request never leaves with a token that expires on the way.
const REFRESH_MARGIN_MS: i64 = 60_000;

/// The access token and when it expires on this device's clock.
#[derive(Clone)]
struct AccessToken {
    token: SecretString,
    expires_at_ms: i64,
}

/// In-memory session state of a [`SharePayClient`].
pub(crate) struct SessionTokens {
    access: Mutex<Option<AccessToken>>,
    /// Held for the whole of a refresh, so one refresh token is presented
    /// at most once by this client.
    refresh_lock: tokio::sync::Mutex<()>,
}

impl SessionTokens {
    pub(crate) fn new() -> Self {
        Self {
            access: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<AccessToken>> {
        lock_or_recover(&self.access)
    }

    /// Returns the access token, if one is in memory, without refreshing.
    pub(crate) fn current(&self) -> Option<SecretString> {
        self.lock().as_ref().map(|access| access.token.clone())
    }

    pub(crate) fn clear(&self) {
        *self.lock() = None;
    }
}

impl SharePayClient {
    /// Signs in with the device fingerprint, keeping the access token in
    /// memory and the refresh token in the encrypted store.
    pub async fn login(&self, email: &str, password: SecretString) -> Result<(), ClientError> {
        let request = LoginRequest {
            email: email.to_owned(),
            password: password.expose_secret().to_owned(),
            device_fingerprint: self.device_fingerprint()?,
        };
        let tokens = match self.api.login(&request).await? {
            LoginResponse::Tokens(tokens) => tokens,
            LoginResponse::MfaRequired(challenge) => {
                *lock_or_recover(&self.pending_mfa) = Some(SecretString::from(challenge.mfa_token));
                return Err(ClientError::MfaRequired {
                    methods: challenge.methods,
                });
            }
        };
        *lock_or_recover(&self.pending_mfa) = None;
        self.keep_tokens(tokens)?;
        self.report_pin_failures().await;
        Ok(())
    }

    /// Asks the server to send a code (`email_code` or `sms_code`) for the
    /// login waiting for its second check.
    pub async fn send_mfa_code(&self, method: &str) -> Result<(), ClientError> {
        let request = MfaChallengeRequest {
            mfa_token: self.pending_mfa_token()?,
            method: method.to_owned(),
        };
        self.api.mfa_challenge(&request).await
    }

    /// Passes the second check of the waiting login with `code` for
    /// `method` (`totp`, `email_code`, `sms_code` or `recovery_code`), and
    /// keeps the session like [`SharePayClient::login`].
    pub async fn complete_mfa(&self, method: &str, code: SecretString) -> Result<(), ClientError> {
        let request = MfaVerifyRequest {
            mfa_token: self.pending_mfa_token()?,
            method: method.to_owned(),
            code: code.expose_secret().to_owned(),
        };
        let tokens = self.api.mfa_verify(&request).await?;
        *lock_or_recover(&self.pending_mfa) = None;
        self.keep_tokens(tokens)?;
        self.report_pin_failures().await;
        Ok(())
    }

    pub(crate) fn pending_mfa_token(&self) -> Result<String, ClientError> {
        lock_or_recover(&self.pending_mfa)
            .as_ref()
            .map(|token| token.expose_secret().to_owned())
            .ok_or_else(|| {
                ClientError::InvalidInput(
                    "no sign-in is waiting for a second check; log in first".to_owned(),
                )
            })
    }

    /// Returns whether a refresh token is stored, that is whether the user
    /// is signed in on this device.
    pub fn has_session(&self) -> Result<bool, ClientError> {
        Ok(self.store.refresh_token()?.is_some())
    }

    /// Reads the signed-in user's profile and caches it in the store.
    pub async fn me(&self) -> Result<MeResponse, ClientError> {
        let me: MeResponse = self.get_authorized(&["v1", "me"]).await?;
        self.store.put_cached_profile(&me)?;
        Ok(me)
    }

    /// Lists the signed-in user's sessions on every device, oldest first;
    /// `current` marks this device's.
    pub async fn sessions(&self) -> Result<Vec<SessionView>, ClientError> {
        let list: SessionListResponse = self.get_authorized(&["v1", "sessions"]).await?;
        Ok(list.sessions)
    }

    /// Ends one session of the signed-in user. Ending this device's own
    /// session is a logout: prefer [`SharePayClient::logout`], which also
    /// wipes the local session data.
    pub async fn end_session(&self, session_id: &str) -> Result<(), ClientError> {
        check_id("session_id", session_id)?;
        let response = self
            .send_authorized(Method::DELETE, &["v1", "sessions", session_id], None)
            .await?;
        decode_empty(response).await
    }

    /// Ends every session of the signed-in user except this device's, and
    /// returns how many ended.
    pub async fn end_other_sessions(&self) -> Result<u64, ClientError> {
        let response = self
            .send_authorized(Method::DELETE, &["v1", "sessions"], None)
            .await?;
        let ended: RevokedSessionsResponse = decode(response).await?;
        Ok(ended.revoked)
    }

    /// Logs out: ends this device's session on the server, then wipes the
    /// local session data (see [`SharePayClient::wipe_session`]).
    ///
    /// The local wipe happens even when the server cannot be reached.
    /// Returns whether the server confirmed the end of the session; when it
    /// did not, the old refresh token stays valid on the server until it
    /// expires, but this device no longer has it.
    pub async fn logout(&self) -> Result<bool, ClientError> {
        let ended_on_server = match self.end_current_session().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "could not end the session on the server; wiping it locally");
                false
            }
        };
        self.wipe_session()?;
        Ok(ended_on_server)
    }

    async fn end_current_session(&self) -> Result<(), ClientError> {
        let sessions = self.sessions().await?;
        let current = sessions
            .iter()
            .find(|session| session.current)
            .ok_or_else(|| ClientError::NotFound("the server lists no current session".into()))?;
        self.end_session(&current.id).await
    }

    /// Sends an authorized `GET` and decodes the JSON response.
    pub(crate) async fn get_authorized<T: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<T, ClientError> {
        let response = self.send_authorized(Method::GET, segments, None).await?;
        decode(response).await
    }

    /// Sends an authorized request with a JSON body and decodes the JSON
    /// response.
    pub(crate) async fn send_json_authorized<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ClientError> {
        let json = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let response = self.send_authorized(method, segments, Some(&json)).await?;
        decode(response).await
    }

    /// Sends a request with the access token, refreshing it first when it
    /// is about to expire, and once more when the server returns 401. Returns
    /// the response whatever its status. A 401 after the refresh is returned
    /// too, without a third attempt.
    pub(crate) async fn send_authorized(
        &self,
        method: Method,
        segments: &[&str],
        json_body: Option<&[u8]>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.api.url_with_segments(segments)?;
        self.send_authorized_to(method, url, json_body, None).await
    }

    /// Like [`SharePayClient::send_authorized`], to a prepared URL (one
    /// with a query, for example) and with an optional `Idempotency-Key`,
    /// which a retry after a 401 sends again.
    pub(crate) async fn send_authorized_to(
        &self,
        method: Method,
        url: reqwest::Url,
        json_body: Option<&[u8]>,
        idempotency_key: Option<&str>,
    ) -> Result<reqwest::Response, ClientError> {
        let token = self.fresh_access_token().await?;
        let response = self
            .api
            .send_with_token(
                method.clone(),
                url.clone(),
                &token,
                json_body,
                idempotency_key,
            )
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            self.report_pin_failures().await;
            return Ok(response);
        }

        let token = self.refresh_session(Some(&token)).await?;
        let response = self
            .api
            .send_with_token(method, url, &token, json_body, idempotency_key)
            .await?;
        self.report_pin_failures().await;
        Ok(response)
    }

    /// Returns an access token with at least [`REFRESH_MARGIN_MS`] left,
    /// refreshing the session when the one in memory is missing or near
    /// expiry.
    pub(crate) async fn fresh_access_token(&self) -> Result<SecretString, ClientError> {
        if let Some(access) = self.tokens.lock().as_ref()
            && !self.expires_soon(access)
        {
            return Ok(access.token.clone());
        }
        self.refresh_session(None).await
    }

    fn expires_soon(&self, access: &AccessToken) -> bool {
        access.expires_at_ms.saturating_sub(REFRESH_MARGIN_MS) <= self.clock.now_unix_ms()
    }

    /// Exchanges the stored refresh token for new tokens. `rejected` is the
    /// access token the server has just refused, if that is the reason.
    ///
    /// A 401 from the refresh endpoint means the session is over (ended on
    /// another device, by an administrator, expired, or its refresh token
    /// was reused), so the session is wiped and
    /// [`SyncEvent::SessionRevoked`] is emitted.
    ///
    /// NOTE: if the refresh response is lost in transit after the server
    /// rotated the token, the next refresh presents the old token, which
    /// the server takes as reuse: the session ends and the user logs in
    /// again. The server has no grace period for a lost response.
    pub(crate) async fn refresh_session(
        &self,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString, ClientError> {
        let _refreshing = self.tokens.refresh_lock.lock().await;
        let _refreshing_across_processes = self.lock_refresh_file().await?;
        if let Some(current) = self.tokens.lock().clone() {
            let was_rejected = rejected.is_some_and(|token| same_token(token, &current.token));
            // Another call refreshed while this one waited for the lock.
            if !was_rejected && !self.expires_soon(&current) {
                return Ok(current.token);
            }
        }

        let Some(refresh_token) = self.store.refresh_token()? else {
            self.tokens.clear();
            return Err(ClientError::Unauthorized(
                "not signed in on this device; log in first".into(),
            ));
        };
        let request = RefreshRequest {
            refresh_token: refresh_token.expose_secret().to_owned(),
            device_fingerprint: self.device_fingerprint()?,
        };
        match self.api.refresh(&request).await {
            Ok(tokens) => {
                let access = self.keep_tokens(tokens)?;
                tracing::debug!("refreshed the session");
                Ok(access)
            }
            Err(ClientError::Unauthorized(detail)) => {
                self.end_revoked_session(&detail);
                Err(ClientError::SessionRevoked(detail))
            }
            Err(other) => Err(other),
        }
    }

    /// Takes an exclusive lock on [`REFRESH_LOCK_FILE`] beside the store,
    /// released when the returned file is dropped.
    ///
    /// Two processes can share one store, such as two terminal commands run
    /// at once. Without the lock both could present the same refresh token,
    /// and the server would take the second for a stolen token and end the
    /// session. With it, the second reads the token the first stored.
    async fn lock_refresh_file(&self) -> Result<std::fs::File, ClientError> {
        let path = self
            .store
            .path()
            .parent()
            .map(|dir| dir.join(REFRESH_LOCK_FILE))
            .ok_or_else(|| ClientError::Storage("the store has no folder".into()))?;
        tokio::task::spawn_blocking(move || {
            let file = crate::store::open_private_file(&path, false)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|e| ClientError::Storage(format!("the refresh lock task failed: {e}")))?
        .map_err(|e| ClientError::Storage(format!("cannot lock the session for a refresh: {e}")))
    }

    /// Stores the refresh token and keeps the access token in memory, and
    /// returns the access token.
    pub(crate) fn keep_tokens(&self, tokens: TokenResponse) -> Result<SecretString, ClientError> {
        let lifetime_ms = i64::try_from(tokens.expires_in)
            .unwrap_or(i64::MAX / 1_000)
            .saturating_mul(1_000);
        let access = AccessToken {
            token: SecretString::from(tokens.access_token),
            expires_at_ms: self.clock.now_unix_ms().saturating_add(lifetime_ms),
        };
        self.store
            .put_refresh_token(&SecretString::from(tokens.refresh_token))?;
        *self.tokens.lock() = Some(access.clone());
        Ok(access.token)
    }

    /// Wipes the session the server no longer accepts and tells the shell.
    fn end_revoked_session(&self, detail: &str) {
        tracing::warn!("the server ended this device's session; wiping it");
        if let Err(error) = self.wipe_session() {
            tracing::error!(%error, "could not wipe the ended session");
        }
        self.sync.emit(SyncEvent::SessionRevoked {
            reason: detail.to_owned(),
        });
    }
}

/// File beside the store that serializes refreshes across processes.
const REFRESH_LOCK_FILE: &str = "refresh.lock";

/// Compares two tokens in constant time.
fn same_token(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret()
        .as_bytes()
        .ct_eq(b.expose_secret().as_bytes())
        .into()
}

/// Rejects an empty or overlong id before it goes into a URL path.
pub(crate) fn check_id(field: &str, id: &str) -> Result<(), ClientError> {
    const MAX_ID_CHARS: usize = 64;
    if id.trim().is_empty() || id.len() > MAX_ID_CHARS {
        return Err(ClientError::InvalidInput(format!(
            "{field} must be 1 to {MAX_ID_CHARS} characters, such as the id a list returned"
        )));
    }
    Ok(())
}
