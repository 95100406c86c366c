//! Money use cases: bills, their split with each member's explanation,
//! approval, charges, paying a charge with a saved card, and statements.
//! Each call carries the access token (see
//! [`SharePayClient::send_authorized`]); the server decides who may do
//! what.
//!
//! Paying is safe to retry. The `Idempotency-Key` of a payment attempt is
//! stored before the request is sent (see [`crate::store::payments`]), so
//! a retry after a timeout or an app kill sends the same key and the card
//! is charged at most once.

use reqwest::{Method, StatusCode};
use sharepay_domain::wire::FieldError;
use sharepay_domain::wire::billing::{
    BillListResponse, BillRequest, BillResponse, BillSplitResponse, ChargeListResponse,
    ChargeResponse,
};
use sharepay_domain::wire::payments::{
    PayChargeRequest, PaymentResponse, StatementListResponse, StatementResponse,
};

use crate::SharePayClient;
use crate::api::decode;
use crate::error::ClientError;
use crate::session::check_id;
use crate::store::payments::PaymentAttemptState;

impl SharePayClient {
    /// Records a bill in a household. The server computes its split
    /// proposal, which [`SharePayClient::bill_split`] shows. The request is
    /// checked here first, and every invalid field is named at once.
    pub async fn add_bill(
        &self,
        household_id: &str,
        bill: &BillRequest,
    ) -> Result<BillResponse, ClientError> {
        check_id("household_id", household_id)?;
        bill.validate()
            .map_err(|errors| ClientError::InvalidInput(field_errors_message(&errors)))?;
        self.send_json_authorized(
            Method::POST,
            &["v1", "households", household_id, "bills"],
            bill,
        )
        .await
    }

    /// Lists the bills of a household at their latest version.
    pub async fn bills(&self, household_id: &str) -> Result<Vec<BillResponse>, ClientError> {
        check_id("household_id", household_id)?;
        let list: BillListResponse = self
            .get_authorized(&["v1", "households", household_id, "bills"])
            .await?;
        Ok(list.bills)
    }

    /// Reads one bill at its latest version.
    pub async fn bill(&self, bill_id: &str) -> Result<BillResponse, ClientError> {
        check_id("bill_id", bill_id)?;
        self.get_authorized(&["v1", "bills", bill_id]).await
    }

    /// Reads a bill's split: each member's amount with the explanation of
    /// how it was computed, and for a split by consumption the usage it is
    /// based on. Before approval it is a proposal that changes with new
    /// readings.
    pub async fn bill_split(&self, bill_id: &str) -> Result<BillSplitResponse, ClientError> {
        check_id("bill_id", bill_id)?;
        self.get_authorized(&["v1", "bills", bill_id, "split"])
            .await
    }

    /// Approves a bill's split, which freezes it and creates one charge per
    /// member share. Only a primary payer or a delegate may approve.
    pub async fn approve_bill(&self, bill_id: &str) -> Result<BillSplitResponse, ClientError> {
        check_id("bill_id", bill_id)?;
        let response = self
            .send_authorized(Method::POST, &["v1", "bills", bill_id, "approval"], None)
            .await?;
        decode(response).await
    }

    /// Lists the signed-in user's charges in every household.
    pub async fn my_charges(&self) -> Result<Vec<ChargeResponse>, ClientError> {
        let list: ChargeListResponse = self.get_authorized(&["v1", "me", "charges"]).await?;
        Ok(list.charges)
    }

    /// Lists every charge of a household. Only its primary payer may list
    /// them.
    pub async fn household_charges(
        &self,
        household_id: &str,
    ) -> Result<Vec<ChargeResponse>, ClientError> {
        check_id("household_id", household_id)?;
        let list: ChargeListResponse = self
            .get_authorized(&["v1", "households", household_id, "charges"])
            .await?;
        Ok(list.charges)
    }

