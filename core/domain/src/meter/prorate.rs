//! Usage prorated to a bill period when readings do not fall on its edges.
//!
//! This module must never extrapolate: time that no pair of readings
//! covers is reported as uncovered, not guessed.

use serde::{Deserialize, Serialize};

use super::{Consumption, ConsumptionFlag, MeterError, Quantity, SECONDS_PER_DAY, Timestamp};

/// A bill period from `start` (included) to `end` (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillPeriod {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl BillPeriod {
    /// Creates the period of whole UTC days `first_day` to `last_day`, both
    /// included, counted from 1970-01-01.
    pub const fn from_days(first_day: i64, last_day: i64) -> Self {
        BillPeriod {
            start: Timestamp::from_day(first_day),
            end: Timestamp::from_day(last_day + 1),
        }
    }

    pub const fn seconds(&self) -> i64 {
        self.end.0 - self.start.0
    }
}

/// Usage attributed to one bill period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProratedUsage {
    pub usage: Quantity,
    pub period_seconds: i64,
    /// Seconds of the period that some pair of readings covers. Less than
    /// `period_seconds` means readings are missing at an edge or in a gap.
    pub covered_seconds: i64,
    /// Flags of every consumption that contributed, each listed once.
    pub flags: Vec<ConsumptionFlag>,
}

impl ProratedUsage {
    pub fn is_complete(&self) -> bool {
        self.covered_seconds == self.period_seconds
    }

    pub fn is_estimated(&self) -> bool {
        self.flags.contains(&ConsumptionFlag::Estimated)
    }

    /// Period length in days, rounded down, for display.
    pub fn period_days(&self) -> i64 {
        self.period_seconds / SECONDS_PER_DAY
    }
}

/// Attributes the usage of `intervals` to `period`.
///
/// Interpolation: between two readings the register is taken to rise
/// linearly in time, so an interval from `a` to `b` with usage `u`
/// contributes `u * overlap / (b - a)`, where `overlap` is the time it
/// shares with the period. When readings and period edges fall at midnight
/// UTC, this is prorating by days. A reading taken at noon counts half a
/// day on each side. Each contribution is rounded to the nearest
/// thousandth of a unit (half up), so the total can be off by at most half
/// a thousandth per interval that straddles an edge. Intervals wholly
/// inside the period count in full, with no rounding.
pub fn prorate_to_period(
    intervals: &[Consumption],
    period: BillPeriod,
) -> Result<ProratedUsage, MeterError> {
    if period.end <= period.start {
        return Err(MeterError::EmptyPeriod {
            start: period.start.0,
            end: period.end.0,
        });
    }

    let mut sorted: Vec<&Consumption> = intervals.iter().collect();
    sorted.sort_by_key(|interval| interval.from);
    for pair in sorted.windows(2) {
        if pair[1].from < pair[0].to {
            return Err(MeterError::OverlappingIntervals { at: pair[1].from.0 });
        }
    }

    let mut usage_milli: u64 = 0;
    let mut covered_seconds: i64 = 0;
    let mut flags: Vec<ConsumptionFlag> = Vec::new();
    for interval in sorted {
        let overlap_start = interval.from.max(period.start);
        let overlap_end = interval.to.min(period.end);
        if overlap_end <= overlap_start {
            continue;
        }
        let overlap = overlap_end.0 - overlap_start.0;
        let length = interval.to.0 - interval.from.0;
        let share = prorated_milli(interval.usage.milli(), overlap, length)?;
        usage_milli = usage_milli.checked_add(share).ok_or(MeterError::Overflow {
            detail: "total usage in the period does not fit in 64 bits",
        })?;
        covered_seconds += overlap;
        for flag in &interval.flags {
            if !flags.contains(flag) {
                flags.push(flag.clone());
            }
        }
    }

    Ok(ProratedUsage {
        usage: Quantity::from_milli(usage_milli),
        period_seconds: period.seconds(),
        covered_seconds,
        flags,
    })
}

