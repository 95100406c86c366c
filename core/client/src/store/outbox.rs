//! The offline outbox: readings queued in the store the moment they are
//! submitted, until the server has decided about each.
//!
//! Each item gets a UUIDv7 idempotency key at enqueue time, stored with it
//! and sent on every retry, so a reading sent twice (after a timeout or an
//! app kill) is stored once. Items of one meter are sent in `seq` order. All
//! state lives in the `outbox` table; nothing is kept only in memory.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use sharepay_domain::meter::{Quantity, ReadingKind};
use sharepay_domain::wire::readings::{ReadingLocation, SubmitReadingRequest};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::EncryptedStore;
use crate::clock::{format_rfc3339, now_rfc3339};
use crate::error::ClientError;

const MAX_METER_ID_LEN: usize = 128;
const ITEM_COLUMNS: &str = "seq, idempotency_key, meter_id, value, reading_time, reading_kind, \
     photo_sha256, latitude, longitude, state, attempts, next_attempt_at_ms, reading_id, reasons, \
     last_error, queued_at, finished_at";

/// A reading as the meter reader entered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReading {
    pub meter_id: String,
    /// Register value as an exact decimal with at most three decimals.
    pub value: String,
    /// When the register was read, RFC 3339 (stored as UTC).
    pub reading_time: String,
    pub kind: ReadingKind,
    /// Lowercase hex SHA-256 of the photo of the register.
    pub photo_sha256: Option<String>,
    pub location: Option<ReadingLocation>,
}

impl NewReading {
    /// Builds the request body sent for this reading.
    pub fn to_request(&self) -> SubmitReadingRequest {
        SubmitReadingRequest {
            value: self.value.clone(),
            reading_time: self.reading_time.clone(),
            kind: self.kind,
            photo_sha256: self.photo_sha256.clone(),
            location: self.location.clone(),
            meter_serial: None,
        }
    }
}

/// Delivery state of an outbox item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be sent, or waiting for its retry time.
    Queued,
    /// Handed to the sender; if the app dies now, it is sent again with the
    /// same idempotency key.
    Sending,
    /// Stored by the server.
    Accepted,
    /// Stored by the server but held for review.
    Flagged { reasons: Vec<String> },
    /// Refused by the server; it is not retried.
    Rejected { reasons: Vec<String> },
}

impl OutboxState {
    /// Whether the server has decided and the item will not be sent again.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Accepted | Self::Flagged { .. } | Self::Rejected { .. }
        )
    }
}

/// One queued reading and its delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    /// Position in the outbox; items of one meter are sent in this order.
    pub seq: i64,
    /// UUIDv7 chosen at enqueue time and sent on every attempt.
    pub idempotency_key: String,
    pub reading: NewReading,
    pub state: OutboxState,
    /// Failed attempts since the last reset.
    pub attempts: u32,
    /// Earliest time of the next attempt, in Unix milliseconds.
    pub next_attempt_at_ms: i64,
    /// The server's id, once accepted or flagged.
    pub reading_id: Option<String>,
    /// The last transient failure, for display.
    pub last_error: Option<String>,
    /// RFC 3339 UTC.
    pub queued_at: String,
    /// RFC 3339 UTC of the server's decision.
    pub finished_at: Option<String>,
}

/// The server's decision about one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinalOutcome {
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
}

/// How an enqueued reading gets its idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyChoice {
    /// A fresh UUIDv7: every submission is a new reading.
    Random,
    /// [`derived_idempotency_key`] of the meter and reading time: a
    /// reading imported twice gets the same key, so it is queued and stored
    /// once.
    Derived,
}

/// Counts of outbox items in each delivery state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting to be sent or for a retry, including items being sent now.
    pub pending: usize,
    pub accepted: usize,
    pub flagged: usize,
    pub rejected: usize,
    /// The oldest pending item's last transient failure, if any.
    pub last_error: Option<String>,
}

/// Derives the idempotency key of a reading from its meter and its UTC
/// reading time: `r1-` and the unpadded base64url SHA-256 of
/// `meter_id`, a zero byte and `reading_time`. A meter has one register
/// value at a given instant, so the same pair is the same reading.
pub fn derived_idempotency_key(meter_id: &str, utc_reading_time: &str) -> String {
    use base64::Engine;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(meter_id.as_bytes());
    context.update(&[0]);
    context.update(utc_reading_time.as_bytes());
    let digest = context.finish();
    format!(
        "r1-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
    )
}

