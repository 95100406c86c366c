//! The sync worker: sends queued readings, oldest first per meter, and
//! retries transient failures with exponential backoff and full jitter.
//!
//! All state lives in the store's outbox, so killing the app at any point
//! loses nothing. An item that was being sent is sent again on the next run
//! with the same idempotency key, and the server replays its first response.
//! A later reading of a meter is never sent while an earlier one of the
//! same meter is unfinished. The worker never drops an item on a transient
//! failure, and never retries one the server has decided about.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use sharepay_domain::wire::readings::SubmitReadingRequest;

use crate::clock::Clock;
use crate::error::ClientError;
use crate::store::EncryptedStore;
use crate::store::outbox::{FinalOutcome, OutboxItem};

/// Retry timing. After the n-th consecutive failure of an item, the next
/// attempt waits a uniformly random time between zero and
/// `min(cap, base * 2^(n-1))` ("full jitter"). After `max_attempts`
/// failures the item stays queued but waits for the next
/// [`SyncWorker::run`], which gives it a fresh count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
            max_attempts: 8,
        }
    }
}

impl BackoffPolicy {
    /// Returns the maximum wait after `failures` consecutive failures (1 or
    /// more).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(63);
        let base_ms = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let cap_ms = u64::try_from(self.cap.as_millis()).unwrap_or(u64::MAX);
        let grown = base_ms.saturating_mul(1u64 << doublings);
        Duration::from_millis(grown.min(cap_ms))
    }

    /// Returns the wait after `failures` failures: the ceiling scaled by
    /// `random / u64::MAX`.
    pub fn delay(&self, failures: u32, random: u64) -> Duration {
        let ceiling_ms =
            u128::from(u64::try_from(self.ceiling(failures).as_millis()).unwrap_or(u64::MAX));
        let scaled = ceiling_ms * u128::from(random) / u128::from(u64::MAX);
        Duration::from_millis(u64::try_from(scaled).unwrap_or(u64::MAX))
    }
}

/// Result of sending one reading, as the transport reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Accepted {
        reading_id: String,
    },
    Flagged {
        reading_id: String,
        reasons: Vec<String>,
    },
    Rejected {
        reasons: Vec<String>,
    },
    /// A transient failure (timeout, connection, 5xx): try again later.
    Retry {
        reason: String,
    },
    /// The server is rate limiting this account: try again after
    /// `retry_after`. The wait is the server's, so it uses up no attempt.
    RateLimited {
        retry_after: Duration,
        reason: String,
    },
    /// The access token was refused: refresh the session, then sync again.
    AuthenticationRequired,
}

/// Sends one reading. The implementation must send `idempotency_key` as
/// the `Idempotency-Key` header, unchanged, on every attempt.
#[async_trait::async_trait]
pub trait ReadingSender: Send + Sync {
    async fn send(
        &self,
        idempotency_key: &str,
        meter_id: &str,
        request: &SubmitReadingRequest,
    ) -> SendOutcome;
}

/// Progress of the outbox, for the app to show.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The item failed transiently and is tried again after `delay`.
    RetryScheduled {
        seq: i64,
        idempotency_key: String,
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The item failed `max_attempts` times and waits for the next sync run.
    RetriesExhausted {
        seq: i64,
        idempotency_key: String,
        attempts: u32,
        reason: String,
    },
    /// The server refused the access token; the run stopped.
    AuthenticationRequired,
    /// The server ended this device's session (a logout on another device,
    /// a forced logout, or a reused refresh token). The session data was
    /// wiped, queued readings kept; the app should show the login screen.
    /// `reason` is the server's message and is safe to show.
    SessionRevoked { reason: String },
    /// The run ended; `pending` items are still queued.
    Idle { pending: usize },
}

/// Receives [`SyncEvent`]s. Called on the sync task: return quickly.
pub trait SyncEventListener: Send + Sync {
    fn on_event(&self, event: &SyncEvent);
}

/// Counts of one [`SyncWorker::run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub accepted: usize,
    pub flagged: usize,
    pub rejected: usize,
    pub retries_scheduled: usize,
    /// Items still queued when the run ended.
    pub pending: usize,
    /// The run stopped because the server refused the access token.
    pub authentication_required: bool,
}

/// Next step of the worker after one send.
#[derive(Debug, PartialEq, Eq)]
enum AfterSend {
    /// The server decided, so the meter's next item may go.
    NextOfMeter,
    /// The item waits for its retry time, and so does the rest of its meter.
    MeterWaits,
    /// The server refused the access token: stop the run.
    StopForAuthentication,
}

