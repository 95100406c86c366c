//! The HTTP [`ReadingSender`]: `POST /v1/meters/{meter_id}/readings` on the
//! pinned API client, with the outbox item's `Idempotency-Key`.
//!
//! Status mapping: 2xx is the server's decision in the body; 401 means the
//! session must be refreshed; 429 waits for the server's `Retry-After`
//! without using up an attempt; 408, 425 and 5xx, timeouts and connection
//! failures (pin failures included) are transient and retried. 403, 404, 409,
//! 422 and every other 4xx are final rejections with the server's reason,
//! because sending the same request again gets the same response. The server
//! returns 404 for a meter that does not exist or is not assigned to the
//! reader.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::readings::{ReadingStatus, SubmitReadingRequest, SubmitReadingResponse};

use crate::api::{ApiClient, problem_texts};
use crate::sync::{ReadingSender, SendOutcome};

pub(crate) struct HttpReadingSender {
    pub(crate) api: Arc<ApiClient>,
    pub(crate) access_token: SecretString,
}

#[async_trait::async_trait]
impl ReadingSender for HttpReadingSender {
    async fn send(
        &self,
        idempotency_key: &str,
        meter_id: &str,
        request: &SubmitReadingRequest,
    ) -> SendOutcome {
        let url = match self
            .api
            .url_with_segments(&["v1", "meters", meter_id, "readings"])
        {
            Ok(url) => url,
            Err(error) => {
                return SendOutcome::Rejected {
                    reasons: vec![error.to_string()],
                };
            }
        };
        let response = self
            .api
            .http()
            .post(url)
            .bearer_auth(self.access_token.expose_secret())
            .header("Idempotency-Key", idempotency_key)
            .json(request)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                return SendOutcome::Retry {
                    reason: self.api.transport_error(error).to_string(),
                };
            }
        };

        let status = response.status();
        if status.is_success() {
            return match response.json::<SubmitReadingResponse>().await {
                Ok(body) => decision(body),
                // The server may have stored it, and the replay with the same
                // key returns the stored response.
                Err(error) => SendOutcome::Retry {
                    reason: format!("the response could not be read: {}", error.without_url()),
                },
            };
        }
        if status == StatusCode::UNAUTHORIZED {
            return SendOutcome::AuthenticationRequired;
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = retry_after(response.headers());
            let reasons = problem_reasons(status, response.json::<Problem>().await.ok());
            return SendOutcome::RateLimited {
                retry_after,
                reason: format!("the server returned 429: {}", reasons.join("; ")),
            };
        }
        let transient = status.is_server_error()
            || matches!(status, StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY);
        let reasons = problem_reasons(status, response.json::<Problem>().await.ok());
        if transient {
            SendOutcome::Retry {
                reason: format!(
                    "the server returned {}: {}",
                    status.as_u16(),
                    reasons.join("; ")
                ),
            }
        } else {
            SendOutcome::Rejected { reasons }
        }
    }
}

/// Wait when a 429 has no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Maximum wait taken from `Retry-After`, so a wrong header cannot park the
/// outbox for days.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// Reads `Retry-After` in seconds (the form the API sends); an HTTP date or
/// a missing header gives the default wait.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, |seconds| {
            Duration::from_secs(seconds).min(MAX_RETRY_AFTER)
        })
}

fn decision(body: SubmitReadingResponse) -> SendOutcome {
    match body.status {
        ReadingStatus::Accepted => SendOutcome::Accepted {
            reading_id: body.reading_id,
        },
        ReadingStatus::Flagged => SendOutcome::Flagged {
            reading_id: body.reading_id,
            reasons: body.reasons,
        },
        ReadingStatus::Rejected => SendOutcome::Rejected {
            reasons: body.reasons,
        },
    }
}

/// Collects the problem's detail and the field errors it does not repeat,
/// or the status text when there is no problem body.
fn problem_reasons(status: StatusCode, problem: Option<Problem>) -> Vec<String> {
    let Some(problem) = problem else {
        return vec![format!(
            "the server returned {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )];
    };
    problem_texts(&problem)
}