impl EncryptedStore {
    /// Validates and queues readings in one transaction: either all are
    /// queued or, on the first invalid one, none.
    pub fn enqueue_readings(
        &self,
        readings: &[NewReading],
        now_unix_ms: i64,
    ) -> Result<Vec<OutboxItem>, ClientError> {
        self.insert_readings(readings, now_unix_ms, KeyChoice::Random)
    }

    /// Queues readings under keys derived from each meter and reading time
    /// (see [`derived_idempotency_key`]), for imports that may run twice.
    /// A reading whose key is already in the outbox, in any state, is
    /// skipped; the returned items are the newly queued ones. Either all
    /// are valid or, on the first invalid one, none is queued.
    pub fn enqueue_readings_once(
        &self,
        readings: &[NewReading],
        now_unix_ms: i64,
    ) -> Result<Vec<OutboxItem>, ClientError> {
        self.insert_readings(readings, now_unix_ms, KeyChoice::Derived)
    }

    fn insert_readings(
        &self,
        readings: &[NewReading],
        now_unix_ms: i64,
        key_choice: KeyChoice,
    ) -> Result<Vec<OutboxItem>, ClientError> {
        let mut normalized = Vec::with_capacity(readings.len());
        for (index, reading) in readings.iter().enumerate() {
            normalized.push(validate_reading(reading).map_err(|e| match e {
                ClientError::InvalidInput(message) if readings.len() > 1 => {
                    ClientError::InvalidInput(format!("reading {index}: {message}"))
                }
                other => other,
            })?);
        }

        let queued_at = now_rfc3339();
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let mut sequences = Vec::with_capacity(normalized.len());
        {
            let mut insert = transaction.prepare(
                "INSERT INTO outbox (idempotency_key, meter_id, value, reading_time, reading_kind,
                     photo_sha256, latitude, longitude, state, next_attempt_at_ms, queued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?10)
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )?;
            for reading in &normalized {
                let key = match key_choice {
                    KeyChoice::Random => uuid::Uuid::now_v7().to_string(),
                    KeyChoice::Derived => {
                        derived_idempotency_key(&reading.meter_id, &reading.reading_time)
                    }
                };
                let inserted = insert.execute(params![
                    key,
                    reading.meter_id,
                    reading.value,
                    reading.reading_time,
                    kind_column(reading.kind),
                    reading.photo_sha256,
                    reading.location.as_ref().map(|l| l.latitude.as_str()),
                    reading.location.as_ref().map(|l| l.longitude.as_str()),
                    now_unix_ms,
                    queued_at,
                ])?;
                if inserted == 1 {
                    sequences.push(transaction.last_insert_rowid());
                }
            }
        }
        transaction.commit()?;
        drop(connection);

