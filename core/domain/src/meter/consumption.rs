//! Usage between two readings of a meter, with rollover, replacement,
//! plausibility and rate checks.
//!
//! It must never bill negative usage: a decrease is either explained
//! (rollover, replacement) or rejected.

use serde::{Deserialize, Serialize};

use super::{
    Meter, MeterError, MeterUnit, Quantity, Reading, ReadingKind, SECONDS_PER_DAY, Timestamp,
};

/// Tunable limits of the consumption checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumptionPolicy {
    /// Usage per day above which a consumption is flagged for review;
    /// `None` turns the check off.
    pub max_usage_per_day: Option<Quantity>,
    /// A decrease counts as a register rollover only when the usage it
    /// implies is at most this percentage of the register's range. The
    /// default of 50 treats a decrease as the shorter way round the dial:
    /// 99990 to 00012 on five digits is 22 units, but 500 to 400 would be
    /// 99,900 units and is rejected.
    pub max_rollover_percent: u8,
}

impl ConsumptionPolicy {
    /// The policy for a household meter of `unit`: the default rollover rule
    /// and a daily maximum well above what a home uses, so only a misread
    /// or a typo is flagged.
    ///
    /// NOTE: the maxima are estimates (200 kWh, 50 m³, 5000 l, 1800 ft³ or
    /// 2000 MJ a day), not taken from a standard; a meter-level setting
    /// would replace them.
    pub fn household(unit: MeterUnit) -> Self {
        let per_day = match unit {
            MeterUnit::KilowattHour => 200,
            MeterUnit::CubicMetre => 50,
            MeterUnit::Litre => 5_000,
            MeterUnit::CubicFoot => 1_800,
            MeterUnit::Megajoule => 2_000,
        };
        ConsumptionPolicy {
            max_usage_per_day: Some(Quantity::from_milli(per_day * 1_000)),
            ..ConsumptionPolicy::default()
        }
    }
}

impl Default for ConsumptionPolicy {
    fn default() -> Self {
        ConsumptionPolicy {
            max_usage_per_day: None,
            max_rollover_percent: 50,
        }
    }
}

/// Something a reviewer should know about a consumption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum ConsumptionFlag {
    /// The register passed its maximum and started again from zero.
    Rollover,
    /// The meter was replaced: the new meter's reading is a new baseline,
    /// and use between the two readings is not billed.
    MeterReplaced { previous_serial: String },
    /// At least one of the two readings is an estimate.
    Estimated,
    /// Usage per day is above the policy's maximum and needs review.
    AboveMaxDailyRate { max_usage_per_day: Quantity },
}

/// Usage of one meter between two readings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumption {
    pub serial: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub usage: Quantity,
    pub flags: Vec<ConsumptionFlag>,
}

impl Consumption {
    pub fn has_flag(&self, flag: &ConsumptionFlag) -> bool {
        self.flags.contains(flag)
    }

    pub fn is_estimated(&self) -> bool {
        self.flags.contains(&ConsumptionFlag::Estimated)
    }

    pub fn needs_review(&self) -> bool {
        self.flags
            .iter()
            .any(|flag| matches!(flag, ConsumptionFlag::AboveMaxDailyRate { .. }))
    }
}

/// Computes the usage from `previous` to `current`, where `meter` is the
/// meter that `current` was read from.
///
/// - Same serial, value up: the difference.
/// - Same serial, value down, within the rollover limit: the register
///   wrapped; usage is `modulus - previous + current`, flagged `Rollover`.
/// - Same serial, value down, beyond it: rejected as implausible.
/// - New serial: the meter was replaced; `current` is the new baseline and
///   usage is 0, flagged `MeterReplaced`.
pub fn consumption_between(
    meter: &Meter,
    previous: &Reading,
    current: &Reading,
    policy: &ConsumptionPolicy,
) -> Result<Consumption, MeterError> {
    if current.serial != meter.serial {
        return Err(MeterError::UnknownSerial {
            serial: current.serial.clone(),
        });
    }
    if current.taken_at <= previous.taken_at {
        return Err(MeterError::NotAfterPrevious {
            previous: previous.taken_at.0,
            current: current.taken_at.0,
        });
    }
    let modulus = meter.register_modulus()?;
    ensure_fits_register(meter, current.value, modulus)?;

    let mut flags = Vec::new();
    let usage = if previous.serial != current.serial {
        flags.push(ConsumptionFlag::MeterReplaced {
            previous_serial: previous.serial.clone(),
        });
        Quantity::ZERO
    } else {
        ensure_fits_register(meter, previous.value, modulus)?;
        same_meter_usage(
            meter,
            previous.value,
            current.value,
            modulus,
            policy,
            &mut flags,
        )?
    };

    if previous.kind == ReadingKind::Estimated || current.kind == ReadingKind::Estimated {
        flags.push(ConsumptionFlag::Estimated);
    }
    if let Some(max_usage_per_day) = policy.max_usage_per_day {
        // usage / days > max  <=>  usage * 86400 > max * seconds, exact in u128.
        let seconds = u128::try_from(current.taken_at.0 - previous.taken_at.0).unwrap_or(0);
        let usage_scaled = u128::from(usage.milli()) * u128::from(SECONDS_PER_DAY.unsigned_abs());
        if usage_scaled > u128::from(max_usage_per_day.milli()) * seconds {
            flags.push(ConsumptionFlag::AboveMaxDailyRate { max_usage_per_day });
        }
    }

    Ok(Consumption {
        serial: current.serial.clone(),
        from: previous.taken_at,
        to: current.taken_at,
        usage,
        flags,
    })
}

