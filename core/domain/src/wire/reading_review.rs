//! Bodies of `POST /v1/readings/{reading_id}/corrections`, with which a
//! primary payer accepts or rejects a flagged reading, or corrects a
//! reading's value, always with a reason. Earlier values stay in the
//! reading's history.

use serde::{Deserialize, Serialize};

/// Status a primary payer gives a reading.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectedStatus {
    /// Counts for consumption.
    Accepted,
    /// Kept in the history but ignored for consumption.
    Rejected,
}

/// Body of `POST /v1/readings/{reading_id}/corrections`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectReadingRequest {
    pub status: CorrectedStatus,
    /// New register value as an exact decimal string; absent keeps the
    /// current value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
}

/// One entry of a reading's history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingCorrection {
    pub previous_value: String,
    pub value: String,
    pub previous_status: String,
    pub status: String,
    pub reason: String,
    pub corrected_by: String,
    pub corrected_at: String,
}

/// A reading after a correction, with its whole history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectedReadingResponse {
    pub reading_id: String,
    pub meter_id: String,
    pub value: String,
    /// `accepted`, `flagged` or `rejected`.
    pub status: String,
    pub history: Vec<ReadingCorrection>,
}
