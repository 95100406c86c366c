//! The `Idempotency-Key` of each attempt to pay a charge, in
//! `payment_attempts`.
//!
//! A key is stored before its request leaves the phone, so a retry after a
//! timeout, a lost response or an app kill sends the same key and the
//! server charges the card at most once. A new key is made only when the
//! last attempt ended without moving money: declined by the card issuer,
//! or rejected by the server before it charged.

use rusqlite::{Connection, params};

use super::EncryptedStore;
use crate::error::ClientError;

/// The state of a payment attempt, as recorded on this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentAttemptState {
    /// Sent, or about to be sent, with no final response yet. The next
    /// payment of the charge reuses this attempt's key.
    Pending,
    /// The server captured the payment.
    Succeeded,
    /// The card was declined; the charge stays open.
    Declined,
    /// The server rejected the request before charging (for example an
    /// unknown payment method or a charge that is already paid).
    Rejected,
}

impl PaymentAttemptState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Declined => "declined",
            Self::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Result<Self, ClientError> {
        match text {
            "pending" => Ok(Self::Pending),
            "succeeded" => Ok(Self::Succeeded),
            "declined" => Ok(Self::Declined),
            "rejected" => Ok(Self::Rejected),
            other => Err(ClientError::StoreCorrupted(format!(
                "a payment attempt has the unknown state {other:?}"
            ))),
        }
    }
}

/// One attempt to pay a charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentAttempt {
    pub charge_id: String,
    /// 1 for the first attempt of the charge, then 2, 3 and so on.
    pub attempt: u32,
    pub idempotency_key: String,
    pub payment_method_id: String,
    pub state: PaymentAttemptState,
}

impl EncryptedStore {
    /// Returns the attempt to send for paying `charge_id` with
    /// `payment_method_id`: the pending attempt when there is one, else a
    /// new attempt with a new key, stored before this returns.
    ///
    /// A pending attempt with another payment method is a conflict: its
    /// outcome is unknown, so it must be retried with its own card first.
    /// The same holds for a charge that this device has already paid.
    pub(crate) fn begin_payment_attempt(
        &self,
        charge_id: &str,
        payment_method_id: &str,
    ) -> Result<PaymentAttempt, ClientError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let last = last_attempt(&transaction, charge_id)?;
        let next_number = match &last {
            Some(last) if last.state == PaymentAttemptState::Pending => {
                if last.payment_method_id != payment_method_id {
                    return Err(ClientError::Conflict(format!(
                        "an earlier payment of charge {charge_id} with payment method {} has no \
                         answer yet; pay again with that payment method to learn its outcome \
                         before choosing another card",
                        last.payment_method_id
                    )));
                }
                return Ok(last.clone());
            }
            Some(last) if last.state == PaymentAttemptState::Succeeded => {
                return Err(ClientError::Conflict(format!(
                    "charge {charge_id} is already paid from this device; reload your charges"
                )));
            }
            Some(last) => last.attempt + 1,
            None => 1,
        };

        let attempt = PaymentAttempt {
            charge_id: charge_id.to_owned(),
            attempt: next_number,
            idempotency_key: uuid::Uuid::now_v7().to_string(),
            payment_method_id: payment_method_id.to_owned(),
            state: PaymentAttemptState::Pending,
        };
        transaction.execute(
            "INSERT INTO payment_attempts
                 (charge_id, attempt, idempotency_key, payment_method_id, state, created_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
            params![
                attempt.charge_id,
                attempt.attempt,
                attempt.idempotency_key,
                attempt.payment_method_id,
                crate::clock::now_rfc3339(),
            ],
        )?;
        transaction.commit()?;
        Ok(attempt)
    }

    /// Records the final outcome of the attempt sent under `idempotency_key`.
    pub(crate) fn finish_payment_attempt(
        &self,
        idempotency_key: &str,
        state: PaymentAttemptState,
    ) -> Result<(), ClientError> {
        self.lock()?.execute(
            "UPDATE payment_attempts SET state = ?1, finished_at = ?2
             WHERE idempotency_key = ?3",
            params![state.as_str(), crate::clock::now_rfc3339(), idempotency_key],
        )?;
        Ok(())
    }

