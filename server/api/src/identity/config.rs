//! The `[identity]` configuration section: session limits and signing key
//! rotation.

use std::time::Duration;

use serde::Deserialize;

use crate::auth::tokens::ACCESS_TOKEN_SECONDS;

/// Settings of sessions and access tokens.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// Max sessions one user may hold; a new login beyond it ends the
    /// oldest session.
    pub max_sessions_per_user: u32,
    /// Days a session (and its refresh token family) lasts after login.
    pub refresh_token_days: u32,
    /// Minutes between JWT signing key rotations; 0 turns rotation off.
    pub jwt_key_rotation_minutes: u64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            max_sessions_per_user: 5,
            refresh_token_days: 30,
            jwt_key_rotation_minutes: 24 * 60,
        }
    }
}

/// Shortest rotation period: each key must sign for longer than an access
/// token lives, so only the current and the previous key can have signed
/// tokens that are still valid.
const MIN_ROTATION_MINUTES: u64 = 2 * ACCESS_TOKEN_SECONDS / 60;

impl IdentityConfig {
    /// Checks the values, naming the key that is out of range.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=100).contains(&self.max_sessions_per_user) {
            return Err((
                "identity.max_sessions_per_user",
                format!(
                    "{} is out of range; use 1 to 100",
                    self.max_sessions_per_user
                ),
            ));
        }
        if !(1..=365).contains(&self.refresh_token_days) {
            return Err((
                "identity.refresh_token_days",
                format!("{} is out of range; use 1 to 365", self.refresh_token_days),
            ));
        }
        if self.jwt_key_rotation_minutes != 0
            && self.jwt_key_rotation_minutes < MIN_ROTATION_MINUTES
        {
            return Err((
                "identity.jwt_key_rotation_minutes",
                format!(
                    "{} is too short; use 0 (off) or at least {MIN_ROTATION_MINUTES}",
                    self.jwt_key_rotation_minutes
                ),
            ));
        }
        Ok(())
    }

    /// The rotation period, or `None` when rotation is off.
    pub fn rotation_period(&self) -> Option<Duration> {
        (self.jwt_key_rotation_minutes > 0)
            .then(|| Duration::from_secs(self.jwt_key_rotation_minutes * 60))
    }
}
