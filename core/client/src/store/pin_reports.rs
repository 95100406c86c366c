//! The queue of pin failure reports: each TLS connection refused because
//! the server's keys matched no pin is recorded here and waits for the next
//! good connection to be reported. Reports hold only public data (time,
//! host, presented SPKI hashes), never a token or a request.

use rusqlite::params;
use sharepay_domain::wire::security::PinFailureReport;

use super::EncryptedStore;
use crate::clock::now_rfc3339;
use crate::error::ClientError;

/// At most this many unsent reports are kept; older ones are dropped first,
/// so a hostile network cannot fill the phone's storage.
const MAX_PENDING_REPORTS: i64 = 100;

/// A report waiting in the store, with the id that
/// [`EncryptedStore::mark_pin_failures_reported`] takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPinFailureReport {
    pub id: i64,
    pub report: PinFailureReport,
}

impl EncryptedStore {
    /// Queues a report of a refused connection to `host`.
    pub fn record_pin_failure(
        &self,
        endpoint: &str,
        host: &str,
        presented_spki_sha256: &[String],
    ) -> Result<(), ClientError> {
        let presented = serde_json::to_string(presented_spki_sha256)
            .map_err(|e| ClientError::Storage(format!("cannot encode a pin report: {e}")))?;
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO pin_failure_reports (occurred_at, endpoint, host, presented_spki_sha256)
             VALUES (?1, ?2, ?3, ?4)",
            params![now_rfc3339(), endpoint, host, presented],
        )?;
        transaction.execute(
            "DELETE FROM pin_failure_reports WHERE reported_at IS NULL AND id NOT IN
                 (SELECT id FROM pin_failure_reports WHERE reported_at IS NULL
                  ORDER BY id DESC LIMIT ?1)",
            params![MAX_PENDING_REPORTS],
        )?;
        transaction.commit()?;
        Ok(())
    }

    /// Lists the reports not yet sent, oldest first.
    pub fn pending_pin_failure_reports(&self) -> Result<Vec<PendingPinFailureReport>, ClientError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT id, occurred_at, endpoint, host, presented_spki_sha256
             FROM pin_failure_reports WHERE reported_at IS NULL ORDER BY id",
        )?;
        let rows = statement
            .query_map([], |row| {
                let presented: String = row.get(4)?;
                Ok(PendingPinFailureReport {
                    id: row.get(0)?,
                    report: PinFailureReport {
                        occurred_at: row.get(1)?,
                        endpoint: row.get(2)?,
                        host: row.get(3)?,
                        presented_spki_sha256: serde_json::from_str(&presented).unwrap_or_default(),
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Marks reports as delivered, so they are not sent again.
    pub fn mark_pin_failures_reported(&self, ids: &[i64]) -> Result<(), ClientError> {
        let reported_at = now_rfc3339();
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        for id in ids {
            transaction.execute(
                "UPDATE pin_failure_reports SET reported_at = ?2 WHERE id = ?1",
                params![id, reported_at],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }
}
