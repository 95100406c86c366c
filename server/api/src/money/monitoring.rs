//! Transaction monitoring after each captured payment: loads the payer's
//! recent payments and devices, runs the domain's configured rules
//! (`sharepay_domain::monitoring`) and opens a case for each match.
//!
//! A failure here is logged and never undoes the payment, which is already
//! stored.

use sharepay_domain::ids::{ResourceId, UserId};
use sharepay_domain::meter::Timestamp;
use sharepay_domain::monitoring::{DeviceSighting, PaymentRecord, evaluate_payment};
use uuid::Uuid;

use super::stored_money;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::households::now;
use crate::store::money::{MonitoringCaseRow, PaymentRow, PaymentScope};

/// Runs the rules on `payment` and opens a case per match; logs failures.
pub(super) async fn after_payment(
    state: &AppState,
    payment: &PaymentRow,
    request_id: Option<&str>,
) {
    if let Err(error) = open_cases(state, payment, request_id).await {
        tracing::error!(error = %error, payment_id = %payment.id, "transaction monitoring failed");
    }
}

async fn open_cases(
    state: &AppState,
    payment: &PaymentRow,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let current = record(payment)?;
    let payments = state
        .store
        .list_payments(PaymentScope::User(payment.user_id))
        .await
        .map_err(|e| ApiError::internal("listing a user's payments", e))?;
    let history = payments
        .iter()
        .filter(|row| row.status == "succeeded" && row.id != payment.id)
        .map(record)
        .collect::<Result<Vec<_>, _>>()?;
    let devices = sightings(state, payment.user_id).await?;

    let matches = evaluate_payment(&state.config.monitoring, &current, &history, &devices);
    for found in matches {
        let case = MonitoringCaseRow {
            id: Uuid::now_v7(),
            rule: found.rule.code().to_owned(),
            severity: serde_json::to_value(found.severity)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_else(|| "medium".to_owned()),
            reason: found.reason.clone(),
            user_id: payment.user_id,
            payment_id: payment.id,
            household_id: payment.household_id,
            status: "open".to_owned(),
            opened_at: now(),
            closed_by: None,
            closed_at: None,
            resolution: None,
        };
        state
            .store
            .insert_monitoring_case(case.clone())
            .await
            .map_err(|e| ApiError::internal("storing a monitoring case", e))?;
        let event = AuditEvent::new(
            AuditKind::SecurityEvent,
            Actor::System,
            "monitoring_case.open",
            &format!("monitoring_case:{}", case.id),
            Outcome::Success,
        )
        .reason(&case.reason)
        .request_id(request_id)
        .details(serde_json::json!({
            "rule": case.rule,
            "severity": case.severity,
            "payment_id": payment.id,
        }));
        crate::routes::record(state, event).await?;
        tracing::warn!(case_id = %case.id, rule = %case.rule, payment_id = %payment.id, "a payment matched a monitoring rule");
    }
    Ok(())
}

fn record(payment: &PaymentRow) -> Result<PaymentRecord, ApiError> {
    Ok(PaymentRecord {
        payment: ResourceId(payment.id),
        user: UserId(payment.user_id),
        amount: stored_money(payment.amount_minor, &payment.currency)?,
        at: Timestamp(payment.created_at.unix_timestamp()),
        device: payment.device_fingerprint.clone().unwrap_or_default(),
    })
}

/// Returns when the user first used each device, from their sessions.
///
/// NOTE: sessions that ended are deleted, so a device whose every session
/// ended counts as first used at its oldest remaining session.
async fn sightings(state: &AppState, user_id: Uuid) -> Result<Vec<DeviceSighting>, ApiError> {
    let sessions = state
        .identity
        .list_sessions(user_id)
        .await
        .map_err(|e| ApiError::internal("loading sessions", e))?;
    let mut sightings: Vec<DeviceSighting> = Vec::new();
    for session in sessions {
        let Some(device) = session.device_fingerprint else {
            continue;
        };
        let first_seen = Timestamp(session.created_at.unix_timestamp());
        match sightings.iter_mut().find(|seen| seen.device == device) {
            Some(seen) => seen.first_seen = seen.first_seen.min(first_seen),
            None => sightings.push(DeviceSighting {
                user: UserId(user_id),
                device,
                first_seen,
            }),
        }
    }
    Ok(sightings)
}
