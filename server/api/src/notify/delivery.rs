//! The delivery worker: claims due messages from the outbox, sends each
//! through the adapter of its channel, and records the outcome.
//!
//! A failed attempt is retried after `retry_base_seconds * 2^(attempts-1)`
//! (at most one hour) until `max_attempts`. A permanent failure, such as a
//! recipient the adapter rejects, is given up at once. A claim moves the
//! message's next attempt forward by [`CLAIM_LEASE`], so a worker that dies
//! mid-send leaves the message to be retried after the lease.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::config::{EmailAdapter, NotificationsConfig, SmsAdapter};
use super::{Channel, Message, Outbox};
use crate::store::mfa::{MfaStore, OutboxRow};

/// How long a claimed message stays reserved for the worker that claimed it.
const CLAIM_LEASE: time::Duration = time::Duration::minutes(2);
/// Messages claimed per poll.
const BATCH: u32 = 20;
/// Maximum wait between two attempts of one message.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// A failed delivery by an adapter.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: a network error, a timeout, a 5xx response.
    #[error("{0}")]
    Temporary(String),
    /// Retrying cannot help: an invalid recipient, a 4xx response.
    #[error("{0}")]
    Permanent(String),
}

/// One way of delivering messages. Implementations must not log the
/// recipient or the body, and their errors must not contain them.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Names the adapter in logs.
    fn name(&self) -> &'static str;
    async fn send(&self, message: &Message) -> Result<(), DeliveryError>;
}

/// The adapter of each channel.
pub struct Transports {
    pub email: Box<dyn Transport>,
    pub sms: Box<dyn Transport>,
}

impl Transports {
    /// Builds the adapters the configuration selects.
    pub fn from_config(
        config: &NotificationsConfig,
        data_dir: &Path,
    ) -> Result<Self, DeliveryError> {
        let email: Box<dyn Transport> = match config.email {
            EmailAdapter::Mailbox => Box::new(super::mailbox::Mailbox::new(data_dir)),
            EmailAdapter::Smtp => Box::new(super::smtp::Smtp::new(&config.smtp)?),
        };
        let sms: Box<dyn Transport> = match config.sms {
            SmsAdapter::Mailbox => Box::new(super::mailbox::Mailbox::new(data_dir)),
            SmsAdapter::Gateway => Box::new(super::sms::SmsGateway::new(&config.sms_gateway)?),
        };
        Ok(Self { email, sms })
    }

    fn for_channel(&self, channel: Channel) -> &dyn Transport {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}

/// Returns the wait before the attempt after `attempts` failed ones.
pub fn backoff(base_seconds: u64, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    Duration::from_secs(base_seconds.saturating_mul(1u64 << doublings)).min(MAX_BACKOFF)
}

/// Delivers outbox messages until `shutdown` turns true.
pub async fn run(
    store: Arc<dyn MfaStore>,
    outbox: Arc<Outbox>,
    transports: Transports,
    config: NotificationsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let wakeup = outbox.wakeup();
    let poll = Duration::from_millis(config.poll_interval_ms);
    tracing::info!(
        email = transports.email.name(),
        sms = transports.sms.name(),
        "started the notification delivery worker"
    );
    loop {
        deliver_due(store.as_ref(), &outbox, &transports, &config).await;
        tokio::select! {
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::info!("stopped the notification delivery worker");
}

/// Claims and sends one batch of due messages.
async fn deliver_due(
    store: &dyn MfaStore,
    outbox: &Outbox,
    transports: &Transports,
    config: &NotificationsConfig,
) {
    let now = OffsetDateTime::now_utc();
    let claimed = match store
        .claim_notifications(now, now + CLAIM_LEASE, BATCH)
        .await
    {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::error!(error = %e, "claiming due notifications failed; retrying at the next poll");
            return;
        }
    };
    for row in claimed {
        deliver_one(store, outbox, transports, config, row).await;
    }
}

async fn deliver_one(
    store: &dyn MfaStore,
    outbox: &Outbox,
    transports: &Transports,
    config: &NotificationsConfig,
    row: OutboxRow,
) {
    let attempts = row.attempts + 1;
    let outcome = match outbox.decrypt(&row) {
        Ok(message) => transports.for_channel(message.channel).send(&message).await,
        Err(e) => Err(DeliveryError::Permanent(format!(
            "decrypting the message failed: {e}"
        ))),
    };
    let now = OffsetDateTime::now_utc();
    let recorded = match outcome {
        Ok(()) => {
            tracing::info!(message_id = %row.id, kind = %row.kind, attempts, "delivered a notification");
            store.mark_notification_sent(row.id, attempts, now).await
        }
        Err(error) => {
            let give_up =
                matches!(error, DeliveryError::Permanent(_)) || attempts >= config.max_attempts;
            let retry_at = (!give_up).then(|| now + backoff(config.retry_base_seconds, attempts));
            if give_up {
                tracing::error!(message_id = %row.id, kind = %row.kind, attempts, error = %error, "gave up delivering a notification");
            } else {
                tracing::warn!(message_id = %row.id, kind = %row.kind, attempts, error = %error, "delivering a notification failed; will retry");
            }
            store
                .mark_notification_failed(row.id, attempts, retry_at, error.to_string(), now)
                .await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(message_id = %row.id, error = %e, "recording a delivery outcome failed; the message is retried after its lease");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_one_hour() {
        assert_eq!(backoff(10, 1), Duration::from_secs(10));
        assert_eq!(backoff(10, 2), Duration::from_secs(20));
        assert_eq!(backoff(10, 4), Duration::from_secs(80));
        assert_eq!(backoff(10, 30), MAX_BACKOFF);
    }
}
