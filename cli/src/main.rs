//! `sharepay`: the terminal shell of the SharePay phone core.

mod demo;
mod file_key_wrapper;
mod reading_command;
mod reading_import;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// SharePay in a terminal: drives the same core as the Android and iOS apps.
#[derive(Debug, Parser)]
#[command(name = "sharepay", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts a server in this process with a fresh temporary data directory
    /// and walks through sign-up, login and reading the profile over pinned
    /// TLS 1.3, printing each step.
    Demo,
    /// Meter readings in this terminal's phone store.
    #[command(subcommand)]
    Reading(ReadingCommand),
}

/// Location of the terminal's phone store.
#[derive(Debug, clap::Args)]
struct PhoneStoreArgs {
    /// Folder of the phone store and its key file.
    #[arg(
        long,
        value_name = "DIR",
        env = "SHAREPAY_PHONE_DIR",
        default_value = "sharepay-phone"
    )]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum ReadingCommand {
    /// Imports a meter data file as register readings and queues them in the
    /// offline outbox: all of them, or none if the file has an error.
    ///
    /// Recognised files: hourly usage (DateTime,Consumption kWh,...) and
    /// minutely sub-metering (timestamp,global_active_power_kw,...). The
    /// latter gives four meters: ID-kitchen, ID-laundry, ID-water-heater and
    /// ID-shared (the whole house minus the three sub-meters).
    Import {
        /// CSV file to read, or builtin:hourly or builtin:minutely for the
        /// data sets built into this program.
        file: String,
        /// Meter id (hourly file) or meter id prefix (minutely file);
        /// default: the file name without its extension.
        #[arg(long, value_name = "ID")]
        meter: Option<String>,
        /// Offset from UTC of the file's local times, such as -05:00.
        #[arg(
            long,
            value_name = "OFFSET",
            default_value = "+00:00",
            allow_hyphen_values = true
        )]
        utc_offset: String,
        #[command(flatten)]
        store: PhoneStoreArgs,
    },
    /// Lists the outbox per meter: how many readings are queued, accepted,
    /// flagged or rejected, and the latest register value.
    List {
        #[command(flatten)]
        store: PhoneStoreArgs,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let result = match cli.command {
        Command::Demo => demo::run().await,
        Command::Reading(ReadingCommand::Import {
            file,
            meter,
            utc_offset,
            store,
        }) => reading_command::import(&file, meter.as_deref(), &utc_offset, &store.data_dir),
        Command::Reading(ReadingCommand::List { store }) => reading_command::list(&store.data_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sharepay: {e:#}");
            ExitCode::FAILURE
        }
    }
}
