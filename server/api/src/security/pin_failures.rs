//! `POST /v1/security/pin-failures`: phones report TLS connections they
//! refused because no certificate pin matched. Phones report before login
//! too, so a bearer token is optional; a missing or invalid one makes the
//! report anonymous. The route has its own per-address rate limit.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sharepay_domain::wire::FieldError;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::security::{
    MAX_PIN_FAILURE_REPORTS_PER_BATCH, PinFailureBatch, PinFailureBatchResponse, PinFailureReport,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{SecurityEvent, Severity, kind, raise};
use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::identity::client::ClientInfo;

/// Route key of the rate limit.
pub const PIN_FAILURES_ROUTE: &str = "POST /v1/security/pin-failures";
/// Maximum SPKI hashes one report may list; a chain is rarely longer.
const MAX_PRESENTED_KEYS: usize = 10;
/// Maximum length of a DNS name.
const MAX_HOST_CHARS: usize = 253;

/// The reporting user, when the request carried a valid access token.
pub struct OptionalUser(pub Option<Uuid>);

impl FromRequestParts<AppState> for OptionalUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(Self(None));
        }
        match AuthenticatedUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(Self(Some(user.user_id))),
            Err(ApiError::Internal(cause)) => Err(ApiError::Internal(cause)),
            Err(_) => Ok(Self(None)),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/security/pin-failures",
    tag = "security",
    request_body = PinFailureBatch,
    security((), ("bearer" = [])),
    responses(
        (status = 202, description = "Each report was recorded as a `pin_failure` security event.", body = PinFailureBatchResponse),
        (status = 400, description = "A report is invalid; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many reports from this address.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    client: ClientInfo,
    OptionalUser(user_id): OptionalUser,
    headers: axum::http::HeaderMap,
    StrictJson(batch): StrictJson<PinFailureBatch>,
) -> Result<(StatusCode, Json<PinFailureBatchResponse>), ApiError> {
    validate_batch(&batch)?;
    let request_id = crate::routes::request_id(&headers);

    for report in &batch.reports {
        let event = SecurityEvent::new(kind::PIN_FAILURE, Severity::Medium)
            .user(user_id)
            .address(client.ip_address.as_deref())
            .request_id(request_id)
            .details(serde_json::json!({
                "occurred_at": report.occurred_at,
                "endpoint": report.endpoint,
                "host": report.host,
                "presented_spki_sha256": report.presented_spki_sha256,
            }));
        raise(&state, event).await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(PinFailureBatchResponse {
            accepted: batch.reports.len() as u32,
        }),
    ))
}

fn validate_batch(batch: &PinFailureBatch) -> Result<(), ApiError> {
    if batch.reports.is_empty() || batch.reports.len() > MAX_PIN_FAILURE_REPORTS_PER_BATCH {
        return Err(ApiError::invalid_field(
            "reports",
            format!(
                "must hold 1 to {MAX_PIN_FAILURE_REPORTS_PER_BATCH} reports, not {}; send older ones in a later batch",
                batch.reports.len()
            ),
        ));
    }
    let mut errors = Vec::new();
    for (index, report) in batch.reports.iter().enumerate() {
        check_report(&format!("reports[{index}]"), report, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

fn check_report(path: &str, report: &PinFailureReport, errors: &mut Vec<FieldError>) {
    let mut fail = |field: &str, message: String| {
        errors.push(FieldError {
            field: format!("{path}.{field}"),
            message,
        });
    };
    match OffsetDateTime::parse(&report.occurred_at, &Rfc3339) {
        Ok(at) if at <= OffsetDateTime::now_utc() + time::Duration::minutes(5) => {}
        Ok(_) => fail(
            "occurred_at",
            "is in the future; check the phone's clock".to_owned(),
        ),
        Err(_) => fail(
            "occurred_at",
            "must be an RFC 3339 time such as 2026-01-31T08:00:00Z".to_owned(),
        ),
    }
    if report.endpoint != "api" && report.endpoint != "vault" {
        fail(
            "endpoint",
            format!("{:?} is not api or vault", report.endpoint),
        );
    }
    let host_ok = !report.host.is_empty()
        && report.host.chars().count() <= MAX_HOST_CHARS
        && report
            .host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !host_ok {
        fail(
            "host",
            format!("must be a host name or IP address of 1 to {MAX_HOST_CHARS} characters"),
        );
    }
    let keys = &report.presented_spki_sha256;
    if keys.is_empty() || keys.len() > MAX_PRESENTED_KEYS {
        fail(
            "presented_spki_sha256",
            format!("must list 1 to {MAX_PRESENTED_KEYS} hashes, leaf first"),
        );
    }
    for (index, key) in keys.iter().enumerate() {
        let decoded = BASE64.decode(key).map(|bytes| bytes.len());
        if decoded != Ok(32) {
            fail(
                &format!("presented_spki_sha256[{index}]"),
                "must be the standard base64 of a 32-byte SHA-256".to_owned(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> PinFailureReport {
        PinFailureReport {
            occurred_at: "2026-01-31T08:00:00Z".to_owned(),
            endpoint: "api".to_owned(),
            host: "api.sharepay.test".to_owned(),
            presented_spki_sha256: vec![BASE64.encode([7u8; 32])],
        }
    }

    #[test]
    fn valid_batch_passes() {
        let batch = PinFailureBatch {
            reports: vec![report()],
        };
        validate_batch(&batch).expect("valid");
    }

    #[test]
    fn each_bad_field_is_named() {
        let bad = PinFailureReport {
            occurred_at: "yesterday".to_owned(),
            endpoint: "db".to_owned(),
            host: "evil host\n".to_owned(),
            presented_spki_sha256: vec!["short".to_owned()],
        };
        let batch = PinFailureBatch {
            reports: vec![report(), bad],
        };

        let Err(ApiError::InvalidInput { errors, .. }) = validate_batch(&batch) else {
            panic!("the batch must be rejected");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "reports[1].occurred_at",
                "reports[1].endpoint",
                "reports[1].host",
                "reports[1].presented_spki_sha256[0]",
            ]
        );
    }

    #[test]
    fn empty_and_oversized_batches_are_rejected() {
        let empty = PinFailureBatch { reports: vec![] };
        assert!(validate_batch(&empty).is_err());

        let oversized = PinFailureBatch {
            reports: vec![report(); MAX_PIN_FAILURE_REPORTS_PER_BATCH + 1],
        };
        assert!(validate_batch(&oversized).is_err());
    }
}
