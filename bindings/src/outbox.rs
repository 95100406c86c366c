//! Records and enums of the offline outbox and its sync progress, converted
//! from the core's types, and the foreign sync listener.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sharepay_client::sync as core;

#[derive(uniffi::Enum)]
pub enum ReadingKind {
    Actual,
    Estimated,
}

/// A reading as the meter reader entered it.
#[derive(uniffi::Record)]
pub struct NewReading {
    pub meter_id: String,
    /// Exact decimal with at most three decimals, such as `12345.678`.
    pub value: String,
    /// RFC 3339.
    pub reading_time: String,
    pub kind: ReadingKind,
    /// Lowercase hex SHA-256 of the register photo.
    pub photo_sha256: Option<String>,
    /// Decimal degrees, such as `48.8566`.
    pub latitude: Option<String>,
    pub longitude: Option<String>,
}

#[derive(uniffi::Enum)]
pub enum OutboxState {
    Queued,
    Sending,
    Accepted,
    Flagged { reasons: Vec<String> },
    Rejected { reasons: Vec<String> },
}

#[derive(uniffi::Record)]
pub struct OutboxItem {
    pub seq: i64,
    pub idempotency_key: String,
    pub meter_id: String,
    pub value: String,
    pub reading_time: String,
    pub state: OutboxState,
    pub attempts: u32,
    pub reading_id: Option<String>,
    pub last_error: Option<String>,
}

#[derive(uniffi::Record)]
pub struct SyncSummary {
    pub accepted: u64,
    pub flagged: u64,
    pub rejected: u64,
    pub retries_scheduled: u64,
    pub pending: u64,
    pub authentication_required: bool,
}

#[derive(uniffi::Enum)]
pub enum SyncEvent {
    Queued {
        seq: i64,
        idempotency_key: String,
        meter_id: String,
    },
    Sending {
        seq: i64,
        idempotency_key: String,
        meter_id: String,
        attempt: u32,
    },
    Accepted {
        seq: i64,
        idempotency_key: String,
        reading_id: String,
    },
    Flagged {
        seq: i64,
        idempotency_key: String,
        reading_id: String,
        reasons: Vec<String>,
    },
    Rejected {
        seq: i64,
        idempotency_key: String,
        reasons: Vec<String>,
    },
    RetryScheduled {
        seq: i64,
        idempotency_key: String,
        attempt: u32,
        delay_ms: u64,
        reason: String,
    },
    RetriesExhausted {
        seq: i64,
        idempotency_key: String,
        attempts: u32,
        reason: String,
    },
    AuthenticationRequired,
    /// The server ended this device's session. The session data was wiped
    /// and queued readings kept. `reason` is safe to show.
    SessionRevoked {
        reason: String,
    },
    Idle {
        pending: u64,
    },
}

/// Implemented by the app: receives outbox progress on the sync task.
/// `on_event` returns whether to keep receiving events; after `false` the
/// listener is called no more.
#[uniffi::export(foreign)]
pub trait SyncEventListener: Send + Sync {
    // No doc comment here: UniFFI 0.32 writes one on a non-throwing Kotlin
    // method as `*/override fun`, which the tree-sitter syntax check rejects.
    // The method returns a value because a Swift callback returning nothing
    // is generated as `{ () }`, which that check rejects too.
    fn on_event(&self, event: SyncEvent) -> bool;
}

pub(crate) struct ForeignSyncListener {
    listener: Arc<dyn SyncEventListener>,
    unsubscribed: AtomicBool,
}

impl ForeignSyncListener {
    pub(crate) fn new(listener: Arc<dyn SyncEventListener>) -> Self {
        Self {
            listener,
            unsubscribed: AtomicBool::new(false),
        }
    }
}

impl core::SyncEventListener for ForeignSyncListener {
    fn on_event(&self, event: &core::SyncEvent) {
        if self.unsubscribed.load(Ordering::Relaxed) {
            return;
        }
        if !self.listener.on_event(SyncEvent::from(event.clone())) {
            self.unsubscribed.store(true, Ordering::Relaxed);
        }
    }
}

