//! Delivery of queued pin failure reports to
//! `POST /v1/security/pin-failures` after a good connection to the API.
//!
//! A report is marked reported only when the server returns 2xx (202
//! Accepted is the expected status). On any other status it stays queued
//! for the next good connection.

use sharepay_domain::wire::security::{MAX_PIN_FAILURE_REPORTS_PER_BATCH, PinFailureBatch};

use crate::SharePayClient;
use crate::error::ClientError;

impl SharePayClient {
    /// Sends every queued pin failure report, in batches of at most
    /// [`MAX_PIN_FAILURE_REPORTS_PER_BATCH`], oldest first. Errors are logged,
    /// not returned: the call that had a good connection must not fail
    /// because the report could not be delivered.
    pub(crate) async fn report_pin_failures(&self) {
        // Another call is sending them already.
        let Ok(_sending) = self.pin_report_lock.try_lock() else {
            return;
        };
        loop {
            match self.send_pin_failure_batch().await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, "sending pin failure reports failed; they stay queued");
                    return;
                }
            }
        }
    }

    /// Sends the oldest batch and returns whether more reports may wait.
    async fn send_pin_failure_batch(&self) -> Result<bool, ClientError> {
        let pending = self.store.pending_pin_failure_reports()?;
        if pending.is_empty() {
            return Ok(false);
        }
        let batch: Vec<_> = pending
            .into_iter()
            .take(MAX_PIN_FAILURE_REPORTS_PER_BATCH)
            .collect();
        let ids: Vec<i64> = batch.iter().map(|pending| pending.id).collect();
        let body = PinFailureBatch {
            reports: batch.into_iter().map(|pending| pending.report).collect(),
        };

        let access_token = self.tokens.current();
        self.api
            .post_pin_failures(&body, access_token.as_ref())
            .await?;
        self.store.mark_pin_failures_reported(&ids)?;
        tracing::info!(count = ids.len(), "reported pin failures to the server");
        Ok(ids.len() == MAX_PIN_FAILURE_REPORTS_PER_BATCH)
    }
}
