//! The password check of a login. Failed attempts are counted per account
//! and per client address in the store, and each failure past a free
//! allowance doubles a temporary lock. After a successful check, a hash
//! made with older parameters or an older pepper is replaced.
//!
//! Unknown and known emails take the same path (a dummy hash for unknown
//! ones) and get the same error, so the response does not reveal whether an
//! account exists.

use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::password::{StoredHash, Verification};
use crate::error::ApiError;
use crate::routes::{email_resource, record};
use crate::store::credentials::PasswordRow;
use crate::store::users::UserRecord;

/// Failures an account may have before it is locked.
const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures one address may have, over all accounts, before it is locked.
/// Higher than for an account because households share an address.
const ADDRESS_FREE_FAILURES: u32 = 20;
/// Lock after the first failure past the allowance; each further failure
/// doubles it, up to [`MAX_LOCK`].
const FIRST_LOCK: Duration = Duration::seconds(2);
const MAX_LOCK: Duration = Duration::minutes(15);
/// A counter whose last failure is older than this starts again at 1.
const FAILURE_WINDOW: Duration = Duration::hours(1);

/// Counter keys of one login attempt.
pub struct ThrottleKeys {
    /// `email:<blind index hex>`, the same for known and unknown emails.
    pub account: String,
    /// `address:<client address>`, when the address is known.
    pub address: Option<String>,
}

impl ThrottleKeys {
    pub fn new(state: &AppState, email: &str, address: Option<&str>) -> Result<Self, ApiError> {
        let index = state
            .users
            .email_index(email)
            .map_err(|e| ApiError::internal("computing an email blind index", e))?;
        let hex: String = index.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            account: format!("email:{hex}"),
            address: address.map(|address| format!("address:{address}")),
        })
    }

    fn all(&self) -> impl Iterator<Item = (&str, u32)> {
        std::iter::once((self.account.as_str(), ACCOUNT_FREE_FAILURES)).chain(
            self.address
                .as_deref()
                .map(|address| (address, ADDRESS_FREE_FAILURES)),
        )
    }
}

/// Rejects the attempt with 429 while the account or the address is locked.
pub async fn check_not_locked(state: &AppState, keys: &ThrottleKeys) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    for (key, _) in keys.all() {
        let throttle = state
            .identity
            .login_throttle(key)
            .await
            .map_err(|e| ApiError::internal("reading login failures", e))?;
        if let Some(until) = throttle.and_then(|t| t.locked_until)
            && until > now
        {
            let retry_after_secs = (until - now).whole_seconds().max(1) as u64;
            tracing::info!(retry_after_secs, "rejected a login: too many failures");
            return Err(ApiError::RateLimited { retry_after_secs });
        }
    }
    Ok(())
}

/// Counts one failure under every key and locks the keys past their
/// allowance.
pub async fn record_failure(state: &AppState, keys: &ThrottleKeys) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    for (key, free) in keys.all() {
        let failures = state
            .identity
            .record_login_failure(key, now, now - FAILURE_WINDOW)
            .await
            .map_err(|e| ApiError::internal("counting a login failure", e))?;
        if let Some(lock) = lock_after(failures, free) {
            state
                .identity
                .lock_login(key, now + lock)
                .await
                .map_err(|e| ApiError::internal("locking logins", e))?;
        }
    }
    Ok(())
}

/// Returns how long to lock after `failures`, or `None` within the free
/// allowance.
fn lock_after(failures: u32, free: u32) -> Option<Duration> {
    let past = failures.checked_sub(free)?.checked_sub(1)?;
    let factor = 1i32.checked_shl(past.min(16)).unwrap_or(i32::MAX);
    Some((FIRST_LOCK * factor).min(MAX_LOCK))
}

/// Checks the password of `email`. Returns the user, or the one generic 401
/// after counting the failure.
pub async fn check_password(
    state: &AppState,
    email: &str,
    password: SecretString,
    keys: &ThrottleKeys,
    request_id: Option<&str>,
) -> Result<UserRecord, ApiError> {
    check_not_locked(state, keys).await?;
    let user = state
        .users
        .find_by_email(email)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?;
    let stored = match &user {
        Some(user) => current_password(state, user).await?,
        None => None,
    };
    let verification = state
        .passwords
        .verify(password.clone(), stored.clone().map(stored_hash))
        .await?;

    let (user, stored, needs_rehash) = match (user, stored, verification) {
        (Some(user), Some(stored), Verification::Valid { needs_rehash }) => {
            (user, stored, needs_rehash)
        }
        (user, _, _) => {
            record_failure(state, keys).await?;
            let (resource, reason) = match &user {
                Some(user) => (format!("user:{}", user.id), "wrong password"),
                None => (email_resource(state, email)?, "unknown email"),
            };
            let event = AuditEvent::new(
                AuditKind::Authentication,
                Actor::Anonymous,
                "auth.login",
                &resource,
                Outcome::Failure,
            )
            .reason(reason)
            .request_id(request_id);
            record(state, event).await?;
            let user_id = user.as_ref().map(|user| user.id);
            crate::security::rules::note_login_failure(state, user_id, keys, request_id).await?;
            tracing::info!("rejected a login");
            return Err(ApiError::Unauthorized {
                detail: "the email or password is wrong".to_owned(),
            });
        }
    };

    state
        .identity
        .clear_login_failures(&keys.account)
        .await
        .map_err(|e| ApiError::internal("clearing login failures", e))?;
    if needs_rehash {
        rehash(state, &user, &stored, password, request_id).await?;
    }
    Ok(user)
}

async fn current_password(
    state: &AppState,
    user: &UserRecord,
) -> Result<Option<PasswordRow>, ApiError> {
    let rows = state
        .identity
        .recent_passwords(user.id, 1)
        .await
        .map_err(|e| ApiError::internal("loading a password hash", e))?;
    Ok(rows.into_iter().next())
}

pub fn stored_hash(row: PasswordRow) -> StoredHash {
    StoredHash {
        phc: row.phc,
        pepper_version: row.pepper_version,
    }
}

/// Replaces a hash made with older parameters or pepper with a current
/// one. A concurrent password change wins; the rehash is then skipped.
async fn rehash(
    state: &AppState,
    user: &UserRecord,
    stored: &PasswordRow,
    password: SecretString,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let fresh = state.passwords.hash(password).await?;
    let replacement = PasswordRow {
        phc: fresh.phc,
        pepper_version: fresh.pepper_version,
    };
    let replaced = state
        .identity
        .rehash_password(user.id, stored, &replacement)
        .await
        .map_err(|e| ApiError::internal("storing a rehashed password", e))?;
    if replaced {
        let event = AuditEvent::new(
            AuditKind::SystemChange,
            Actor::System,
            "auth.rehash",
            &format!("user:{}", user.id),
            Outcome::Success,
        )
        .request_id(request_id)
        .details(serde_json::json!({
            "from_pepper_version": stored.pepper_version,
            "to_pepper_version": replacement.pepper_version,
        }));
        record(state, event).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_doubles_past_allowance() {
        assert_eq!(lock_after(5, 5), None);
        assert_eq!(lock_after(6, 5), Some(Duration::seconds(2)));
        assert_eq!(lock_after(7, 5), Some(Duration::seconds(4)));
        assert_eq!(lock_after(9, 5), Some(Duration::seconds(16)));
        assert_eq!(lock_after(100, 5), Some(MAX_LOCK));
    }
}
