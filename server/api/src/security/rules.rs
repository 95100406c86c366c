//! Suspicious-activity rules and the hooks that feed them.
//!
//! - a burst of failed logins on one account (high);
//! - credential stuffing: failed logins on many distinct accounts from one
//!   address (high);
//! - many refused access tokens from one address, or naming one subject
//!   (medium);
//! - a payment-method change from a device soon after its `new_device`
//!   login (medium). The change is rejected and the account stays open.
//!
//! The first three count in sliding windows kept in memory. When a rule
//! fires, its key starts again from zero, so a steady attack raises one
//! event per `count` observations rather than one per request.
//!
//! NOTE: the counters live in this process only. Several API instances
//! behind a load balancer each count their own share, so a rule fires later
//! than configured, and a restart forgets the counts.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use time::OffsetDateTime;
use uuid::Uuid;

use super::config::{SecurityConfig, Threshold};
use super::{SecurityEvent, Severity, kind, raise};
use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::identity::login::ThrottleKeys;
use crate::serve::PeerAddr;
use crate::store::StoreError;
use crate::store::security::{SecurityEventQuery, SecurityStore};

/// Observations of one rule, per key, within the rule's window.
struct WindowCounter<K> {
    threshold: Threshold,
    max_keys: usize,
    /// Time of each observation, oldest first, with an optional tag. Tagged
    /// observations count once per distinct tag.
    observations: HashMap<K, VecDeque<(Instant, Option<String>)>>,
}

impl<K: Hash + Eq + Clone> WindowCounter<K> {
    fn new(threshold: Threshold, max_keys: usize) -> Self {
        Self {
            threshold,
            max_keys,
            observations: HashMap::new(),
        }
    }

    /// Records one observation of `key` (with `tag`, counted once per
    /// distinct tag) and returns the count when it reaches the threshold.
    /// The key then starts again from zero.
    fn observe(&mut self, key: K, tag: Option<String>, now: Instant) -> Option<u32> {
        let window = self.threshold.window();
        if !self.observations.contains_key(&key) && self.observations.len() >= self.max_keys {
            self.observations.retain(|_, seen| {
                seen.back()
                    .is_some_and(|(last, _)| now.duration_since(*last) < window)
            });
            if self.observations.len() >= self.max_keys {
                tracing::warn!(
                    max_keys = self.max_keys,
                    "a security rule counter is full; new keys are not counted"
                );
                return None;
            }
        }
        let seen = self.observations.entry(key.clone()).or_default();
        while seen
            .front()
            .is_some_and(|(first, _)| now.duration_since(*first) >= window)
        {
            seen.pop_front();
        }
        if tag.is_some() {
            seen.retain(|(_, earlier)| *earlier != tag);
        }
        seen.push_back((now, tag));
        let count = seen.len() as u32;
        if count >= self.threshold.count {
            self.observations.remove(&key);
            return Some(count);
        }
        None
    }
}

/// The in-memory counters of the rules.
pub struct RuleCounters {
    login_failures: Mutex<WindowCounter<String>>,
    stuffing: Mutex<WindowCounter<String>>,
    tokens_by_address: Mutex<WindowCounter<String>>,
    tokens_by_subject: Mutex<WindowCounter<Uuid>>,
}

impl RuleCounters {
    pub fn new(config: &SecurityConfig) -> Self {
        let max_keys = config.rule_max_keys;
        Self {
            login_failures: Mutex::new(WindowCounter::new(config.login_failure_burst, max_keys)),
            stuffing: Mutex::new(WindowCounter::new(config.credential_stuffing, max_keys)),
            tokens_by_address: Mutex::new(WindowCounter::new(
                config.refused_tokens_per_address,
                max_keys,
            )),
            tokens_by_subject: Mutex::new(WindowCounter::new(
                config.refused_tokens_per_subject,
                max_keys,
            )),
        }
    }
}

/// Counts an observation under a counter's lock, which is never held
/// across an await.
fn observe<K: Hash + Eq + Clone>(
    counter: &Mutex<WindowCounter<K>>,
    key: K,
    tag: Option<String>,
) -> Option<u32> {
    let mut guard = counter
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    guard.observe(key, tag, Instant::now())
}

