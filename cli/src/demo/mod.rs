//! `sharepay demo`: the whole path through every layer, against a server
//! started in this process on a free loopback port with a fresh data
//! directory.

use std::sync::Arc;

use anyhow::{Context, bail};
use secrecy::SecretString;
use sharepay_client::{
    ClientConfig, DeviceInfo, DeviceInfoError, DeviceInfoProvider, SharePayClient,
};
use sharepay_server::ServerConfig;

use crate::file_key_wrapper::FileKeyWrapper;
use crate::reading_import::{self, EMBEDDED_HOURLY};

const DEMO_EMAIL: &str = "primary.payer@example.org";
const DEMO_PASSWORD: &str = "Harbour-Lantern-7315!";

pub async fn run() -> anyhow::Result<()> {
    let workspace = tempfile::tempdir().context("cannot create a temporary folder")?;
    let server_dir = workspace.path().join("server");
    let phone_dir = workspace.path().join("phone");

    step("Starting the SharePay server in this process");
    let server = sharepay_server::start(ServerConfig {
        data_dir: server_dir.clone(),
        listen: "127.0.0.1:0".parse().context("invalid listen address")?,
        http: sharepay_server::http_config::HttpConfig {
            // The demo needs no metrics listener.
            metrics_listen: None,
            ..Default::default()
        },
        ..ServerConfig::default()
    })
    .await
    .context("the server failed to start")?;
    detail(&format!("listening on {}", server.url));
    detail(&format!(
        "CA certificate: {}",
        server.ca_certificate_path.display()
    ));

    step("Opening the phone's encrypted store and pinned TLS 1.3 connection");
    let key_wrapper = FileKeyWrapper::open_or_create(&phone_dir.join("desktop-key.bin"))
        .map_err(|e| anyhow::anyhow!("key file: {e}"))?;
    let client = SharePayClient::new(
        ClientConfig::new(
            server.url.clone(),
            server.ca_certificate_pem.clone(),
            server.spki_pins.clone(),
            phone_dir.clone(),
        ),
        Arc::new(key_wrapper),
    )?;
    for pin in &server.spki_pins {
        detail(&format!("pinned SPKI SHA-256: {pin}"));
    }
    detail(&format!("store: {}", client.store_path().display()));
    client.set_device_info_provider(Arc::new(TerminalDevice));
    if let Some(fingerprint) = client.device_fingerprint()? {
        detail(&format!("device fingerprint: {fingerprint}"));
    }

    step(&format!("Registering {DEMO_EMAIL}"));
    let user_id = client
        .register(DEMO_EMAIL, SecretString::from(DEMO_PASSWORD))
        .await
        .context("registration failed")?;
    detail(&format!("user id {user_id}"));

    step("Logging in over pinned TLS 1.3");
    client
        .login(DEMO_EMAIL, SecretString::from(DEMO_PASSWORD))
        .await
        .context("login failed")?;
    detail(&format!(
        "server certificate verified: chains to the local CA and its key matches pin {}",
        server.spki_pins.first().map_or("", String::as_str)
    ));
    detail("access token kept in memory; refresh token stored in the encrypted store");

    step("Reading /v1/me");
    let me = client.me().await.context("reading the profile failed")?;
    if me.email != DEMO_EMAIL {
        bail!("the server returned {} instead of {DEMO_EMAIL}", me.email);
    }
    detail(&format!(
        "user_id={} email={} created_at={}",
        me.user_id, me.email, me.created_at
    ));

    step("Queueing the built-in hourly meter data in the offline outbox");
    let series = reading_import::parse_file(
        "electricity-usage-hourly.csv",
        EMBEDDED_HOURLY,
        Some("demo-home"),
    )?;
    let readings: Vec<_> = series
        .iter()
        .flat_map(|one| one.to_new_readings(time::UtcOffset::UTC))
        .collect();
    let queued = client.submit_readings(&readings)?;
    let last = queued.last().map_or("", |item| item.reading.value.as_str());
    detail(&format!(
        "{} register readings of meter demo-home queued, the last at {last} kWh",
        queued.len()
    ));
    // NOTE: the demo creates no household or meter on the server yet, so the
    // readings stay queued instead of being synced.
    detail(
        "each has a UUIDv7 idempotency key and stays queued: this demo creates no server meter yet",
    );

    server.shutdown().await;
    step("Demo finished: every step succeeded");
    Ok(())
}

fn step(text: &str) {
    println!("==> {text}");
}

fn detail(text: &str) {
    println!("    {text}");
}

/// The terminal's device attributes for the fingerprint.
pub(crate) struct TerminalDevice;

impl DeviceInfoProvider for TerminalDevice {
    fn device_info(&self) -> Result<DeviceInfo, DeviceInfoError> {
        let variable =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        Ok(DeviceInfo {
            platform: std::env::consts::OS.to_owned(),
            os_version: std::env::consts::ARCH.to_owned(),
            model: "terminal".to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            locale: variable("LANG", "C"),
            time_zone: variable("TZ", "UTC"),
            extra: Default::default(),
        })
    }
}
