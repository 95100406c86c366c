//! JSON bodies for proposing a split and returning the computed lines.
//!
//! Validation turns a request into a [`SplitMethod`] and runs the split
//! engine, so a request that validates is one the engine can compute.
//! Nothing here may compute amounts itself.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::FieldError;
use super::money::MoneyBody;
use super::validation::FieldErrors;
use crate::ids::MemberId;
use crate::meter::Quantity;
use crate::money::Money;
use crate::split::{
    ConsumptionMember, EqualMember, ExactMember, PercentMember, ShareMember, Split, SplitError,
    SplitMethod, split_bill,
};

/// The split modes, as the `mode` field names them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    Equal,
    Shares,
    Percent,
    Exact,
    Consumption,
}

impl SplitMode {
    fn name(&self) -> &'static str {
        match self {
            SplitMode::Equal => "equal",
            SplitMode::Shares => "shares",
            SplitMode::Percent => "percent",
            SplitMode::Exact => "exact",
            SplitMode::Consumption => "consumption",
        }
    }
}

/// Body of a split proposal for one bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitProposalRequest {
    pub bill: MoneyBody,
    pub mode: SplitMode,
    /// Required for mode `consumption`, not allowed otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing_charge: Option<MoneyBody>,
    pub members: Vec<SplitMemberBody>,
}

/// One member of a split proposal; which fields apply depends on the mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitMemberBody {
    pub member_id: String,
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
    /// Mode `consumption`: metered usage as a decimal string with at most
    /// three decimals, such as `"12.5"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
}

/// A validated proposal with its computed split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSplitProposal {
    pub bill: Money,
    pub method: SplitMethod,
    pub split: Split,
}

impl SplitProposalRequest {
    /// Validates every field, then computes the split. Returns every
    /// offending field at once.
    pub fn validate(&self) -> Result<ValidSplitProposal, Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let bill = self.bill.validate("bill", &mut errors);
        let hint = format!("for mode {}", self.mode.name());

        let standing_charge = if self.mode == SplitMode::Consumption {
            errors
                .require("standing_charge", self.standing_charge.as_ref(), &hint)
                .and_then(|body| body.validate("standing_charge", &mut errors))
        } else {
            errors.forbid("standing_charge", &self.standing_charge, &hint);
            None
        };

        if self.members.is_empty() {
            errors.add("members", "members must list at least one member");
        }
        let mut seen: Vec<Uuid> = Vec::with_capacity(self.members.len());
        let mut parsed = Vec::with_capacity(self.members.len());
        for (index, body) in self.members.iter().enumerate() {
            let path = format!("members[{index}]");
            match Uuid::parse_str(&body.member_id) {
                Ok(id) if seen.contains(&id) => {
                    errors.add(
                        format!("{path}.member_id"),
                        "member is listed more than once: list each member once",
                    );
                }
                Ok(id) => {
                    seen.push(id);
                    parsed.push((MemberId(id), body, path));
                }
                Err(_) => errors.add(format!("{path}.member_id"), "member_id must be a UUID"),
            }
        }