/// Feeds a failed login to the login-burst and credential-stuffing rules.
/// `user_id` is `None` when the email belongs to no account.
pub async fn note_login_failure(
    state: &AppState,
    user_id: Option<Uuid>,
    keys: &ThrottleKeys,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let config = &state.config.security;
    let rules = &state.security.rules;
    let address = keys
        .address
        .as_deref()
        .map(|key| key.trim_start_matches("address:"));
    // The account key is `email:<blind index hex>`; 16 hex digits relate
    // events on one account without revealing the email.
    let account: String = keys.account.chars().take("email:".len() + 16).collect();

    if let Some(failures) = observe(&rules.login_failures, keys.account.clone(), None) {
        let event = SecurityEvent::new(kind::LOGIN_FAILURE_BURST, Severity::High)
            .user(user_id)
            .address(address)
            .request_id(request_id)
            .details(serde_json::json!({
                "account": account,
                "failures": failures,
                "window_secs": config.login_failure_burst.window_secs,
            }));
        raise(state, event).await?;
    }

    let Some(address) = address else {
        return Ok(());
    };
    let tag = Some(keys.account.clone());
    if let Some(accounts) = observe(&rules.stuffing, address.to_owned(), tag) {
        let event = SecurityEvent::new(kind::CREDENTIAL_STUFFING, Severity::High)
            .address(Some(address))
            .request_id(request_id)
            .details(serde_json::json!({
                "distinct_accounts": accounts,
                "window_secs": config.credential_stuffing.window_secs,
            }));
        raise(state, event).await?;
    }
    Ok(())
}

/// Feeds a refused access token to the refused-token rules. `subject` is
/// the user the token named: verified when only its session had ended,
/// otherwise read from the unverified payload, so it may name no user.
pub async fn note_refused_token(
    state: &AppState,
    parts: &Parts,
    token: &str,
    subject: Option<Uuid>,
) -> Result<(), ApiError> {
    let config = &state.config.security;
    let rules = &state.security.rules;
    let address = parts
        .extensions
        .get::<PeerAddr>()
        .map(|PeerAddr(peer)| state.limits.client_address(peer.ip(), &parts.headers))
        .map(|ip| ip.to_string());
    let subject = subject.or_else(|| unverified_subject(token));
    let request_id = crate::routes::request_id(&parts.headers);

    if let Some(address) = &address
        && let Some(refused) = observe(&rules.tokens_by_address, address.clone(), None)
    {
        let event = SecurityEvent::new(kind::REFUSED_TOKENS, Severity::Medium)
            .address(Some(address))
            .request_id(request_id)
            .details(serde_json::json!({
                "counted_by": "address",
                "refused": refused,
                "window_secs": config.refused_tokens_per_address.window_secs,
            }));
        raise(state, event).await?;
    }
    if let Some(subject) = subject
        && let Some(refused) = observe(&rules.tokens_by_subject, subject, None)
    {
        let event = SecurityEvent::new(kind::REFUSED_TOKENS, Severity::Medium)
            .user(Some(subject))
            .address(address.as_deref())
            .request_id(request_id)
            .details(serde_json::json!({
                "counted_by": "subject",
                "refused": refused,
                "window_secs": config.refused_tokens_per_subject.window_secs,
            }));
        raise(state, event).await?;
    }
    Ok(())
}

/// Reads `sub` from a JWT payload without checking the signature, for
/// counting only; `None` unless it is a UUID.
fn unverified_subject(token: &str) -> Option<Uuid> {
    let payload = token.split('.').nth(1)?;
    let bytes = BASE64URL.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Uuid::parse_str(claims.get("sub")?.as_str()?).ok()
}

/// A card change rejected because the session's device is new: the event
/// to raise and the time from which that device may change cards.
#[derive(Clone, Debug)]
pub struct NewDeviceHold {
    pub event: SecurityEvent,
    pub allowed_at: OffsetDateTime,
}

