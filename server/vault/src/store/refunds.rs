//! Refunds of charges: one row per idempotency key, claimed as `pending`
//! before the processor is called, then `succeeded` or `failed` with the
//! stored response. A pending or succeeded refund reserves its amount on
//! the charge, so concurrent refunds cannot together exceed the capture.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{StoreError, VaultStore, db_error};

/// A refund to claim: its key, the hash of its body and its amount.
pub(crate) struct RefundClaimRequest {
    pub idempotency_key: String,
    pub request_hash: Vec<u8>,
    pub charge_id: String,
    pub amount_minor: i64,
    /// Amount the charge captured, in minor units.
    pub captured_minor: i64,
    pub now: i64,
    /// A `pending` row that started before this time was abandoned by a
    /// crashed runner and may be claimed again.
    pub stale_before: i64,
}

/// Result of trying to claim an idempotency key for a refund.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RefundClaim {
    /// This caller now owns the key and must call the processor.
    Claimed,
    /// The refund already finished; this is its stored response.
    Completed(String),
    /// Another caller is running the refund right now.
    InProgress,
    /// The key was used with a different request body.
    KeyReused,
    /// The amount is more than the charge has left to refund.
    ExceedsCaptured { refundable_minor: i64 },
}

impl VaultStore {
    /// Claims a refund key after checking, in the same transaction, that
    /// the pending and succeeded refunds of the charge plus this one stay
    /// within the captured amount.
    pub async fn claim_refund(&self, claim: RefundClaimRequest) -> Result<RefundClaim, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let existing = transaction
                .query_row(
                    "SELECT request_hash, state, started_at, response FROM refunds
                     WHERE idempotency_key = ?1",
                    params![claim.idempotency_key],
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

            let outcome = match existing {
                None => {
                    let reserved_minor: i64 = transaction
                        .query_row(
                            "SELECT COALESCE(SUM(amount_minor), 0) FROM refunds
                             WHERE charge_id = ?1 AND state IN ('pending', 'succeeded')",
                            params![claim.charge_id],
                            |row| row.get(0),
                        )
                        .map_err(db_error)?;
                    let refundable_minor = (claim.captured_minor - reserved_minor).max(0);
                    if claim.amount_minor > refundable_minor {
                        RefundClaim::ExceedsCaptured { refundable_minor }
                    } else {
                        transaction
                            .execute(
                                "INSERT INTO refunds (idempotency_key, request_hash, charge_id,
                                     amount_minor, state, started_at)
                                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
                                params![
                                    claim.idempotency_key,
                                    claim.request_hash,
                                    claim.charge_id,
                                    claim.amount_minor,
                                    claim.now
                                ],
                            )
                            .map_err(db_error)?;
                        RefundClaim::Claimed
                    }
                }
                Some((stored_hash, _, _, _)) if stored_hash != claim.request_hash => {
                    RefundClaim::KeyReused
                }
                Some((_, _, _, Some(response))) => RefundClaim::Completed(response),
                Some((_, _, started_at, None)) if started_at >= claim.stale_before => {
                    RefundClaim::InProgress
                }
                Some(_) => {
                    // A stale pending row still reserves its amount, so taking
                    // it over needs no new limit check.
                    transaction
                        .execute(
                            "UPDATE refunds SET started_at = ?2 WHERE idempotency_key = ?1",
                            params![claim.idempotency_key, claim.now],
                        )
                        .map_err(db_error)?;
                    RefundClaim::Claimed
                }
            };
            transaction.commit().map_err(db_error)?;
            Ok(outcome)
        })
        .await
    }

    /// Stores the final response of a claimed refund. `succeeded` keeps
    /// the amount reserved on the charge, and `failed` releases it.
    pub async fn complete_refund(
        &self,
        idempotency_key: String,
        succeeded: bool,
        response: String,
    ) -> Result<(), StoreError> {
        let state = if succeeded { "succeeded" } else { "failed" };
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE refunds SET state = ?2, response = ?3 WHERE idempotency_key = ?1",
                    params![idempotency_key, state, response],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    /// Forgets a pending refund whose processor call reached no decision,
    /// so its amount is free again and the same request may be retried.
    pub async fn release_refund(&self, idempotency_key: String) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "DELETE FROM refunds WHERE idempotency_key = ?1 AND state = 'pending'",
                    params![idempotency_key],
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

    fn claim(key: &str, hash: u8, amount_minor: i64) -> RefundClaimRequest {
        RefundClaimRequest {
            idempotency_key: key.to_owned(),
            request_hash: vec![hash],
            charge_id: "ch_1".to_owned(),
            amount_minor,
            captured_minor: 1000,
            now: 100,
            stale_before: 0,
        }
    }

    #[tokio::test]
    async fn pending_refund_reserves_amount() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = VaultStore::open(&dir.path().join("vault.db"), &[6u8; 32]).expect("open");

        let first = store.claim_refund(claim("key-1", 1, 700)).await;
        let over = store.claim_refund(claim("key-2", 2, 400)).await;
        let same_key_other_body = store.claim_refund(claim("key-1", 9, 700)).await;
        let concurrent = store.claim_refund(claim("key-1", 1, 700)).await;

        assert_eq!(first.expect("first claim"), RefundClaim::Claimed);
        assert_eq!(
            over.expect("second claim"),
            RefundClaim::ExceedsCaptured {
                refundable_minor: 300
            }
        );
        assert_eq!(
            same_key_other_body.expect("other body"),
            RefundClaim::KeyReused
        );
        assert_eq!(concurrent.expect("concurrent"), RefundClaim::InProgress);
    }

    #[tokio::test]
    async fn failed_refund_frees_amount() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = VaultStore::open(&dir.path().join("vault.db"), &[7u8; 32]).expect("open");

        store
            .claim_refund(claim("key-1", 1, 1000))
            .await
            .expect("claim");
        store
            .complete_refund("key-1".into(), false, "{}".into())
            .await
            .expect("complete");
        let next = store
            .claim_refund(claim("key-2", 2, 1000))
            .await
            .expect("claim after a failure");
        let replay = store
            .claim_refund(claim("key-1", 1, 1000))
            .await
            .expect("replay");

        assert_eq!(next, RefundClaim::Claimed);
        assert_eq!(replay, RefundClaim::Completed("{}".into()));
    }
}
