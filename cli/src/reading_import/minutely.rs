//! The minutely sub-metering file: `timestamp,global_active_power_kw,
//! sub_metering_1_wh,sub_metering_2_wh,sub_metering_3_wh`, one row per
//! minute (local time, `YYYY-MM-DDTHH:MM:SS`, taken as the minute's start).
//!
//! It yields four register series: the three sub-meters (kitchen, laundry
//! room, water heater and air conditioner) and the shared part, which is the
//! whole house minus the three sub-meters.
//!
//! Units, all exact integers: the whole house uses `kW * 1000 / 60` Wh in a
//! minute. A kW figure with three decimals is an integer number of watts,
//! and a sub-meter figure with three decimals is an integer number of
//! milliwatt-hours, so both are counted in milliwatt-minutes (1 W for one
//! minute = 1000 mW·min, 1 mWh = 60 mW·min, 1 Wh = 60 000 mW·min). A
//! register reading is the running total rounded down to whole watt-hours,
//! written as kWh with three decimals, so it never runs ahead of the data.

use time::{Date, Duration, PrimitiveDateTime, Time};

use super::decimal::parse_thousandths;
use super::{Csv, ImportError, MeterSeries, local_text};

pub const HEADER: &str =
    "timestamp,global_active_power_kw,sub_metering_1_wh,sub_metering_2_wh,sub_metering_3_wh";

/// Meter id suffixes, in the order of the series.
pub const SERIES_SUFFIXES: [&str; 4] = ["kitchen", "laundry", "water-heater", "shared"];

const MILLIWATT_MINUTES_PER_WATT_MINUTE: u64 = 1_000;
const MILLIWATT_MINUTES_PER_MILLIWATT_HOUR: u64 = 60;
const MILLIWATT_MINUTES_PER_WATT_HOUR: u64 = 60_000;

struct Minute {
    start: PrimitiveDateTime,
    line: usize,
    /// Energy of the sub-meters 1 to 3 and of the shared part, in mW·min.
    energy: [u64; 4],
}

/// Reads the file into four series named `{meter_base}-{suffix}`, each
/// starting with a zero reading at the first minute's start.
pub fn parse(csv: &Csv<'_>, meter_base: &str) -> Result<Vec<MeterSeries>, ImportError> {
    let mut minutes = Vec::new();
    for row in csv.rows() {
        let fields = row.fields(5)?;
        let start = parse_timestamp(fields[0]).map_err(|m| row.error(1, m))?;
        let whole_house_watts = parse_thousandths(fields[1]).map_err(|m| row.error(2, m))?;
        let whole_house = whole_house_watts * MILLIWATT_MINUTES_PER_WATT_MINUTE;

        let mut energy = [0u64; 4];
        for (index, field) in fields[2..5].iter().enumerate() {
            let milliwatt_hours = parse_thousandths(field).map_err(|m| row.error(index + 3, m))?;
            energy[index] = milliwatt_hours * MILLIWATT_MINUTES_PER_MILLIWATT_HOUR;
        }
        let sub_meters: u64 = energy[..3].iter().sum();
        energy[3] = whole_house.checked_sub(sub_meters).ok_or_else(|| {
            row.error(
                2,
                format!(
                    "the sub-meters ({} mWh) exceed the whole house ({} mWh) in this minute",
                    sub_meters / MILLIWATT_MINUTES_PER_MILLIWATT_HOUR,
                    whole_house / MILLIWATT_MINUTES_PER_MILLIWATT_HOUR
                ),
            )
        })?;
        minutes.push(Minute {
            start,
            line: row.line,
            energy,
        });
    }
    if minutes.is_empty() {
        return Err(csv.error_without_line("the file has no data rows"));
    }

    minutes.sort_by_key(|minute| minute.start);
    for pair in minutes.windows(2) {
        if pair[0].start == pair[1].start {
            return Err(csv.error_at(
                pair[1].line,
                1,
                format!(
                    "the minute {} is also on line {}",
                    local_text(pair[1].start),
                    pair[0].line
                ),
            ));
        }
    }

    let mut series: Vec<MeterSeries> = SERIES_SUFFIXES
        .iter()
        .map(|suffix| MeterSeries::new(&format!("{meter_base}-{suffix}")))
        .collect();
    for one in &mut series {
        one.push(minutes[0].start, 0);
    }
    let mut totals = [0u64; 4];
    for minute in &minutes {
        let end = minute.start + Duration::MINUTE;
        for (index, one) in series.iter_mut().enumerate() {
            totals[index] += minute.energy[index];
            one.push(end, totals[index] / MILLIWATT_MINUTES_PER_WATT_HOUR);
        }
    }
    Ok(series)
}