/// Checks a payment-method change from the session's device against the
/// new-device rule. When the device had a `new_device` login within the
/// configured window, raises a medium-severity `new_device_payment_change`
/// event, which does not lock the account, and returns the time from which
/// the device may change cards. Call it from every payment-method change
/// and reject the change when it returns a time.
pub async fn note_payment_method_change(
    state: &AppState,
    caller: &AuthenticatedUser,
    request_id: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    let fingerprint = crate::money::payments::device_of(state, *caller).await?;
    let window_secs = state.config.security.new_device_payment_window_secs;
    let hold = payment_change_event(
        state.security.store.as_ref(),
        caller.user_id,
        fingerprint.as_deref(),
        window_secs,
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(|e| ApiError::internal("reading recent security events", e))?;
    let Some(hold) = hold else {
        return Ok(None);
    };
    raise(state, hold.event.request_id(request_id)).await?;
    Ok(Some(hold.allowed_at))
}

/// Returns the hold on a payment-method change at `now` from the device
/// with `fingerprint`: one when that device had a `new_device` login within
/// `window_secs` before. A session without a fingerprint matches new-device
/// logins that sent none. Other devices of the user, such as the one it
/// registered with, are not held.
pub async fn payment_change_event(
    store: &dyn SecurityStore,
    user_id: Uuid,
    fingerprint: Option<&str>,
    window_secs: u64,
    now: OffsetDateTime,
) -> Result<Option<NewDeviceHold>, StoreError> {
    let window = time::Duration::seconds(window_secs as i64);
    let since = now - window;
    if !store
        .has_security_event_since(user_id, kind::NEW_DEVICE, since)
        .await?
    {
        return Ok(None);
    }
    let Some(latest) = latest_new_device_login(store, user_id, fingerprint, since).await? else {
        return Ok(None);
    };
    let allowed_at = latest + window;
    let event = SecurityEvent::new(kind::NEW_DEVICE_PAYMENT_CHANGE, Severity::Medium)
        .user(Some(user_id))
        .details(serde_json::json!({
            "device_fingerprint": fingerprint,
            "window_secs": window_secs,
            "allowed_at": allowed_at.unix_timestamp(),
        }));
    Ok(Some(NewDeviceHold { event, allowed_at }))
}

/// Returns the time of the user's latest `new_device` event at or after
/// `since` whose device fingerprint is `fingerprint`.
async fn latest_new_device_login(
    store: &dyn SecurityStore,
    user_id: Uuid,
    fingerprint: Option<&str>,
    since: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, StoreError> {
    const PAGE: u32 = 100;
    let mut latest = None;
    let mut after = None;
    loop {
        let page = store
            .list_security_events(SecurityEventQuery {
                user_id: Some(user_id),
                kind: Some(kind::NEW_DEVICE.to_owned()),
                after,
                limit: PAGE,
                ..SecurityEventQuery::default()
            })
            .await?;
        for row in &page {
            let details: serde_json::Value =
                serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null);
            let same_device =
                details.get("device_fingerprint").and_then(|v| v.as_str()) == fingerprint;
            if same_device && row.created_at >= since {
                latest = latest.max(Some(row.created_at));
            }
        }
        if page.len() < PAGE as usize {
            return Ok(latest);
        }
        after = page.last().map(|row| row.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn counter_fires_at_threshold_then_restarts() {
        let mut counter = WindowCounter::new(Threshold::new(3, 60), 100);
        let start = Instant::now();

        assert_eq!(counter.observe("a", None, start), None);
        assert_eq!(counter.observe("a", None, start), None);
        assert_eq!(counter.observe("a", None, start), Some(3));
        assert_eq!(counter.observe("a", None, start), None);
    }

    #[test]
    fn observations_outside_window_expire() {
        let mut counter = WindowCounter::new(Threshold::new(2, 60), 100);
        let start = Instant::now();

        assert_eq!(counter.observe("a", None, start), None);
        let later = start + Duration::from_secs(61);
        assert_eq!(counter.observe("a", None, later), None);
        assert_eq!(counter.observe("a", None, later), Some(2));
    }

    #[test]
    fn tags_count_once_each() {
        let mut counter = WindowCounter::new(Threshold::new(2, 60), 100);
        let now = Instant::now();

        assert_eq!(counter.observe("addr", Some("x".to_owned()), now), None);
        assert_eq!(counter.observe("addr", Some("x".to_owned()), now), None);
        assert_eq!(counter.observe("addr", Some("y".to_owned()), now), Some(2));
    }

    #[test]
    fn full_counter_ignores_new_keys() {
        let mut counter = WindowCounter::new(Threshold::new(1, 60), 1);
        let now = Instant::now();

        counter
            .observations
            .insert("old", VecDeque::from([(now, None)]));
        assert_eq!(counter.observe("new", None, now), None);
        assert!(!counter.observations.contains_key("new"));
    }

    #[test]
    fn unverified_subject_reads_uuid_only() {
        let user = Uuid::now_v7();
        let payload = BASE64URL.encode(format!(r#"{{"sub":"{user}"}}"#));
        assert_eq!(unverified_subject(&format!("h.{payload}.s")), Some(user));

        let not_uuid = BASE64URL.encode(r#"{"sub":"robert"}"#);
        assert_eq!(unverified_subject(&format!("h.{not_uuid}.s")), None);
        assert_eq!(unverified_subject("garbage"), None);
    }
}
