//! Meters and their readings: consumption between two readings, and usage
//! prorated to a bill period.
//!
//! Register values are integer thousandths of a unit and times are Unix
//! seconds chosen by the caller. This module must never use floating point
//! or read the clock.

mod consumption;
mod prorate;

pub use consumption::{
    Consumption, ConsumptionFlag, ConsumptionPolicy, consumption_between, consumption_series,
};
pub use prorate::{BillPeriod, ProratedUsage, prorate_to_period};

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Thousandths in one unit of a [`Quantity`].
pub const MILLI_PER_UNIT: u64 = 1000;

/// Seconds in a day; UTC days have no leap seconds in Unix time.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Largest register size in digits: 10^15 units in thousandths still fits u64.
pub const MAX_REGISTER_DIGITS: u8 = 15;

/// An amount of a metered unit in thousandths: 12,345 is 12.345 kWh.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Quantity(u64);

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);

    pub const fn from_milli(milli: u64) -> Self {
        Quantity(milli)
    }

    /// Whole units; `None` when the value does not fit in thousandths.
    pub const fn from_units(units: u64) -> Option<Self> {
        match units.checked_mul(MILLI_PER_UNIT) {
            Some(milli) => Some(Quantity(milli)),
            None => None,
        }
    }

    pub const fn milli(&self) -> u64 {
        self.0
    }

    /// Parses a register display such as `"00012"` or `"12345.6"`: digits,
    /// then at most three decimals after a `.`.
    pub fn parse(input: &str) -> Result<Self, MeterError> {
        let invalid = || MeterError::InvalidQuantity {
            input: input.to_owned(),
        };
        let (whole, fraction) = input.split_once('.').unwrap_or((input, ""));
        let well_formed = !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= 3
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && !(input.contains('.') && fraction.is_empty());
        if !well_formed {
            return Err(invalid());
        }
        let mut milli: u64 = 0;
        let padding = 3 - fraction.len();
        let digits = whole
            .bytes()
            .chain(fraction.bytes())
            .chain(std::iter::repeat_n(b'0', padding));
        for digit in digits {
            milli = milli
                .checked_mul(10)
                .and_then(|value| value.checked_add(u64::from(digit - b'0')))
                .ok_or_else(invalid)?;
        }
        Ok(Quantity(milli))
    }
}

/// Shows whole units with up to three decimals and no trailing zeros: `22`, `12.5`.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_milli(i128::from(self.0)))
    }
}

/// Formats thousandths as units with up to three decimals, trailing zeros dropped.
pub(crate) fn format_milli(milli: i128) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let magnitude = milli.unsigned_abs();
    let whole = magnitude / 1000;
    let fraction = magnitude % 1000;
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:03}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// A point in time as seconds since 1970-01-01T00:00:00Z, supplied by the
/// caller; this crate never reads a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Midnight UTC at the start of day `day`, counted from 1970-01-01.
    pub const fn from_day(day: i64) -> Self {
        Timestamp(day * SECONDS_PER_DAY)
    }
}

/// The physical unit a meter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeterUnit {
    KilowattHour,
    CubicMetre,
    Litre,
    CubicFoot,
    Megajoule,
}

impl MeterUnit {
    pub const fn symbol(&self) -> &'static str {
        match self {
            MeterUnit::KilowattHour => "kWh",
            MeterUnit::CubicMetre => "m³",
            MeterUnit::Litre => "L",
            MeterUnit::CubicFoot => "ft³",
            MeterUnit::Megajoule => "MJ",
        }
    }
}

/// A physical meter. Replacing a meter gives a new serial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub serial: String,
    pub unit: MeterUnit,
    /// Whole-unit digits on the register: 5 means it counts 0 to 99999.999
    /// and then rolls over to 0.
    pub register_digits: u8,
}

