//! Opens the data layer from the configuration: the keyring, the store
//! chosen by `database_url`, the user directory and the audit service.
//!
//! The server and the `audit` subcommands open it the same way, so both
//! find the same data for the same configuration. Only the server may
//! create a missing data directory, keyring or operator secret.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audit::{AUDIT_ANCHOR_FILE, Audit};
use crate::config::ServerConfig;
use crate::error::StartupError;
use crate::keys::{KeyProvider, KeyPurpose, LocalKeyring, resolve_operator_secret};
use crate::store::Store;
use crate::store::identity::IdentityStore;
use crate::store::mfa::MfaStore;
use crate::store::postgres::PostgresStore;
use crate::store::security::SecurityStore;
use crate::store::sqlcipher::SqlCipherStore;
use crate::store::users::UserDirectory;

/// File name of the keyring inside the data directory.
pub const KEYRING_FILE: &str = "keyring.json";
/// File name of the embedded database inside the data directory.
pub const DATABASE_FILE: &str = "sharepay.db";
/// File that a running server holds an exclusive lock on, so that a second
/// server cannot open the same data directory.
pub const LOCK_FILE: &str = "sharepay.lock";

/// Whether opening may create what is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Server start: create the data directory, keyring and database.
    CreateIfMissing,
    /// Tools such as `audit verify`: fail if anything is missing.
    ExistingOnly,
}

/// The opened data layer.
pub struct DataLayer {
    /// The data directory, resolved to an absolute path.
    pub data_dir: PathBuf,
    pub keys: Arc<dyn KeyProvider>,
    pub store: Arc<dyn Store>,
    /// The same backend as `store`, for sessions, refresh tokens and roles.
    pub identity: Arc<dyn IdentityStore>,
    /// The same backend as `store`, for security events and service
    /// credentials.
    pub security: Arc<dyn SecurityStore>,
    /// The same backend as `store`, for second factors, devices and the
    /// notification outbox.
    pub mfa: Arc<dyn MfaStore>,
    pub users: Arc<UserDirectory>,
    pub audit: Arc<Audit>,
    /// The exclusive lock on the data directory, taken when the server
    /// opens it; tools that only read (`audit verify`) take none.
    pub lock: Option<DataDirLock>,
}

/// An exclusive lock on a data directory, released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    /// Locks `data_dir`, or explains that another server holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self, StartupError> {
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StartupError::io("open the data directory lock", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StartupError::Store(format!(
                "another sharepay-server is already using the data directory {}; \
                 stop it first, or give this one another data_dir",
                data_dir.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StartupError::io("lock the data directory", &path, e))
            }
        }
    }
}

impl DataLayer {
    pub async fn open(config: &ServerConfig, mode: OpenMode) -> Result<Self, StartupError> {
        let data_dir = resolve_data_dir(&config.data_dir, mode)?;
        let lock = match mode {
            OpenMode::CreateIfMissing => Some(DataDirLock::acquire(&data_dir)?),
            OpenMode::ExistingOnly => None,
        };
        if config.database_url.is_none() {
            check_embedded_files_agree(&data_dir)?;
        }
        let keys = open_keyring(config, &data_dir, mode)?;
        let Backend {
            store,
            identity,
            security,
            mfa,
        } = open_store(config, &data_dir, keys.as_ref(), mode).await?;
        Ok(Self {
            users: Arc::new(UserDirectory::new(Arc::clone(&store), Arc::clone(&keys))),
            audit: Arc::new(
                Audit::new(Arc::clone(&store), Arc::clone(&keys))
                    .with_anchor(data_dir.join(AUDIT_ANCHOR_FILE)),
            ),
            data_dir,
            keys,
            store,
            identity,
            lock,
            security,
            mfa,
        })
    }
}