        let method = self.method(&parsed, standing_charge, &hint, &mut errors);
        let (Some(bill), Some(method)) = (bill, method) else {
            return Err(errors.into_vec());
        };
        if !errors.is_empty() {
            return Err(errors.into_vec());
        }
        match split_bill(bill, &method) {
            Ok(split) => Ok(ValidSplitProposal {
                bill,
                method,
                split,
            }),
            Err(error) => {
                errors.add(error_field(&error, &parsed), error.to_string());
                Err(errors.into_vec())
            }
        }
    }

    fn method(
        &self,
        members: &[(MemberId, &SplitMemberBody, String)],
        standing_charge: Option<Money>,
        hint: &str,
        errors: &mut FieldErrors,
    ) -> Option<SplitMethod> {
        let mut equal = Vec::new();
        let mut shares = Vec::new();
        let mut percent = Vec::new();
        let mut exact = Vec::new();
        let mut consumption = Vec::new();
        for (member, body, path) in members {
            let member = *member;
            let field = |name: &str| format!("{path}.{name}");
            let uses = |name: &str| {
                matches!(
                    (self.mode, name),
                    (SplitMode::Equal | SplitMode::Consumption, "included")
                        | (SplitMode::Shares, "shares")
                        | (SplitMode::Percent, "basis_points")
                        | (SplitMode::Exact, "amount")
                        | (SplitMode::Consumption, "usage")
                )
            };
            for (name, is_set) in [
                ("included", body.included.is_some()),
                ("shares", body.shares.is_some()),
                ("basis_points", body.basis_points.is_some()),
                ("amount", body.amount.is_some()),
                ("usage", body.usage.is_some()),
            ] {
                if is_set && !uses(name) {
                    errors.add(
                        field(name),
                        format!("{name} is not allowed {hint}: remove it"),
                    );
                }
            }

            let included = body.included.unwrap_or(true);
            match self.mode {
                SplitMode::Equal => equal.push(EqualMember { member, included }),
                SplitMode::Shares => {
                    if let Some(count) = errors.require(&field("shares"), body.shares, hint) {
                        shares.push(ShareMember {
                            member,
                            shares: count,
                        });
                    }
                }
                SplitMode::Percent => {
                    match errors.require(&field("basis_points"), body.basis_points, hint) {
                        Some(basis_points) if basis_points > 10_000 => errors.add(
                            field("basis_points"),
                            "basis_points must be between 0 and 10000 (100%)",
                        ),
                        Some(basis_points) => percent.push(PercentMember {
                            member,
                            basis_points,
                        }),
                        None => {}
                    }
                }
                SplitMode::Exact => {
                    let amount = errors
                        .require(&field("amount"), body.amount.as_ref(), hint)
                        .and_then(|amount| amount.validate(&field("amount"), errors));
                    if let Some(amount) = amount {
                        exact.push(ExactMember { member, amount });
                    }
                }
                SplitMode::Consumption => {
                    let usage = errors.require(&field("usage"), body.usage.as_deref(), hint);
                    match usage.map(Quantity::parse) {
                        Some(Ok(usage)) => consumption.push(ConsumptionMember {
                            member,
                            usage,
                            included,
                        }),
                        Some(Err(error)) => errors.add(field("usage"), error.to_string()),
                        None => {}
                    }
                }
            }
        }

        let method = match self.mode {
            SplitMode::Equal => SplitMethod::Equal { members: equal },
            SplitMode::Shares => SplitMethod::Shares { members: shares },
            SplitMode::Percent => SplitMethod::Percent { members: percent },
            SplitMode::Exact => SplitMethod::Exact { members: exact },
            SplitMode::Consumption => SplitMethod::Consumption {
                standing_charge: standing_charge?,
                members: consumption,
            },
        };
        Some(method)
    }
}

/// Returns the request field that a split engine error refers to.
fn error_field(error: &SplitError, members: &[(MemberId, &SplitMemberBody, String)]) -> String {
    let member_path = |member: MemberId, name: &str| {
        members.iter().find(|(id, _, _)| *id == member).map_or_else(
            || "members".to_owned(),
            |(_, _, path)| format!("{path}.{name}"),
        )
    };
    match error {
        SplitError::ExactSign { member, .. } => member_path(*member, "amount"),
        SplitError::DuplicateMember { member } => member_path(*member, "member_id"),
        SplitError::StandingCharge { .. } => "standing_charge".to_owned(),
        SplitError::CurrencyMismatch { .. }
        | SplitError::NoParticipants
        | SplitError::PercentTotal { .. }
        | SplitError::ExactTotal { .. }
        | SplitError::NoConsumption { .. } => "members".to_owned(),
        SplitError::Overflow { .. } => "bill".to_owned(),
    }
}

/// A computed split, as the server returns it and the phone shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitProposalResponse {
    pub bill: MoneyBody,
    pub mode: SplitMode,
    pub lines: Vec<SplitLineBody>,
}

/// One member's line of a computed split.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitLineBody {
    pub member_id: String,
    pub amount: MoneyBody,
    /// 0, or 1 with the bill's sign when rounding gave this member a unit.
    pub leftover_units: i64,
    pub explanation: String,
}

impl SplitProposalResponse {
    pub fn from_split(mode: SplitMode, split: &Split) -> Self {
        SplitProposalResponse {
            bill: split.bill.into(),
            mode,
            lines: split
                .lines
                .iter()
                .map(|line| SplitLineBody {
                    member_id: line.member.to_string(),
                    amount: line.amount.into(),
                    leftover_units: line.leftover_units,
                    explanation: line.explanation.clone(),
                })
                .collect(),
        }
    }
}