    /// Lists the payment attempts of `charge_id`, oldest first.
    pub fn payment_attempts(&self, charge_id: &str) -> Result<Vec<PaymentAttempt>, ClientError> {
        let connection = self.lock()?;
        attempts_of(&connection, charge_id)
    }
}

fn last_attempt(
    connection: &Connection,
    charge_id: &str,
) -> Result<Option<PaymentAttempt>, ClientError> {
    Ok(attempts_of(connection, charge_id)?.pop())
}

fn attempts_of(
    connection: &Connection,
    charge_id: &str,
) -> Result<Vec<PaymentAttempt>, ClientError> {
    let mut statement = connection.prepare(
        "SELECT charge_id, attempt, idempotency_key, payment_method_id, state
         FROM payment_attempts WHERE charge_id = ?1 ORDER BY attempt",
    )?;
    let rows: Vec<(String, u32, String, String, String)> = statement
        .query_map(params![charge_id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(
            |(charge_id, attempt, idempotency_key, payment_method_id, state)| {
                Ok(PaymentAttempt {
                    charge_id,
                    attempt,
                    idempotency_key,
                    payment_method_id,
                    state: PaymentAttemptState::parse(&state)?,
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::XorWrapper;

    fn open_store(dir: &tempfile::TempDir) -> EncryptedStore {
        EncryptedStore::open(dir.path(), &XorWrapper(7)).expect("open the store")
    }

    #[test]
    fn pending_attempt_keeps_key_across_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        let first = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("first attempt");
        drop(store);

        let store = open_store(&dir);
        let again = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("retry");
        assert_eq!(again, first);
        assert_eq!(store.payment_attempts("charge-1").expect("list").len(), 1);
    }

    #[test]
    fn pending_attempt_blocks_other_card() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("first attempt");

        let error = store
            .begin_payment_attempt("charge-1", "card-b")
            .expect_err("the first attempt has no answer");
        assert!(matches!(error, ClientError::Conflict(_)), "{error:?}");
    }

    #[test]
    fn decline_allows_new_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        let first = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("first attempt");
        store
            .finish_payment_attempt(&first.idempotency_key, PaymentAttemptState::Declined)
            .expect("record the decline");

        let second = store
            .begin_payment_attempt("charge-1", "card-b")
            .expect("second attempt");
        assert_eq!(second.attempt, 2);
        assert_ne!(second.idempotency_key, first.idempotency_key);
        assert_eq!(second.state, PaymentAttemptState::Pending);
    }

    #[test]
    fn rejection_allows_new_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        let first = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("first attempt");
        store
            .finish_payment_attempt(&first.idempotency_key, PaymentAttemptState::Rejected)
            .expect("record the rejection");

        let second = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("second attempt");
        assert_ne!(second.idempotency_key, first.idempotency_key);
    }

    #[test]
    fn success_blocks_further_attempts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        let first = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("first attempt");
        store
            .finish_payment_attempt(&first.idempotency_key, PaymentAttemptState::Succeeded)
            .expect("record the payment");

        let error = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect_err("already paid");
        assert!(matches!(error, ClientError::Conflict(_)), "{error:?}");
    }

    #[test]
    fn charges_have_separate_attempts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        let one = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("charge 1");
        let two = store
            .begin_payment_attempt("charge-2", "card-b")
            .expect("charge 2");

        assert_eq!(two.attempt, 1);
        assert_ne!(one.idempotency_key, two.idempotency_key);
    }

    #[test]
    fn wipe_session_keeps_only_pending_attempts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        let pending = store
            .begin_payment_attempt("charge-1", "card-a")
            .expect("pending attempt");
        let finished = store
            .begin_payment_attempt("charge-2", "card-a")
            .expect("finished attempt");
        store
            .finish_payment_attempt(&finished.idempotency_key, PaymentAttemptState::Succeeded)
            .expect("finish");

        store.wipe_session().expect("wipe");
        let kept = store.payment_attempts("charge-1").expect("list");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].idempotency_key, pending.idempotency_key);
        assert!(store.payment_attempts("charge-2").expect("list").is_empty());

        store.wipe_all().expect("wipe all");
        assert!(store.payment_attempts("charge-1").expect("list").is_empty());
    }
}
