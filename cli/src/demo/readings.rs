//! The meter reader's round: register readings derived from the minutely
//! sub-metering file, queued offline, then synced once the phone is back
//! online.

use std::collections::HashMap;

use anyhow::{Context, bail};
use sharepay_client::{NewReading, OutboxState};
use time::UtcOffset;

use super::detail;
use super::household::{House, HouseMeter};
use super::people::Person;
use super::relay::NetworkRelay;
use crate::reading_import::decimal::format_kwh;
use crate::reading_import::{self, EMBEDDED_MINUTELY, MeterSeries};

/// Minutes between two readings of a register. The file has one row a
/// minute, and one reading every three hours keeps the demo's sync short.
const MINUTES_BETWEEN_READINGS: usize = 180;
/// The file's times are local to Paris, which is at UTC+1 in February.
const FILE_UTC_OFFSET: UtcOffset = time::macros::offset!(+1);
/// Minute of the file at which the reader mistypes the kitchen register,
/// dropping its first digit (12:30 on the first day).
const MISTYPED_MINUTE: usize = 750;

/// The readings to queue, in the order the reader takes them, and the
/// kitchen reading mistyped on purpose.
pub struct ReadingRound {
    pub readings: Vec<NewReading>,
    pub mistyped: NewReading,
}

/// Derives each meter's register readings from the file: the
/// importer's running total added to the meter's start value and wrapped at
/// the register's digits.
pub fn plan_round(house: &House) -> anyhow::Result<ReadingRound> {
    let series = reading_import::parse_file(
        "household-submetering-minutely.csv",
        EMBEDDED_MINUTELY,
        Some("house"),
    )?;
    let mut readings = Vec::new();
    let mut mistyped = None;
    for meter in &house.meters {
        let name = format!("house-{}", meter.plan.series_suffix);
        let source = series
            .iter()
            .find(|candidate| candidate.meter_id == name)
            .with_context(|| format!("the importer returned no series {name}"))?;
        let register = register_series(meter, source, sampled_minutes(source.readings.len()));
        let mut queued = register.to_new_readings(FILE_UTC_OFFSET);
        print_meter_plan(meter, &register);

        if meter.plan.series_suffix == "kitchen" {
            let typo = mistype(meter, source)?;
            let position = queued
                .iter()
                .position(|reading| reading.reading_time > typo.reading_time)
                .unwrap_or(queued.len());
            detail(&format!(
                "  and one mistyped reading at {}: {} kWh, its first digit dropped",
                typo.reading_time, typo.value
            ));
            queued.insert(position, typo.clone());
            mistyped = Some(typo);
        }
        readings.extend(queued);
    }
    let mistyped = mistyped.context("the house has no kitchen meter to mistype")?;
    print_whole_house(&series);
    Ok(ReadingRound { readings, mistyped })
}

/// Returns the indexes of the file's register readings that the reader
/// takes: one every [`MINUTES_BETWEEN_READINGS`], and the last one.
fn sampled_minutes(count: usize) -> Vec<usize> {
    let mut minutes: Vec<usize> = (0..count).step_by(MINUTES_BETWEEN_READINGS).collect();
    if count > 0 && minutes.last() != Some(&(count - 1)) {
        minutes.push(count - 1);
    }
    minutes
}

/// Returns the register values of `meter` at `minutes` of the file.
fn register_series(meter: &HouseMeter, source: &MeterSeries, minutes: Vec<usize>) -> MeterSeries {
    let mut register = MeterSeries::new(&meter.meter_id);
    for minute in minutes {
        let (time, used_wh) = source.readings[minute];
        register.push(time, register_value_wh(meter, used_wh));
    }
    register
}

/// Returns the register after `used_wh` from the start: the start value
/// plus the use, modulo the register's range (10^digits kWh).
fn register_value_wh(meter: &HouseMeter, used_wh: u64) -> u64 {
    let modulus_wh = 10u64.pow(u32::from(meter.plan.register_digits)) * 1_000;
    (meter.plan.register_start_wh + used_wh) % modulus_wh
}

/// Builds the kitchen reading at [`MISTYPED_MINUTE`] with the register's
/// first digit left out, as a hurried reader might type it.
fn mistype(meter: &HouseMeter, source: &MeterSeries) -> anyhow::Result<NewReading> {
    let (time, used_wh) = *source
        .readings
        .get(MISTYPED_MINUTE)
        .context("the file is too short for the mistyped reading")?;
    let mut single = MeterSeries::new(&meter.meter_id);
    single.push(time, register_value_wh(meter, used_wh));
    let mut reading = single
        .to_new_readings(FILE_UTC_OFFSET)
        .pop()
        .context("the mistyped reading was not built")?;
    reading.value = reading.value[1..].to_owned();
    Ok(reading)
}