/// Computes the consumption of each consecutive pair of `readings`, after
/// sorting them by time. `meters` lists every meter the readings came from,
/// including replaced ones.
pub fn consumption_series(
    meters: &[Meter],
    readings: &[Reading],
    policy: &ConsumptionPolicy,
) -> Result<Vec<Consumption>, MeterError> {
    let mut sorted: Vec<&Reading> = readings.iter().collect();
    sorted.sort_by_key(|reading| reading.taken_at);

    let mut series = Vec::with_capacity(sorted.len().saturating_sub(1));
    for pair in sorted.windows(2) {
        let meter = meters
            .iter()
            .find(|meter| meter.serial == pair[1].serial)
            .ok_or_else(|| MeterError::UnknownSerial {
                serial: pair[1].serial.clone(),
            })?;
        series.push(consumption_between(meter, pair[0], pair[1], policy)?);
    }
    Ok(series)
}

fn same_meter_usage(
    meter: &Meter,
    previous: Quantity,
    current: Quantity,
    modulus: u64,
    policy: &ConsumptionPolicy,
    flags: &mut Vec<ConsumptionFlag>,
) -> Result<Quantity, MeterError> {
    if current >= previous {
        return Ok(Quantity::from_milli(current.milli() - previous.milli()));
    }

    // Both values are below the modulus, so this neither underflows nor
    // overflows.
    let wrapped = modulus - previous.milli() + current.milli();
    let limit = u128::from(modulus) * u128::from(policy.max_rollover_percent) / 100;
    if u128::from(wrapped) > limit {
        return Err(MeterError::ImplausibleDecrease {
            serial: meter.serial.clone(),
            previous,
            current,
        });
    }
    flags.push(ConsumptionFlag::Rollover);
    Ok(Quantity::from_milli(wrapped))
}

