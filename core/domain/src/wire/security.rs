//! Security reports that the phone sends to the API, and the security
//! events and account unlocks that administrators and services read.

use serde::{Deserialize, Serialize};

/// One TLS connection that the phone refused because the server's keys
/// matched none of its pins. It carries only public data: the time, the
/// host and the SPKI hashes the server presented.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinFailureReport {
    /// When the connection was refused, RFC 3339 UTC.
    pub occurred_at: String,
    /// Pin set that failed: `api` or `vault`.
    pub endpoint: String,
    /// Host name the phone connected to.
    pub host: String,
    /// Base64 SHA-256 of each SubjectPublicKeyInfo in the presented chain,
    /// leaf first.
    pub presented_spki_sha256: Vec<String>,
}

/// Body of `POST /v1/security/pin-failures`: the reports a phone has
/// queued since its last good connection, oldest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinFailureBatch {
    pub reports: Vec<PinFailureReport>,
}

/// Most reports one batch may carry; a phone sends older ones in later batches.
pub const MAX_PIN_FAILURE_REPORTS_PER_BATCH: usize = 50;

/// Response to a pin failure batch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinFailureBatchResponse {
    /// How many reports were recorded.
    pub accepted: u32,
}

/// One security event raised by the server's suspicious-activity rules or
/// reported by a phone.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityEventView {
    /// Event id (UUIDv7); ids sort by creation time.
    pub id: String,
    /// The user concerned, when the event concerns one.
    pub user_id: Option<String>,
    /// `login_failure_burst`, `credential_stuffing`, `refused_tokens`,
    /// `new_device`, `new_device_payment_change` or `pin_failure`.
    pub kind: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// Facts of the event, without secrets.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    pub client_address: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Whether an administrator has reviewed it (by unlocking the user).
    pub reviewed: bool,
}

/// A page of security events in id order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityEventListResponse {
    pub events: Vec<SecurityEventView>,
    /// Pass as `after` to read the next page; absent on the last page.
    pub next_after: Option<String>,
}

/// Result of `POST /v1/admin/users/{id}/unlock`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockResponse {
    pub user_id: String,
    /// Whether the account was locked before this request.
    pub was_locked: bool,
    /// Events of the user now marked reviewed.
    pub reviewed_events: u64,
}
