//! `sharepay reading import`: turns real meter data files into register
//! readings and queues them in the phone store's offline outbox.
//!
//! Two formats are recognised by their header line: the hourly usage file
//! ([`hourly`]) and the minutely sub-metering file ([`minutely`]). A file is
//! read and checked completely before anything is queued, and all its
//! readings are queued in one transaction, so an error queues nothing. An
//! error names the file, the line and the column (both from 1).

pub mod decimal;
pub mod hourly;
pub mod minutely;

use std::fmt;
use std::path::Path;

use sharepay_client::NewReading;
use sharepay_domain::meter::ReadingKind;
use time::{PrimitiveDateTime, UtcOffset};

use self::decimal::format_kwh;

/// The hourly usage file, embedded so the demo needs no outside folder.
pub const EMBEDDED_HOURLY: &str = include_str!("../../data/electricity-usage-hourly.csv");
/// The minutely sub-metering file, embedded for the same reason.
pub const EMBEDDED_MINUTELY: &str = include_str!("../../data/household-submetering-minutely.csv");

/// A problem in an input file, at a line and column when it has one.
#[derive(Debug, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ImportError {}

/// A comma-separated file whose header has been checked. The data files
/// contain no quoted fields, so a quote is an error instead of being parsed.
pub struct Csv<'a> {
    file: String,
    text: &'a str,
}

/// One data line of a [`Csv`].
pub struct Row<'a> {
    file: &'a str,
    /// Line number in the file, from 1 (the header is line 1).
    pub line: usize,
    text: &'a str,
}

impl<'a> Csv<'a> {
    /// Checks that the first line is `header` (ignoring a byte order mark
    /// and a trailing carriage return).
    pub fn new(file: &str, text: &'a str, header: &str) -> Result<Self, ImportError> {
        let first = text
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap_or("");
        if first.trim_end_matches('\r') != header {
            return Err(ImportError {
                file: file.to_owned(),
                line: Some(1),
                column: None,
                message: format!("expected the header {header:?}"),
            });
        }
        Ok(Self {
            file: file.to_owned(),
            text,
        })
    }

    /// Iterates over the data lines, skipping the header and blank lines.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.text
            .lines()
            .enumerate()
            .skip(1)
            .map(|(index, text)| Row {
                file: &self.file,
                line: index + 1,
                text: text.trim_end_matches('\r'),
            })
            .filter(|row| !row.text.trim().is_empty())
    }

    pub fn error_at(&self, line: usize, column: usize, message: String) -> ImportError {
        ImportError {
            file: self.file.clone(),
            line: Some(line),
            column: Some(column),
            message,
        }
    }

    pub fn error_without_line(&self, message: &str) -> ImportError {
        ImportError {
            file: self.file.clone(),
            line: None,
            column: None,
            message: message.to_owned(),
        }
    }
}

impl Row<'_> {
    /// Splits the line into exactly `count` fields.
    pub fn fields(&self, count: usize) -> Result<Vec<&str>, ImportError> {
        if let Some(position) = self.text.find('"') {
            let column = self.text[..position].matches(',').count() + 1;
            return Err(self.error(column, "quoted fields are not supported".into()));
        }
        let fields: Vec<&str> = self.text.split(',').collect();
        if fields.len() != count {
            let column = fields.len().min(count) + 1;
            return Err(self.error(
                column,
                format!("expected {count} columns, found {}", fields.len()),
            ));
        }
        Ok(fields)
    }

    pub fn error(&self, column: usize, message: String) -> ImportError {
        ImportError {
            file: self.file.to_owned(),
            line: Some(self.line),
            column: Some(column),
            message,
        }
    }
}

/// Register readings of one meter: local time and watt-hours since the
/// start of the file.
#[derive(Debug, PartialEq, Eq)]
pub struct MeterSeries {
    pub meter_id: String,
    pub readings: Vec<(PrimitiveDateTime, u64)>,
}