fn ensure_fits_register(meter: &Meter, value: Quantity, modulus: u64) -> Result<(), MeterError> {
    if value.milli() < modulus {
        return Ok(());
    }
    Err(MeterError::ExceedsRegister {
        serial: meter.serial.clone(),
        value,
        digits: meter.register_digits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::MeterUnit;

    const DAY: i64 = SECONDS_PER_DAY;

    fn meter(serial: &str) -> Meter {
        Meter {
            serial: serial.to_owned(),
            unit: MeterUnit::KilowattHour,
            register_digits: 5,
        }
    }

    fn reading(serial: &str, value: &str, day: i64, kind: ReadingKind) -> Reading {
        Reading {
            serial: serial.to_owned(),
            value: Quantity::parse(value).expect("valid reading"),
            taken_at: Timestamp(day * DAY),
            kind,
        }
    }

    fn actual(serial: &str, value: &str, day: i64) -> Reading {
        reading(serial, value, day, ReadingKind::Actual)
    }

    #[test]
    fn increase_is_the_difference() {
        let consumption = consumption_between(
            &meter("E-1"),
            &actual("E-1", "01000", 0),
            &actual("E-1", "01250.5", 30),
            &ConsumptionPolicy::default(),
        )
        .expect("plausible");
        assert_eq!(
            consumption.usage,
            Quantity::parse("250.5").expect("quantity")
        );
        assert!(consumption.flags.is_empty());
    }

    #[test]
    fn rollover_99990_to_00012_is_22_units() {
        let consumption = consumption_between(
            &meter("E-1"),
            &actual("E-1", "99990", 0),
            &actual("E-1", "00012", 30),
            &ConsumptionPolicy::default(),
        )
        .expect("rollover is plausible");
        assert_eq!(
            consumption.usage,
            Quantity::from_units(22).expect("quantity")
        );
        assert!(consumption.has_flag(&ConsumptionFlag::Rollover));
    }

    #[test]
    fn new_serial_starts_new_baseline_with_zero_usage() {
        let consumption = consumption_between(
            &meter("E-2"),
            &actual("E-1", "45000", 0),
            &actual("E-2", "00005", 30),
            &ConsumptionPolicy::default(),
        )
        .expect("replacement is accepted");
        assert_eq!(consumption.usage, Quantity::ZERO);
        assert!(consumption.has_flag(&ConsumptionFlag::MeterReplaced {
            previous_serial: "E-1".to_owned()
        }));
        assert!(!consumption.has_flag(&ConsumptionFlag::Rollover));
    }

    #[test]
    fn same_serial_decrease_is_rejected() {
        let result = consumption_between(
            &meter("E-1"),
            &actual("E-1", "00500", 0),
            &actual("E-1", "00400", 30),
            &ConsumptionPolicy::default(),
        );
        assert_eq!(
            result,
            Err(MeterError::ImplausibleDecrease {
                serial: "E-1".to_owned(),
                previous: Quantity::from_units(500).expect("quantity"),
                current: Quantity::from_units(400).expect("quantity"),
            })
        );
    }

    #[test]
    fn usage_above_max_daily_rate_is_flagged() {
        let policy = ConsumptionPolicy {
            max_usage_per_day: Some(Quantity::from_units(50).expect("quantity")),
            ..ConsumptionPolicy::default()
        };
        let high = consumption_between(
            &meter("E-1"),
            &actual("E-1", "00000", 0),
            &actual("E-1", "00301", 6),
            &policy,
        )
        .expect("plausible");
        assert!(high.needs_review(), "301 units in 6 days is above 50 a day");

        let at_limit = consumption_between(
            &meter("E-1"),
            &actual("E-1", "00000", 0),
            &actual("E-1", "00300", 6),
            &policy,
        )
        .expect("plausible");
        assert!(
            !at_limit.needs_review(),
            "300 units in 6 days is exactly 50 a day"
        );
    }

    #[test]
    fn estimated_reading_is_flagged() {
        let estimated = consumption_between(
            &meter("E-1"),
            &actual("E-1", "00100", 0),
            &reading("E-1", "00200", 30, ReadingKind::Estimated),
            &ConsumptionPolicy::default(),
        )
        .expect("plausible");
        assert!(estimated.is_estimated());

        let actual_only = consumption_between(
            &meter("E-1"),
            &actual("E-1", "00100", 0),
            &actual("E-1", "00200", 30),
            &ConsumptionPolicy::default(),
        )
        .expect("plausible");
        assert!(!actual_only.is_estimated());
    }

    #[test]
    fn reading_not_after_previous_is_rejected() {
        let result = consumption_between(
            &meter("E-1"),
            &actual("E-1", "00100", 5),
            &actual("E-1", "00200", 5),
            &ConsumptionPolicy::default(),
        );
        assert!(matches!(result, Err(MeterError::NotAfterPrevious { .. })));
    }

    #[test]
    fn value_beyond_register_is_rejected() {
        let result = consumption_between(
            &meter("E-1"),
            &actual("E-1", "00100", 0),
            &actual("E-1", "100000", 30),
            &ConsumptionPolicy::default(),
        );
        assert!(matches!(result, Err(MeterError::ExceedsRegister { .. })));
    }

    #[test]
    fn series_sorts_by_time_and_handles_replacement() {
        let meters = [meter("E-1"), meter("E-2")];
        let readings = [
            actual("E-2", "00005", 40),
            actual("E-1", "00100", 0),
            actual("E-2", "00035", 70),
            actual("E-1", "00160", 30),
        ];
        let series = consumption_series(&meters, &readings, &ConsumptionPolicy::default())
            .expect("plausible");
        let usages: Vec<u64> = series.iter().map(|c| c.usage.milli() / 1000).collect();
        assert_eq!(usages, vec![60, 0, 30]);
    }

    #[test]
    fn series_with_unknown_serial_is_rejected() {
        let readings = [actual("E-1", "00100", 0), actual("X-9", "00005", 30)];
        let result = consumption_series(&[meter("E-1")], &readings, &ConsumptionPolicy::default());
        assert!(matches!(result, Err(MeterError::UnknownSerial { .. })));
    }
}
