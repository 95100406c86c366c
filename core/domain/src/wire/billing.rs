//! Bodies of the bill endpoints: recording and changing a bill, its split
//! with the explanation, approval delegations and the charges that an
//! approval creates. Ids are UUIDv7 strings, dates `YYYY-MM-DD` and
//! timestamps RFC 3339 UTC.
//!
//! [`BillRequest::validate`] checks every field and names each offending
//! one. It does not compute the split: a split by consumption needs the
//! usage from stored readings, so the server measures it and then calls
//! [`ValidBill::split_proposal`], which runs the split engine.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::FieldError;
use super::money::MoneyBody;
use super::split::{SplitMemberBody, SplitMode, SplitProposalRequest, SplitProposalResponse};
use super::validation::FieldErrors;
use crate::meter::Quantity;
use crate::money::Money;

/// Maximum characters of a bill's provider name.
pub const MAX_PROVIDER_CHARS: usize = 100;
/// Maximum meters one bill may cover.
pub const MAX_BILL_METERS: usize = 20;
/// Maximum members one split may list.
pub const MAX_SPLIT_MEMBERS: usize = 50;
/// Largest bill amount, in minor units (100,000,000.00 in a two-decimal
/// currency). No household bill comes near it, and it keeps the sums of
/// statements and ledgers far from overflowing.
pub const MAX_BILL_MINOR: i64 = 10_000_000_000;

/// Body of `POST /v1/households/{household_id}/bills` and of
/// `PUT /v1/bills/{bill_id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillRequest {
    /// The whole bill, greater than zero.
    pub amount: MoneyBody,
    /// First day of the billing period, `YYYY-MM-DD`, included.
    pub period_start: String,
    /// Last day of the billing period, `YYYY-MM-DD`, included.
    pub period_end: String,
    /// The utility or company that issued the bill.
    pub provider: String,
    /// The fixed part of the bill; zero when absent. A split by consumption
    /// divides it equally among the included members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing_charge: Option<MoneyBody>,
    /// Meters of the household whose readings this bill covers.
    #[serde(default)]
    pub meter_ids: Vec<String>,
    pub split_mode: SplitMode,
    /// The members who share the bill, each listed once.
    pub members: Vec<BillMemberBody>,
}

/// One member of a bill's split; which fields apply depends on
/// `split_mode`, as in a split proposal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillMemberBody {
    pub user_id: String,
    /// Modes `equal` and `consumption`; defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included: Option<bool>,
    /// Mode `shares`: integer weight, 0 excludes the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u32>,
    /// Mode `percent`: hundredths of a percent, all adding up to 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis_points: Option<u32>,
    /// Mode `exact`: the member's amount, all adding up to the bill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<MoneyBody>,
    /// Mode `consumption`: the bill's meters that measure this member's
    /// use. A member with none has zero usage and pays only their part of
    /// the standing charge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_ids: Option<Vec<String>>,
}

/// A bill request whose fields are all valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidBill {
    pub amount: Money,
    pub standing_charge: Money,
    pub provider: String,
    pub meter_ids: Vec<Uuid>,
    pub split_mode: SplitMode,
    pub members: Vec<ValidBillMember>,
    /// The request as sent, kept to build the split proposal.
    request: BillRequest,
}

/// One member of a valid bill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidBillMember {
    pub user_id: Uuid,
    /// Mode `consumption`: the meters that measure this member's use.
    pub meter_ids: Vec<Uuid>,
}

impl BillRequest {
    /// Checks every field except the period dates, which the server parses,
    /// and returns every offending field at once.
    pub fn validate(&self) -> Result<ValidBill, Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let amount = self.amount.validate("amount", &mut errors);
        if let Some(amount) = amount
            && amount.minor() <= 0
        {
            errors.add("amount", "amount must be greater than zero");
        }
        if let Some(amount) = amount
            && amount.minor() > MAX_BILL_MINOR
        {
            let limit = Money::from_minor(MAX_BILL_MINOR, amount.currency());
            errors.add(
                "amount",
                format!("amount must be at most {limit}; check the number of digits"),
            );
        }
        let standing_charge = match &self.standing_charge {
            Some(body) => body.validate("standing_charge", &mut errors),
            None => amount.map(|amount| Money::zero(amount.currency())),
        };
        if let (Some(amount), Some(standing)) = (amount, standing_charge) {
            check_standing_charge(amount, standing, &mut errors);
        }
        let provider = check_provider(&self.provider, &mut errors);
        let meter_ids = parse_ids("meter_ids", &self.meter_ids, MAX_BILL_METERS, &mut errors);
        let members = self.check_members(&meter_ids, &mut errors);

