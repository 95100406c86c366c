//! [`ReadingStore`] on PostgreSQL. Timestamps are stored to the second, as
//! the SQLCipher backend stores them.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, pg_error, whole_seconds};
use crate::store::StoreError;
use crate::store::readings::{
    CorrectionRow, KeyClaim, KeyRef, PENDING_KEY_TIMEOUT_SECONDS, ReadingRow, ReadingStore,
    StoredResponse, existing_claim, kind_from_db, kind_to_db,
};

const READING_COLUMNS: &str = "id, meter_id, household_id, serial, value_milli, taken_at, kind, \
     status, reasons, usage_milli, photo_sha256, latitude, longitude, submitted_by, submitted_at";

fn reading_from_row(row: &Row) -> Result<ReadingRow, StoreError> {
    let id: Uuid = row.try_get(0).map_err(pg_error)?;
    let value: i64 = row.try_get(4).map_err(pg_error)?;
    let kind: String = row.try_get(6).map_err(pg_error)?;
    let usage: Option<i64> = row.try_get(9).map_err(pg_error)?;
    Ok(ReadingRow {
        id,
        meter_id: row.try_get(1).map_err(pg_error)?,
        household_id: row.try_get(2).map_err(pg_error)?,
        serial: row.try_get(3).map_err(pg_error)?,
        value_milli: value.unsigned_abs(),
        taken_at: row.try_get(5).map_err(pg_error)?,
        kind: kind_from_db(id, &kind)?,
        status: row.try_get(7).map_err(pg_error)?,
        reasons: row.try_get(8).map_err(pg_error)?,
        usage_milli: usage.map(i64::unsigned_abs),
        photo_sha256: row.try_get(10).map_err(pg_error)?,
        latitude: row.try_get(11).map_err(pg_error)?,
        longitude: row.try_get(12).map_err(pg_error)?,
        submitted_by: row.try_get(13).map_err(pg_error)?,
        submitted_at: row.try_get(14).map_err(pg_error)?,
    })
}

fn to_i64(field: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidRow {
        row: "reading".to_owned(),
        field,
        detail: format!("{value} is too large to store"),
    })
}

pub(super) const COMPLETE_KEY: &str = "UPDATE idempotency_keys \
     SET response_status = $3, response_body = $4, completed_at = $5 \
     WHERE scope = $1 AND idempotency_key = $2";

