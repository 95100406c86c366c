//! Security events: what the suspicious-activity rules and phones report,
//! how each event is stored and audited, and what a high-severity event
//! sets off (a signed webhook alert and, when configured, a lock of the
//! account pending an administrator's review).
//!
//! [`raise`] is the one way to record an event. Event details must never
//! carry a secret, a token, a password or a full email: name accounts by
//! user id or by a blind index prefix.

pub mod admin;
pub mod config;
pub mod pin_failures;
pub mod rules;
pub mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub use config::SecurityConfig;
pub use rules::note_payment_method_change;

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::routes::record;
use crate::store::security::{SecurityEventRow, SecurityStore};

/// Kinds of security event.
pub mod kind {
    /// Many failed logins on one account.
    pub const LOGIN_FAILURE_BURST: &str = "login_failure_burst";
    /// Failed logins on many distinct accounts from one address.
    pub const CREDENTIAL_STUFFING: &str = "credential_stuffing";
    /// Many refused access tokens from one address or naming one subject.
    pub const REFUSED_TOKENS: &str = "refused_tokens";
    /// A login from a device the user has not used before.
    pub const NEW_DEVICE: &str = "new_device";
    /// A rejected payment-method change from a device soon after its
    /// [`NEW_DEVICE`] login.
    pub const NEW_DEVICE_PAYMENT_CHANGE: &str = "new_device_payment_change";
    /// A phone refused the server's certificate because no pin matched.
    pub const PIN_FAILURE: &str = "pin_failure";
}

/// The seriousness of an event. Only `High` sends an alert and can lock
/// the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Parses `low`, `medium` or `high`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

/// One event to raise.
#[derive(Clone, Debug)]
pub struct SecurityEvent {
    /// One of the constants in [`kind`].
    pub kind: &'static str,
    pub severity: Severity,
    /// The user concerned, if any.
    pub user_id: Option<Uuid>,
    pub client_address: Option<String>,
    /// A small JSON object with no secrets.
    pub details: serde_json::Value,
    pub request_id: Option<String>,
}

impl SecurityEvent {
    pub fn new(kind: &'static str, severity: Severity) -> Self {
        Self {
            kind,
            severity,
            user_id: None,
            client_address: None,
            details: serde_json::json!({}),
            request_id: None,
        }
    }

    pub fn user(mut self, user_id: Option<Uuid>) -> Self {
        self.user_id = user_id;
        self
    }

    pub fn address(mut self, client_address: Option<&str>) -> Self {
        self.client_address = client_address.map(str::to_owned);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub fn request_id(mut self, request_id: Option<&str>) -> Self {
        self.request_id = request_id.map(str::to_owned);
        self
    }
}

/// The security store, the rule counters and the alert webhook, shared by
/// every request.
pub struct SecurityService {
    pub store: Arc<dyn SecurityStore>,
    pub rules: rules::RuleCounters,
    webhook: Option<webhook::WebhookSender>,
}

impl SecurityService {
    /// Builds the service and, when a webhook is configured, starts its
    /// delivery task. Must run inside the tokio runtime.
    pub fn start(config: &SecurityConfig, store: Arc<dyn SecurityStore>) -> Result<Self, String> {
        Ok(Self {
            store,
            rules: rules::RuleCounters::new(config),
            webhook: webhook::WebhookSender::start(config)?,
        })
    }
}

/// Routes of this module, merged into the `/v1/` router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/security/pin-failures", post(pin_failures::report))
        .route("/v1/admin/security-events", get(admin::list_events))
        .route("/v1/admin/users/{id}/unlock", post(admin::unlock))
}

