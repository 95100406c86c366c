//! The phone's encrypted store: one SQLCipher file keyed with a random
//! 256-bit key that only exists on disk wrapped by the platform, with
//! AES-256-GCM field encryption on top for the most sensitive values.
//!
//! Opening never deletes anything. A key that unwraps but does not match the
//! store is [`ClientError::WrongKey`], a file that the right key cannot read
//! is [`ClientError::StoreCorrupted`], so a shell never wipes queued
//! readings because the keystore had a bad day.
//!
//! On disk, next to the database, `store-key.wrapped` contains the store key
//! as the platform wrapped it, and `store-key.check` contains
//! HMAC-SHA256(store key, "sharepay store key check v1"). The check tells a wrong key from a
//! damaged file without reading the database.

mod cards;
mod field_cipher;
pub mod migrations;
pub mod outbox;
pub mod payments;
pub mod pin_reports;
mod session;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

pub use self::cards::CardDisplay;
use self::field_cipher::{FieldCipher, FieldPlace};
use crate::error::ClientError;
use crate::key_wrapper::KeyWrapper;

pub(crate) const DATABASE_FILE: &str = "sharepay-client.db";
pub const WRAPPED_KEY_FILE: &str = "store-key.wrapped";
const KEY_CHECK_FILE: &str = "store-key.check";
/// Written once the first migration has run, so a later open can tell a
/// store that lost its database file from one whose creation was cut off.
const INITIALIZED_MARKER_FILE: &str = "store.initialized";
const KEY_CHECK_MESSAGE: &[u8] = b"sharepay store key check v1";
const INSTALL_SECRET: &str = "install_secret";

pub struct EncryptedStore {
    connection: Mutex<Connection>,
    fields: FieldCipher,
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
        create_private_dir(dir)
            .map_err(|e| ClientError::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DATABASE_FILE);
        let wrapped_key_path = dir.join(WRAPPED_KEY_FILE);
        let check_path = dir.join(KEY_CHECK_FILE);

        let (key, key_checked) = if wrapped_key_path.exists() {
            let key = unwrap_store_key(&wrapped_key_path, key_wrapper)?;
            let checked = verify_key_check(&check_path, &key)?;
            check_database_present(dir, &path)?;
            (key, checked)
        } else if path.exists() {
            return Err(ClientError::Storage(format!(
                "{} exists but its wrapped key {} is missing; restore the key file, nothing was deleted",
                path.display(),
                wrapped_key_path.display()
            )));
        } else {
            let key = create_wrapped_key(&wrapped_key_path, key_wrapper)?;
            write_atomically(&check_path, key_check(&key).as_ref())?;
            (key, true)
        };

        // SQLite creates its journal and WAL files with the database file's
        // mode, so the file is made private before SQLite first opens it.
        // An empty file is a valid empty database.
        open_private_file(&path, false)
            .map_err(|e| ClientError::Storage(format!("cannot create {}: {e}", path.display())))?;
        let connection = open_with_key(&path, &key, key_checked)?;
        if !key_checked {
            // A store created before the check file existed: the key has just
            // opened it, so record its check now.
            write_atomically(&check_path, key_check(&key).as_ref())?;
        }
        migrations::migrate(&connection)?;
        let marker = dir.join(INITIALIZED_MARKER_FILE);
        if !marker.exists() {
            write_atomically(&marker, b"1")?;
        }
        let store = Self {
            connection: Mutex::new(connection),
            fields: FieldCipher::derive(&key)?,
            path,
        };
        store.install_secret()?;
        Ok(store)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>, ClientError> {
        self.connection
            .lock()
            .map_err(|_| ClientError::Storage("the store lock is poisoned".into()))
    }

