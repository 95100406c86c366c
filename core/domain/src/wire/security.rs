//! Security reports that the phone sends to the API.

use serde::{Deserialize, Serialize};

/// One TLS connection that the phone refused because the server's keys
/// matched none of its pins. It carries only public data: the time, the
/// host and the SPKI hashes the server presented.
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinFailureBatch {
    pub reports: Vec<PinFailureReport>,
}

/// Most reports one batch may carry; a phone sends older ones in later batches.
pub const MAX_PIN_FAILURE_REPORTS_PER_BATCH: usize = 50;

/// Answer to a pin failure batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinFailureBatchResponse {
    /// How many reports were recorded.
    pub accepted: u32,
}
