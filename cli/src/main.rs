//! `sharepay`: the terminal shell of the SharePay phone core.

#[macro_use]
mod output;

mod account_command;
mod demo;
mod file_key_wrapper;
mod household_command;
mod mfa_command;
mod money_command;
mod private_files;
mod profile;
mod reading_command;
mod reading_import;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sharepay_domain::wire::households::CreateMeterRequest;

use crate::profile::{ConnectionArgs, open_client};

/// SharePay in a terminal: drives the same core as the Android and iOS apps.
///
/// The store key is wrapped by a key file in the data directory, which is
/// fit for desktops and tests only: whoever reads that file can decrypt the
/// store.
#[derive(Debug, Parser)]
#[command(name = "sharepay", version)]
struct Cli {
    #[command(flatten)]
    store: PhoneStoreArgs,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts a server in this process with a fresh temporary data directory
    /// and runs the story of a shared house on real meter data: sign-ups,
    /// the household and its meters, invitations, and readings queued
    /// offline, then synced. Prints each step and exits non-zero when one
    /// fails.
    Demo,
    /// Logs in (with --register, creates the account first) and saves the
    /// connection profile. The password is read from SHAREPAY_PASSWORD or
    /// from the first line of standard input. When the server requires a
    /// second check, the code is read from SHAREPAY_MFA_CODE or the next
    /// line of standard input.
    Login {
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// Create the account before logging in.
        #[arg(long)]
        register: bool,
        /// Method of the second check, if the server requires one: totp,
        /// email_code, sms_code or recovery_code.
        #[arg(long, value_name = "METHOD", env = "SHAREPAY_MFA_METHOD")]
        mfa_method: Option<String>,
    },
    /// Ends this device's session on the server and wipes it locally;
    /// queued readings stay.
    Logout,
    /// Households, invitations and members.
    #[command(subcommand)]
    Household(HouseholdCommand),
    /// Meters and their readers.
    #[command(subcommand)]
    Meter(MeterCommand),
    /// Meter readings in this terminal's phone store.
    #[command(subcommand)]
    Reading(ReadingCommand),
    /// Sends the queued readings to the server.
    Sync,
    /// The signed-in user's sessions on every device.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Second factors and step-up checks.
    #[command(subcommand)]
    Mfa(mfa_command::MfaCommand),
    #[command(flatten)]
    Money(money_command::MoneyCommand),
}

/// Location of the terminal's phone store.
#[derive(Debug, clap::Args)]
struct PhoneStoreArgs {
    /// Folder of the phone store, its key file and the connection profile.
    #[arg(
        long,
        value_name = "DIR",
        env = "SHAREPAY_PHONE_DIR",
        default_value = "sharepay-phone",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum HouseholdCommand {
    /// Creates a household with you as its primary payer.
    Create { name: String },
    /// Lists your households and your role in each.
    List,
    /// Shows one household.
    Show { household_id: String },
    /// Creates an invitation code for a role.
    Invite {
        household_id: String,
        /// primary_payer, participant or meter_reader.
        #[arg(long, default_value = "participant")]
        role: String,
        /// Hours until the code expires, 1 to 720; the server's default
        /// (72) when absent.
        #[arg(long, value_name = "HOURS")]
        expires_in_hours: Option<u32>,
    },
    /// Joins a household with an invitation code.
    Accept { code: String },
    /// Lists the members of a household.
    Members { household_id: String },
}

#[derive(Debug, Subcommand)]
enum MeterCommand {
    /// Adds a meter to a household.
    Add {
        household_id: String,
        #[arg(long)]
        serial: String,
        /// kilowatt_hour, cubic_metre, litre, cubic_foot or megajoule.
        #[arg(long, default_value = "kilowatt_hour")]
        unit: String,
        /// Digits before the decimal point, 1 to 12.
        #[arg(long, default_value_t = 6)]
        digits: u8,
        /// The dwelling unit the meter belongs to; absent for a shared meter.
        #[arg(long, value_name = "UNIT")]
        dwelling_unit: Option<String>,
    },
    /// Lists the meters of a household you may see.
    List { household_id: String },
    /// Lets a member with the meter reader role read a meter.
    Assign { meter_id: String, user_id: String },
}

#[derive(Debug, Subcommand)]
enum ReadingCommand {
    /// Imports a meter data file as register readings and queues them in the
    /// offline outbox: all of them, or none if the file has an error.
    /// Importing the same file again queues nothing twice.
    ///
    /// Recognised files: hourly usage (DateTime,Consumption kWh,...) and
    /// minutely sub-metering (timestamp,global_active_power_kw,...). The
    /// latter gives four meters: kitchen, laundry, water heater and shared
    /// (the whole house minus the three sub-meters).
    Import {
        /// CSV file to read, or builtin:hourly or builtin:minutely for the
        /// data sets built into this program.
        file: String,
        /// Meter id from `sharepay meter add` or `sharepay meter list`. A
        /// minutely file needs four ids separated by commas: kitchen,
        /// laundry, water heater and shared, in that order.
        #[arg(long, value_name = "ID[,ID...]")]
        meter: Option<String>,
        /// Offset from UTC of the file's local times, such as -05:00.
        #[arg(
            long,
            value_name = "OFFSET",
            default_value = "+00:00",
            allow_hyphen_values = true
        )]
        utc_offset: String,
    },
    /// Lists the outbox per meter: how many readings are queued, accepted,
    /// flagged or rejected, and the latest register value.
    List,
    /// Queues one register reading, which `sharepay sync` sends.
    Submit {
        /// Meter id from `sharepay meter add` or `sharepay meter list`.
        meter_id: String,
        /// Register value, such as 12345.678.
        value: String,
        /// When the register was read, RFC 3339 (default: now).
        #[arg(long, value_name = "TIME")]
        time: Option<String>,
        /// The value is an estimate, not read off the register.
        #[arg(long)]
        estimated: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SessionsCommand {
    /// Lists your sessions, oldest first.
    List,
    /// Ends one session by its id.
    End { session_id: String },
    /// Ends every session except this device's.
    EndOthers,
}

/// Formats `count` with `noun`, such as "1 session" or "2 sessions".
fn count(count: usize, noun: &str) -> String {
    format!("{count} {}", self::noun(count, noun))
}

/// Returns `noun` with an "s" unless `count` is 1. Every noun the shell
/// counts has a regular plural.
fn noun(count: usize, noun: &str) -> String {
    if count == 1 {
        noun.to_owned()
    } else {
        format!("{noun}s")
    }
}

/// Log filter when `RUST_LOG` is unset: warnings of the phone core, and
/// only errors of everything else, the demo's embedded server included,
/// whose start-up warnings concern a production set-up. A directive matches
/// targets by prefix, so `sharepay` would match `sharepay_server` too.
const DEFAULT_LOG_FILTER: &str = "error,sharepay_client=warn";

/// Sends log lines to standard error, so they never mix into output a
/// script reads, with ANSI colours only when standard error is a terminal.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();

    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sharepay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = cli.store.data_dir.as_path();
    let connection = &cli.connection;
    match cli.command {
        Command::Demo => demo::run().await,
        Command::Login {
            email,
            register,
            mfa_method,
        } => {
            let mfa_method = mfa_method.as_deref();
            account_command::login(data_dir, connection, &email, register, mfa_method).await
        }
        Command::Logout => account_command::logout(&open_client(data_dir, connection)?).await,
        Command::Household(command) => household(command, data_dir, connection).await,
        Command::Meter(command) => meter(command, data_dir, connection).await,
        Command::Reading(command) => reading(command, data_dir, connection),
        Command::Sync => account_command::sync(&open_client(data_dir, connection)?).await,
        Command::Mfa(command) => {
            mfa_command::run(&open_client(data_dir, connection)?, command).await
        }
        Command::Money(command) => {
            money_command::run(&open_client(data_dir, connection)?, command).await
        }
        Command::Sessions(command) => {
            let client = open_client(data_dir, connection)?;
            match command {
                SessionsCommand::List => account_command::list_sessions(&client).await,
                SessionsCommand::End { session_id } => {
                    account_command::end_session(&client, &session_id).await
                }
                SessionsCommand::EndOthers => account_command::end_other_sessions(&client).await,
            }
        }
    }
}