/// Refuses to start when the keyring and the embedded database do not
/// belong together: a keyring without its database (the database file was
/// deleted or emptied) or a database without its keyring. Starting anyway
/// would create a fresh one and serve as if every user, session and audit
/// entry had never existed.
fn check_embedded_files_agree(data_dir: &Path) -> Result<(), StartupError> {
    let keyring = data_dir.join(KEYRING_FILE);
    let database = data_dir.join(DATABASE_FILE);
    let database_size = std::fs::metadata(&database).map(|m| m.len()).ok();
    // In WAL mode the first pages may still sit in the write-ahead log.
    let wal_size = std::fs::metadata(data_dir.join(format!("{DATABASE_FILE}-wal")))
        .map(|m| m.len())
        .unwrap_or(0);
    let database_has_data = database_size.is_some_and(|size| size > 0) || wal_size > 0;
    match (keyring.exists(), database_has_data) {
        (true, false) => Err(StartupError::Store(format!(
            "{} is {}, but its keyring {} exists; restore the database from a backup, \
             or move the data directory away to start with no data",
            database.display(),
            if database_size.is_some() {
                "empty"
            } else {
                "missing"
            },
            keyring.display()
        ))),
        (false, true) => Err(StartupError::Store(format!(
            "{} exists, but its keyring {} is missing, so it cannot be decrypted; \
             restore the keyring from a backup",
            database.display(),
            keyring.display()
        ))),
        _ => Ok(()),
    }
}

fn resolve_data_dir(data_dir: &Path, mode: OpenMode) -> Result<PathBuf, StartupError> {
    if mode == OpenMode::CreateIfMissing && !data_dir.exists() {
        // Only the server's own user may read keys, databases and mail.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|e| StartupError::io("create the data directory", data_dir, e))?;
    }
    std::fs::canonicalize(data_dir)
        .map_err(|e| StartupError::io("open the data directory", data_dir, e))
}

fn open_keyring(
    config: &ServerConfig,
    data_dir: &Path,
    mode: OpenMode,
) -> Result<Arc<dyn KeyProvider>, StartupError> {
    let key_error = |e: crate::keys::KeyError| StartupError::Config(e.to_string());
    let path = data_dir.join(KEYRING_FILE);
    let exists = path.exists();
    let secret = resolve_operator_secret(
        config.operator_secret_file.as_deref(),
        config.operator_secret.as_ref(),
        data_dir,
        exists,
        mode == OpenMode::CreateIfMissing,
    )
    .map_err(key_error)?;
    let keyring = match mode {
        OpenMode::CreateIfMissing => LocalKeyring::open_or_create(&path, &secret),
        OpenMode::ExistingOnly => LocalKeyring::open(&path, &secret),
    }
    .map_err(key_error)?;
    Ok(Arc::new(keyring))
}

/// One opened backend, seen through each of its store traits.
struct Backend {
    store: Arc<dyn Store>,
    identity: Arc<dyn IdentityStore>,
    security: Arc<dyn SecurityStore>,
    mfa: Arc<dyn MfaStore>,
}

impl Backend {
    fn of<T>(backend: Arc<T>) -> Self
    where
        T: Store + IdentityStore + SecurityStore + MfaStore + 'static,
    {
        Self {
            store: Arc::clone(&backend) as Arc<dyn Store>,
            identity: Arc::clone(&backend) as Arc<dyn IdentityStore>,
            security: Arc::clone(&backend) as Arc<dyn SecurityStore>,
            mfa: backend,
        }
    }
}

async fn open_store(
    config: &ServerConfig,
    data_dir: &Path,
    keys: &dyn KeyProvider,
    mode: OpenMode,
) -> Result<Backend, StartupError> {
    let store_error = |e: crate::store::StoreError| StartupError::Store(e.to_string());
    match &config.database_url {
        Some(url) => {
            let store = PostgresStore::connect(url.expose(), config.database_pool_size)
                .await
                .map_err(store_error)?;
            tracing::info!(database = %url.redacted(), "opened the PostgreSQL store");
            Ok(Backend::of(Arc::new(store)))
        }
        None => {
            let path = data_dir.join(DATABASE_FILE);
            if mode == OpenMode::ExistingOnly && !path.exists() {
                return Err(StartupError::Store(format!(
                    "no database at {}; check data_dir and database_url",
                    path.display()
                )));
            }
            let key = keys
                .current(KeyPurpose::Database)
                .map_err(|e| StartupError::Config(e.to_string()))?;
            let store = SqlCipherStore::open(&path, key.expose()).map_err(store_error)?;
            // SQLite gives its journal files the database file's mode.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| StartupError::io("restrict the database file", &path, e))?;
            tracing::info!(path = %path.display(), "opened the SQLCipher store");
            Ok(Backend::of(Arc::new(store)))
        }
    }
}