impl MeterSeries {
    pub fn new(meter_id: &str) -> Self {
        Self {
            meter_id: meter_id.to_owned(),
            readings: Vec::new(),
        }
    }

    pub fn push(&mut self, time: PrimitiveDateTime, watt_hours: u64) {
        self.readings.push((time, watt_hours));
    }

    /// Converts the readings to outbox entries in kWh with three decimals,
    /// placing the local times at `offset` from UTC.
    pub fn to_new_readings(&self, offset: UtcOffset) -> Vec<NewReading> {
        self.readings
            .iter()
            .map(|(time, watt_hours)| NewReading {
                meter_id: self.meter_id.clone(),
                value: format_kwh(*watt_hours),
                reading_time: rfc3339_utc(time.assume_offset(offset)),
                kind: ReadingKind::Actual,
                photo_sha256: None,
                location: None,
            })
            .collect()
    }
}

fn rfc3339_utc(time: time::OffsetDateTime) -> String {
    time.to_offset(UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| time.unix_timestamp().to_string())
}

/// Formats a local time for messages, such as `2011-11-25 01:00`.
pub fn local_text(time: PrimitiveDateTime) -> String {
    time.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]"
    ))
    .unwrap_or_else(|_| time.to_string())
}

/// Reads either data format into register series. `meter` names the meter
/// (hourly) or the prefix of the four meters (minutely); without it the
/// file's stem is used.
pub fn parse_file(
    file: &str,
    text: &str,
    meter: Option<&str>,
) -> Result<Vec<MeterSeries>, ImportError> {
    let stem = Path::new(file)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("meter");
    let meter = meter.unwrap_or(stem);
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    match first.trim_end_matches('\r') {
        hourly::HEADER => Ok(vec![hourly::parse(
            &Csv::new(file, text, hourly::HEADER)?,
            meter,
        )?]),
        minutely::HEADER => minutely::parse(&Csv::new(file, text, minutely::HEADER)?, meter),
        _ => Err(ImportError {
            file: file.to_owned(),
            line: Some(1),
            column: None,
            message: format!(
                "unknown header; expected {:?} (hourly usage) or {:?} (minutely sub-metering)",
                hourly::HEADER,
                minutely::HEADER
            ),
        }),
    }
}

/// Parses a UTC offset such as `+01:00`, `-05:00` or `Z`.
pub fn parse_utc_offset(text: &str) -> Result<UtcOffset, String> {
    if text == "Z" {
        return Ok(UtcOffset::UTC);
    }
    UtcOffset::parse(
        text,
        time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .map_err(|_| format!("{text:?} is not a UTC offset such as +01:00, -05:00 or Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_header_is_named() {
        let error = parse_file("x.csv", "a,b\n1,2", None).expect_err("unknown format");

        assert!(
            error.to_string().starts_with("x.csv:1: unknown header"),
            "{error}"
        );
    }

    #[test]
    fn readings_use_offset_and_kwh() {
        let series = parse_file(
            "home.csv",
            &format!("{}\n11/25/2011 00:00:00,1.5,1,0,0", hourly::HEADER),
            None,
        )
        .expect("parse");
        let readings = series[0].to_new_readings(parse_utc_offset("-05:00").expect("offset"));

        assert_eq!(readings.len(), 2);
        assert_eq!(readings[1].meter_id, "home");
        assert_eq!(readings[1].value, "1.500");
        assert_eq!(readings[1].reading_time, "2011-11-26T05:00:00Z");
        assert_eq!(readings[0].value, "0.000");
        assert_eq!(readings[0].reading_time, "2011-11-26T04:00:00Z");
    }

    #[test]
    fn quoted_field_is_rejected() {
        let text = format!("{}\n\"11/25/2011 01:00:00\",1.5,1,0,0", hourly::HEADER);

        let error = parse_file("q.csv", &text, None).expect_err("quotes");
        assert_eq!(
            error.to_string(),
            "q.csv:2:1: quoted fields are not supported"
        );
    }
}