/// Parses `YYYY-MM-DDTHH:MM:SS`.
fn parse_timestamp(text: &str) -> Result<PrimitiveDateTime, String> {
    let invalid = || format!("{text:?} is not a timestamp like 2007-02-01T00:00:00");
    let (date, time) = text.split_once('T').ok_or_else(invalid)?;
    let date = Date::parse(
        date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| invalid())?;
    let time = Time::parse(
        time,
        time::macros::format_description!("[hour]:[minute]:[second]"),
    )
    .map_err(|_| invalid())?;
    Ok(PrimitiveDateTime::new(date, time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn parse_text(text: &str) -> Result<Vec<MeterSeries>, ImportError> {
        parse(
            &Csv::new("minutes.csv", text, HEADER).expect("header"),
            "house",
        )
    }

    #[test]
    fn shared_part_is_house_minus_submeters() {
        // 1.2 kW for a minute is 20 Wh; the sub-meters take 1 + 2 + 0 Wh.
        let text = format!(
            "{HEADER}\n2007-02-01T00:01:00,1.200,1.000,2.000,0\n2007-02-01T00:00:00,1.2,1.000,2.000,0\n\
             2007-02-01T00:02:00,1.200,1.000,2.000,0"
        );

        let series = parse_text(&text).expect("parse");

        let ids: Vec<&str> = series.iter().map(|s| s.meter_id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "house-kitchen",
                "house-laundry",
                "house-water-heater",
                "house-shared"
            ]
        );
        let finals: Vec<u64> = series.iter().map(|s| s.readings[3].1).collect();
        assert_eq!(finals, vec![3, 6, 0, 51]);
        assert_eq!(series[3].readings[0], (datetime!(2007-02-01 00:00), 0));
        assert_eq!(series[3].readings[1], (datetime!(2007-02-01 00:01), 17));
        assert_eq!(series[3].readings[3].0, datetime!(2007-02-01 00:03));
    }

    #[test]
    fn register_rounds_down_to_watt_hours() {
        // 0.326 kW is 5.4333... Wh a minute: 5, 10, 16 whole Wh after 1, 2, 3 minutes.
        let text = format!(
            "{HEADER}\n2007-02-01T00:00:00,0.326,0,0,0\n2007-02-01T00:01:00,0.326,0,0,0\n\
             2007-02-01T00:02:00,0.326,0,0,0"
        );

        let series = parse_text(&text).expect("parse");

        let shared: Vec<u64> = series[3].readings.iter().map(|r| r.1).collect();
        assert_eq!(shared, vec![0, 5, 10, 16]);
    }

    #[test]
    fn real_file_gives_four_series() {
        let text = include_str!("../../data/household-submetering-minutely.csv");

        let series = parse_text(text).expect("parse the real file");

        let finals: Vec<u64> = series
            .iter()
            .map(|s| s.readings.last().map_or(0, |r| r.1))
            .collect();
        assert_eq!(finals, vec![1_170, 742, 24_483, 31_813]);
        assert!(series.iter().all(|s| s.readings.len() == 2_880 + 1));
    }

    #[test]
    fn submeters_above_house_are_rejected() {
        let text = format!("{HEADER}\n2007-02-01T00:00:00,0.060,1.000,0.500,0");

        let error = parse_text(&text).expect_err("sub-meters above the whole house");
        let message = error.to_string();
        assert!(message.starts_with("minutes.csv:2:2: "), "{message}");
        assert!(message.contains("1500 mWh"), "{message}");
    }

    #[test]
    fn missing_column_names_line() {
        let text = format!("{HEADER}\n2007-02-01T00:00:00,0.060,1.000,0.500");

        let error = parse_text(&text).expect_err("four columns");
        assert_eq!(
            error.to_string(),
            "minutes.csv:2:5: expected 5 columns, found 4"
        );
    }
}