    /// Pays the whole open amount of a charge with a saved card.
    ///
    /// The attempt's `Idempotency-Key` is stored before sending. When the
    /// response is lost (a network failure, a 5xx, the app killed), calling
    /// this again with the same card resends that key, and the server
    /// replays or finishes the first payment instead of charging again. A
    /// new key is made only after the last attempt was declined or
    /// rejected, for example to pay with another card.
    ///
    /// A decline is [`ClientError::PaymentDeclined`] with the reason. While
    /// an attempt has no outcome, paying with another card is
    /// [`ClientError::Conflict`].
    pub async fn pay_charge(
        &self,
        charge_id: &str,
        payment_method_id: &str,
    ) -> Result<PaymentResponse, ClientError> {
        check_id("charge_id", charge_id)?;
        check_id("payment_method_id", payment_method_id)?;
        let attempt = self
            .store
            .begin_payment_attempt(charge_id, payment_method_id)?;
        let body = serde_json::to_vec(&PayChargeRequest {
            payment_method_id: payment_method_id.to_owned(),
        })
        .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let url = self
            .api
            .url_with_segments(&["v1", "charges", charge_id, "payments"])?;

        tracing::info!(charge_id, attempt = attempt.attempt, "sending a payment");
        let response = self
            .send_authorized_to(
                Method::POST,
                url,
                Some(&body),
                Some(&attempt.idempotency_key),
            )
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(charge_id, %error, "a payment request failed before a response arrived; a retry reuses its key");
                return Err(error);
            }
        };

        let status = response.status();
        let outcome = decode::<PaymentResponse>(response).await;
        let Some(state) = final_state(status) else {
            tracing::warn!(charge_id, %status, "a payment has no final outcome yet; a retry reuses its key");
            return outcome;
        };
        self.store
            .finish_payment_attempt(&attempt.idempotency_key, state)?;
        tracing::info!(
            charge_id,
            attempt = attempt.attempt,
            ?state,
            "a payment finished"
        );
        outcome
    }

    /// Reads the statements of one member of a household (the signed-in
    /// user when `member` is `None`) for the days `from` to `to`, both
    /// `YYYY-MM-DD` and included: one statement per currency.
    pub async fn statements(
        &self,
        household_id: &str,
        member: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<StatementResponse>, ClientError> {
        check_id("household_id", household_id)?;
        if let Some(member) = member {
            check_id("member", member)?;
        }
        let mut url =
            self.api
                .url_with_segments(&["v1", "households", household_id, "statements"])?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(member) = member {
                query.append_pair("member", member);
            }
            query.append_pair("from", from).append_pair("to", to);
        }
        let response = self
            .send_authorized_to(Method::GET, url, None, None)
            .await?;
        let list: StatementListResponse = decode(response).await?;
        Ok(list.statements)
    }
}

/// Maps the status of a payment response to the attempt's final state, or
/// `None` when the outcome is still unknown and the key must be reused.
///
/// The API stores nothing under the key when it rejects a request with a
/// 4xx other than 402, so the next attempt may take a new key.
fn final_state(status: StatusCode) -> Option<PaymentAttemptState> {
    if status.is_success() {
        return Some(PaymentAttemptState::Succeeded);
    }
    match status {
        StatusCode::PAYMENT_REQUIRED => Some(PaymentAttemptState::Declined),
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => None,
        status if status.is_client_error() => Some(PaymentAttemptState::Rejected),
        _ => None,
    }
}

/// Joins field errors into one message, each as `field: message`.
pub(crate) fn field_errors_message(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|error| format!("{}: {}", error.field, error.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_state_by_status() {
        let cases = [
            (StatusCode::CREATED, Some(PaymentAttemptState::Succeeded)),
            (
                StatusCode::PAYMENT_REQUIRED,
                Some(PaymentAttemptState::Declined),
            ),
            (StatusCode::CONFLICT, Some(PaymentAttemptState::Rejected)),
            (StatusCode::BAD_REQUEST, Some(PaymentAttemptState::Rejected)),
            (StatusCode::REQUEST_TIMEOUT, None),
            (StatusCode::TOO_MANY_REQUESTS, None),
            (StatusCode::SERVICE_UNAVAILABLE, None),
            (StatusCode::BAD_GATEWAY, None),
        ];
        for (status, expected) in cases {
            assert_eq!(final_state(status), expected, "{status}");
        }
    }
}