        let (Some(amount), Some(standing_charge)) = (amount, standing_charge) else {
            return Err(errors.into_vec());
        };
        errors.finish(ValidBill {
            amount,
            standing_charge,
            provider,
            meter_ids,
            split_mode: self.split_mode,
            members,
            request: self.clone(),
        })
    }

    fn check_members(
        &self,
        bill_meters: &[Uuid],
        errors: &mut FieldErrors,
    ) -> Vec<ValidBillMember> {
        if self.members.is_empty() {
            errors.add("members", "members must list at least one member");
        }
        if self.members.len() > MAX_SPLIT_MEMBERS {
            errors.add(
                "members",
                format!("members may list at most {MAX_SPLIT_MEMBERS} members"),
            );
        }
        let mut members: Vec<ValidBillMember> = Vec::with_capacity(self.members.len());
        for (index, body) in self.members.iter().enumerate() {
            let path = format!("members[{index}]");
            let user_id = match Uuid::parse_str(&body.user_id) {
                Ok(id) if members.iter().any(|member| member.user_id == id) => {
                    errors.add(
                        format!("{path}.user_id"),
                        "member is listed more than once: list each member once",
                    );
                    continue;
                }
                Ok(id) => id,
                Err(_) => {
                    errors.add(format!("{path}.user_id"), "user_id must be a UUID");
                    continue;
                }
            };
            let meter_ids = match (&body.meter_ids, self.split_mode) {
                (None, _) => Vec::new(),
                (Some(ids), SplitMode::Consumption) => {
                    let field = format!("{path}.meter_ids");
                    let ids = parse_ids(&field, ids, MAX_BILL_METERS, errors);
                    for id in &ids {
                        if !bill_meters.contains(id) {
                            errors.add(
                                field.clone(),
                                format!("meter {id} is not in the bill's meter_ids: add it there"),
                            );
                        }
                    }
                    ids
                }
                (Some(_), _) => {
                    errors.add(
                        format!("{path}.meter_ids"),
                        "meter_ids is allowed only for split_mode consumption: remove it",
                    );
                    Vec::new()
                }
            };
            members.push(ValidBillMember { user_id, meter_ids });
        }
        members
    }
}

impl ValidBill {
    /// Builds the split engine's input. `usage_of` returns a member's
    /// metered use over the bill period; it is asked only in mode
    /// `consumption`, once per member in request order.
    pub fn split_proposal(
        &self,
        mut usage_of: impl FnMut(&ValidBillMember) -> Quantity,
    ) -> SplitProposalRequest {
        let consumption = self.split_mode == SplitMode::Consumption;
        let members = self
            .request
            .members
            .iter()
            .zip(&self.members)
            .map(|(body, member)| SplitMemberBody {
                member_id: member.user_id.to_string(),
                included: body.included,
                shares: body.shares,
                basis_points: body.basis_points,
                amount: body.amount.clone(),
                usage: consumption.then(|| usage_of(member).to_string()),
            })
            .collect();
        SplitProposalRequest {
            bill: self.amount.into(),
            mode: self.split_mode,
            standing_charge: consumption.then(|| self.standing_charge.into()),
            members,
        }
    }
}

fn check_standing_charge(amount: Money, standing: Money, errors: &mut FieldErrors) {
    if standing.currency() != amount.currency() {
        errors.add(
            "standing_charge.currency",
            format!(
                "standing_charge is in {}, but the bill is in {}: use the bill's currency",
                standing.currency().code(),
                amount.currency().code()
            ),
        );
    } else if standing.minor() < 0 || standing.minor() > amount.minor() {
        errors.add(
            "standing_charge",
            "standing_charge must be between zero and the bill amount",
        );
    }
}

fn check_provider(value: &str, errors: &mut FieldErrors) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.add("provider", "provider must not be empty");
    } else if trimmed.chars().count() > MAX_PROVIDER_CHARS {
        errors.add(
            "provider",
            format!("provider must be at most {MAX_PROVIDER_CHARS} characters"),
        );
    } else if trimmed.chars().any(crate::text::is_hidden_char) {
        errors.add(
            "provider",
            format!("provider {}", crate::text::HIDDEN_CHAR_MESSAGE),
        );
    }
    trimmed.to_owned()
}