fn print_meter_plan(meter: &HouseMeter, register: &MeterSeries) {
    let first = register.readings.first().map_or(0, |reading| reading.1);
    let last = register.readings.last().map_or(0, |reading| reading.1);
    let wraps = register
        .readings
        .windows(2)
        .find(|pair| pair[1].1 < pair[0].1);
    detail(&format!(
        "{} ({}): {} readings, one every {} minutes, from {} to {} kWh",
        meter.plan.serial,
        meter.label(),
        register.readings.len(),
        MINUTES_BETWEEN_READINGS,
        format_kwh(first),
        format_kwh(last)
    ));
    if let Some(pair) = wraps {
        detail(&format!(
            "  the {}-digit register rolls over between {} kWh and {} kWh",
            meter.plan.register_digits,
            format_kwh(pair[0].1),
            format_kwh(pair[1].1)
        ));
    }
}

/// Prints the whole house's use over the file as the sum of the three
/// sub-meters and the shared part.
fn print_whole_house(series: &[MeterSeries]) {
    let used: Vec<(String, u64)> = series
        .iter()
        .map(|meter_series| {
            let used_wh = meter_series.readings.last().map_or(0, |reading| reading.1);
            let name = meter_series.meter_id.trim_start_matches("house-");
            (name.to_owned(), used_wh)
        })
        .collect();
    let total: u64 = used.iter().map(|(_, used_wh)| used_wh).sum();
    let parts: Vec<String> = used
        .iter()
        .map(|(name, used_wh)| format!("{name} {}", format_kwh(*used_wh)))
        .collect();
    detail(&format!(
        "whole house over the two days: {} kWh = {} kWh",
        format_kwh(total),
        parts.join(" + ")
    ));
}

/// Queues the round on the reader's phone while the relay is offline, and
/// checks that a sync then sends nothing.
pub async fn queue_offline(
    reader: &Person,
    relay: &NetworkRelay,
    round: &ReadingRound,
) -> anyhow::Result<()> {
    relay.go_offline();
    detail("the reader's phone lost its network: the relay now closes every connection");

    let queued = reader
        .client
        .submit_readings(&round.readings)
        .context("queueing the readings failed")?;
    detail(&format!(
        "{} readings queued in the encrypted outbox, each with its own idempotency key",
        queued.len()
    ));

    let summary = reader
        .client
        .sync_now()
        .await
        .context("the offline sync failed")?;
    let state = reader.client.sync_state()?;
    if summary.accepted + summary.flagged + summary.rejected > 0 {
        bail!("the server received readings while the reader's phone was offline");
    }
    if state.pending != queued.len() {
        bail!(
            "{} readings are pending after the offline sync instead of {}",
            state.pending,
            queued.len()
        );
    }
    detail(&format!(
        "sync failed as expected: nothing sent, {} readings still queued, last error: {}",
        state.pending,
        state.last_error.as_deref().unwrap_or("none recorded")
    ));
    Ok(())
}

/// Brings the reader's phone back online, syncs, prints the server's
/// decisions and checks the expected ones: every reading decided, the
/// water heater's rollover flagged and the mistyped reading rejected.
pub async fn sync_online(
    reader: &Person,
    relay: &NetworkRelay,
    house: &House,
    round: &ReadingRound,
) -> anyhow::Result<()> {
    relay.go_online();
    detail("the reader's phone is back online");

    let summary = reader.client.sync_now().await.context("the sync failed")?;
    detail(&format!(
        "sync finished: {} accepted, {} flagged for review, {} rejected, {} still queued",
        summary.accepted, summary.flagged, summary.rejected, summary.pending
    ));
    if summary.pending > 0 {
        bail!(
            "{} readings are still queued after the sync",
            summary.pending
        );
    }

    let labels: HashMap<&str, &HouseMeter> = house
        .meters
        .iter()
        .map(|meter| (meter.meter_id.as_str(), meter))
        .collect();
    let mut rollover_flagged = false;
    let mut mistyped_rejected = false;
    for item in reader.client.outbox_items()? {
        let reading = &item.reading;
        let (verdict, reasons) = match &item.state {
            OutboxState::Flagged { reasons } => ("flagged", reasons),
            OutboxState::Rejected { reasons } => ("rejected", reasons),
            _ => continue,
        };
        let meter = labels
            .get(reading.meter_id.as_str())
            .map_or("unknown meter", |meter| meter.plan.serial);
        detail(&format!(
            "{verdict}: {meter} at {}, {} kWh: {}",
            reading.reading_time,
            reading.value,
            reasons.join("; ")
        ));
        let is_rollover_meter = labels
            .get(reading.meter_id.as_str())
            .is_some_and(|meter| meter.plan.series_suffix == "water-heater");
        if verdict == "flagged" && is_rollover_meter && reasons.iter().any(|r| r == "rollover") {
            rollover_flagged = true;
        }
        let is_mistyped =
            reading.meter_id == round.mistyped.meter_id && reading.value == round.mistyped.value;
        if verdict == "rejected" && is_mistyped {
            mistyped_rejected = true;
        }
    }
    if !rollover_flagged {
        bail!("the server did not flag the water heater's register rollover");
    }
    if !mistyped_rejected {
        bail!("the server did not reject the mistyped kitchen reading");
    }
    Ok(())
}
