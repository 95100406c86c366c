//! `sharepay-server`: runs the SharePay API over HTTPS, and checks or
//! exports its audit trail.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sharepay_server::config::{CONFIG_FILE_ENV, DatabaseUrl, ServerConfig};
use sharepay_server::data::{DataLayer, OpenMode};
use sharepay_server::{observability, start, vault};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Runs the SharePay API server over HTTPS (TLS 1.3 only).
///
/// On first start it creates the data directory with a keyring, a local CA
/// and server certificate, and an encrypted SQLCipher database. Settings come
/// from defaults, then the configuration file, then SHAREPAY_* environment
/// variables, then these flags.
#[derive(Debug, Parser)]
#[command(name = "sharepay-server", version)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = CONFIG_FILE_ENV)]
    config: Option<PathBuf>,

    /// Folder for the database, keyring and TLS files; created if missing
    /// [env: SHAREPAY_DATA_DIR; default: sharepay-data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,

    /// Address and port to listen on; port 0 picks a free port
    /// [env: SHAREPAY_LISTEN; default: 127.0.0.1:8443].
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,

    /// PostgreSQL URL (postgres://user@host:port/database) to use instead of
    /// the embedded SQLCipher file [env: SHAREPAY_DATABASE_URL]. A password
    /// here is visible to other local users; prefer the environment.
    #[arg(long, global = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTPS server (the default).
    Serve,
    /// Run the card vault as its own service: a phone-facing listener and an
    /// API-facing listener that requires a client certificate (mTLS).
    ///
    /// By default it keeps its data in DATA_DIR/vault and accepts client
    /// certificates issued by the API's local CA, DATA_DIR/tls/ca.pem, so
    /// point --data-dir at the API server's data directory.
    Vault {
        /// Address of the phone-facing listener [default: 127.0.0.1:8444].
        #[arg(long)]
        phone_listen: Option<SocketAddr>,
        /// Address of the API-facing mTLS listener [default: 127.0.0.1:8445].
        #[arg(long)]
        api_listen: Option<SocketAddr>,
        /// PEM file of the CA whose client certificates are accepted
        /// [default: DATA_DIR/tls/ca.pem].
        #[arg(long)]
        client_ca: Option<PathBuf>,
        /// Folder of the vault's keyring, database and TLS files
        /// [default: DATA_DIR/vault].
        #[arg(long)]
        vault_data_dir: Option<PathBuf>,
    },
    /// Check or export the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Give the registered user with this email the admin system role,
    /// which may force other users to log out.
    GrantAdmin {
        /// Email address of the account.
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the HMAC chain; print "N entries verified" or name the first
    /// broken entry and exit with status 1.
    Verify,
    /// Write entries as JSON lines to standard output.
    Export {
        /// Only entries recorded at or after this RFC 3339 time, such as
        /// 2026-12-01T00:00:00Z.
        #[arg(long)]
        since: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("sharepay-server: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = observability::init_tracing(config.http.log_format) {
        eprintln!("sharepay-server: {message}");
        return ExitCode::FAILURE;
    }

    match cli.command {
        None | Some(Command::Serve) => serve(config).await,
        Some(Command::Vault {
            phone_listen,
            api_listen,
            client_ca,
            vault_data_dir,
        }) => {
            let mut config = config;
            let settings = &mut config.vault;
            settings.phone_listen = phone_listen.or(settings.phone_listen);
            settings.api_listen = api_listen.or(settings.api_listen);
            settings.client_ca_file = client_ca.or(settings.client_ca_file.take());
            settings.data_dir = vault_data_dir.or(settings.data_dir.take());
            serve_vault(config).await
        }
        Some(Command::Audit {
            command: AuditCommand::Verify,
        }) => audit_verify(config).await,
        Some(Command::Audit {
            command: AuditCommand::Export { since },
        }) => audit_export(config, since.as_deref()).await,
        Some(Command::User {
            command: UserCommand::GrantAdmin { email },
        }) => grant_admin(config, &email).await,
    }
}

fn load_config(cli: &Cli) -> Result<ServerConfig, String> {
    let mut config =
        ServerConfig::load(cli.config.as_deref(), std::env::vars()).map_err(|e| e.to_string())?;
    if let Some(data_dir) = &cli.data_dir {
        config.data_dir = data_dir.clone();
    }
    if let Some(listen) = cli.listen {
        config.listen = listen;
    }
    if let Some(url) = &cli.database_url {
        config.database_url = Some(DatabaseUrl::new(url));
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Prints the start-up lines. A reader that closed stdout early (a script
/// that read only the URL) must not stop the server, so write errors are
/// logged instead of panicking as `println!` would.
fn print_startup_lines(lines: &[String]) {
    use std::io::Write;

    let mut stdout = std::io::stdout().lock();
    for line in lines {
        if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
            tracing::warn!(error = %e, "cannot write the start-up lines to stdout");
            return;
        }
    }
}

async fn serve(config: ServerConfig) -> ExitCode {
    // Listen from the start, so Ctrl-C during a slow start-up (key
    // derivation, migrations) stops the server instead of being lost.
    let mut signal = tokio::spawn(wait_for_signal());
    let server = tokio::select! {
        started = start(config) => match started {
            Ok(server) => server,
            Err(e) => {
                eprintln!("sharepay-server: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ = &mut signal => {
            eprintln!("sharepay-server: stopped by a signal during start-up");
            return ExitCode::FAILURE;
        }
    };

    // These lines go to stdout, one per line, so scripts can read them.
    let mut lines = vec![
        format!("listening: {}", server.url),
        format!("ca-certificate: {}", server.ca_certificate_path.display()),
    ];
    lines.extend(
        server
            .spki_pins
            .iter()
            .map(|pin| format!("spki-pin-sha256: {pin}")),
    );
    lines.extend(server.vault_startup_lines.iter().cloned());
    print_startup_lines(&lines);

    let shutdown = server.shutdown_handle();
    tokio::spawn(async move {
        let _ = signal.await;
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

async fn serve_vault(config: ServerConfig) -> ExitCode {
    let vault = match vault::start_standalone(&config, &config.data_dir).await {
        Ok(vault) => vault,
        Err(e) => {
            eprintln!("sharepay-server vault: {e}");
            return ExitCode::FAILURE;
        }
    };
    print_startup_lines(&vault.startup_lines());

    let shutdown = vault.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("received a shutdown signal");
        let _ = shutdown.send(true);
    });
    vault.wait().await;
    ExitCode::SUCCESS
}

async fn audit_verify(config: ServerConfig) -> ExitCode {
    let data = match DataLayer::open(&config, OpenMode::ExistingOnly).await {
        Ok(data) => data,
        Err(e) => {
            eprintln!("sharepay-server audit verify: {e}");
            return ExitCode::from(2);
        }
    };
    match data.audit.verify().await {
        Ok(report) => match report.broken {
            None => {
                println!("{} entries verified", report.verified);
                ExitCode::SUCCESS
            }
            Some(broken) => {
                println!(
                    "audit chain broken at entry {}: {} ({} entries before it verified)",
                    broken.id, broken.problem, report.verified
                );
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("sharepay-server audit verify: {e}");
            ExitCode::from(2)
        }
    }
}

async fn grant_admin(config: ServerConfig, email: &str) -> ExitCode {
    let data = match DataLayer::open(&config, OpenMode::ExistingOnly).await {
        Ok(data) => data,
        Err(e) => {
            eprintln!("sharepay-server user grant-admin: {e}");
            return ExitCode::from(2);
        }
    };
    match sharepay_server::identity::admin::grant_admin(&data, email).await {
        Ok(user_id) => {
            println!("granted the admin role to user {user_id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sharepay-server user grant-admin: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn audit_export(config: ServerConfig, since: Option<&str>) -> ExitCode {
    let since = match since
        .map(|text| OffsetDateTime::parse(text, &Rfc3339))
        .transpose()
    {
        Ok(since) => since,
        Err(e) => {
            eprintln!(
                "sharepay-server audit export: --since must be an RFC 3339 time such as \
                 2026-12-01T00:00:00Z: {e}"
            );
            return ExitCode::from(2);
        }
    };
    let data = match DataLayer::open(&config, OpenMode::ExistingOnly).await {
        Ok(data) => data,
        Err(e) => {
            eprintln!("sharepay-server audit export: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout().lock();
    match data.audit.export(since, &mut stdout).await {
        Ok(count) => {
            tracing::info!(entries = count, "exported audit entries");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sharepay-server audit export: {e}");
            ExitCode::from(2)
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
