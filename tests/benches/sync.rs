//! Time to sync queued readings over loopback: a real server in this
//! process, a phone client with 10,000 readings queued offline, and one
//! `sync_now` until the outbox is drained. Run with
//! `cargo bench -p sharepay-e2e --bench sync`.
//!
//! The server and phone files go to the system temporary folder, so
//! `TMPDIR` chooses the disk. SHAREPAY_BENCH_READINGS changes the count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sharepay_client::clock::SystemClock;
use sharepay_e2e::TestServer;
use sharepay_e2e::phone::{growing_readings, household_with_reader, open_phone, sign_in};
use sharepay_server::http_config::{Rate, RateLimitRule};

const DEFAULT_READINGS: usize = 10_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count = std::env::var("SHAREPAY_BENCH_READINGS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_READINGS);
    // One account sends every reading; the default per-account budget
    // would make this a measure of the rate limiter.
    let server = TestServer::start_with(|config| {
        config.http.default_rate_limit = RateLimitRule {
            per_address: Some(Rate::per_minute(1_000_000)),
            per_account: Some(Rate::per_minute(1_000_000)),
        };
    })
    .await;
    let payer_dir = tempfile::tempdir().expect("phone dir");
    let reader_dir = tempfile::tempdir().expect("phone dir");
    let (payer, _) = open_phone(&server, payer_dir.path(), Arc::new(SystemClock));
    let (reader, _) = open_phone(&server, reader_dir.path(), Arc::new(SystemClock));
    sign_in(&payer, "bench.payer@example.org", true).await;
    sign_in(&reader, "bench.reader@example.org", true).await;
    let setup = household_with_reader(&payer, &reader).await;

    let queue_started = Instant::now();
    reader
        .submit_readings(&growing_readings(
            &setup.meter_id,
            count,
            time::macros::datetime!(2025-01-01 00:00 UTC),
            time::Duration::minutes(15),
        ))
        .expect("queue readings");
    let queue_time = queue_started.elapsed();

    let sync_started = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        let summary = reader.sync_now().await.expect("sync");
        if summary.pending == 0 || runs == 10 {
            break;
        }
    }
    let sync_time = sync_started.elapsed();
    let state = reader.sync_state().expect("sync state");
    assert_eq!(state.pending, 0, "readings left in the outbox: {state:?}");

    println!("queued {count} readings in {}", seconds(queue_time));
    println!(
        "synced {count} queued readings over loopback in {} ({:.0} readings/s, {} sync runs; \
         accepted {}, flagged {}, rejected {})",
        seconds(sync_time),
        count as f64 / sync_time.as_secs_f64(),
        runs,
        state.accepted,
        state.flagged,
        state.rejected
    );
    server.server.shutdown().await;
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}
