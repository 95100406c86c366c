//! Bills, their split, approval, charges, payments and statements:
//! records converted from the core's wire types, and exported calls, each
//! delegating to the core. Amounts are integer minor units with an ISO 4217
//! code; `format_money` renders one the way the core does.

use sharepay_domain::money::{Currency, Money as CoreMoney};
use sharepay_domain::wire::billing as wire;
use sharepay_domain::wire::money::MoneyBody;
use sharepay_domain::wire::payments as payments_wire;
use sharepay_domain::wire::split::{SplitLineBody, SplitMode as WireSplitMode};

use crate::{SharePayClient, SharePayError};

/// An amount in minor units (cents for EUR, yen for JPY) of an ISO 4217
/// currency, such as `{ minor: 12345, currency: "EUR" }` for 123.45 EUR.
#[derive(uniffi::Record)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

#[derive(uniffi::Enum)]
pub enum SplitMode {
    Equal,
    Shares,
    Percent,
    Exact,
    Consumption,
}

/// One member of a new bill's split; which fields apply depends on the
/// bill's `split_mode`.
#[derive(uniffi::Record)]
pub struct BillMember {
    pub user_id: String,
    /// Modes `Equal` and `Consumption`; null means included.
    pub included: Option<bool>,
    /// Mode `Shares`: integer weight, 0 excludes the member.
    pub shares: Option<u32>,
    /// Mode `Percent`: hundredths of a percent, all adding up to 10000.
    pub basis_points: Option<u32>,
    /// Mode `Exact`: the member's amount, all adding up to the bill.
    pub amount: Option<Money>,
    /// Mode `Consumption`: the bill's meters that measure this member's use.
    pub meter_ids: Option<Vec<String>>,
}

/// A bill to add to a household.
#[derive(uniffi::Record)]
pub struct NewBill {
    pub amount: Money,
    /// `YYYY-MM-DD`, included.
    pub period_start: String,
    pub period_end: String,
    /// The utility or company that issued the bill.
    pub provider: String,
    /// The fixed part of the bill; null means zero.
    pub standing_charge: Option<Money>,
    pub meter_ids: Vec<String>,
    pub split_mode: SplitMode,
    pub members: Vec<BillMember>,
}

#[derive(uniffi::Enum)]
pub enum BillStatus {
    /// The split is a proposal; no charge exists yet.
    Proposed,
    /// The split is frozen and the charges exist.
    Approved,
}

/// A bill at its latest version.
#[derive(uniffi::Record)]
pub struct Bill {
    pub bill_id: String,
    pub household_id: String,
    pub version: u32,
    pub status: BillStatus,
    pub amount: Money,
    pub standing_charge: Money,
    pub period_start: String,
    pub period_end: String,
    pub provider: String,
    pub meter_ids: Vec<String>,
    pub split_mode: SplitMode,
    pub created_by: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
}

/// One member's line of a split, with the core's explanation of how it was
/// computed.
#[derive(uniffi::Record)]
pub struct SplitLine {
    pub member_id: String,
    pub amount: Money,
    /// 0, or 1 with the bill's sign when rounding gave this member a unit.
    pub leftover_units: i64,
    pub explanation: String,
}

/// A member's metered usage in a split by consumption.
#[derive(uniffi::Record)]
pub struct MemberUsage {
    pub user_id: String,
    /// Exact decimal in the meters' unit.
    pub usage: String,
    /// False when a reading in the period is missing.
    pub complete: bool,
}

/// A bill's split: a proposal until approved, then frozen.
#[derive(uniffi::Record)]
pub struct BillSplit {
    pub bill_id: String,
    pub version: u32,
    pub status: BillStatus,
    pub frozen: bool,
    pub total: Money,
    pub mode: SplitMode,
    pub lines: Vec<SplitLine>,
    pub usage: Vec<MemberUsage>,
}

#[derive(uniffi::Enum)]
pub enum ChargeStatus {
    Open,
    Paid,
    Cancelled,
}

/// One member's share of an approved bill.
#[derive(uniffi::Record)]
pub struct Charge {
    pub charge_id: String,
    pub bill_id: String,
    pub bill_version: u32,
    pub household_id: String,
    pub user_id: String,
    pub amount: Money,
    pub status: ChargeStatus,
    pub created_at: String,
}

#[derive(uniffi::Enum)]
pub enum PaymentStatus {
    /// The outcome is not known yet; paying again reuses the attempt's key.
    Pending,
    Succeeded,
    Declined,
    /// The cardholder must authenticate with their bank first.
    RequiresAuthentication,
}

#[derive(uniffi::Record)]
pub struct Payment {
    pub payment_id: String,
    pub charge_id: String,
    pub payment_method_id: String,
    pub amount: Money,
    pub status: PaymentStatus,
    /// For `Declined`: `insufficient_funds`, `stolen_card` and so on.
    pub decline_reason: Option<String>,
    pub created_at: String,
}

