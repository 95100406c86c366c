//! [`ReadingStore`] on the SQLCipher file. Timestamps are Unix seconds.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sharepay_domain::meter::ReadingKind;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SqlCipherStore, db_error, from_unix_seconds, uuid_from_row};
use crate::store::StoreError;
use crate::store::readings::{
    CorrectionRow, KeyClaim, KeyRef, PENDING_KEY_TIMEOUT_SECONDS, ReadingRow, ReadingStore,
    StoredResponse, existing_claim, kind_from_db, kind_to_db,
};

const READING_COLUMNS: &str = "id, meter_id, household_id, serial, value_milli, taken_at, kind, \
     status, reasons, usage_milli, photo_sha256, latitude, longitude, submitted_by, submitted_at";

/// Reads a reading row with its kind still as text, checked afterwards.
fn raw_reading(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ReadingRow, String)> {
    let value: i64 = row.get(4)?;
    let usage: Option<i64> = row.get(9)?;
    Ok((
        ReadingRow {
            id: uuid_from_row(0, row.get(0)?)?,
            meter_id: uuid_from_row(1, row.get(1)?)?,
            household_id: uuid_from_row(2, row.get(2)?)?,
            serial: row.get(3)?,
            value_milli: value.unsigned_abs(),
            taken_at: from_unix_seconds(5, row.get(5)?)?,
            kind: ReadingKind::Actual,
            status: row.get(7)?,
            reasons: row.get(8)?,
            usage_milli: usage.map(i64::unsigned_abs),
            photo_sha256: row.get(10)?,
            latitude: row.get(11)?,
            longitude: row.get(12)?,
            submitted_by: uuid_from_row(13, row.get(13)?)?,
            submitted_at: from_unix_seconds(14, row.get(14)?)?,
        },
        row.get(6)?,
    ))
}

fn finish_reading((mut reading, kind): (ReadingRow, String)) -> Result<ReadingRow, StoreError> {
    reading.kind = kind_from_db(reading.id, &kind)?;
    Ok(reading)
}

fn to_i64(field: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidRow {
        row: "reading".to_owned(),
        field,
        detail: format!("{value} is too large to store"),
    })
}

