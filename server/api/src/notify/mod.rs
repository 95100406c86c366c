//! Outgoing email and SMS: the notification outbox and its delivery worker.
//!
//! Handlers call [`Outbox::enqueue`], which stores the message in the
//! `notification_outbox` table with the recipient and body encrypted under
//! the PII field key. The worker started with the server ([`delivery`])
//! claims due messages, hands each to the adapter of its channel (the
//! development mailbox, SMTP or an HTTP SMS gateway) and retries failures
//! with exponential backoff. Nothing here may log a recipient, a body or a
//! code: logs name messages by id and kind only.

pub mod config;
pub mod delivery;
pub mod mailbox;
pub mod sms;
pub mod smtp;

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

pub use config::NotificationsConfig;

use crate::crypto::{Column, FieldCipher};
use crate::store::StoreError;
use crate::store::mfa::{MfaStore, OutboxRow};

/// Column of the encrypted recipient (email address or phone number).
pub(crate) const RECIPIENT_COLUMN: Column = Column {
    table: "notification_outbox",
    column: "recipient",
};
/// Column of the encrypted message body.
pub(crate) const BODY_COLUMN: Column = Column {
    table: "notification_outbox",
    column: "body",
};

/// The channel that carries a message to its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// A decrypted message, as adapters deliver it.
#[derive(Clone)]
pub struct Message {
    pub id: Uuid,
    pub kind: String,
    pub channel: Channel,
    /// An email address or an E.164 phone number.
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The writing side of the outbox, shared by all handlers.
pub struct Outbox {
    store: Arc<dyn MfaStore>,
    cipher: FieldCipher,
    /// Wakes this instance's delivery worker when a message is enqueued.
    wakeup: Arc<Notify>,
}

impl Outbox {
    pub fn new(store: Arc<dyn MfaStore>, cipher: FieldCipher) -> Self {
        Self {
            store,
            cipher,
            wakeup: Arc::new(Notify::new()),
        }
    }

    /// Stores a message for delivery and wakes the worker. Returns its id.
    pub async fn enqueue(
        &self,
        kind: &str,
        channel: Channel,
        recipient: &str,
        subject: &str,
        body: &str,
    ) -> Result<Uuid, StoreError> {
        let now = OffsetDateTime::now_utc();
        let row = OutboxRow {
            id: Uuid::now_v7(),
            kind: kind.to_owned(),
            channel: channel.name().to_owned(),
            recipient_ciphertext: self.cipher.encrypt(RECIPIENT_COLUMN, recipient)?,
            subject: subject.to_owned(),
            body_ciphertext: self.cipher.encrypt(BODY_COLUMN, body)?,
            attempts: 0,
            next_attempt_at: now,
            sent_at: None,
            created_at: now,
        };
        let id = row.id;
        self.store.enqueue_notification(row).await?;
        self.wakeup.notify_one();
        tracing::info!(message_id = %id, kind, channel = channel.name(), "queued a notification");
        Ok(id)
    }

    pub(crate) fn wakeup(&self) -> Arc<Notify> {
        Arc::clone(&self.wakeup)
    }

    pub(crate) fn decrypt(&self, row: &OutboxRow) -> Result<Message, StoreError> {
        let channel = Channel::from_name(&row.channel).ok_or_else(|| StoreError::InvalidRow {
            row: format!("notification {}", row.id),
            field: "channel",
            detail: format!("unknown channel {:?}", row.channel),
        })?;
        Ok(Message {
            id: row.id,
            kind: row.kind.clone(),
            channel,
            recipient: self
                .cipher
                .decrypt(RECIPIENT_COLUMN, &row.recipient_ciphertext)?,
            subject: row.subject.clone(),
            body: self.cipher.decrypt(BODY_COLUMN, &row.body_ciphertext)?,
            created_at: row.created_at,
        })
    }
}