/// One movement of a member's balance.
#[derive(uniffi::Record)]
pub struct StatementLine {
    pub at: String,
    /// `charge`, `charge_reduction`, `payment`, `refund`, `payout` or
    /// `adjustment`.
    pub kind: String,
    pub transaction_id: String,
    pub charge_id: Option<String>,
    /// Positive when the member owes the household more after it.
    pub amount: Money,
    pub balance: Money,
}

/// One member's statement of a period in one currency: the opening balance,
/// each movement and the closing balance.
#[derive(uniffi::Record)]
pub struct Statement {
    pub household_id: String,
    pub user_id: String,
    pub account: String,
    pub from: String,
    pub to: String,
    pub opening_balance: Money,
    pub lines: Vec<StatementLine>,
    pub closing_balance: Money,
    /// True when the closing balance is zero.
    pub settled: bool,
}

/// Formats `money` for display with the currency's symbol, digits and
/// grouping, such as `€1,234.50`.
#[uniffi::export]
pub fn format_money(money: Money) -> Result<String, SharePayError> {
    let currency =
        Currency::from_code(&money.currency).map_err(|e| SharePayError::InvalidInput {
            reason: format!("currency: {e}"),
        })?;
    Ok(CoreMoney::from_minor(money.minor, currency).to_string())
}

#[uniffi::export(async_runtime = "tokio")]
impl SharePayClient {
    /// Adds a bill to a household; the server computes its split proposal.
    pub async fn add_bill(
        &self,
        household_id: String,
        bill: NewBill,
    ) -> Result<Bill, SharePayError> {
        Ok(self
            .inner
            .add_bill(&household_id, &bill.into())
            .await?
            .into())
    }

    /// Lists the bills of a household at their latest version.
    pub async fn bills(&self, household_id: String) -> Result<Vec<Bill>, SharePayError> {
        let bills = self.inner.bills(&household_id).await?;
        Ok(bills.into_iter().map(Bill::from).collect())
    }

    /// Reads one bill at its latest version.
    pub async fn bill(&self, bill_id: String) -> Result<Bill, SharePayError> {
        Ok(self.inner.bill(&bill_id).await?.into())
    }

    /// Reads a bill's split with each member's explanation.
    pub async fn bill_split(&self, bill_id: String) -> Result<BillSplit, SharePayError> {
        Ok(self.inner.bill_split(&bill_id).await?.into())
    }

    /// Approves a bill's split, which creates one charge per member share.
    pub async fn approve_bill(&self, bill_id: String) -> Result<BillSplit, SharePayError> {
        Ok(self.inner.approve_bill(&bill_id).await?.into())
    }

    /// Lists the signed-in user's charges in every household.
    pub async fn my_charges(&self) -> Result<Vec<Charge>, SharePayError> {
        let charges = self.inner.my_charges().await?;
        Ok(charges.into_iter().map(Charge::from).collect())
    }

    /// Lists every charge of a household, for its primary payer.
    pub async fn household_charges(
        &self,
        household_id: String,
    ) -> Result<Vec<Charge>, SharePayError> {
        let charges = self.inner.household_charges(&household_id).await?;
        Ok(charges.into_iter().map(Charge::from).collect())
    }

    /// Pays a charge's open amount with a saved card. Safe to call again
    /// after a network failure: the core resends the attempt's key.
    pub async fn pay_charge(
        &self,
        charge_id: String,
        payment_method_id: String,
    ) -> Result<Payment, SharePayError> {
        Ok(self
            .inner
            .pay_charge(&charge_id, &payment_method_id)
            .await?
            .into())
    }

    /// Reads the statements of a household member (the signed-in user when
    /// `member` is null) for the days `from` to `to`, `YYYY-MM-DD`, included.
    pub async fn statements(
        &self,
        household_id: String,
        member: Option<String>,
        from: String,
        to: String,
    ) -> Result<Vec<Statement>, SharePayError> {
        let statements = self
            .inner
            .statements(&household_id, member.as_deref(), &from, &to)
            .await?;
        Ok(statements.into_iter().map(Statement::from).collect())
    }
}

impl From<Money> for MoneyBody {
    fn from(money: Money) -> Self {
        Self {
            minor: money.minor,
            currency: money.currency,
        }
    }
}

impl From<MoneyBody> for Money {
    fn from(body: MoneyBody) -> Self {
        Self {
            minor: body.minor,
            currency: body.currency,
        }
    }
}

impl From<SplitMode> for WireSplitMode {
    fn from(mode: SplitMode) -> Self {
        match mode {
            SplitMode::Equal => Self::Equal,
            SplitMode::Shares => Self::Shares,
            SplitMode::Percent => Self::Percent,
            SplitMode::Exact => Self::Exact,
            SplitMode::Consumption => Self::Consumption,
        }
    }
}

impl From<WireSplitMode> for SplitMode {
    fn from(mode: WireSplitMode) -> Self {
        match mode {
            WireSplitMode::Equal => Self::Equal,
            WireSplitMode::Shares => Self::Shares,
            WireSplitMode::Percent => Self::Percent,
            WireSplitMode::Exact => Self::Exact,
            WireSplitMode::Consumption => Self::Consumption,
        }
    }
}