pub(super) fn complete_in(
    connection: &Connection,
    key: &KeyRef,
    response: &StoredResponse,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    connection
        .execute(
            "UPDATE idempotency_keys SET response_status = ?3, response_body = ?4, completed_at = ?5 \
             WHERE scope = ?1 AND idempotency_key = ?2",
            params![
                key.scope,
                key.key,
                i64::from(response.status),
                response.body,
                now.unix_timestamp()
            ],
        )
        .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl ReadingStore for SqlCipherStore {
    async fn claim_key(&self, key: &KeyRef, now: OffsetDateTime) -> Result<KeyClaim, StoreError> {
        let key = key.clone();
        self.with_connection(move |connection| {
            // IMMEDIATE takes the write lock first, so another process with
            // the same key waits instead of inserting alongside.
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let existing: Option<(Vec<u8>, i64, Option<i64>, Option<String>)> = transaction
                .query_row(
                    "SELECT request_sha256, created_at, response_status, response_body \
                     FROM idempotency_keys WHERE scope = ?1 AND idempotency_key = ?2",
                    params![key.scope, key.key],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()
                .map_err(db_error)?;
            let claim = match existing {
                None => {
                    transaction
                        .execute(
                            "INSERT INTO idempotency_keys \
                             (scope, idempotency_key, request_sha256, created_at) \
                             VALUES (?1, ?2, ?3, ?4)",
                            params![
                                key.scope,
                                key.key,
                                key.request_sha256.as_slice(),
                                now.unix_timestamp()
                            ],
                        )
                        .map_err(db_error)?;
                    KeyClaim::Claimed
                }
                Some((stored, created_at, status, body)) => {
                    let response = status.zip(body);
                    match existing_claim(&key, &stored, response) {
                        KeyClaim::InProgress
                            if now.unix_timestamp() - created_at > PENDING_KEY_TIMEOUT_SECONDS =>
                        {
                            transaction
                                .execute(
                                    "UPDATE idempotency_keys SET created_at = ?3 \
                                     WHERE scope = ?1 AND idempotency_key = ?2",
                                    params![key.scope, key.key, now.unix_timestamp()],
                                )
                                .map_err(db_error)?;
                            KeyClaim::Claimed
                        }
                        other => other,
                    }
                }
            };
            transaction.commit().map_err(db_error)?;
            Ok(claim)
        })
        .await
    }

    async fn complete_key(
        &self,
        key: &KeyRef,
        response: StoredResponse,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let key = key.clone();
        self.with_connection(move |connection| complete_in(connection, &key, &response, now))
            .await
    }

    async fn record_reading(
        &self,
        reading: ReadingRow,
        basis: Option<(Uuid, u64)>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<bool, StoreError> {
        let key = key.clone();
        self.with_connection(move |connection| {
            // IMMEDIATE takes the write lock first, so no other reading can
            // land between this check and the insert.
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let latest: Option<(Vec<u8>, i64)> = transaction
                .query_row(
                    "SELECT id, value_milli FROM meter_readings \
                     WHERE meter_id = ?1 AND status <> 'rejected' \
                     ORDER BY taken_at DESC, id DESC LIMIT 1",
                    params![reading.meter_id.as_bytes().as_slice()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db_error)?;
            let expected = basis
                .map(|(id, value)| {
                    Ok::<_, StoreError>((id.as_bytes().to_vec(), to_i64("value_milli", value)?))
                })
                .transpose()?;
            if latest != expected {
                return Ok(false);
            }
            let usage = reading
                .usage_milli
                .map(|usage| to_i64("usage_milli", usage))
                .transpose()?;
            transaction
                .execute(
                    &format!(
                        "INSERT INTO meter_readings ({READING_COLUMNS}) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                    ),
                    params![
                        reading.id.as_bytes().as_slice(),
                        reading.meter_id.as_bytes().as_slice(),
                        reading.household_id.as_bytes().as_slice(),
                        reading.serial,
                        to_i64("value_milli", reading.value_milli)?,
                        reading.taken_at.unix_timestamp(),
                        kind_to_db(reading.kind),
                        reading.status,
                        reading.reasons,
                        usage,
                        reading.photo_sha256,
                        reading.latitude,
                        reading.longitude,
                        reading.submitted_by.as_bytes().as_slice(),
                        reading.submitted_at.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            complete_in(&transaction, &key, &response, reading.submitted_at)?;
            transaction.commit().map_err(db_error)?;
            Ok(true)
        })
        .await
    }

    async fn latest_reading(&self, meter_id: Uuid) -> Result<Option<ReadingRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!(
                        "SELECT {READING_COLUMNS} FROM meter_readings \
                         WHERE meter_id = ?1 AND status <> 'rejected' \
                         ORDER BY taken_at DESC, id DESC LIMIT 1"
                    ),
                    params![meter_id.as_bytes().as_slice()],
                    raw_reading,
                )
                .optional()
                .map_err(db_error)?
                .map(finish_reading)
                .transpose()
        })
        .await
    }

    async fn find_reading(&self, id: Uuid) -> Result<Option<ReadingRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {READING_COLUMNS} FROM meter_readings WHERE id = ?1"),
                    params![id.as_bytes().as_slice()],
                    raw_reading,
                )
                .optional()
                .map_err(db_error)?
                .map(finish_reading)
                .transpose()
        })
        .await
    }

    async fn correct_reading(&self, correction: CorrectionRow) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let reading = correction.reading_id.as_bytes().as_slice();
            let updated = transaction
                .execute(
                    "UPDATE meter_readings SET value_milli = ?2, status = ?3 \
                     WHERE id = ?1 AND value_milli = ?4 AND status = ?5",
                    params![
                        reading,
                        to_i64("value_milli", correction.value_milli)?,
                        correction.status,
                        to_i64("value_milli", correction.previous_value_milli)?,
                        correction.previous_status
                    ],
                )
                .map_err(db_error)?;
            if updated != 1 {
                return Ok(false);
            }
            transaction
                .execute(
                    "INSERT INTO reading_corrections (id, reading_id, previous_value_milli, \
                     value_milli, previous_status, status, reason, corrected_by, corrected_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        correction.id.as_bytes().as_slice(),
                        reading,
                        to_i64("value_milli", correction.previous_value_milli)?,
                        to_i64("value_milli", correction.value_milli)?,
                        correction.previous_status,
                        correction.status,
                        correction.reason,
                        correction.corrected_by.as_bytes().as_slice(),
                        correction.corrected_at.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(true)
        })
        .await
    }

    async fn list_corrections(&self, reading_id: Uuid) -> Result<Vec<CorrectionRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(
                    "SELECT id, reading_id, previous_value_milli, value_milli, previous_status, \
                     status, reason, corrected_by, corrected_at FROM reading_corrections \
                     WHERE reading_id = ?1 ORDER BY corrected_at, id",
                )
                .map_err(db_error)?;
            statement
                .query_map(params![reading_id.as_bytes().as_slice()], |row| {
                    let previous: i64 = row.get(2)?;
                    let value: i64 = row.get(3)?;
                    Ok(CorrectionRow {
                        id: uuid_from_row(0, row.get(0)?)?,
                        reading_id: uuid_from_row(1, row.get(1)?)?,
                        previous_value_milli: previous.unsigned_abs(),
                        value_milli: value.unsigned_abs(),
                        previous_status: row.get(4)?,
                        status: row.get(5)?,
                        reason: row.get(6)?,
                        corrected_by: uuid_from_row(7, row.get(7)?)?,
                        corrected_at: from_unix_seconds(8, row.get(8)?)?,
                    })
                })
                .map_err(db_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_error)
        })
        .await
    }

    async fn list_readings(&self, meter_id: Uuid) -> Result<Vec<ReadingRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {READING_COLUMNS} FROM meter_readings WHERE meter_id = ?1 \
                     ORDER BY taken_at, id"
                ))
                .map_err(db_error)?;
            let rows = statement
                .query_map(params![meter_id.as_bytes().as_slice()], raw_reading)
                .map_err(db_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_error)?;
            rows.into_iter().map(finish_reading).collect()
        })
        .await
    }
}
