//! Idempotency records of charges: one row per idempotency key, claimed
//! as `pending` before the processor is called, then `completed` with the
//! stored response or `retryable` after a failure without a decision.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{StoreError, VaultStore, db_error};

/// Result of trying to claim an idempotency key for a charge.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChargeClaim {
    /// This caller now owns the key and must run the charge.
    Claimed,
    /// The charge already finished; this is its stored response.
    Completed(String),
    /// Another caller is running the charge right now.
    InProgress,
    /// The key was used with a different request body.
    KeyReused,
}

impl VaultStore {
    /// Claims `idempotency_key` for a charge whose body hashes to
    /// `request_hash`. A `pending` row older than `stale_before` (its
    /// runner died) and a `retryable` row may be claimed again, which is
    /// safe because the processor is called with the same idempotency key.
    pub async fn claim_charge(
        &self,
        idempotency_key: String,
        request_hash: Vec<u8>,
        now: i64,
        stale_before: i64,
    ) -> Result<ChargeClaim, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let existing = transaction
                .query_row(
                    "SELECT request_hash, state, started_at, response FROM charges
                     WHERE idempotency_key = ?1",
                    params![idempotency_key],
                    |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, Option<String>>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(db_error)?;

            let claim = match existing {
                None => {
                    // The primary key makes a concurrent second insert fail,
                    // and the immediate transaction serializes claimers.
                    transaction
                        .execute(
                            "INSERT INTO charges (idempotency_key, request_hash, state, started_at)
                             VALUES (?1, ?2, 'pending', ?3)",
                            params![idempotency_key, request_hash, now],
                        )
                        .map_err(db_error)?;
                    ChargeClaim::Claimed
                }
                Some((stored_hash, _, _, _)) if stored_hash != request_hash => {
                    ChargeClaim::KeyReused
                }
                Some((_, state, _, Some(response))) if state == "completed" => {
                    ChargeClaim::Completed(response)
                }
                Some((_, state, started_at, _))
                    if state == "pending" && started_at >= stale_before =>
                {
                    ChargeClaim::InProgress
                }
                Some(_) => {
                    transaction
                        .execute(
                            "UPDATE charges SET state = 'pending', started_at = ?2, response = NULL
                             WHERE idempotency_key = ?1",
                            params![idempotency_key, now],
                        )
                        .map_err(db_error)?;
                    ChargeClaim::Claimed
                }
            };
            transaction.commit().map_err(db_error)?;
            Ok(claim)
        })
        .await
    }

    /// Stores the final response of a claimed charge under its charge id,
    /// so a refund can find it.
    pub async fn complete_charge(
        &self,
        idempotency_key: String,
        charge_id: String,
        response: String,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE charges SET state = 'completed', charge_id = ?2, response = ?3
                     WHERE idempotency_key = ?1",
                    params![idempotency_key, charge_id, response],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    /// Returns the stored response of the completed charge `charge_id`.
    pub async fn find_completed_charge(
        &self,
        charge_id: String,
    ) -> Result<Option<String>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT response FROM charges WHERE charge_id = ?1 AND state = 'completed'",
                    params![charge_id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    /// Marks a claimed charge as failed in a way a retry may repeat.
    pub async fn mark_charge_retryable(&self, idempotency_key: String) -> Result<(), StoreError> {
        self.set_charge_state(idempotency_key, "retryable", None)
            .await
    }

    /// Forgets a claim whose request failed before reaching the processor.
    pub async fn release_charge(&self, idempotency_key: String) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "DELETE FROM charges WHERE idempotency_key = ?1 AND state = 'pending'",
                    params![idempotency_key],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn set_charge_state(
        &self,
        idempotency_key: String,
        state: &'static str,
        response: Option<String>,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE charges SET state = ?2, response = ?3 WHERE idempotency_key = ?1",
                    params![idempotency_key, state, response],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_key_other_body_is_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = VaultStore::open(&dir.path().join("vault.db"), &[5u8; 32]).expect("open");

        let first = store
            .claim_charge("key-1".into(), vec![1], 100, 0)
            .await
            .expect("claim");
        let concurrent = store
            .claim_charge("key-1".into(), vec![1], 101, 0)
            .await
            .expect("claim again");
        let other_body = store
            .claim_charge("key-1".into(), vec![2], 102, 0)
            .await
            .expect("claim with other body");

        assert_eq!(first, ChargeClaim::Claimed);
        assert_eq!(concurrent, ChargeClaim::InProgress);
        assert_eq!(other_body, ChargeClaim::KeyReused);
    }

    #[tokio::test]
    async fn migration_backfills_charge_ids() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vault.db");
        let key = [8u8; 32];
        {
            // A database at schema version 1, before charges had an id column.
            let connection = sharepay_sqlcipher::open_keyed(&path, &key).expect("open");
            connection
                .execute_batch(&format!(
                    "BEGIN; {} PRAGMA user_version = 1; COMMIT;",
                    super::super::MIGRATIONS[0]
                ))
                .expect("schema version 1");
            connection
                .execute(
                    "INSERT INTO charges (idempotency_key, request_hash, state, started_at, response)
                     VALUES ('key-1', x'01', 'completed', 100, ?1)",
                    params![r#"{"charge_id":"ch_old","status":"approved"}"#],
                )
                .expect("old charge");
        }

        let store = VaultStore::open(&path, &key).expect("migrate");
        let found = store
            .find_completed_charge("ch_old".into())
            .await
            .expect("find");

        assert_eq!(
            found.as_deref(),
            Some(r#"{"charge_id":"ch_old","status":"approved"}"#)
        );
    }
}