        sequences
            .into_iter()
            .map(|seq| self.outbox_item(seq))
            .collect()
    }

    /// Counts the items in each delivery state.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, ClientError> {
        let connection = self.lock()?;
        let mut counts = OutboxCounts::default();
        let mut statement =
            connection.prepare("SELECT state, count(*) FROM outbox GROUP BY state")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (state, count) = row?;
            let count = usize::try_from(count).unwrap_or(0);
            match state.as_str() {
                "accepted" => counts.accepted += count,
                "flagged" => counts.flagged += count,
                "rejected" => counts.rejected += count,
                _ => counts.pending += count,
            }
        }
        counts.last_error = connection
            .query_row(
                "SELECT last_error FROM outbox WHERE state IN ('queued', 'sending')
                 ORDER BY seq LIMIT 1",
                [],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten();
        Ok(counts)
    }

    /// Returns one item by its `seq`.
    pub fn outbox_item(&self, seq: i64) -> Result<OutboxItem, ClientError> {
        let connection = self.lock()?;
        let item = connection.query_row(
            &format!("SELECT {ITEM_COLUMNS} FROM outbox WHERE seq = ?1"),
            params![seq],
            read_item,
        )?;
        Ok(item)
    }

    /// Lists every item, oldest first, with its state.
    pub fn outbox_items(&self) -> Result<Vec<OutboxItem>, ClientError> {
        self.query_items(&format!("SELECT {ITEM_COLUMNS} FROM outbox ORDER BY seq"))
    }

    /// Returns the oldest unfinished item of each meter, oldest first. Only
    /// these may be sent, which keeps each meter's readings in order.
    pub(crate) fn outbox_heads(&self) -> Result<Vec<OutboxItem>, ClientError> {
        self.query_items(&format!(
            "SELECT {ITEM_COLUMNS} FROM outbox AS o
             WHERE state IN ('queued', 'sending')
               AND seq = (SELECT min(seq) FROM outbox
                          WHERE meter_id = o.meter_id AND state IN ('queued', 'sending'))
             ORDER BY seq"
        ))
    }

    /// Returns the oldest unfinished item of `meter_id`, if any.
    pub(crate) fn next_outbox_item_of_meter(
        &self,
        meter_id: &str,
    ) -> Result<Option<OutboxItem>, ClientError> {
        let connection = self.lock()?;
        let item = connection
            .query_row(
                &format!(
                    "SELECT {ITEM_COLUMNS} FROM outbox
                     WHERE meter_id = ?1 AND state IN ('queued', 'sending')
                     ORDER BY seq LIMIT 1"
                ),
                params![meter_id],
                read_item,
            )
            .optional()?;
        Ok(item)
    }

    fn query_items(&self, sql: &str) -> Result<Vec<OutboxItem>, ClientError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(sql)?;
        let items = statement
            .query_map([], read_item)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(items)
    }

    /// Marks an item as handed to the sender.
    pub(crate) fn mark_outbox_sending(&self, seq: i64) -> Result<(), ClientError> {
        self.lock()?.execute(
            "UPDATE outbox SET state = 'sending' WHERE seq = ?1 AND state IN ('queued', 'sending')",
            params![seq],
        )?;
        Ok(())
    }

    /// Records a transient failure and the time of the next attempt.
    pub(crate) fn schedule_outbox_retry(
        &self,
        seq: i64,
        attempts: u32,
        next_attempt_at_ms: i64,
        error: &str,
    ) -> Result<(), ClientError> {
        self.lock()?.execute(
            "UPDATE outbox SET state = 'queued', attempts = ?2, next_attempt_at_ms = ?3,
                 last_error = ?4
             WHERE seq = ?1 AND state IN ('queued', 'sending')",
            params![seq, attempts, next_attempt_at_ms, error],
        )?;
        Ok(())
    }

    /// Puts an item back in the queue without counting an attempt, such as
    /// when the session must be refreshed first.
    pub(crate) fn requeue_outbox_item(&self, seq: i64) -> Result<(), ClientError> {
        self.lock()?.execute(
            "UPDATE outbox SET state = 'queued' WHERE seq = ?1 AND state = 'sending'",
            params![seq],
        )?;
        Ok(())
    }

    /// Stores the server's decision; the item is never sent again.
    pub(crate) fn finish_outbox_item(
        &self,
        seq: i64,
        outcome: &FinalOutcome,
    ) -> Result<(), ClientError> {
        let (state, reading_id, reasons) = match outcome {
            FinalOutcome::Accepted { reading_id } => ("accepted", Some(reading_id), &Vec::new()),
            FinalOutcome::Flagged {
                reading_id,
                reasons,
            } => ("flagged", Some(reading_id), reasons),
            FinalOutcome::Rejected { reasons } => ("rejected", None, reasons),
        };
        let reasons = serde_json::to_string(reasons)
            .map_err(|e| ClientError::Storage(format!("cannot encode reasons: {e}")))?;
        self.lock()?.execute(
            "UPDATE outbox SET state = ?2, reading_id = ?3, reasons = ?4, finished_at = ?5
             WHERE seq = ?1",
            params![seq, state, reading_id, reasons, now_rfc3339()],
        )?;
        Ok(())
    }

    /// Gives items that used up their attempts a fresh start, due now.
    pub(crate) fn reset_exhausted_outbox_items(
        &self,
        max_attempts: u32,
        now_unix_ms: i64,
    ) -> Result<usize, ClientError> {
        let changed = self.lock()?.execute(
            "UPDATE outbox SET attempts = 0, next_attempt_at_ms = ?2
             WHERE state IN ('queued', 'sending') AND attempts >= ?1",
            params![max_attempts, now_unix_ms],
        )?;
        Ok(changed)
    }
}