/// `usage * overlap / length`, rounded half up, in u128 so the product
/// cannot overflow. Requires `0 < overlap <= length`.
fn prorated_milli(usage: u64, overlap: i64, length: i64) -> Result<u64, MeterError> {
    let overlap = u128::from(overlap.unsigned_abs());
    let length = u128::from(length.unsigned_abs());
    let overflow = MeterError::Overflow {
        detail: "prorated usage does not fit in 64 bits",
    };
    let doubled = u128::from(usage)
        .checked_mul(overlap)
        .and_then(|value| value.checked_mul(2))
        .and_then(|value| value.checked_add(length))
        .ok_or(overflow.clone())?;
    u64::try_from(doubled / (2 * length)).map_err(|_| overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = SECONDS_PER_DAY;

    fn interval(
        from_day: i64,
        to_day: i64,
        usage_units: u64,
        flags: Vec<ConsumptionFlag>,
    ) -> Consumption {
        Consumption {
            serial: "E-1".to_owned(),
            from: Timestamp(from_day * DAY),
            to: Timestamp(to_day * DAY),
            usage: Quantity::from_milli(usage_units * 1000),
            flags,
        }
    }

    #[test]
    fn readings_straddling_period_edges_are_prorated_by_days() {
        // Readings on day 0, 20 and 40; the period is days 10 to 29.
        let intervals = [interval(0, 20, 200, vec![]), interval(20, 40, 100, vec![])];
        let prorated = prorate_to_period(&intervals, BillPeriod::from_days(10, 29)).expect("valid");
        // 10 of 20 days of 200 units, plus 10 of 20 days of 100 units.
        assert_eq!(prorated.usage, Quantity::from_milli(150_000));
        assert!(prorated.is_complete());
        assert_eq!(prorated.period_days(), 20);
    }

    #[test]
    fn reading_at_noon_counts_half_a_day() {
        let intervals = [Consumption {
            serial: "E-1".to_owned(),
            from: Timestamp(0),
            to: Timestamp(DAY + DAY / 2),
            usage: Quantity::from_milli(3000),
            flags: vec![],
        }];
        let prorated = prorate_to_period(&intervals, BillPeriod::from_days(1, 1)).expect("valid");
        // Day 1 is one of the interval's 1.5 days: 3 * 0.5 / 1.5 = 1 unit.
        assert_eq!(prorated.usage, Quantity::from_milli(1000));
        assert_eq!(prorated.covered_seconds, DAY / 2);
        assert!(!prorated.is_complete());
    }

    #[test]
    fn rounding_is_to_nearest_thousandth() {
        let intervals = [interval(0, 3, 1, vec![])];
        let prorated = prorate_to_period(&intervals, BillPeriod::from_days(0, 0)).expect("valid");
        assert_eq!(prorated.usage, Quantity::from_milli(333));
        let prorated = prorate_to_period(&intervals, BillPeriod::from_days(0, 1)).expect("valid");
        assert_eq!(prorated.usage, Quantity::from_milli(667));
    }

    #[test]
    fn missing_readings_leave_period_partly_uncovered() {
        let intervals = [interval(0, 10, 100, vec![])];
        let prorated = prorate_to_period(&intervals, BillPeriod::from_days(5, 14)).expect("valid");
        assert_eq!(prorated.usage, Quantity::from_milli(50_000));
        assert_eq!(prorated.covered_seconds, 5 * DAY);
        assert!(!prorated.is_complete());
    }

    #[test]
    fn estimated_flag_carries_into_period() {
        let intervals = [interval(0, 10, 100, vec![ConsumptionFlag::Estimated])];
        let prorated = prorate_to_period(&intervals, BillPeriod::from_days(0, 9)).expect("valid");
        assert!(prorated.is_estimated());
    }

    #[test]
    fn overlapping_intervals_are_rejected() {
        let intervals = [interval(0, 10, 100, vec![]), interval(5, 15, 100, vec![])];
        let result = prorate_to_period(&intervals, BillPeriod::from_days(0, 20));
        assert_eq!(
            result,
            Err(MeterError::OverlappingIntervals { at: 5 * DAY })
        );
    }

    #[test]
    fn empty_period_is_rejected() {
        let period = BillPeriod {
            start: Timestamp(DAY),
            end: Timestamp(DAY),
        };
        assert!(matches!(
            prorate_to_period(&[], period),
            Err(MeterError::EmptyPeriod { .. })
        ));
    }
}