    /// Deletes everything tied to the signed-in user: the refresh token, the
    /// cached profile, the card display data and the payment attempts.
    /// Called on logout, on a forced logout and when the server revokes the
    /// refresh token family. Finished payment attempts go, but a pending one
    /// stays: its key is the only way to learn whether the card was charged,
    /// and the server refuses any other payment of the charge until that
    /// key is retried, so the next login on this device can finish it.
    ///
    /// The outbox of unsent readings stays, so a reading taken offline is not
    /// lost because the session ended; it is sent after the next login. The
    /// install secret stays too, so the device keeps its fingerprint.
    pub fn wipe_session(&self) -> Result<(), ClientError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        transaction.execute("DELETE FROM session_values", [])?;
        transaction.execute("DELETE FROM cards", [])?;
        transaction.execute("DELETE FROM payment_attempts WHERE state <> 'pending'", [])?;
        transaction.commit()?;
        tracing::info!("wiped the session data from the local store");
        Ok(())
    }

    /// Resets the store as if the app were reinstalled: deletes the session,
    /// the outbox (unsent readings included), the pin failure reports and
    /// the install secret, then creates a new install secret, so the device
    /// fingerprint changes.
    pub fn wipe_all(&self) -> Result<(), ClientError> {
        {
            let mut connection = self.lock()?;
            let transaction = connection.transaction()?;
            for table in [
                "session_values",
                "cards",
                "payment_attempts",
                "outbox",
                "pin_failure_reports",
                "settings",
            ] {
                transaction.execute(&format!("DELETE FROM {table}"), [])?;
            }
            transaction.commit()?;
        }
        self.install_secret()?;
        tracing::info!("wiped the whole local store");
        Ok(())
    }

    /// Returns the random 256-bit secret of this installation, creating it
    /// on first use.
    pub(crate) fn install_secret(&self) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        let place = FieldPlace {
            table: "settings",
            column: "value",
            row_key: INSTALL_SECRET,
        };
        let connection = self.lock()?;
        let existing: Option<Vec<u8>> = connection
            .query_row(
                "SELECT value FROM settings WHERE name = ?1",
                params![INSTALL_SECRET],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(sealed) = existing {
            return self.fields.open(place, &sealed);
        }

        let secret = random_key()?;
        let sealed = self.fields.seal(place, &secret)?;
        connection.execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2)",
            params![INSTALL_SECRET, sealed],
        )?;
        Ok(secret)
    }

    pub(crate) fn fields(&self) -> &FieldCipher {
        &self.fields
    }
}

fn random_key() -> Result<Zeroizing<Vec<u8>>, ClientError> {
    let mut key = Zeroizing::new(vec![0u8; 32]);
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| ClientError::Storage("the system random generator failed".into()))?;
    Ok(key)
}

fn unwrap_store_key(
    wrapped_key_path: &Path,
    key_wrapper: &dyn KeyWrapper,
) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    let wrapped = fs::read(wrapped_key_path).map_err(|e| {
        ClientError::Storage(format!("cannot read {}: {e}", wrapped_key_path.display()))
    })?;
    let key = key_wrapper
        .unwrap_key(&wrapped)
        .map_err(|e| ClientError::KeyWrapping(e.message))?;
    if key.len() != 32 {
        return Err(ClientError::WrongKey);
    }
    Ok(key)
}

fn key_check(key: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), KEY_CHECK_MESSAGE)
}

/// Returns whether a check file existed and matched; a mismatch is
/// [`ClientError::WrongKey`].
fn verify_key_check(check_path: &Path, key: &[u8]) -> Result<bool, ClientError> {
    let expected = match fs::read(check_path) {
        Ok(expected) => expected,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(ClientError::Storage(format!(
                "cannot read {}: {e}",
                check_path.display()
            )));
        }
    };
    // hmac::verify compares in constant time.
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        KEY_CHECK_MESSAGE,
        &expected,
    )
    .map_err(|_| ClientError::WrongKey)?;
    Ok(true)
}

/// Fails when the database file of an initialized store is missing or
/// empty. Opening it anyway would create an empty store and silently drop
/// every queued reading; the user must restore the file or wipe the store.
fn check_database_present(dir: &Path, path: &Path) -> Result<(), ClientError> {
    if !dir.join(INITIALIZED_MARKER_FILE).exists() {
        return Ok(());
    }
    let size = fs::metadata(path).map(|m| m.len()).ok();
    let wal = fs::metadata(dir.join(format!("{DATABASE_FILE}-wal")))
        .map(|m| m.len())
        .unwrap_or(0);
    match size {
        Some(size) if size > 0 || wal > 0 => Ok(()),
        _ => Err(ClientError::StoreCorrupted(format!(
            "{} is {} although the store was set up before; restore it from a backup, \
             or wipe the store to start again (queued readings in it are lost)",
            path.display(),
            if size.is_some() { "empty" } else { "missing" }
        ))),
    }
}

fn create_wrapped_key(
    wrapped_key_path: &Path,
    key_wrapper: &dyn KeyWrapper,
) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    let key = random_key()?;
    let wrapped = key_wrapper
        .wrap_key(&key)
        .map_err(|e| ClientError::KeyWrapping(e.message))?;
    write_atomically(wrapped_key_path, &wrapped)?;
    Ok(key)
}