/// Parses a list of UUIDs, recording invalid, repeated and surplus entries.
fn parse_ids(field: &str, values: &[String], max: usize, errors: &mut FieldErrors) -> Vec<Uuid> {
    if values.len() > max {
        errors.add(field, format!("{field} may list at most {max} ids"));
    }
    let mut ids = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        match Uuid::parse_str(value) {
            Ok(id) if ids.contains(&id) => {
                errors.add(
                    format!("{field}[{index}]"),
                    "this id is listed twice: list it once",
                );
            }
            Ok(id) => ids.push(id),
            Err(_) => errors.add(format!("{field}[{index}]"), "must be a UUID"),
        }
    }
    ids
}

/// The state of a bill.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillStatus {
    /// The split is a proposal that members can see; no charge exists yet.
    Proposed,
    /// The split is frozen and the charges exist.
    Approved,
}

/// A bill at its latest version.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillResponse {
    pub bill_id: String,
    pub household_id: String,
    /// Starts at 1; each change of the bill adds one.
    pub version: u32,
    pub status: BillStatus,
    pub amount: MoneyBody,
    pub standing_charge: MoneyBody,
    pub period_start: String,
    pub period_end: String,
    pub provider: String,
    pub meter_ids: Vec<String>,
    pub split_mode: SplitMode,
    pub created_by: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
}

/// Body of `GET /v1/households/{household_id}/bills`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillListResponse {
    pub bills: Vec<BillResponse>,
}

/// One member's metered use over a bill period, as a split by
/// consumption used it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberUsageBody {
    pub user_id: String,
    /// Decimal string in the meters' unit, such as `"12.5"`.
    pub usage: String,
    /// `false` when readings of one of the member's meters do not cover
    /// the whole period, so part of the period counts as no use. `true`
    /// for a member with no meters, whose usage is zero by definition.
    pub complete: bool,
    /// Number of the bill's meters listed for the member. With 0 the
    /// member has no usage and pays only their part of the standing charge.
    #[serde(default)]
    pub meter_count: u32,
}

/// Body of `GET /v1/bills/{bill_id}/split`: the proposed or frozen split
/// with each member's explanation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillSplitResponse {
    pub bill_id: String,
    pub version: u32,
    pub status: BillStatus,
    /// `true` once approved: the lines no longer change with new readings.
    pub frozen: bool,
    pub split: SplitProposalResponse,
    /// Mode `consumption` only: the usage each member's line is based on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<MemberUsageBody>,
}

/// Body of `POST /v1/bills/{bill_id}/delegations`: lets one member of the
/// household approve this bill.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillDelegationRequest {
    pub user_id: String,
}

/// A user-level grant to approve one bill.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillDelegationResponse {
    pub bill_id: String,
    pub user_id: String,
    pub granted_by: String,
    pub granted_at: String,
}

/// The state of a charge.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// Not paid yet; a payment may be attempted.
    Open,
    /// Paid in full by a captured payment.
    Paid,
    /// Replaced by a charge of a later approved version of the bill.
    Cancelled,
}

/// One member's share of an approved bill.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeResponse {
    pub charge_id: String,
    pub bill_id: String,
    pub bill_version: u32,
    pub household_id: String,
    /// The member who owes the charge.
    pub user_id: String,
    pub amount: MoneyBody,
    pub status: ChargeStatus,
    pub created_at: String,
}

