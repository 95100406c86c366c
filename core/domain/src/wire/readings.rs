//! Bodies of `POST /v1/meters/{meter_id}/readings`, which a meter reader's
//! phone calls with an `Idempotency-Key` header, often long after the
//! reading was taken offline.

use serde::{Deserialize, Serialize};

use crate::meter::ReadingKind;

/// Location of the meter when read, in decimal degrees (WGS 84) written as
/// exact decimal strings, such as `"48.8566"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadingLocation {
    pub latitude: String,
    pub longitude: String,
}

/// Body of `POST /v1/meters/{meter_id}/readings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitReadingRequest {
    /// Register value as an exact decimal string with at most three
    /// decimals, such as `"12345.678"`; never a float.
    pub value: String,
    /// When the register was read, RFC 3339 UTC.
    pub reading_time: String,
    pub kind: ReadingKind,
    /// Lowercase hex SHA-256 of the photo of the register, if one was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ReadingLocation>,
    /// Serial number printed on the meter that was read, when the reader
    /// entered it. One that differs from the registered serial means the
    /// meter was replaced: the reading is flagged for review and starts the
    /// new meter's series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_serial: Option<String>,
}

/// Server decision about a reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingStatus {
    /// Stored and used for consumption.
    Accepted,
    /// Stored, but held for review; `reasons` gives the causes.
    Flagged,
    /// Not stored; `reasons` gives the causes. Sending it again gives the
    /// same result.
    Rejected,
}

/// Response of `POST /v1/meters/{meter_id}/readings`; a replay with the
/// same `Idempotency-Key` returns the first response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitReadingResponse {
    pub reading_id: String,
    pub status: ReadingStatus,
    #[serde(default)]
    pub reasons: Vec<String>,
}