async fn household(
    command: HouseholdCommand,
    data_dir: &Path,
    connection: &ConnectionArgs,
) -> anyhow::Result<()> {
    let client = open_client(data_dir, connection)?;
    match command {
        HouseholdCommand::Create { name } => household_command::create(&client, &name).await,
        HouseholdCommand::List => household_command::list(&client).await,
        HouseholdCommand::Show { household_id } => {
            household_command::show(&client, &household_id).await
        }
        HouseholdCommand::Invite {
            household_id,
            role,
            expires_in_hours,
        } => household_command::invite(&client, &household_id, &role, expires_in_hours).await,
        HouseholdCommand::Accept { code } => household_command::accept(&client, &code).await,
        HouseholdCommand::Members { household_id } => {
            household_command::members(&client, &household_id).await
        }
    }
}

async fn meter(
    command: MeterCommand,
    data_dir: &Path,
    connection: &ConnectionArgs,
) -> anyhow::Result<()> {
    let client = open_client(data_dir, connection)?;
    match command {
        MeterCommand::Add {
            household_id,
            serial,
            unit,
            digits,
            dwelling_unit,
        } => {
            let meter = CreateMeterRequest {
                serial,
                unit: household_command::parse_unit(&unit)?,
                register_digits: digits,
                dwelling_unit,
            };
            household_command::add_meter(&client, &household_id, meter).await
        }
        MeterCommand::List { household_id } => {
            household_command::list_meters(&client, &household_id).await
        }
        MeterCommand::Assign { meter_id, user_id } => {
            household_command::assign(&client, &meter_id, &user_id).await
        }
    }
}

fn reading(
    command: ReadingCommand,
    data_dir: &Path,
    connection: &ConnectionArgs,
) -> anyhow::Result<()> {
    match command {
        ReadingCommand::Import {
            file,
            meter,
            utc_offset,
        } => reading_command::import(&file, meter.as_deref(), &utc_offset, data_dir),
        ReadingCommand::List => reading_command::list(data_dir),
        ReadingCommand::Submit {
            meter_id,
            value,
            time,
            estimated,
        } => {
            reading_command::check_meter_id("METER_ID", &meter_id)?;
            let client = open_client(data_dir, connection)?;
            reading_command::submit(&client, &meter_id, &value, time.as_deref(), estimated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_uses_singular_for_one() {
        assert_eq!(count(0, "session"), "0 sessions");
        assert_eq!(count(1, "session"), "1 session");
        assert_eq!(count(1, "saved card"), "1 saved card");
        assert_eq!(count(2, "household"), "2 households");
    }
}
