//! A storm of 100 concurrent logins against a live server: memory stays
//! bounded because Argon2 runs at most one hash per core, and a cheap
//! endpoint keeps answering. Prints the peak RSS and the p99 latency of
//! `GET /v1/health` when idle and during the storm.

mod http_support;
mod identity_support;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use http_support::{GOOD_PASSWORD, login_limited};
use identity_support::Live;
use sharepay_server::http_config::Rate;
use support::TestBackend;

const LOGINS: usize = 100;
const USERS: usize = 10;

/// Peak resident set size of this process (server and clients), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn p99(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[(samples.len() * 99).div_ceil(100) - 1]
}

/// Sends `GET /v1/health` every 20 ms until `stop` is set; returns latencies.
async fn probe_health(live: Arc<Live>, stop: Arc<std::sync::atomic::AtomicBool>) -> Vec<Duration> {
    let mut samples = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let started = Instant::now();
        let response = live
            .client
            .get(live.url("/v1/health"))
            .send()
            .await
            .expect("health");
        assert_eq!(response.status(), StatusCode::OK);
        samples.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_storm_stays_bounded() {
    let mut http = login_limited(10_000, &[]);
    http.default_rate_limit.per_address = Some(Rate::per_minute(10_000));
    let live = Arc::new(Live::start_with(TestBackend::sqlcipher().await, http).await);
    for user in 0..USERS {
        live.register(&format!("storm{user}@example.com")).await;
    }
    let rss_before = peak_rss_kib();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let idle_probe = tokio::spawn(probe_health(Arc::clone(&live), Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut idle = idle_probe.await.expect("idle probe");

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm_probe = tokio::spawn(probe_health(Arc::clone(&live), Arc::clone(&stop)));
    let started = Instant::now();
    let mut logins = Vec::new();
    for index in 0..LOGINS {
        let live = Arc::clone(&live);
        logins.push(tokio::spawn(async move {
            let body = json!({
                "email": format!("storm{}@example.com", index % USERS),
                "password": GOOD_PASSWORD,
            });
            live.client
                .post(live.url("/v1/auth/login"))
                .json(&body)
                .send()
                .await
                .expect("login")
                .status()
        }));
    }
    let mut succeeded = 0;
    let mut queue_full = 0;
    let mut shed = 0;
    for login in logins {
        match login.await.expect("login task") {
            StatusCode::OK => succeeded += 1,
            StatusCode::TOO_MANY_REQUESTS => queue_full += 1,
            StatusCode::SERVICE_UNAVAILABLE => shed += 1,
            other => panic!("unexpected login status {other}"),
        }
    }
    let storm_seconds = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut during = storm_probe.await.expect("storm probe");
    let rss_after = peak_rss_kib();

    let idle_p99 = p99(&mut idle);
    let storm_p99 = p99(&mut during);
    println!(
        "login storm: {LOGINS} concurrent logins in {storm_seconds:.1} s, {succeeded} succeeded, \
         {queue_full} answered 429, {shed} shed with 503"
    );
    println!(
        "peak RSS: {} MiB before the storm, {} MiB after",
        rss_before / 1024,
        rss_after / 1024
    );
    println!(
        "GET /v1/health p99: idle {:.1} ms ({} samples), during the storm {:.1} ms ({} samples)",
        idle_p99.as_secs_f64() * 1000.0,
        idle.len(),
        storm_p99.as_secs_f64() * 1000.0,
        during.len()
    );
    assert_eq!(succeeded + queue_full + shed, LOGINS);
    assert!(succeeded > 0);
    // Argon2 takes 19 MiB per running hash, at most one per core; 100
    // unbounded hashes would take about 1.9 GiB.
    let growth_mib = (rss_after.saturating_sub(rss_before)) / 1024;
    assert!(growth_mib < 400, "peak RSS grew by {growth_mib} MiB");
    assert!(
        storm_p99 < Duration::from_secs(2),
        "health p99 during the storm was {storm_p99:?}"
    );
}
