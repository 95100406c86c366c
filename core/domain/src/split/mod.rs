//! The split engine: how a bill is divided among household members.
//!
//! Modes: equal, shares (integer weights), percent (basis points), exact
//! amounts, and by consumption (a standing charge split equally plus a usage
//! part in proportion to metered use). Every result sums exactly to the
//! bill. Leftover minor units go by the largest-remainder method, and equal
//! remainders go to the lower [`MemberId`], so the same members get the same
//! cents whatever order they were listed in, on the phone and on the server.
//!
//! This module must never use floating point or depend on input order.

mod allocate;
mod engine;
mod explain;

pub use engine::split_bill;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::MemberId;
use crate::meter::Quantity;
use crate::money::Money;

/// How to divide a bill, with each mode's per-member input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SplitMethod {
    /// Every included member pays the same, give or take one minor unit.
    Equal { members: Vec<EqualMember> },
    /// Members pay in proportion to integer weights; weight 0 excludes.
    Shares { members: Vec<ShareMember> },
    /// Members pay a percentage in basis points (1 % = 100); the basis
    /// points must add up to 10,000. Zero excludes.
    Percent { members: Vec<PercentMember> },
    /// Members pay amounts entered by hand, which must add up to the bill.
    Exact { members: Vec<ExactMember> },
    /// The standing charge is split equally among included members and the
    /// rest of the bill in proportion to each member's metered consumption.
    Consumption {
        standing_charge: Money,
        members: Vec<ConsumptionMember>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EqualMember {
    pub member: MemberId,
    /// `false` keeps the member on the bill with a share of zero.
    pub included: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareMember {
    pub member: MemberId,
    pub shares: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PercentMember {
    pub member: MemberId,
    /// Hundredths of a percent: 2,500 is 25 %.
    pub basis_points: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactMember {
    pub member: MemberId,
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumptionMember {
    pub member: MemberId,
    /// Metered use over the bill period, such as the output of
    /// [`crate::meter::prorate_to_period`].
    pub usage: Quantity,
    /// `false` exempts the member from both the standing charge and the
    /// usage part; their usage is then ignored.
    pub included: bool,
}

/// A computed split: one line per listed member, sorted by member id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub bill: Money,
    pub lines: Vec<SplitLine>,
}

/// One member's share of a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitLine {
    pub member: MemberId,
    pub amount: Money,
    /// Minor units this member received from rounding leftovers: 0, or 1
    /// with the sign of the bill.
    pub leftover_units: i64,
    /// Explanation of how the amount was computed, for display.
    pub explanation: String,
}

impl Split {
    /// Finds the line of one member.
    pub fn line(&self, member: MemberId) -> Option<&SplitLine> {
        self.lines.iter().find(|line| line.member == member)
    }
}

/// Error from computing a split.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SplitError {
    #[error(
        "no member takes part in this split: include at least one member with a non-zero share"
    )]
    NoParticipants,

    #[error("member {member} is listed more than once: list each member once")]
    DuplicateMember { member: MemberId },

    #[error("{field} is in {found}, but the bill is in {expected}: use the bill's currency")]
    CurrencyMismatch {
        field: String,
        found: &'static str,
        expected: &'static str,
    },

    #[error(
        "percentages add up to {total_basis_points} basis points, but they must add up to \
         10000 (100%): adjust the percentages"
    )]
    PercentTotal { total_basis_points: u64 },

    #[error(
        "exact amounts add up to {entered} minor units, but the bill is {bill_minor}: adjust \
         the amounts so they add up to the bill"
    )]
    ExactTotal { entered: i128, bill_minor: i64 },

    #[error(
        "the amount {amount} for member {member} has the opposite sign of the bill {bill}: \
         a charge cannot contain credits, nor a refund contain charges"
    )]
    ExactSign {
        member: MemberId,
        amount: Money,
        bill: Money,
    },

    #[error(
        "the standing charge {standing_charge} must have the same sign as the bill {bill} \
         and must not exceed it"
    )]
    StandingCharge { standing_charge: Money, bill: Money },

    #[error(
        "no consumption is recorded for the included members, so the usage part {usage_part} \
         cannot be split by consumption: enter meter readings or split equally"
    )]
    NoConsumption { usage_part: Money },

    #[error("the split is too large to compute exactly: {detail}")]
    Overflow { detail: &'static str },
}