#[async_trait]
impl ReadingStore for PostgresStore {
    async fn claim_key(&self, key: &KeyRef, now: OffsetDateTime) -> Result<KeyClaim, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let now = whole_seconds(now);
        // The primary key makes one of two concurrent inserts win; the
        // loser reads the winner's row below.
        let inserted = transaction
            .execute(
                "INSERT INTO idempotency_keys (scope, idempotency_key, request_sha256, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (scope, idempotency_key) DO NOTHING",
                &[&key.scope, &key.key, &key.request_sha256.as_slice(), &now],
            )
            .await
            .map_err(pg_error)?;
        if inserted == 1 {
            transaction.commit().await.map_err(pg_error)?;
            return Ok(KeyClaim::Claimed);
        }
        let row = transaction
            .query_one(
                "SELECT request_sha256, created_at, response_status, response_body \
                 FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 FOR UPDATE",
                &[&key.scope, &key.key],
            )
            .await
            .map_err(pg_error)?;
        let stored: Vec<u8> = row.try_get(0).map_err(pg_error)?;
        let created_at: OffsetDateTime = row.try_get(1).map_err(pg_error)?;
        let status: Option<i32> = row.try_get(2).map_err(pg_error)?;
        let body: Option<String> = row.try_get(3).map_err(pg_error)?;
        let response = status.map(i64::from).zip(body);
        let claim = match existing_claim(key, &stored, response) {
            KeyClaim::InProgress
                if (now - created_at).whole_seconds() > PENDING_KEY_TIMEOUT_SECONDS =>
            {
                transaction
                    .execute(
                        "UPDATE idempotency_keys SET created_at = $3 \
                         WHERE scope = $1 AND idempotency_key = $2",
                        &[&key.scope, &key.key, &now],
                    )
                    .await
                    .map_err(pg_error)?;
                KeyClaim::Claimed
            }
            other => other,
        };
        transaction.commit().await.map_err(pg_error)?;
        Ok(claim)
    }

    async fn complete_key(
        &self,
        key: &KeyRef,
        response: StoredResponse,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                COMPLETE_KEY,
                &[
                    &key.scope,
                    &key.key,
                    &i32::from(response.status),
                    &response.body,
                    &whole_seconds(now),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn record_reading(
        &self,
        reading: ReadingRow,
        basis: Option<(Uuid, u64)>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        // The meter's row lock serializes readings and corrections of one
        // meter, so the latest reading cannot change before the insert.
        transaction
            .execute(
                "SELECT 1 FROM meters WHERE id = $1 FOR UPDATE",
                &[&reading.meter_id],
            )
            .await
            .map_err(pg_error)?;
        let latest = transaction
            .query_opt(
                "SELECT id, value_milli FROM meter_readings \
                 WHERE meter_id = $1 AND status <> 'rejected' \
                 ORDER BY taken_at DESC, id DESC LIMIT 1",
                &[&reading.meter_id],
            )
            .await
            .map_err(pg_error)?
            .map(|row| -> Result<(Uuid, i64), StoreError> {
                Ok((
                    row.try_get(0).map_err(pg_error)?,
                    row.try_get(1).map_err(pg_error)?,
                ))
            })
            .transpose()?;
        let expected = basis
            .map(|(id, value)| Ok::<_, StoreError>((id, to_i64("value_milli", value)?)))
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
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                ),
                &[
                    &reading.id,
                    &reading.meter_id,
                    &reading.household_id,
                    &reading.serial,
                    &to_i64("value_milli", reading.value_milli)?,
                    &whole_seconds(reading.taken_at),
                    &kind_to_db(reading.kind),
                    &reading.status,
                    &reading.reasons,
                    &usage,
                    &reading.photo_sha256,
                    &reading.latitude,
                    &reading.longitude,
                    &reading.submitted_by,
                    &whole_seconds(reading.submitted_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction
            .execute(
                COMPLETE_KEY,
                &[
                    &key.scope,
                    &key.key,
                    &i32::from(response.status),
                    &response.body,
                    &whole_seconds(reading.submitted_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(true)
    }

    async fn latest_reading(&self, meter_id: Uuid) -> Result<Option<ReadingRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {READING_COLUMNS} FROM meter_readings \
                     WHERE meter_id = $1 AND status <> 'rejected' \
                     ORDER BY taken_at DESC, id DESC LIMIT 1"
                ),
                &[&meter_id],
            )
            .await
            .map_err(pg_error)?;
        row.as_ref().map(reading_from_row).transpose()
    }

    async fn find_reading(&self, id: Uuid) -> Result<Option<ReadingRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {READING_COLUMNS} FROM meter_readings WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(pg_error)?;
        row.as_ref().map(reading_from_row).transpose()
    }

    async fn correct_reading(&self, correction: CorrectionRow) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let previous_value = to_i64("value_milli", correction.previous_value_milli)?;
        let value = to_i64("value_milli", correction.value_milli)?;
        // Takes the same meter lock as a new reading, see record_reading.
        transaction
            .execute(
                "SELECT 1 FROM meters WHERE id = \
                 (SELECT meter_id FROM meter_readings WHERE id = $1) FOR UPDATE",
                &[&correction.reading_id],
            )
            .await
            .map_err(pg_error)?;
        let updated = transaction
            .execute(
                "UPDATE meter_readings SET value_milli = $2, status = $3 \
                 WHERE id = $1 AND value_milli = $4 AND status = $5",
                &[
                    &correction.reading_id,
                    &value,
                    &correction.status,
                    &previous_value,
                    &correction.previous_status,
                ],
            )
            .await
            .map_err(pg_error)?;
        if updated != 1 {
            return Ok(false);
        }
        transaction
            .execute(
                "INSERT INTO reading_corrections (id, reading_id, previous_value_milli, \
                 value_milli, previous_status, status, reason, corrected_by, corrected_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &correction.id,
                    &correction.reading_id,
                    &previous_value,
                    &value,
                    &correction.previous_status,
                    &correction.status,
                    &correction.reason,
                    &correction.corrected_by,
                    &whole_seconds(correction.corrected_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(true)
    }

    async fn list_corrections(&self, reading_id: Uuid) -> Result<Vec<CorrectionRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, reading_id, previous_value_milli, value_milli, previous_status, \
                 status, reason, corrected_by, corrected_at FROM reading_corrections \
                 WHERE reading_id = $1 ORDER BY corrected_at, id",
                &[&reading_id],
            )
            .await
            .map_err(pg_error)?;
        rows.iter()
            .map(|row| {
                let previous: i64 = row.try_get(2).map_err(pg_error)?;
                let value: i64 = row.try_get(3).map_err(pg_error)?;
                Ok(CorrectionRow {
                    id: row.try_get(0).map_err(pg_error)?,
                    reading_id: row.try_get(1).map_err(pg_error)?,
                    previous_value_milli: previous.unsigned_abs(),
                    value_milli: value.unsigned_abs(),
                    previous_status: row.try_get(4).map_err(pg_error)?,
                    status: row.try_get(5).map_err(pg_error)?,
                    reason: row.try_get(6).map_err(pg_error)?,
                    corrected_by: row.try_get(7).map_err(pg_error)?,
                    corrected_at: row.try_get(8).map_err(pg_error)?,
                })
            })
            .collect()
    }

    async fn list_readings(&self, meter_id: Uuid) -> Result<Vec<ReadingRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {READING_COLUMNS} FROM meter_readings WHERE meter_id = $1 \
                     ORDER BY taken_at, id"
                ),
                &[&meter_id],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(reading_from_row).collect()
    }
}
