//! The money flow of a household: bills and their splits, approval into
//! charges, saved cards, payments through the vault, refunds, the ledger,
//! statements, reconciliation and transaction monitoring.
//!
//! Every handler authorizes through [`Access::require`] before it reads or
//! changes anything the request names, so a caller outside the household
//! gets 404. Handlers never see a card number: cards go from the phone to
//! the vault, and the API keeps only the vault's token. The ledger rules
//! live in `sharepay_domain::ledger`; this module only stores what they post.

mod approval;
mod bills;
mod cases;
mod ledger;
mod monitoring;
mod payment_methods;
pub(crate) mod payments;
mod statements;
mod usage;

pub use sharepay_domain::monitoring::MonitoringConfig;

use axum::Router;
use axum::routing::{get, post};
use sharepay_domain::money::{Currency, Money};
use sharepay_domain::wire::money::MoneyBody;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::households::rfc3339;
use crate::store::money::{BillRow, ChargeRow};

/// Routes of the money endpoints, merged into the API router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/households/{household_id}/bills",
            post(bills::create_bill).get(bills::list_bills),
        )
        .route(
            "/v1/bills/{bill_id}",
            get(bills::get_bill).put(bills::update_bill),
        )
        .route("/v1/bills/{bill_id}/split", get(bills::get_split))
        .route(
            "/v1/bills/{bill_id}/delegations",
            post(approval::delegate_approval),
        )
        .route("/v1/bills/{bill_id}/approval", post(approval::approve_bill))
        .route("/v1/me/charges", get(approval::list_my_charges))
        .route(
            "/v1/households/{household_id}/charges",
            get(approval::list_household_charges),
        )
        .route(
            "/v1/payment-methods/intake-token",
            post(payment_methods::issue_intake_token),
        )
        .route(
            "/v1/payment-methods",
            post(payment_methods::register_payment_method)
                .get(payment_methods::list_payment_methods),
        )
        .route(
            "/v1/payment-methods/{payment_method_id}",
            axum::routing::delete(payment_methods::delete_payment_method),
        )
        .route(
            "/v1/charges/{charge_id}/payments",
            post(payments::pay_charge),
        )
        .route(
            "/v1/payments/{payment_id}/refunds",
            post(payments::refund_payment),
        )
        .route(
            "/v1/households/{household_id}/statements",
            get(statements::statements),
        )
        .route("/v1/admin/reconciliation", get(statements::reconciliation))
        .route(
            "/v1/admin/monitoring-cases",
            get(cases::list_monitoring_cases),
        )
        .route(
            "/v1/admin/monitoring-cases/{case_id}/close",
            post(cases::close_monitoring_case),
        )
}

/// The OpenAPI paths of the money endpoints, nested into the API document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        bills::create_bill,
        bills::list_bills,
        bills::get_bill,
        bills::update_bill,
        bills::get_split,
        approval::delegate_approval,
        approval::approve_bill,
        approval::list_my_charges,
        approval::list_household_charges,
        payment_methods::issue_intake_token,
        payment_methods::register_payment_method,
        payment_methods::list_payment_methods,
        payment_methods::delete_payment_method,
        payments::pay_charge,
        payments::refund_payment,
        statements::statements,
        statements::reconciliation,
        cases::list_monitoring_cases,
        cases::close_monitoring_case,
    ),
    tags((name = "money", description = "Bills, splits, approvals, charges, saved cards, payments, refunds, statements and compliance reports."))
)]
pub struct MoneyApi;

/// Rebuilds an amount read from the store.
pub(crate) fn stored_money(minor: i64, currency: &str) -> Result<Money, ApiError> {
    let currency = Currency::from_code(currency)
        .map_err(|e| ApiError::internal("reading a stored currency", e))?;
    Ok(Money::from_minor(minor, currency))
}

pub(crate) fn money_body(minor: i64, currency: &str) -> MoneyBody {
    MoneyBody {
        minor,
        currency: currency.to_owned(),
    }
}

/// Parses a `YYYY-MM-DD` date, naming `field` on failure.
pub(crate) fn parse_date(field: &str, value: &str) -> Result<Date, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &format).map_err(|_| {
        ApiError::invalid_field(
            field,
            "must be a date in the form YYYY-MM-DD, such as 2026-11-30",
        )
    })
}

/// Formats days since 1970-01-01 as `YYYY-MM-DD`.
pub(crate) fn format_day(day: i64) -> Result<String, ApiError> {
    let date = OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map_err(|e| ApiError::internal("formatting a stored day", e))?
        .date();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format)
        .map_err(|e| ApiError::internal("formatting a stored day", e))
}

/// Returns the days since 1970-01-01 of `date`.
pub(crate) fn day_number(date: Date) -> i64 {
    date.midnight()
        .assume_utc()
        .unix_timestamp()
        .div_euclid(86_400)
}

pub(crate) async fn load_bill(state: &AppState, bill_id: Uuid) -> Result<BillRow, ApiError> {
    state
        .store
        .find_bill(bill_id)
        .await
        .map_err(|e| ApiError::internal("loading a bill", e))?
        .ok_or(ApiError::NotFound)
}

pub(crate) async fn load_charge(state: &AppState, charge_id: Uuid) -> Result<ChargeRow, ApiError> {
    state
        .store
        .find_charge(charge_id)
        .await
        .map_err(|e| ApiError::internal("loading a charge", e))?
        .ok_or(ApiError::NotFound)
}

/// Records a change to money data in the audit trail. A request whose
/// event cannot be recorded fails, so no money moves unaudited.
pub(crate) async fn audit_change(
    state: &AppState,
    user_id: Uuid,
    action: &str,
    resource: String,
    outcome: Outcome,
    request_id: Option<&str>,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(
        AuditKind::DataAccess,
        Actor::User(user_id),
        action,
        &resource,
        outcome,
    )
    .request_id(request_id)
    .details(details);
    crate::routes::record(state, event).await
}

pub(crate) fn optional_rfc3339(time: Option<OffsetDateTime>) -> Result<Option<String>, ApiError> {
    time.map(rfc3339).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitoring_section_parses() {
        let config: crate::ServerConfig = toml::from_str(
            r#"
            [monitoring]
            thresholds = [{ minor = 100000, currency = "EUR" }]

            [monitoring.velocity]
            max_payments = 10
            window_seconds = 3600
            "#,
        )
        .expect("the documented example parses");

        assert_eq!(config.monitoring.thresholds[0].minor(), 100_000);
        assert_eq!(config.monitoring.velocity.max_payments, 10);
        config.validate().expect("the example is valid");
    }

    #[test]
    fn day_numbers_round_trip() {
        let date = parse_date("period_start", "2026-10-01").expect("date");

        assert_eq!(format_day(day_number(date)).expect("format"), "2026-10-01");
    }

    #[test]
    fn bad_date_names_field() {
        let error = parse_date("period_end", "31/10/2026").expect_err("not ISO");

        assert_eq!(error.to_problem().errors[0].field, "period_end");
    }
}
