//! Shared helpers of the server's integration tests: a data layer on each
//! backend, opened the way the server opens it, with raw access to the
//! database underneath for tests that inspect or tamper with rows.
//!
//! PostgreSQL tests need a server at 127.0.0.1:5432 that lets user
//! `postgres` in without a password and has a database `test`. Each
//! backend creates its own uniquely named database and drops it when it is
//! dropped, also when the test fails. An unreachable server fails the test.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use secrecy::SecretString;
use sharepay_server::config::DatabaseUrl;
use sharepay_server::data::{DATABASE_FILE, DataLayer, OpenMode};
use sharepay_server::keys::KeyPurpose;
use sharepay_server::{RunningServer, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::NoTls;
use uuid::Uuid;

/// The database every test connects to first, to create its own.
const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The operator secret of every test keyring.
pub const TEST_OPERATOR_SECRET: &str = "conformance-operator-secret-1234";

/// A fresh PostgreSQL database, dropped (with its connections) on drop.
pub struct PostgresTestDatabase {
    pub name: String,
    pub url: String,
}

impl PostgresTestDatabase {
    pub async fn create() -> Self {
        let admin = admin_client().await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at 127.0.0.1:5432 as user postgres (database \
                 `test`): {e}. The postgres tests need it: start PostgreSQL (for example \
                 `service postgresql start`) and run the tests again"
            )
        });
        // The name is made of a UUID we generated; CREATE DATABASE takes no
        // bound parameter for an identifier.
        let name = format!("sharepay_test_{}", Uuid::now_v7().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e:?}"));
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        Self { name, url }
    }

    /// Opens a plain connection for raw SQL.
    pub async fn connect(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name));
        tokio::spawn(connection);
        client
    }
}

impl Drop for PostgresTestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop can run inside the test's runtime, so the cleanup gets a
        // thread and a runtime of its own.
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = admin_client().await.map_err(|e| e.to_string())?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| format!("{e:?}"))
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("the cleanup of test database {} panicked", self.name),
        }
    }
}

async fn admin_client() -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(ADMIN_URL, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A data layer on one backend, with the folder and database it owns.
/// Fields drop in order: the store's connections close before the
/// database is dropped.
pub struct TestBackend {
    pub config: ServerConfig,
    pub data: DataLayer,
    data_dir: tempfile::TempDir,
    postgres: Option<PostgresTestDatabase>,
}

impl TestBackend {
    /// Opens the embedded SQLCipher file in a temporary data directory.
    pub async fn sqlcipher() -> Self {
        Self::open(None).await
    }

    /// Opens a fresh PostgreSQL database. The keyring still lives in a
    /// temporary data directory.
    pub async fn postgres() -> Self {
        Self::open(Some(PostgresTestDatabase::create().await)).await
    }

    async fn open(postgres: Option<PostgresTestDatabase>) -> Self {
        let data_dir = tempfile::tempdir().expect("create a data directory");
        let config = ServerConfig {
            data_dir: data_dir.path().to_path_buf(),
            database_url: postgres.as_ref().map(|db| DatabaseUrl::new(&db.url)),
            operator_secret: Some(SecretString::from(TEST_OPERATOR_SECRET.to_owned())),
            ..ServerConfig::default()
        };
        config.validate().expect("test configuration is valid");
        let mut data = DataLayer::open(&config, OpenMode::CreateIfMissing)
            .await
            .expect("open the data layer");
        // Tests start servers on this data directory while they hold it.
        data.lock = None;
        Self {
            config,
            data,
            data_dir,
            postgres,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        self.data.store.backend()
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Opens the same data again, as a restarted server would.
    pub async fn reopen(&self) -> DataLayer {
        DataLayer::open(&self.config, OpenMode::ExistingOnly)
            .await
            .expect("reopen the data layer")
    }

    /// Every row of `table`, each as the bytes of its columns as the
    /// database returns them (PostgreSQL renders BYTEA as `\x` hex).
    pub async fn raw_rows(&self, table: &'static str) -> Vec<Vec<u8>> {
        match &self.postgres {
            Some(db) => {
                let client = db.connect().await;
                let rows = client
                    .query(&format!("SELECT t::text FROM {table} t"), &[])
                    .await
                    .expect("read raw rows");
                rows.iter()
                    .map(|row| row.get::<_, String>(0).into_bytes())
                    .collect()
            }
            None => {
                let connection = self.sqlite_connection();
                let mut statement = connection
                    .prepare(&format!("SELECT * FROM {table}"))
                    .expect("prepare");
                let columns = statement.column_count();
                let rows = statement
                    .query_map([], |row| {
                        let mut bytes = Vec::new();
                        for index in 0..columns {
                            match row.get_ref(index)? {
                                rusqlite::types::ValueRef::Text(text) => bytes.extend(text),
                                rusqlite::types::ValueRef::Blob(blob) => bytes.extend(blob),
                                other => bytes.extend(format!("{other:?}").into_bytes()),
                            }
                            bytes.push(b'|');
                        }
                        Ok(bytes)
                    })
                    .expect("read raw rows");
                rows.map(|row| row.expect("row")).collect()
            }
        }
    }

    /// Runs SQL directly on the database, bypassing the store.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, String> {
        match &self.postgres {
            Some(db) => db
                .connect()
                .await
                .execute(sql, &[])
                .await
                .map_err(|e| format!("{e:?}")),
            None => self
                .sqlite_connection()
                .execute(sql, [])
                .map(|count| count as u64)
                .map_err(|e| e.to_string()),
        }
    }

    /// SQL that lets the test change audit rows despite the append-only
    /// triggers, as an attacker with database access could.
    pub fn disable_audit_triggers_sql(&self) -> &'static [&'static str] {
        match &self.postgres {
            Some(_) => &["ALTER TABLE audit_log DISABLE TRIGGER USER"],
            None => &[
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
            ],
        }
    }

    pub fn sqlite_connection(&self) -> rusqlite::Connection {
        let key = self
            .data
            .keys
            .current(KeyPurpose::Database)
            .expect("database key");
        let hex: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
        let connection =
            rusqlite::Connection::open(self.data_dir().join(DATABASE_FILE)).expect("open file");
        connection
            .execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
            .expect("key the connection");
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .expect("busy timeout");
        connection
    }

    /// Runs the `sharepay-server` binary on this backend's data.
    pub fn run_cli(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sharepay-server"));
        command
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("SHAREPAY_OPERATOR_SECRET", TEST_OPERATOR_SECRET)
            .env_remove("SHAREPAY_CONFIG")
            .env_remove("SHAREPAY_DATABASE_URL")
            .env_remove("SHAREPAY_OPERATOR_SECRET_FILE");
        if let Some(db) = &self.postgres {
            command.arg("--database-url").arg(&db.url);
        }
        command.args(args).output().expect("run sharepay-server")
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TestBackend {
    /// Starts the HTTPS server on this backend's data, on a free port.
    pub async fn start_server(&self) -> RunningServer {
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            ..self.config.clone()
        };
        sharepay_server::start(config)
            .await
            .expect("start the server")
    }
}

/// Sends one HTTP/1.1 request over TLS 1.3 to `server`, trusting its CA,
/// and returns the status code and body.
pub async fn https_request(
    server: &RunningServer,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(server.ca_certificate_pem.as_bytes()) {
        roots.add(certificate.expect("CA PEM")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.local_addr)
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");

    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    // The server may close without a TLS close_notify; what was read counts.
    let _ = tls.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