impl From<wire::BillStatus> for BillStatus {
    fn from(status: wire::BillStatus) -> Self {
        match status {
            wire::BillStatus::Proposed => Self::Proposed,
            wire::BillStatus::Approved => Self::Approved,
        }
    }
}

impl From<NewBill> for wire::BillRequest {
    fn from(bill: NewBill) -> Self {
        Self {
            amount: bill.amount.into(),
            period_start: bill.period_start,
            period_end: bill.period_end,
            provider: bill.provider,
            standing_charge: bill.standing_charge.map(MoneyBody::from),
            meter_ids: bill.meter_ids,
            split_mode: bill.split_mode.into(),
            members: bill
                .members
                .into_iter()
                .map(wire::BillMemberBody::from)
                .collect(),
        }
    }
}

impl From<BillMember> for wire::BillMemberBody {
    fn from(member: BillMember) -> Self {
        Self {
            user_id: member.user_id,
            included: member.included,
            shares: member.shares,
            basis_points: member.basis_points,
            amount: member.amount.map(MoneyBody::from),
            meter_ids: member.meter_ids,
        }
    }
}

impl From<wire::BillResponse> for Bill {
    fn from(bill: wire::BillResponse) -> Self {
        Self {
            bill_id: bill.bill_id,
            household_id: bill.household_id,
            version: bill.version,
            status: bill.status.into(),
            amount: bill.amount.into(),
            standing_charge: bill.standing_charge.into(),
            period_start: bill.period_start,
            period_end: bill.period_end,
            provider: bill.provider,
            meter_ids: bill.meter_ids,
            split_mode: bill.split_mode.into(),
            created_by: bill.created_by,
            created_at: bill.created_at,
            approved_by: bill.approved_by,
            approved_at: bill.approved_at,
        }
    }
}

impl From<SplitLineBody> for SplitLine {
    fn from(line: SplitLineBody) -> Self {
        Self {
            member_id: line.member_id,
            amount: line.amount.into(),
            leftover_units: line.leftover_units,
            explanation: line.explanation,
        }
    }
}

impl From<wire::BillSplitResponse> for BillSplit {
    fn from(split: wire::BillSplitResponse) -> Self {
        Self {
            bill_id: split.bill_id,
            version: split.version,
            status: split.status.into(),
            frozen: split.frozen,
            total: split.split.bill.into(),
            mode: split.split.mode.into(),
            lines: split.split.lines.into_iter().map(SplitLine::from).collect(),
            usage: split
                .usage
                .into_iter()
                .map(|usage| MemberUsage {
                    user_id: usage.user_id,
                    usage: usage.usage,
                    complete: usage.complete,
                })
                .collect(),
        }
    }
}

impl From<wire::ChargeResponse> for Charge {
    fn from(charge: wire::ChargeResponse) -> Self {
        Self {
            charge_id: charge.charge_id,
            bill_id: charge.bill_id,
            bill_version: charge.bill_version,
            household_id: charge.household_id,
            user_id: charge.user_id,
            amount: charge.amount.into(),
            status: match charge.status {
                wire::ChargeStatus::Open => ChargeStatus::Open,
                wire::ChargeStatus::Paid => ChargeStatus::Paid,
                wire::ChargeStatus::Cancelled => ChargeStatus::Cancelled,
            },
            created_at: charge.created_at,
        }
    }
}

impl From<payments_wire::PaymentResponse> for Payment {
    fn from(payment: payments_wire::PaymentResponse) -> Self {
        use payments_wire::PaymentStatus as Wire;
        Self {
            payment_id: payment.payment_id,
            charge_id: payment.charge_id,
            payment_method_id: payment.payment_method_id,
            amount: payment.amount.into(),
            status: match payment.status {
                Wire::Pending => PaymentStatus::Pending,
                Wire::Succeeded => PaymentStatus::Succeeded,
                Wire::Declined => PaymentStatus::Declined,
                Wire::RequiresAuthentication => PaymentStatus::RequiresAuthentication,
            },
            decline_reason: payment.decline_reason,
            created_at: payment.created_at,
        }
    }
}

impl From<payments_wire::StatementResponse> for Statement {
    fn from(statement: payments_wire::StatementResponse) -> Self {
        Self {
            household_id: statement.household_id,
            user_id: statement.user_id,
            account: statement.account,
            from: statement.from,
            to: statement.to,
            opening_balance: statement.opening_balance.into(),
            lines: statement
                .lines
                .into_iter()
                .map(|line| StatementLine {
                    at: line.at,
                    kind: line.kind,
                    transaction_id: line.transaction_id,
                    charge_id: line.charge_id,
                    amount: line.amount.into(),
                    balance: line.balance.into(),
                })
                .collect(),
            closing_balance: statement.closing_balance.into(),
            settled: statement.settled,
        }
    }
}
