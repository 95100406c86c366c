//! Metered use of bill members over a bill period, from the stored
//! readings of their meters, for splits by consumption.
//!
//! The domain rules compute each interval between readings and prorate it
//! to the period; this module only loads the readings. Time that no pair
//! of readings covers counts as no use and marks the usage incomplete.

use sharepay_domain::meter::{
    BillPeriod, ConsumptionPolicy, Meter, Quantity, Reading, Timestamp, consumption_series,
    prorate_to_period,
};
use sharepay_domain::wire::billing::{MemberUsageBody, ValidBill};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// One member's use over the period, summed over their meters.
#[derive(Clone, Debug)]
pub(crate) struct MemberUsage {
    pub user_id: Uuid,
    pub usage: Quantity,
    pub complete: bool,
    pub meter_count: u32,
}

impl MemberUsage {
    pub fn body(&self) -> MemberUsageBody {
        MemberUsageBody {
            user_id: self.user_id.to_string(),
            usage: self.usage.to_string(),
            complete: self.complete,
            meter_count: self.meter_count,
        }
    }
}

/// Measures every member of `bill` over the days `first_day` to
/// `last_day`, both included. Meters must belong to `household_id`.
pub(crate) async fn measure(
    state: &AppState,
    household_id: Uuid,
    bill: &ValidBill,
    first_day: i64,
    last_day: i64,
) -> Result<Vec<MemberUsage>, ApiError> {
    let period = BillPeriod::from_days(first_day, last_day);
    let mut usages = Vec::with_capacity(bill.members.len());
    for (index, member) in bill.members.iter().enumerate() {
        let mut milli: u64 = 0;
        let mut complete = true;
        for meter_id in &member.meter_ids {
            let field = format!("members[{index}].meter_ids");
            let (usage, covered) =
                meter_usage(state, household_id, *meter_id, period, &field).await?;
            milli = milli.checked_add(usage.milli()).ok_or_else(|| {
                ApiError::invalid_field(&field, "the summed usage is too large to compute")
            })?;
            complete &= covered;
        }
        usages.push(MemberUsage {
            user_id: member.user_id,
            usage: Quantity::from_milli(milli),
            // A member without meters has nothing left unmeasured, so the
            // usage is complete and `meter_count` names why it is zero.
            complete,
            meter_count: u32::try_from(member.meter_ids.len()).unwrap_or(u32::MAX),
        });
    }
    Ok(usages)
}

/// Returns one meter's use over `period` and whether readings cover it all.
async fn meter_usage(
    state: &AppState,
    household_id: Uuid,
    meter_id: Uuid,
    period: BillPeriod,
    field: &str,
) -> Result<(Quantity, bool), ApiError> {
    let meter = state
        .store
        .find_meter(meter_id)
        .await
        .map_err(|e| ApiError::internal("loading a meter", e))?
        .filter(|meter| meter.household_id == household_id)
        .ok_or_else(|| {
            ApiError::invalid_field(
                field,
                format!("meter {meter_id} is not a meter of this household"),
            )
        })?;
    let rows = state
        .store
        .list_readings(meter_id)
        .await
        .map_err(|e| ApiError::internal("loading readings", e))?;
    let readings: Vec<Reading> = rows
        .iter()
        .filter(|row| row.status != "rejected")
        .map(|row| Reading {
            serial: row.serial.clone(),
            value: Quantity::from_milli(row.value_milli),
            taken_at: Timestamp(row.taken_at.unix_timestamp()),
            kind: row.kind,
        })
        .collect();
    let domain_meter = Meter {
        serial: meter.serial.clone(),
        unit: meter.unit,
        register_digits: meter.register_digits,
    };
    let series = consumption_series(&[domain_meter], &readings, &ConsumptionPolicy::default())
        .map_err(|e| {
            ApiError::invalid_field(
                field,
                format!("the readings of meter {meter_id} cannot be used: {e}"),
            )
        })?;
    if series.is_empty() {
        return Ok((Quantity::from_milli(0), false));
    }
    let prorated = prorate_to_period(&series, period)
        .map_err(|e| ApiError::invalid_field(field, format!("meter {meter_id}: {e}")))?;
    Ok((prorated.usage, prorated.is_complete()))
}