impl From<NewReading> for sharepay_client::NewReading {
    fn from(reading: NewReading) -> Self {
        let location = match (reading.latitude, reading.longitude) {
            (Some(latitude), Some(longitude)) => {
                Some(sharepay_domain::wire::readings::ReadingLocation {
                    latitude,
                    longitude,
                })
            }
            _ => None,
        };
        Self {
            meter_id: reading.meter_id,
            value: reading.value,
            reading_time: reading.reading_time,
            kind: match reading.kind {
                ReadingKind::Actual => sharepay_domain::meter::ReadingKind::Actual,
                ReadingKind::Estimated => sharepay_domain::meter::ReadingKind::Estimated,
            },
            photo_sha256: reading.photo_sha256,
            location,
        }
    }
}

impl From<sharepay_client::OutboxItem> for OutboxItem {
    fn from(item: sharepay_client::OutboxItem) -> Self {
        let state = match item.state {
            sharepay_client::OutboxState::Queued => OutboxState::Queued,
            sharepay_client::OutboxState::Sending => OutboxState::Sending,
            sharepay_client::OutboxState::Accepted => OutboxState::Accepted,
            sharepay_client::OutboxState::Flagged { reasons } => OutboxState::Flagged { reasons },
            sharepay_client::OutboxState::Rejected { reasons } => OutboxState::Rejected { reasons },
        };
        Self {
            seq: item.seq,
            idempotency_key: item.idempotency_key,
            meter_id: item.reading.meter_id,
            value: item.reading.value,
            reading_time: item.reading.reading_time,
            state,
            attempts: item.attempts,
            reading_id: item.reading_id,
            last_error: item.last_error,
        }
    }
}

impl From<core::SyncSummary> for SyncSummary {
    fn from(summary: core::SyncSummary) -> Self {
        Self {
            accepted: summary.accepted as u64,
            flagged: summary.flagged as u64,
            rejected: summary.rejected as u64,
            retries_scheduled: summary.retries_scheduled as u64,
            pending: summary.pending as u64,
            authentication_required: summary.authentication_required,
        }
    }
}

impl From<core::SyncEvent> for SyncEvent {
    fn from(event: core::SyncEvent) -> Self {
        use core::SyncEvent as E;
        match event {
            E::Queued {
                seq,
                idempotency_key,
                meter_id,
            } => Self::Queued {
                seq,
                idempotency_key,
                meter_id,
            },
            E::Sending {
                seq,
                idempotency_key,
                meter_id,
                attempt,
            } => Self::Sending {
                seq,
                idempotency_key,
                meter_id,
                attempt,
            },
            E::Accepted {
                seq,
                idempotency_key,
                reading_id,
            } => Self::Accepted {
                seq,
                idempotency_key,
                reading_id,
            },
            E::Flagged {
                seq,
                idempotency_key,
                reading_id,
                reasons,
            } => Self::Flagged {
                seq,
                idempotency_key,
                reading_id,
                reasons,
            },
            E::Rejected {
                seq,
                idempotency_key,
                reasons,
            } => Self::Rejected {
                seq,
                idempotency_key,
                reasons,
            },
            E::RetryScheduled {
                seq,
                idempotency_key,
                attempt,
                delay,
                reason,
            } => Self::RetryScheduled {
                seq,
                idempotency_key,
                attempt,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason,
            },
            E::RetriesExhausted {
                seq,
                idempotency_key,
                attempts,
                reason,
            } => Self::RetriesExhausted {
                seq,
                idempotency_key,
                attempts,
                reason,
            },
            E::AuthenticationRequired => Self::AuthenticationRequired,
            E::SessionRevoked { reason } => Self::SessionRevoked { reason },
            E::Idle { pending } => Self::Idle {
                pending: pending as u64,
            },
        }
    }
}
