//! `sharepay demo`: the story of one shared house on real meter data,
//! against a server started in this process on a free loopback port with a
//! fresh data directory.
//!
//! Every person has a phone of their own: a data directory with its own key
//! file and encrypted store. People act only through
//! [`sharepay_client::SharePayClient`] calls, and the demo sends no HTTP of
//! its own. Codes the server emails are read from its development mailbox.
//! Each step prints what happened, and the demo fails as soon as a step
//! does not turn out as expected.

mod household;
mod mailbox;
mod mfa;
mod money;
mod people;
mod readings;
mod relay;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sharepay_client::{BackoffPolicy, DeviceInfo, DeviceInfoError, DeviceInfoProvider};
use sharepay_domain::authz::Role;
use sharepay_server::{RunningServer, ServerConfig};

use self::household::House;
use self::mailbox::Mailbox;
use self::people::{Person, PhoneConnection};
use self::relay::NetworkRelay;

const HOUSEHOLD_NAME: &str = "House near Paris";

/// A person of the story: role label, email and password.
struct Account {
    role_label: &'static str,
    email: &'static str,
    password: &'static str,
}

const PRIMARY_PAYER: Account = Account {
    role_label: "primary payer",
    email: "primary.payer@example.org",
    password: "Harbour-Lantern-Quill-731!",
};

/// One participant per dwelling unit, in the order of [`household::METER_PLANS`].
const PARTICIPANTS: [Account; 3] = [
    Account {
        role_label: "participant of unit 1",
        email: "unit1.participant@example.org",
        password: "Quarry-Violet-Anchor-284!",
    },
    Account {
        role_label: "participant of unit 2",
        email: "unit2.participant@example.org",
        password: "Saffron-Glacier-Pebble-903!",
    },
    Account {
        role_label: "participant of unit 3",
        email: "unit3.participant@example.org",
        password: "Tundra-Mosaic-Falcon-447!",
    },
];

const METER_READER: Account = Account {
    role_label: "meter reader",
    email: "meter.reader@example.org",
    password: "Copper-Kettle-Meadow-551!",
};

/// Retry timing of the reader's outbox: short, so the offline sync gives up
/// within a second instead of the minutes a phone would wait.
const READER_BACKOFF: BackoffPolicy = BackoffPolicy {
    base: Duration::from_millis(20),
    cap: Duration::from_millis(100),
    max_attempts: 3,
};

pub async fn run() -> anyhow::Result<()> {
    let workspace = tempfile::tempdir().context("cannot create a temporary folder")?;
    let phones = workspace.path().join("phones");
    let server_dir = workspace.path().join("server");

    step("Starting the SharePay server in this process");
    let server = start_server(&server_dir).await?;
    let mailbox = Mailbox::new(&server_dir);
    let relay = NetworkRelay::start(server.local_addr)
        .await
        .context("cannot start the reader's network relay")?;
    detail(&format!(
        "the meter reader's phone reaches it through a loopback relay at {}",
        relay.url()
    ));

    step("Step 1: the primary payer signs up with TOTP MFA and creates the household");
    let payer = sign_up(&PRIMARY_PAYER, &phones, direct(&server)).await?;
    let authenticator = mfa::enroll_totp(&payer, &mailbox).await?;
    mfa::log_in_with_totp(&payer, PRIMARY_PAYER.password, &authenticator).await?;
    let house = House::create(&payer, HOUSEHOLD_NAME).await?;

    step("Step 1: the primary payer invites one participant per unit and a meter reader");
    let mut participants = Vec::with_capacity(PARTICIPANTS.len());
    for account in &PARTICIPANTS {
        let participant = sign_up(account, &phones, direct(&server)).await?;
        house
            .invite(&payer, &participant, Role::Participant)
            .await?;
        participants.push(participant);
    }
    let reader_connection = PhoneConnection {
        server: &server,
        base_url: relay.url(),
        backoff: READER_BACKOFF,
    };
    let reader = sign_up(&METER_READER, &phones, reader_connection).await?;
    house.invite(&payer, &reader, Role::MeterReader).await?;
    house.assign_reader(&payer, &reader).await?;

    step("Step 2: the meter reader, offline, queues the readings of the minutely file");
    let round = readings::plan_round(&house)?;
    readings::queue_offline(&reader, &relay, &round).await?;

    step("Step 2: the meter reader is back online and syncs");
    readings::sync_online(&reader, &relay, &house, &round).await?;

    step("Step 3: the primary payer enters the electricity bill, reads the split and approves it");
    let bill = money::enter_and_approve_bill(&payer, &house, &participants).await?;

    step("Step 4: the participants save cards at the vault and pay their shares");
    money::pay_shares(&participants, &mailbox, &bill).await?;

    step("Step 5: the statements show every participant's balance settled");
    money::check_statements(&payer, &house, &participants).await?;

    drop(relay);
    server.shutdown().await;
    step("Demo finished: every step succeeded");
    Ok(())
}

async fn start_server(data_dir: &Path) -> anyhow::Result<RunningServer> {
    let server = sharepay_server::start(ServerConfig {
        data_dir: data_dir.to_path_buf(),
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
    for pin in &server.spki_pins {
        detail(&format!("phones pin SPKI SHA-256 {pin} over TLS 1.3"));
    }
    Ok(server)
}

/// Returns a connection straight to the server, with the default retry
/// timing.
fn direct(server: &RunningServer) -> PhoneConnection<'_> {
    PhoneConnection {
        server,
        base_url: server.url.clone(),
        backoff: BackoffPolicy::default(),
    }
}

async fn sign_up(
    account: &Account,
    phones: &Path,
    connection: PhoneConnection<'_>,
) -> anyhow::Result<Person> {
    let phone_dir = phones.join(account.email);
    Person::sign_up(
        account.role_label,
        account.email,
        account.password,
        &phone_dir,
        connection,
    )
    .await
}

fn step(text: &str) {
    say!("==> {text}");
}

fn detail(text: &str) {
    say!("    {text}");
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
