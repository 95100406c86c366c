//! `sharepay-server`: runs the SharePay API over HTTPS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sharepay_server::{ServerConfig, start};

/// Runs the SharePay API server over HTTPS (TLS 1.3 only).
///
/// On first start it creates the data directory with a keyring, a local CA
/// and server certificate, and an encrypted SQLCipher database.
#[derive(Debug, Parser)]
#[command(name = "sharepay-server", version)]
struct Cli {
    /// Folder for the database, keyring and TLS files; created if missing.
    #[arg(long, env = "SHAREPAY_DATA_DIR", default_value = "sharepay-data")]
    data_dir: PathBuf,

    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, env = "SHAREPAY_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let config = ServerConfig {
        data_dir: cli.data_dir,
        listen: cli.listen,
        ..ServerConfig::default()
    };
    let server = match start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("sharepay-server: {e}");
            return ExitCode::FAILURE;
        }
    };

    // These lines go to stdout, one per line, so scripts can read them.
    println!("listening: {}", server.url);
    println!("ca-certificate: {}", server.ca_certificate_path.display());
    for pin in &server.spki_pins {
        println!("spki-pin-sha256: {pin}");
    }

    let shutdown = server.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("received a shutdown signal");
        let _ = shutdown.send(true);
    });
    match server.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sharepay-server: the server task failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