/// Body of `GET /v1/me/charges` and `GET /v1/households/{household_id}/charges`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeListResponse {
    pub charges: Vec<ChargeResponse>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(value: serde_json::Value) -> BillRequest {
        serde_json::from_value(value).expect("bill request shape")
    }

    fn member() -> String {
        Uuid::now_v7().to_string()
    }

    #[test]
    fn equal_bill_validates() {
        let bill = request(json!({
            "amount": {"minor": 9000, "currency": "EUR"},
            "period_start": "2026-11-01", "period_end": "2026-11-30",
            "provider": "City Water", "split_mode": "equal",
            "members": [{"user_id": member()}, {"user_id": member()}]
        }));

        let valid = bill.validate().expect("valid bill");
        assert_eq!(valid.amount.minor(), 9000);
        assert_eq!(valid.standing_charge.minor(), 0);
        let proposal = valid.split_proposal(|_| Quantity::from_milli(0));
        assert_eq!(proposal.validate().expect("split").split.lines.len(), 2);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bill = request(json!({
            "amount": {"minor": -5, "currency": "EUR"},
            "period_start": "2026-11-01", "period_end": "2026-11-30",
            "provider": " ", "split_mode": "equal",
            "meter_ids": ["nope"],
            "members": [{"user_id": "x", "meter_ids": []}]
        }));

        let errors = bill.validate().expect_err("invalid bill");
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert!(fields.contains(&"amount"), "{fields:?}");
        assert!(fields.contains(&"provider"), "{fields:?}");
        assert!(fields.contains(&"meter_ids[0]"), "{fields:?}");
        assert!(fields.contains(&"members[0].user_id"), "{fields:?}");
    }

    #[test]
    fn direction_mark_in_provider_is_rejected() {
        let bill = request(json!({
            "amount": {"minor": 9000, "currency": "EUR"},
            "period_start": "2026-11-01", "period_end": "2026-11-30",
            "provider": "RTL \u{202E}gnp.exe", "split_mode": "equal",
            "members": [{"user_id": member()}]
        }));

        let errors = bill.validate().expect_err("a direction mark");
        assert_eq!(errors[0].field, "provider");
        assert!(errors[0].message.contains("direction"), "{errors:?}");
    }

    #[test]
    fn absurd_amount_is_rejected() {
        let bill = |minor: i64| {
            request(json!({
                "amount": {"minor": minor, "currency": "EUR"},
                "period_start": "2026-11-01", "period_end": "2026-11-30",
                "provider": "Power", "split_mode": "equal",
                "members": [{"user_id": member()}]
            }))
        };

        assert!(bill(MAX_BILL_MINOR).validate().is_ok());
        let errors = bill(MAX_BILL_MINOR + 1)
            .validate()
            .expect_err("above the limit");
        assert_eq!(errors[0].field, "amount");
        assert!(errors[0].message.contains("at most"), "{errors:?}");
        let errors = bill(i64::MAX).validate().expect_err("overflow size");
        assert_eq!(errors[0].field, "amount");
    }

    #[test]
    fn member_meter_must_be_on_bill() {
        let meter = Uuid::now_v7().to_string();
        let bill = request(json!({
            "amount": {"minor": 9000, "currency": "EUR"},
            "period_start": "2026-11-01", "period_end": "2026-11-30",
            "provider": "Gas", "split_mode": "consumption",
            "members": [{"user_id": member(), "meter_ids": [meter]}]
        }));

        let errors = bill.validate().expect_err("meter not on the bill");
        assert_eq!(errors[0].field, "members[0].meter_ids");
    }

    #[test]
    fn standing_charge_above_bill_is_rejected() {
        let bill = request(json!({
            "amount": {"minor": 100, "currency": "EUR"},
            "standing_charge": {"minor": 101, "currency": "EUR"},
            "period_start": "2026-11-01", "period_end": "2026-11-30",
            "provider": "Gas", "split_mode": "equal",
            "members": [{"user_id": member()}]
        }));

        let errors = bill.validate().expect_err("standing charge too large");
        assert_eq!(errors[0].field, "standing_charge");
    }

    #[test]
    fn consumption_proposal_carries_usage() {
        let meter = Uuid::now_v7().to_string();
        let bill = request(json!({
            "amount": {"minor": 10000, "currency": "EUR"},
            "standing_charge": {"minor": 2000, "currency": "EUR"},
            "period_start": "2026-11-01", "period_end": "2026-11-30",
            "provider": "Power", "split_mode": "consumption",
            "meter_ids": [meter],
            "members": [{"user_id": member(), "meter_ids": [meter]}, {"user_id": member()}]
        }));
        let valid = bill.validate().expect("valid");

        let proposal = valid.split_proposal(|member| {
            Quantity::from_milli(if member.meter_ids.is_empty() {
                0
            } else {
                30_000
            })
        });
        let split = proposal.validate().expect("split").split;
        let total: i64 = split.lines.iter().map(|line| line.amount.minor()).sum();
        assert_eq!(total, 10000);
    }

    #[test]
    fn unknown_field_is_rejected() {
        let result = serde_json::from_value::<BillRequest>(json!({
            "amount": {"minor": 1, "currency": "EUR"},
            "period_start": "2026-11-01", "period_end": "2026-11-30",
            "provider": "Gas", "split_mode": "equal", "members": [], "approved": true
        }));
        assert!(result.is_err());
    }
}
