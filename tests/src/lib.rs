//! Helpers for the end-to-end tests: a real server on a loopback port with
//! its own temporary data directory, and phone clients pointed at it.

pub mod phone;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sharepay_client::{ClientConfig, KeyWrapper, KeyWrapperError, SharePayClient};
use sharepay_server::{RunningServer, ServerConfig};
use zeroize::Zeroizing;

/// A server started for one test, with the folder it owns.
pub struct TestServer {
    pub server: RunningServer,
    pub data_dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server whose configuration `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let data_dir = tempfile::tempdir().expect("create a server data directory");
        let mut config = ServerConfig {
            data_dir: data_dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            ..ServerConfig::default()
        };
        // Many test servers share the process, so none takes the fixed port.
        config.http.metrics_listen = Some("127.0.0.1:0".parse().expect("loopback address"));
        adjust(&mut config);
        let server = sharepay_server::start(config)
            .await
            .expect("start the server");
        Self { server, data_dir }
    }

    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }

    /// Client configuration that trusts this server's CA and pins its keys.
    pub fn client_config(&self, phone_dir: &Path) -> ClientConfig {
        ClientConfig::new(
            self.server.url.clone(),
            self.server.ca_certificate_pem.clone(),
            self.server.spki_pins.clone(),
            phone_dir,
        )
    }
}

/// XORs the key with one byte. It only lets tests tell keys apart and
/// protects nothing.
pub struct XorKeyWrapper(pub u8);

impl KeyWrapper for XorKeyWrapper {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, KeyWrapperError> {
        Ok(key.iter().map(|b| b ^ self.0).collect())
    }
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapperError> {
        Ok(Zeroizing::new(wrapped.iter().map(|b| b ^ self.0).collect()))
    }
}

/// Opens a phone client for `server` in `phone_dir`.
pub fn phone_client(server: &TestServer, phone_dir: &Path) -> SharePayClient {
    SharePayClient::new(
        server.client_config(phone_dir),
        Arc::new(XorKeyWrapper(0x5a)),
    )
    .expect("open the phone client")
}

/// Reads a file and its SQLite write-ahead log, if any, as raw bytes.
pub fn raw_database_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("read the database file");
    let mut wal = PathBuf::from(path);
    wal.set_extension("db-wal");
    if let Ok(more) = std::fs::read(&wal) {
        bytes.extend(more);
    }
    bytes
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A password that passes the policy, for tests that are not about it.
pub const GOOD_PASSWORD: &str = "Tulip-Harbor-4821!";
