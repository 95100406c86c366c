//! Logs and metrics: the `tracing` subscriber (text or JSON), the
//! Prometheus recorder, and the admin listener that serves `/metrics`.
//!
//! The admin listener speaks plain HTTP, so it must stay on loopback (the
//! default, `127.0.0.1:9464`) or a network only operators reach. Metrics
//! carry method, route pattern and status only: never a header, a body,
//! a user id or a raw path with ids in it.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http_config::LogFormat;

const LATENCY_METRIC: &str = "http_request_duration_seconds";
/// Upper bounds of the latency histogram buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Interval at which histogram samples are folded in between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the global `tracing` subscriber writing to standard error, with
/// the level filter from `RUST_LOG` (default `info`).
pub fn init_tracing(format: LogFormat) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(|e| format!("installing the log subscriber failed: {e}"))
}

/// Counts a finished request and records its latency.
pub fn record_request(method: &str, route: &str, status: u16, latency: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!(LATENCY_METRIC, &labels).record(latency.as_secs_f64());
}

/// Installs the process-wide Prometheus recorder on first call and returns
/// its handle. Every server in the process shares it.
pub fn metrics_handle() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE.get_or_init(install_recorder).clone()
}

fn install_recorder() -> Result<PrometheusHandle, String> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(LATENCY_METRIC.to_owned()), &LATENCY_BUCKETS)
        .map_err(|e| format!("configuring metric buckets failed: {e}"))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("installing the metrics recorder failed: {e}"))?;
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            }
        })
        .map_err(|e| format!("starting the metrics upkeep thread failed: {e}"))?;
    Ok(handle)
}

/// Binds the admin listener and serves `GET /metrics` until `shutdown`
/// turns true. Returns the bound address.
pub async fn serve_metrics(
    listen: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SocketAddr, String> {
    let handle = metrics_handle()?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} for metrics: {e}"))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the metrics listener's address: {e}"))?;
    let router = Router::new().route("/metrics", get(move || async move { handle.render() }));
    tokio::spawn(async move {
        let stopped = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    });
    tracing::info!(%local_addr, "serving metrics over plain HTTP");
    Ok(local_addr)
}
