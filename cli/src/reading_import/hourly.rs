//! The hourly usage file: `DateTime,Consumption kWh,Off-peak,Mid-peak,
//! On-peak`, one row per hour with the kilowatt-hours used in the hour that
//! ends at `DateTime` (local time, `MM/DD/YYYY HH:MM:SS`).
//!
//! The file labels the last hour of each day `00:00:00` with that same
//! day's date, so `11/25/2011 00:00:00` is the end of 25 November, that is
//! 26 November 00:00 (24:00 of the 25th). Read literally it would sort
//! before the day's first hour. The importer moves it to the next day,
//! sorts, and turns the hourly amounts into a running register value.

use time::{Date, Duration, Month, PrimitiveDateTime, Time};

use super::decimal::parse_thousandths;
use super::{Csv, ImportError, MeterSeries, local_text};

pub const HEADER: &str = "DateTime,Consumption kWh,Off-peak,Mid-peak,On-peak";

/// Reads the file into one series of register readings in watt-hours,
/// starting with a zero reading one hour before the first row.
pub fn parse(csv: &Csv<'_>, meter_id: &str) -> Result<MeterSeries, ImportError> {
    let mut rows: Vec<(PrimitiveDateTime, u64, usize)> = Vec::new();
    for row in csv.rows() {
        let fields = row.fields(5)?;
        let end_of_hour = parse_date_time(fields[0]).map_err(|m| row.error(1, m))?;
        let watt_hours = parse_thousandths(fields[1]).map_err(|m| row.error(2, m))?;
        rows.push((end_of_hour, watt_hours, row.line));
    }
    if rows.is_empty() {
        return Err(csv.error_without_line("the file has no data rows"));
    }

    rows.sort_by_key(|(time, _, _)| *time);
    for pair in rows.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(csv.error_at(
                pair[1].2,
                1,
                format!(
                    "the hour ending {} is also on line {}",
                    local_text(pair[1].0),
                    pair[0].2
                ),
            ));
        }
    }

    let mut series = MeterSeries::new(meter_id);
    series.push(rows[0].0 - Duration::HOUR, 0);
    let mut register = 0u64;
    for (time, watt_hours, line) in rows {
        register = register
            .checked_add(watt_hours)
            .ok_or_else(|| csv.error_at(line, 2, "the running total overflows".into()))?;
        series.push(time, register);
    }
    Ok(series)
}

/// Parses `MM/DD/YYYY HH:MM:SS`, reading `00:00:00` as 24:00 of that date.
pub fn parse_date_time(text: &str) -> Result<PrimitiveDateTime, String> {
    let invalid = || format!("{text:?} is not a date and time like 11/25/2011 01:00:00");
    let (date, time) = text.split_once(' ').ok_or_else(invalid)?;
    let date_parts: Vec<&str> = date.split('/').collect();
    let time_parts: Vec<&str> = time.split(':').collect();
    if date_parts.len() != 3 || time_parts.len() != 3 {
        return Err(invalid());
    }
    let number = |part: &str| part.parse::<u16>().map_err(|_| invalid());
    let month = Month::try_from(u8::try_from(number(date_parts[0])?).map_err(|_| invalid())?)
        .map_err(|_| invalid())?;
    let day = u8::try_from(number(date_parts[1])?).map_err(|_| invalid())?;
    let year = i32::from(number(date_parts[2])?);
    let date = Date::from_calendar_date(year, month, day).map_err(|e| format!("{text:?}: {e}"))?;
    let [hour, minute, second] = [time_parts[0], time_parts[1], time_parts[2]]
        .map(|part| number(part).ok().and_then(|n| u8::try_from(n).ok()));
    let (Some(hour), Some(minute), Some(second)) = (hour, minute, second) else {
        return Err(invalid());
    };
    let time = Time::from_hms(hour, minute, second).map_err(|e| format!("{text:?}: {e}"))?;

    let labelled = PrimitiveDateTime::new(date, time);
    if time == Time::MIDNIGHT {
        // The day's last hour: 24:00 of `date`, which is 00:00 of the next day.
        return Ok(labelled + Duration::DAY);
    }
    Ok(labelled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DAY: &str = "DateTime,Consumption kWh,Off-peak,Mid-peak,On-peak\r
11/25/2011 00:00:00,0.3,1,0,0\r
11/25/2011 01:00:00,0.39,1,0,0\r
11/25/2011 02:00:00,0.33,1,0,0\r
11/25/2011 23:00:00,0.37,1,0,0\r
11/26/2011 01:00:00,0.3,1,0,0";

    fn parse_text(text: &str) -> Result<MeterSeries, ImportError> {
        parse(&Csv::new("day.csv", text, HEADER).expect("header"), "home")
    }

    #[test]
    fn midnight_row_ends_its_day() {
        let series = parse_text(DAY).expect("parse");
        let times: Vec<PrimitiveDateTime> = series.readings.iter().map(|r| r.0).collect();

        assert_eq!(
            times,
            vec![
                datetime!(2011-11-25 00:00),
                datetime!(2011-11-25 01:00),
                datetime!(2011-11-25 02:00),
                datetime!(2011-11-25 23:00),
                datetime!(2011-11-26 00:00),
                datetime!(2011-11-26 01:00),
            ]
        );
        // 0.39 + 0.33 + 0.37 + 0.3 (the "00:00:00" row, last of the 25th).
        assert_eq!(
            series.readings[4].1, 1_390,
            "register at the end of 25 November"
        );
        assert_eq!(series.readings[5].1, 1_690);
    }

    #[test]
    fn real_file_day_end_register() {
        let text = include_str!("../../data/electricity-usage-hourly.csv");
        let series = parse_text(text).expect("parse the real file");

        assert_eq!(series.readings.len(), 2_712 + 1);
        let end_of_first_day = series
            .readings
            .iter()
            .find(|r| r.0 == datetime!(2011-11-26 00:00))
            .expect("a reading at the end of 25 November");
        // The sum of the 24 rows dated 11/25/2011 in the file.
        assert_eq!(end_of_first_day.1, 8_530);
        assert_eq!(series.readings.last().map(|r| r.1), Some(1_209_420));
        assert!(
            series.readings.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted by time"
        );
    }

    #[test]
    fn repeated_hour_names_both_lines() {
        let text =
            format!("{HEADER}\n11/25/2011 01:00:00,0.3,1,0,0\n11/25/2011 01:00:00,0.4,1,0,0");

        let error = parse_text(&text).expect_err("a repeated hour");
        assert_eq!(
            error.to_string(),
            "day.csv:3:1: the hour ending 2011-11-25 01:00 is also on line 2"
        );
    }

    #[test]
    fn invalid_amount_names_line_and_column() {
        let text =
            format!("{HEADER}\n11/25/2011 01:00:00,0.3,1,0,0\n11/25/2011 02:00:00,abc,1,0,0");

        let error = parse_text(&text).expect_err("invalid amount");
        let message = error.to_string();
        assert!(message.starts_with("day.csv:3:2: "), "{message}");
        assert!(message.contains("\"abc\""), "{message}");
    }

    #[test]
    fn invalid_date_is_rejected() {
        for text in [
            "13/01/2011 01:00:00",
            "02/30/2011 01:00:00",
            "11/25/2011",
            "11/25/2011 25:00:00",
        ] {
            assert!(parse_date_time(text).is_err(), "{text}");
        }
    }
}
