//! The phone's encrypted store: one SQLCipher file keyed with a random
//! 256-bit key that only exists on disk wrapped by the platform.
//!
//! Opening never deletes anything. A key that unwraps but does not decrypt
//! the file is [`ClientError::WrongKey`], distinct from a damaged file, so
//! a shell never wipes queued readings because the keystore had a bad day.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::error::ClientError;
use crate::key_wrapper::KeyWrapper;

const DATABASE_FILE: &str = "sharepay-client.db";
const WRAPPED_KEY_FILE: &str = "store-key.wrapped";

const MIGRATIONS: &[&str] = &[r"
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
"];

/// Names of the rows in `settings`.
pub mod setting {
    pub const REFRESH_TOKEN: &str = "refresh_token";
}

pub struct EncryptedStore {
    connection: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for EncryptedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EncryptedStore {
    /// Opens the store in `dir`, or creates it with a new key on first use.
    pub fn open(dir: &Path, key_wrapper: &dyn KeyWrapper) -> Result<Self, ClientError> {
        fs::create_dir_all(dir)
            .map_err(|e| ClientError::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DATABASE_FILE);
        let wrapped_key_path = dir.join(WRAPPED_KEY_FILE);

        let key = if wrapped_key_path.exists() {
            let wrapped = fs::read(&wrapped_key_path).map_err(|e| {
                ClientError::Storage(format!("cannot read {}: {e}", wrapped_key_path.display()))
            })?;
            key_wrapper
                .unwrap_key(&wrapped)
                .map_err(|e| ClientError::KeyWrapping(e.message))?
        } else if path.exists() {
            return Err(ClientError::Storage(format!(
                "{} exists but its wrapped key {} is missing; restore the key file, nothing was deleted",
                path.display(),
                wrapped_key_path.display()
            )));
        } else {
            create_wrapped_key(&wrapped_key_path, key_wrapper)?
        };

        let connection = open_with_key(&path, &key)?;
        migrate(&connection)?;
        Ok(Self {
            connection: Mutex::new(connection),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, ClientError> {
        self.connection
            .lock()
            .map_err(|_| ClientError::Storage("the store lock is poisoned".into()))
    }

    /// Stores a secret setting such as the refresh token.
    pub fn put_setting(&self, name: &str, value: &[u8]) -> Result<(), ClientError> {
        self.lock()?.execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }

    pub fn get_setting(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, ClientError> {
        let value: Option<Vec<u8>> = self
            .lock()?
            .query_row(
                "SELECT value FROM settings WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()?;
        Ok(value.map(Zeroizing::new))
    }

    pub fn delete_setting(&self, name: &str) -> Result<(), ClientError> {
        self.lock()?
            .execute("DELETE FROM settings WHERE name = ?1", params![name])?;
        Ok(())
    }
}

fn create_wrapped_key(
    wrapped_key_path: &Path,
    key_wrapper: &dyn KeyWrapper,
) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    let mut key = Zeroizing::new(vec![0u8; 32]);
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| ClientError::Storage("the system random generator failed".into()))?;
    let wrapped = key_wrapper
        .wrap_key(&key)
        .map_err(|e| ClientError::KeyWrapping(e.message))?;

    // Write to a temporary file and rename, so a crash never leaves half a key.
    let temporary = wrapped_key_path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(&wrapped)?;
        file.sync_all()?;
        fs::rename(&temporary, wrapped_key_path)
    };
    write().map_err(|e| {
        ClientError::Storage(format!("cannot write {}: {e}", wrapped_key_path.display()))
    })?;
    Ok(key)
}

fn open_with_key(path: &Path, key: &[u8]) -> Result<Connection, ClientError> {
    if key.len() != 32 {
        return Err(ClientError::WrongKey);
    }
    let connection = Connection::open(path)?;
    let mut hex = Zeroizing::new(String::with_capacity(64));
    for byte in key {
        hex.push_str(&format!("{byte:02x}"));
    }
    // SQLCipher logs decryption failures to stderr by default; a wrong key
    // is reported through the returned error instead.
    let pragma = Zeroizing::new(format!(
        "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{}'\";",
        hex.as_str()
    ));
    connection.execute_batch(&pragma)?;
    // SQLCipher checks the key only when it first reads a page.
    let readable = connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    });
    match readable {
        Ok(_) => Ok(connection),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(ClientError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

fn migrate(connection: &Connection) -> Result<(), ClientError> {
    let applied: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = index + 1;
        connection.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA user_version = {version}; COMMIT;"
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_wrapper::KeyWrapperError;

    /// XORs with a fixed byte: enough to tell keys apart in tests, and no
    /// protection at all.
    struct XorWrapper(u8);

    impl KeyWrapper for XorWrapper {
        fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, KeyWrapperError> {
            Ok(key.iter().map(|b| b ^ self.0).collect())
        }
        fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapperError> {
            Ok(Zeroizing::new(wrapped.iter().map(|b| b ^ self.0).collect()))
        }
    }

    #[test]
    fn reopen_with_same_wrapper_keeps_data() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
        store.put_setting("name", b"value").expect("put");
        drop(store);

        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("reopen");
        let value = store.get_setting("name").expect("get").expect("present");
        assert_eq!(value.as_slice(), b"value");
    }

    #[test]
    fn wrong_key_is_its_own_error_and_keeps_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
        store.put_setting("name", b"value").expect("put");
        drop(store);

        let error = EncryptedStore::open(dir.path(), &XorWrapper(2))
            .expect_err("a different wrapper must not open the store");
        assert!(matches!(error, ClientError::WrongKey), "{error:?}");

        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("right key again");
        assert!(store.get_setting("name").expect("get").is_some());
    }

    #[test]
    fn store_file_holds_no_plaintext() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EncryptedStore::open(dir.path(), &XorWrapper(3)).expect("create");
        let marker = b"refresh-token-plaintext-marker";
        store
            .put_setting(setting::REFRESH_TOKEN, marker)
            .expect("put");
        drop(store);

        let raw = fs::read(dir.path().join(DATABASE_FILE)).expect("read");
        assert!(!raw.windows(marker.len()).any(|w| w == marker));
        assert!(!raw.windows(15).any(|w| w == b"SQLite format 3"));
    }
}
