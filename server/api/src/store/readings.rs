//! Storage of meter readings and of idempotency keys, behind
//! [`ReadingStore`].
//!
//! An idempotency key is claimed with [`ReadingStore::claim_key`] before the
//! request runs, which inserts a pending row under a unique constraint, so
//! two concurrent requests with one key never both run. The reading and the
//! key's response are then written in one transaction by
//! [`ReadingStore::record_reading`], so a crash leaves neither or both.
//! Readings are never deleted.

use async_trait::async_trait;
use sharepay_domain::meter::ReadingKind;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// How long a pending key blocks duplicates before a retry may take it
/// over; a request that crashed the server leaves its key pending.
pub const PENDING_KEY_TIMEOUT_SECONDS: i64 = 60;

/// A stored reading: accepted, or flagged for the primary payer's review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadingRow {
    pub id: Uuid,
    pub meter_id: Uuid,
    pub household_id: Uuid,
    pub serial: String,
    /// Register value in thousandths of the meter's unit.
    pub value_milli: u64,
    pub taken_at: OffsetDateTime,
    pub kind: ReadingKind,
    /// `accepted` or `flagged`.
    pub status: String,
    /// JSON array of the flags that explain a `flagged` status.
    pub reasons: String,
    /// Usage since the previous reading, in thousandths; `None` for the first.
    pub usage_milli: Option<u64>,
    pub photo_sha256: Option<String>,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub submitted_by: Uuid,
    pub submitted_at: OffsetDateTime,
}

/// One review or correction of a reading by a primary payer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorrectionRow {
    pub id: Uuid,
    pub reading_id: Uuid,
    pub previous_value_milli: u64,
    pub value_milli: u64,
    pub previous_status: String,
    /// `accepted` or `rejected`.
    pub status: String,
    pub reason: String,
    pub corrected_by: Uuid,
    pub corrected_at: OffsetDateTime,
}

/// The response stored under an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// Result of claiming an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new (or its pending claim timed out); run the request.
    Claimed,
    /// The same request already finished; return its response.
    Replay(StoredResponse),
    /// The key was used with a different request body.
    Mismatch,
    /// The same request is still running.
    InProgress,
}

/// An idempotency key with the caller it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRef {
    /// Owner of the key, such as `user:<id>`, so keys of different callers
    /// never collide.
    pub scope: String,
    pub key: String,
    /// SHA-256 of the method, path and body of the request.
    pub request_sha256: [u8; 32],
}

#[async_trait]
pub trait ReadingStore: Send + Sync {
    async fn claim_key(&self, key: &KeyRef, now: OffsetDateTime) -> Result<KeyClaim, StoreError>;
    /// Stores the response of a claimed key without a reading (a rejected
    /// reading, or any other request that stores nothing else).
    async fn complete_key(
        &self,
        key: &KeyRef,
        response: StoredResponse,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Stores `reading` and the key's response in one transaction, if the
    /// meter's latest reading that is not rejected is still `basis` (its id
    /// and value, `None` for no reading), the one the decision compared
    /// against. Returns `false`, storing nothing, when another reading or a
    /// correction changed it in the meantime; the caller decides again.
    async fn record_reading(
        &self,
        reading: ReadingRow,
        basis: Option<(Uuid, u64)>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<bool, StoreError>;
    async fn find_reading(&self, id: Uuid) -> Result<Option<ReadingRow>, StoreError>;
    /// Applies a correction to its reading and keeps it as history, in one
    /// transaction. Returns `false`, changing nothing, when the reading's
    /// status or value is no longer the correction's previous one (another
    /// correction came first).
    async fn correct_reading(&self, correction: CorrectionRow) -> Result<bool, StoreError>;
    /// Lists the corrections of a reading, oldest first.
    async fn list_corrections(&self, reading_id: Uuid) -> Result<Vec<CorrectionRow>, StoreError>;
    /// Returns the reading of `meter_id` that is latest by `taken_at`, if
    /// any, ignoring rejected ones.
    async fn latest_reading(&self, meter_id: Uuid) -> Result<Option<ReadingRow>, StoreError>;
    async fn list_readings(&self, meter_id: Uuid) -> Result<Vec<ReadingRow>, StoreError>;
}

pub(crate) fn kind_to_db(kind: ReadingKind) -> &'static str {
    match kind {
        ReadingKind::Actual => "actual",
        ReadingKind::Estimated => "estimated",
    }
}

pub(crate) fn kind_from_db(reading_id: Uuid, name: &str) -> Result<ReadingKind, StoreError> {
    match name {
        "actual" => Ok(ReadingKind::Actual),
        "estimated" => Ok(ReadingKind::Estimated),
        other => Err(StoreError::InvalidRow {
            row: format!("reading {reading_id}"),
            field: "kind",
            detail: format!("{other:?} is not a reading kind"),
        }),
    }
}

/// Decides a claim from the stored row of a key that already exists.
pub(crate) fn existing_claim(
    key: &KeyRef,
    stored_sha256: &[u8],
    response: Option<(i64, String)>,
) -> KeyClaim {
    use subtle::ConstantTimeEq;

    if !bool::from(stored_sha256.ct_eq(key.request_sha256.as_slice())) {
        return KeyClaim::Mismatch;
    }
    match response {
        Some((status, body)) => KeyClaim::Replay(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            body,
        }),
        None => KeyClaim::InProgress,
    }
}