/// Drains the outbox through a [`ReadingSender`].
pub struct SyncWorker {
    store: Arc<EncryptedStore>,
    policy: BackoffPolicy,
    clock: Arc<dyn Clock>,
    listener: Mutex<Option<Arc<dyn SyncEventListener>>>,
    random: Box<dyn Fn() -> u64 + Send + Sync>,
    /// Serializes runs, so one item is never sent twice at the same time.
    running: tokio::sync::Mutex<()>,
}

impl SyncWorker {
    pub fn new(store: Arc<EncryptedStore>, policy: BackoffPolicy, clock: Arc<dyn Clock>) -> Self {
        let system = SystemRandom::new();
        Self {
            store,
            policy,
            clock,
            listener: Mutex::new(None),
            random: Box::new(move || {
                let mut bytes = [0u8; 8];
                // On a random failure the wait is the full ceiling, which is
                // still a valid backoff.
                match system.fill(&mut bytes) {
                    Ok(()) => u64::from_le_bytes(bytes),
                    Err(_) => u64::MAX,
                }
            }),
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Replaces the jitter source, for tests that check exact delays.
    pub fn with_random_source(mut self, random: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.random = Box::new(random);
        self
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn SyncEventListener>>) {
        match self.listener.lock() {
            Ok(mut slot) => *slot = listener,
            Err(poisoned) => *poisoned.into_inner() = listener,
        }
    }

    pub(crate) fn emit(&self, event: SyncEvent) {
        let listener = match self.listener.lock() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if let Some(listener) = listener {
            listener.on_event(&event);
        }
    }

    /// Sends every due item until the outbox is empty, every remaining item
    /// has used its attempts, or the server requires authentication. Waits
    /// (through the clock) for items whose retry time has not come.
    pub async fn run(&self, sender: &dyn ReadingSender) -> Result<SyncSummary, ClientError> {
        let _running = self.running.lock().await;
        let mut summary = SyncSummary::default();
        self.store
            .reset_exhausted_outbox_items(self.policy.max_attempts, self.clock.now_unix_ms())?;

        loop {
            let heads = self.store.outbox_heads()?;
            let active: Vec<OutboxItem> = heads
                .iter()
                .filter(|item| item.attempts < self.policy.max_attempts)
                .cloned()
                .collect();
            if active.is_empty() {
                return Ok(self.finish(summary));
            }

            let now = self.clock.now_unix_ms();
            let due: Vec<&OutboxItem> = active
                .iter()
                .filter(|item| item.next_attempt_at_ms <= now)
                .collect();
            if due.is_empty() {
                let wake = active
                    .iter()
                    .map(|item| item.next_attempt_at_ms)
                    .min()
                    .unwrap_or(now);
                let wait = u64::try_from(wake.saturating_sub(now)).unwrap_or(0);
                self.clock.sleep(Duration::from_millis(wait)).await;
                continue;
            }

            for item in due {
                if self.drain_meter(item.clone(), sender, &mut summary).await?
                    == AfterSend::StopForAuthentication
                {
                    summary.authentication_required = true;
                    self.emit(SyncEvent::AuthenticationRequired);
                    return Ok(self.finish(summary));
                }
            }
        }
    }

    /// Sends `item`, then the following items of the same meter while the
    /// server keeps deciding, so a long queue of one meter costs one index
    /// lookup per item instead of a scan of the outbox.
    async fn drain_meter(
        &self,
        mut item: OutboxItem,
        sender: &dyn ReadingSender,
        summary: &mut SyncSummary,
    ) -> Result<AfterSend, ClientError> {
        loop {
            let after = self.send_one(&item, sender, summary).await?;
            if after != AfterSend::NextOfMeter {
                return Ok(after);
            }
            let Some(next) = self
                .store
                .next_outbox_item_of_meter(&item.reading.meter_id)?
            else {
                return Ok(AfterSend::NextOfMeter);
            };
            let due = next.attempts < self.policy.max_attempts
                && next.next_attempt_at_ms <= self.clock.now_unix_ms();
            if !due {
                return Ok(AfterSend::NextOfMeter);
            }
            item = next;
        }
    }

    fn finish(&self, mut summary: SyncSummary) -> SyncSummary {
        summary.pending = self
            .store
            .outbox_items()
            .map(|items| items.iter().filter(|item| !item.state.is_final()).count())
            .unwrap_or(0);
        self.emit(SyncEvent::Idle {
            pending: summary.pending,
        });
        summary
    }

    /// Sends one item and stores the result.
    async fn send_one(
        &self,
        item: &OutboxItem,
        sender: &dyn ReadingSender,
        summary: &mut SyncSummary,
    ) -> Result<AfterSend, ClientError> {
        let seq = item.seq;
        let key = item.idempotency_key.clone();
        self.store.mark_outbox_sending(seq)?;
        self.emit(SyncEvent::Sending {
            seq,
            idempotency_key: key.clone(),
            meter_id: item.reading.meter_id.clone(),
            attempt: item.attempts + 1,
        });

        let outcome = sender
            .send(&key, &item.reading.meter_id, &item.reading.to_request())
            .await;

        match outcome {
            SendOutcome::Accepted { reading_id } => {
                self.store.finish_outbox_item(
                    seq,
                    &FinalOutcome::Accepted {
                        reading_id: reading_id.clone(),
                    },
                )?;
                summary.accepted += 1;
                self.emit(SyncEvent::Accepted {
                    seq,
                    idempotency_key: key,
                    reading_id,
                });
            }
            SendOutcome::Flagged {
                reading_id,
                reasons,
            } => {
                self.store.finish_outbox_item(
                    seq,
                    &FinalOutcome::Flagged {
                        reading_id: reading_id.clone(),
                        reasons: reasons.clone(),
                    },
                )?;
                summary.flagged += 1;
                self.emit(SyncEvent::Flagged {
                    seq,
                    idempotency_key: key,
                    reading_id,
                    reasons,
                });
            }
            SendOutcome::Rejected { reasons } => {
                self.store.finish_outbox_item(
                    seq,
                    &FinalOutcome::Rejected {
                        reasons: reasons.clone(),
                    },
                )?;
                summary.rejected += 1;
                tracing::info!(seq, "the server rejected a queued reading");
                self.emit(SyncEvent::Rejected {
                    seq,
                    idempotency_key: key,
                    reasons,
                });
            }
            SendOutcome::Retry { reason } => {
                self.schedule_retry(item, reason, summary)?;
                return Ok(AfterSend::MeterWaits);
            }
            SendOutcome::RateLimited {
                retry_after,
                reason,
            } => {
                let wait_ms = i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX);
                let next = self.clock.now_unix_ms().saturating_add(wait_ms);
                self.store
                    .schedule_outbox_retry(seq, item.attempts, next, &reason)?;
                tracing::info!(
                    seq,
                    wait_ms,
                    "the server is rate limiting readings; waiting"
                );
                summary.retries_scheduled += 1;
                self.emit(SyncEvent::RetryScheduled {
                    seq,
                    idempotency_key: key,
                    attempt: item.attempts,
                    delay: retry_after,
                    reason,
                });
                return Ok(AfterSend::MeterWaits);
            }
            SendOutcome::AuthenticationRequired => {
                self.store.requeue_outbox_item(seq)?;
                return Ok(AfterSend::StopForAuthentication);
            }
        }
        Ok(AfterSend::NextOfMeter)
    }

    fn schedule_retry(
        &self,
        item: &OutboxItem,
        reason: String,
        summary: &mut SyncSummary,
    ) -> Result<(), ClientError> {
        let failures = item.attempts + 1;
        let delay = self.policy.delay(failures, (self.random)());
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        let next = self.clock.now_unix_ms().saturating_add(delay_ms);
        self.store
            .schedule_outbox_retry(item.seq, failures, next, &reason)?;
        tracing::warn!(seq = item.seq, attempt = failures, delay_ms, reason = %reason, "sending a reading failed; will retry");

        if failures >= self.policy.max_attempts {
            self.emit(SyncEvent::RetriesExhausted {
                seq: item.seq,
                idempotency_key: item.idempotency_key.clone(),
                attempts: failures,
                reason,
            });
        } else {
            summary.retries_scheduled += 1;
            self.emit(SyncEvent::RetryScheduled {
                seq: item.seq,
                idempotency_key: item.idempotency_key.clone(),
                attempt: failures,
                delay,
                reason,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BackoffPolicy {
        BackoffPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1_000),
            max_attempts: 10,
        }
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_cap() {
        let ceilings: Vec<u128> = (1..=6).map(|n| policy().ceiling(n).as_millis()).collect();

        assert_eq!(ceilings, vec![100, 200, 400, 800, 1_000, 1_000]);
    }

    #[test]
    fn backoff_jitter_spans_zero_to_ceiling() {
        assert_eq!(policy().delay(3, 0), Duration::ZERO);
        assert_eq!(policy().delay(3, u64::MAX), Duration::from_millis(400));
        assert_eq!(policy().delay(3, u64::MAX / 2), Duration::from_millis(199));
    }

    #[test]
    fn backoff_survives_huge_attempt_counts() {
        assert_eq!(policy().ceiling(u32::MAX), Duration::from_millis(1_000));
    }
}
