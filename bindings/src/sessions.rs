//! The signed-in user's sessions, logout and the outbox counts: records
//! and exported calls, each delegating to the core.

use sharepay_domain::wire::auth::SessionView;

use crate::{SharePayClient, SharePayError};

/// One login session of the signed-in user, on this or another device.
#[derive(uniffi::Record)]
pub struct LoginSession {
    pub id: String,
    pub device_fingerprint: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    /// True for this device's session.
    pub current: bool,
}

/// Counts of outbox items in each delivery state.
#[derive(uniffi::Record)]
pub struct SyncState {
    /// Waiting to be sent or for a retry.
    pub pending: u64,
    pub accepted: u64,
    pub flagged: u64,
    pub rejected: u64,
    /// The oldest pending item's last transient failure.
    pub last_error: Option<String>,
}

#[uniffi::export(async_runtime = "tokio")]
impl SharePayClient {
    /// Lists the signed-in user's sessions, oldest first.
    pub async fn sessions(&self) -> Result<Vec<LoginSession>, SharePayError> {
        let sessions = self.inner.sessions().await?;
        Ok(sessions.into_iter().map(LoginSession::from).collect())
    }

    /// Ends one session of the signed-in user.
    pub async fn end_session(&self, session_id: String) -> Result<(), SharePayError> {
        Ok(self.inner.end_session(&session_id).await?)
    }

    /// Ends every other session and returns how many ended.
    pub async fn end_other_sessions(&self) -> Result<u64, SharePayError> {
        Ok(self.inner.end_other_sessions().await?)
    }

    /// Ends this device's session on the server and wipes it locally.
    /// Returns whether the server confirmed. The local wipe happens anyway.
    pub async fn logout(&self) -> Result<bool, SharePayError> {
        Ok(self.inner.logout().await?)
    }

    /// Whether a session is stored on this device.
    pub fn has_session(&self) -> Result<bool, SharePayError> {
        Ok(self.inner.has_session()?)
    }

    /// Counts the outbox items in each delivery state.
    pub fn sync_state(&self) -> Result<SyncState, SharePayError> {
        let counts = self.inner.sync_state()?;
        Ok(SyncState {
            pending: counts.pending as u64,
            accepted: counts.accepted as u64,
            flagged: counts.flagged as u64,
            rejected: counts.rejected as u64,
            last_error: counts.last_error,
        })
    }
}

impl From<SessionView> for LoginSession {
    fn from(session: SessionView) -> Self {
        Self {
            id: session.id,
            device_fingerprint: session.device_fingerprint,
            ip_address: session.ip_address,
            user_agent: session.user_agent,
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            expires_at: session.expires_at,
            current: session.current,
        }
    }
}
