//! `sharepay reading ...`: meter readings in the local phone store of this
//! terminal, kept in the offline outbox until a sync sends them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use sharepay_client::{EncryptedStore, NewReading, OutboxItem, OutboxState, SharePayClient};
use sharepay_domain::meter::ReadingKind;

use crate::file_key_wrapper::FileKeyWrapper;
use crate::profile::KEY_FILE;
use crate::reading_import::{self, EMBEDDED_HOURLY, EMBEDDED_MINUTELY};

/// Opens (or creates) the phone store in `data_dir` with its key file.
fn open_store(data_dir: &Path) -> anyhow::Result<EncryptedStore> {
    let key_wrapper = FileKeyWrapper::open_or_create(&data_dir.join(KEY_FILE))
        .map_err(|e| anyhow::anyhow!("key file: {e}"))?;
    EncryptedStore::open(data_dir, &key_wrapper)
        .with_context(|| format!("cannot open the phone store in {}", data_dir.display()))
}

/// Reads `file` (or an embedded data set named `builtin:hourly` or
/// `builtin:minutely`), then queues all its readings or none. Each
/// reading's idempotency key is derived from its meter and time, so
/// importing the same file again queues nothing twice.
pub fn import(
    file: &str,
    meter: Option<&str>,
    utc_offset: &str,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let offset = reading_import::parse_utc_offset(utc_offset).map_err(anyhow::Error::msg)?;
    let (name, text) = match file {
        "builtin:hourly" => (
            "electricity-usage-hourly.csv".to_owned(),
            EMBEDDED_HOURLY.to_owned(),
        ),
        "builtin:minutely" => (
            "household-submetering-minutely.csv".to_owned(),
            EMBEDDED_MINUTELY.to_owned(),
        ),
        path => (
            path.to_owned(),
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
        ),
    };

    let meter_ids = meter_ids_of(meter)?;
    let mut series = reading_import::parse_file(&name, &text, None)?;
    if series.len() != meter_ids.len() {
        anyhow::bail!(
            "--meter: {name} has {} meters, so give {} meter ids separated by commas \
             (a minutely file: kitchen, laundry, water heater, shared, in that order)",
            series.len(),
            series.len()
        );
    }
    for (one, meter_id) in series.iter_mut().zip(meter_ids) {
        one.meter_id = meter_id;
    }
    let readings: Vec<_> = series
        .iter()
        .flat_map(|one| one.to_new_readings(offset))
        .collect();

    let store = open_store(data_dir)?;
    let now_ms = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(0);
    let queued = store
        .enqueue_readings_once(&readings, now_ms)
        .with_context(|| format!("{name}: nothing was queued"))?;

    say!(
        "queued {} readings from {name} in {} ({} already in the outbox)",
        queued.len(),
        store.path().display(),
        readings.len() - queued.len()
    );
    for one in &series {
        if let (Some(first), Some(last)) = (one.readings.first(), one.readings.last()) {
            say!(
                "  {}: {} readings, {} to {}, register {} kWh",
                one.meter_id,
                one.readings.len(),
                reading_import::local_text(first.0),
                reading_import::local_text(last.0),
                reading_import::decimal::format_kwh(last.1)
            );
        }
    }
    Ok(())
}

/// Example of the meter id form in error messages.
const EXAMPLE_METER_ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

/// Splits `--meter` into meter ids and checks that each is a UUID, because
/// the server identifies meters by UUID and sync can never send a reading
/// queued under another name.
fn meter_ids_of(meter: Option<&str>) -> anyhow::Result<Vec<String>> {
    let Some(meter) = meter else {
        anyhow::bail!(
            "--meter is missing; give the id that `sharepay meter add` or `sharepay meter list` \
             prints, such as {EXAMPLE_METER_ID}"
        );
    };
    meter
        .split(',')
        .map(|id| {
            let id = id.trim();
            check_meter_id("--meter", id)?;
            Ok(id.to_owned())
        })
        .collect()
}

/// Checks that `id`, given as `argument`, is a meter id (a UUID).
pub fn check_meter_id(argument: &str, id: &str) -> anyhow::Result<()> {
    if uuid::Uuid::try_parse(id).is_err() {
        anyhow::bail!(
            "{argument}: {id:?} is not a meter id; use the id that `sharepay meter add` or \
             `sharepay meter list` prints, such as {EXAMPLE_METER_ID}"
        );
    }
    Ok(())
}

/// Prints the outbox: per meter, the number of items in each state and
/// the latest register value, then each flagged or rejected reading with
/// the reasons the server gave.
pub fn list(data_dir: &Path) -> anyhow::Result<()> {
    let store = open_store(data_dir)?;
    let items = store.outbox_items()?;
    let mut by_meter: BTreeMap<&str, Vec<&OutboxItem>> = BTreeMap::new();
    for item in &items {
        by_meter
            .entry(&item.reading.meter_id)
            .or_default()
            .push(item);
    }

    say!("{} in the outbox", crate::count(items.len(), "reading"));
    for (meter, items) in by_meter {
        let queued = items.iter().filter(|i| !i.state.is_final()).count();
        let accepted = items
            .iter()
            .filter(|i| i.state == OutboxState::Accepted)
            .count();
        let flagged = items
            .iter()
            .filter(|i| matches!(i.state, OutboxState::Flagged { .. }))
            .count();
        let rejected = items
            .iter()
            .filter(|i| matches!(i.state, OutboxState::Rejected { .. }))
            .count();
        let latest = items.last().map_or("", |i| i.reading.value.as_str());
        say!(
            "  {meter}: queued {queued}, accepted {accepted}, flagged {flagged}, rejected {rejected}, latest register {latest}"
        );
        for item in items {
            let (label, reasons) = match &item.state {
                OutboxState::Flagged { reasons } => ("flagged", reasons),
                OutboxState::Rejected { reasons } => ("rejected", reasons),
                _ => continue,
            };
            let reasons = if reasons.is_empty() {
                "no reason given".to_owned()
            } else {
                reasons.join("; ")
            };
            say!(
                "    {label}: register {} at {}: {reasons}",
                item.reading.value,
                item.reading.reading_time
            );
        }
    }
    Ok(())
}

/// Queues one reading typed by the user, which `sharepay sync` sends.
pub fn submit(
    client: &SharePayClient,
    meter_id: &str,
    value: &str,
    reading_time: Option<&str>,
    estimated: bool,
) -> anyhow::Result<()> {
    let reading_time = match reading_time {
        Some(time) => time.to_owned(),
        None => time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .context("cannot format the current time")?,
    };
    let item = client.submit_reading(NewReading {
        meter_id: meter_id.to_owned(),
        value: value.to_owned(),
        reading_time,
        kind: if estimated {
            ReadingKind::Estimated
        } else {
            ReadingKind::Actual
        },
        photo_sha256: None,
        location: None,
    })?;
    say!(
        "queued reading {} of meter {} at {}; run `sharepay sync` to send it",
        item.reading.value,
        item.reading.meter_id,
        item.reading.reading_time
    );
    Ok(())
}