fn kind_column(kind: ReadingKind) -> &'static str {
    match kind {
        ReadingKind::Actual => "actual",
        ReadingKind::Estimated => "estimated",
    }
}

fn read_item(row: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    let kind = match row.get::<_, String>(5)?.as_str() {
        "estimated" => ReadingKind::Estimated,
        _ => ReadingKind::Actual,
    };
    let latitude: Option<String> = row.get(7)?;
    let longitude: Option<String> = row.get(8)?;
    let location = match (latitude, longitude) {
        (Some(latitude), Some(longitude)) => Some(ReadingLocation {
            latitude,
            longitude,
        }),
        _ => None,
    };
    let reasons: Vec<String> = serde_json::from_str(&row.get::<_, String>(13)?).unwrap_or_default();
    let state = match row.get::<_, String>(9)?.as_str() {
        "sending" => OutboxState::Sending,
        "accepted" => OutboxState::Accepted,
        "flagged" => OutboxState::Flagged { reasons },
        "rejected" => OutboxState::Rejected { reasons },
        _ => OutboxState::Queued,
    };
    Ok(OutboxItem {
        seq: row.get(0)?,
        idempotency_key: row.get(1)?,
        reading: NewReading {
            meter_id: row.get(2)?,
            value: row.get(3)?,
            reading_time: row.get(4)?,
            kind,
            photo_sha256: row.get(6)?,
            location,
        },
        state,
        attempts: row.get(10)?,
        next_attempt_at_ms: row.get(11)?,
        reading_id: row.get(12)?,
        last_error: row.get(14)?,
        queued_at: row.get(15)?,
        finished_at: row.get(16)?,
    })
}

/// Checks every field and returns the reading with its time in UTC.
fn validate_reading(reading: &NewReading) -> Result<NewReading, ClientError> {
    let invalid = |message: String| Err(ClientError::InvalidInput(message));
    let meter_id = reading.meter_id.trim();
    if meter_id.is_empty() || meter_id.len() > MAX_METER_ID_LEN {
        return invalid(format!(
            "meter_id must be 1 to {MAX_METER_ID_LEN} characters, got {}",
            meter_id.len()
        ));
    }
    if meter_id.chars().any(char::is_control) {
        return invalid("meter_id must not contain control characters".into());
    }
    if let Err(error) = Quantity::parse(&reading.value) {
        return invalid(format!("value: {error}"));
    }
    let Ok(time) = OffsetDateTime::parse(&reading.reading_time, &Rfc3339) else {
        return invalid(format!(
            "reading_time {:?} is not RFC 3339, such as 2026-12-04T09:30:00Z",
            reading.reading_time
        ));
    };
    if let Some(hash) = &reading.photo_sha256
        && (hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        return invalid("photo_sha256 must be 64 lowercase hex digits".into());
    }
    if let Some(location) = &reading.location {
        check_coordinate("location.latitude", &location.latitude, 90)?;
        check_coordinate("location.longitude", &location.longitude, 180)?;
    }
    Ok(NewReading {
        meter_id: meter_id.to_owned(),
        value: reading.value.clone(),
        reading_time: format_rfc3339(time.to_offset(time::UtcOffset::UTC)),
        kind: reading.kind,
        photo_sha256: reading.photo_sha256.clone(),
        location: reading.location.clone(),
    })
}

/// Accepts `[-]digits[.digits]` with an absolute value of at most `limit`.
fn check_coordinate(field: &str, value: &str, limit: u32) -> Result<(), ClientError> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !whole.is_empty()
        && whole.len() <= 3
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 9
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && fraction.is_empty());
    let whole_value: u32 = whole.parse().unwrap_or(u32::MAX);
    let beyond =
        whole_value > limit || (whole_value == limit && fraction.bytes().any(|b| b != b'0'));
    if !well_formed || beyond {
        return Err(ClientError::InvalidInput(format!(
            "{field} must be decimal degrees between -{limit} and {limit}, such as 48.8566, got {value:?}"
        )));
    }
    Ok(())
}
