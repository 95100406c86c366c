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