/// Stores `event`, records it in the audit trail and, for a high-severity
/// event, locks the account (when configured and a user is named) and
/// queues the webhook alert. Returns the event id.
pub async fn raise(state: &AppState, event: SecurityEvent) -> Result<Uuid, ApiError> {
    let row = SecurityEventRow {
        id: Uuid::now_v7(),
        user_id: event.user_id,
        kind: event.kind.to_owned(),
        severity: event.severity.as_str().to_owned(),
        details: event.details.to_string(),
        client_address: event.client_address.clone(),
        created_at: OffsetDateTime::now_utc(),
        reviewed: false,
    };
    state
        .security
        .store
        .insert_security_event(row.clone())
        .await
        .map_err(|e| ApiError::internal("storing a security event", e))?;
    let audit = AuditEvent::new(
        AuditKind::SecurityEvent,
        event.user_id.map_or(Actor::System, Actor::User),
        &format!("security.{}", event.kind),
        &format!("security_event:{}", row.id),
        Outcome::Success,
    )
    .request_id(event.request_id.as_deref())
    .details(serde_json::json!({
        "severity": row.severity,
        "user_id": event.user_id.map(|id| id.to_string()),
        "client_address": event.client_address,
    }));
    record(state, audit).await?;
    metrics::counter!(
        "security_events_total",
        "kind" => event.kind,
        "severity" => event.severity.as_str(),
    )
    .increment(1);
    tracing::warn!(
        event_id = %row.id,
        kind = event.kind,
        severity = row.severity,
        user_id = ?event.user_id,
        "raised a security event"
    );

    if event.severity == Severity::High {
        let locked = match event.user_id {
            Some(user_id) if state.config.security.lock_on_high_severity => {
                lock_account(state, user_id, row.id, event.request_id.as_deref()).await?;
                true
            }
            _ => false,
        };
        if let Some(webhook) = &state.security.webhook {
            webhook.send(row.id, alert_body(&row, &event.details, locked)?);
        }
    }
    Ok(row.id)
}

/// Locks the account, unless it is locked already, and ends its sessions.
async fn lock_account(
    state: &AppState,
    user_id: Uuid,
    event_id: Uuid,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let newly_locked = state
        .security
        .store
        .lock_account(user_id, event_id, OffsetDateTime::now_utc())
        .await
        .map_err(|e| ApiError::internal("locking an account", e))?;
    let revoked = state
        .identity
        .revoke_sessions_except(user_id, None)
        .await
        .map_err(|e| ApiError::internal("ending a locked user's sessions", e))?;
    if newly_locked {
        let audit = AuditEvent::new(
            AuditKind::SecurityEvent,
            Actor::System,
            "security.account_lock",
            &format!("user:{user_id}"),
            Outcome::Success,
        )
        .reason("high-severity security event")
        .request_id(request_id)
        .details(serde_json::json!({
            "security_event_id": event_id.to_string(),
            "revoked_sessions": revoked,
        }));
        record(state, audit).await?;
        tracing::warn!(%user_id, %event_id, revoked, "locked an account pending review");
    }
    Ok(())
}

/// Rejects `action` (such as `auth.login`) with `account-locked`, and
/// audits the rejection, when a security event locked the user.
pub async fn ensure_not_locked(
    state: &AppState,
    user_id: Uuid,
    action: &str,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let lock = state
        .security
        .store
        .account_lock(user_id)
        .await
        .map_err(|e| ApiError::internal("reading an account lock", e))?;
    let Some(event_id) = lock else {
        return Ok(());
    };
    let audit = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user_id),
        action,
        &format!("user:{user_id}"),
        Outcome::Denied,
    )
    .reason("account locked pending review")
    .request_id(request_id)
    .details(serde_json::json!({ "security_event_id": event_id.to_string() }));
    record(state, audit).await?;
    tracing::info!(%user_id, %event_id, action, "rejected a locked account");
    Err(ApiError::AccountLocked)
}

/// Serializes the JSON body of a webhook alert.
fn alert_body(
    row: &SecurityEventRow,
    details: &serde_json::Value,
    account_locked: bool,
) -> Result<Vec<u8>, ApiError> {
    let created_at = row
        .created_at
        .format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))?;
    let body = serde_json::json!({
        "id": row.id.to_string(),
        "kind": row.kind,
        "severity": row.severity,
        "user_id": row.user_id.map(|id| id.to_string()),
        "client_address": row.client_address,
        "details": details,
        "created_at": created_at,
        "account_locked": account_locked,
    });
    serde_json::to_vec(&body).map_err(|e| ApiError::internal("serializing an alert", e))
}
