//! `sharepay`: the terminal shell of the SharePay phone core.

mod demo;
mod file_key_wrapper;

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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sharepay: {e:#}");
            ExitCode::FAILURE
        }
    }
}