impl Meter {
    /// First value the register cannot show, in thousandths: 10^digits units.
    pub fn register_modulus(&self) -> Result<u64, MeterError> {
        if self.register_digits == 0 || self.register_digits > MAX_REGISTER_DIGITS {
            return Err(MeterError::InvalidRegisterDigits {
                serial: self.serial.clone(),
                digits: self.register_digits,
            });
        }
        Ok(10u64.pow(u32::from(self.register_digits)) * MILLI_PER_UNIT)
    }
}

/// Whether a reading was read off the register or estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingKind {
    Actual,
    Estimated,
}

/// One register value of one physical meter at one time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// Serial of the meter the value was read from.
    pub serial: String,
    pub value: Quantity,
    pub taken_at: Timestamp,
    pub kind: ReadingKind,
}

/// Error from accepting a reading or computing a consumption.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MeterError {
    #[error(
        "invalid meter reading {input:?}: write digits with at most three decimals after a '.', \
         such as 00012 or 12345.6"
    )]
    InvalidQuantity { input: String },

    #[error("meter {serial} has an invalid register size of {digits} digits: use 1 to 15 digits")]
    InvalidRegisterDigits { serial: String, digits: u8 },

    #[error(
        "reading {value} does not fit the {digits}-digit register of meter {serial}: check the \
         reading or the meter's register size"
    )]
    ExceedsRegister {
        serial: String,
        value: Quantity,
        digits: u8,
    },

    #[error("no meter with serial {serial} is known: record the meter before its readings")]
    UnknownSerial { serial: String },

    #[error(
        "reading taken at {current} (Unix seconds) is not after the previous reading at \
         {previous}: order readings by time and drop duplicates"
    )]
    NotAfterPrevious { previous: i64, current: i64 },

    #[error(
        "meter {serial} went down from {previous} to {current}, which is neither a register \
         rollover nor a meter replacement: check the reading, or record the new meter's serial"
    )]
    ImplausibleDecrease {
        serial: String,
        previous: Quantity,
        current: Quantity,
    },

    #[error("the bill period must end after it starts (start {start}, end {end}, Unix seconds)")]
    EmptyPeriod { start: i64, end: i64 },

    #[error("consumption intervals overlap at {at} (Unix seconds): pass each stretch of time once")]
    OverlappingIntervals { at: i64 },

    #[error("usage is too large to compute exactly: {detail}")]
    Overflow { detail: &'static str },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_parses_register_displays() {
        assert_eq!(Quantity::parse("00012"), Ok(Quantity::from_milli(12_000)));
        assert_eq!(
            Quantity::parse("12345.6"),
            Ok(Quantity::from_milli(12_345_600))
        );
        assert_eq!(Quantity::parse("0.001"), Ok(Quantity::from_milli(1)));
    }

    #[test]
    fn quantity_rejects_malformed_input() {
        for input in [
            "",
            ".5",
            "5.",
            "1.2345",
            "-1",
            "1,5",
            "1e3",
            "99999999999999999999",
        ] {
            assert!(
                Quantity::parse(input).is_err(),
                "{input:?} must be rejected"
            );
        }
    }

    #[test]
    fn quantity_display_trims_trailing_zeros() {
        assert_eq!(Quantity::from_milli(22_000).to_string(), "22");
        assert_eq!(Quantity::from_milli(12_500).to_string(), "12.5");
        assert_eq!(Quantity::from_milli(1).to_string(), "0.001");
    }

    #[test]
    fn register_modulus_follows_digits() {
        let meter = Meter {
            serial: "E-1".to_owned(),
            unit: MeterUnit::KilowattHour,
            register_digits: 5,
        };
        assert_eq!(meter.register_modulus(), Ok(100_000_000));
    }

    #[test]
    fn register_of_zero_or_sixteen_digits_is_invalid() {
        for digits in [0, 16] {
            let meter = Meter {
                serial: "E-1".to_owned(),
                unit: MeterUnit::KilowattHour,
                register_digits: digits,
            };
            assert!(meter.register_modulus().is_err(), "{digits} digits");
        }
    }
}