/// Creates `dir` and its missing parents, each with mode 0700 on Unix. An
/// existing folder keeps its mode, because it may be one the user chose
/// for other files too.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens `path` for writing, creating it if missing, and sets mode 0600 on
/// Unix whether or not the file existed. `truncate` empties the file.
pub(crate) fn open_private_file(path: &Path, truncate: bool) -> std::io::Result<fs::File> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Writes to a temporary file with mode 0600 and renames it, so a crash
/// never leaves half a file.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), ClientError> {
    let temporary = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = open_private_file(&temporary, true)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    };
    write().map_err(|e| ClientError::Storage(format!("cannot write {}: {e}", path.display())))
}

/// Opens the SQLCipher file with a raw key. `key_checked` tells whether the
/// key matched the check file. If it did, an unreadable file is damaged,
/// otherwise the key is taken to be wrong.
fn open_with_key(path: &Path, key: &[u8], key_checked: bool) -> Result<Connection, ClientError> {
    let connection = match sharepay_sqlcipher::open_keyed(path, key) {
        Ok(connection) => connection,
        Err(sharepay_sqlcipher::OpenError::Unreadable(rusqlite::Error::SqliteFailure(e, _)))
            if e.code == rusqlite::ErrorCode::NotADatabase && key_checked =>
        {
            return Err(ClientError::StoreCorrupted(format!(
                "{} is not a SQLCipher database this key can read, although the key is right; \
                 restore it from a backup or reinstall the app. Nothing was deleted",
                path.display()
            )));
        }
        Err(sharepay_sqlcipher::OpenError::Unreadable(rusqlite::Error::SqliteFailure(e, _)))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            return Err(ClientError::WrongKey);
        }
        Err(
            sharepay_sqlcipher::OpenError::Unreadable(e) | sharepay_sqlcipher::OpenError::Open(e),
        ) => return Err(e.into()),
        Err(e @ sharepay_sqlcipher::OpenError::KeyLength(_)) => {
            return Err(ClientError::Storage(e.to_string()));
        }
    };
    // Deleted rows (such as a wiped refresh token) are overwritten, not only
    // unlinked.
    connection.execute_batch("PRAGMA secure_delete = ON;")?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_wrapper::KeyWrapperError;

    /// XORs with a fixed byte: enough to tell keys apart in tests, and no
    /// protection at all.
    pub(super) struct XorWrapper(pub(super) u8);

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
        let secret = store.install_secret().expect("secret");
        drop(store);

        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("reopen");
        assert_eq!(store.install_secret().expect("secret"), secret);
    }

    #[test]
    fn wrong_key_keeps_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
        let secret = store.install_secret().expect("secret");
        drop(store);

        let error = EncryptedStore::open(dir.path(), &XorWrapper(2))
            .expect_err("a different wrapper must not open the store");
        assert!(matches!(error, ClientError::WrongKey), "{error:?}");

        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("right key again");
        assert_eq!(store.install_secret().expect("secret"), secret);
    }

    #[test]
    fn store_without_check_file_still_tells_wrong_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        drop(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create"));
        fs::remove_file(dir.path().join(KEY_CHECK_FILE)).expect("remove check");

        let error = EncryptedStore::open(dir.path(), &XorWrapper(2)).expect_err("wrong key");
        assert!(matches!(error, ClientError::WrongKey), "{error:?}");

        EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("right key");
        assert!(
            dir.path().join(KEY_CHECK_FILE).exists(),
            "check file restored"
        );
    }

    #[test]
    fn newer_schema_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
        store
            .lock()
            .expect("lock")
            .execute_batch("PRAGMA user_version = 99;")
            .expect("bump version");
        drop(store);

        let error = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect_err("newer schema");
        assert!(error.to_string().contains("update the app"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn store_files_are_private() {
        use std::os::unix::fs::PermissionsExt;

        let parent = tempfile::tempdir().expect("dir");
        let dir = parent.path().join("phone");
        let store = EncryptedStore::open(&dir, &XorWrapper(7)).expect("open");
        store.outbox_counts().expect("read the store");
        drop(store);
        EncryptedStore::open(&dir, &XorWrapper(7)).expect("reopen");

        let mode = |path: &Path| {
            fs::metadata(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&dir), 0o700, "data folder");
        let mut files = 0;
        for entry in fs::read_dir(&dir).expect("list the folder") {
            let path = entry.expect("entry").path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            files += 1;
        }
        assert!(files >= 3, "database, wrapped key and check file");
        assert!(dir.join(DATABASE_FILE).exists());
        assert!(dir.join(WRAPPED_KEY_FILE).exists());
        assert!(dir.join(KEY_CHECK_FILE).exists());
    }
}
