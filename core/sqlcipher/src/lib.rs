//! Opens SQLCipher database files with a raw 256-bit key.
//!
//! Every SharePay store (the phone's, the API server's and the vault's)
//! opens its file through [`open_keyed`], so the key handling exists once.
//! The key goes to SQLCipher as a raw key, which skips its PBKDF2 step
//! because a random key needs no stretching, and decryption failures are
//! reported as errors instead of being logged to stderr.
//!
//! NOTE: keying connections on several threads at once sometimes made
//! `PRAGMA key` fail inside SQLCipher ("An error occurred with PRAGMA key"),
//! seen with the SQLCipher 4 bundled by libsqlite3-sys 0.40 on Debian's
//! OpenSSL 3 when tests opened many stores in parallel. Opening is rare, so
//! this crate serializes it with one lock for the whole process, which is
//! why all three stores must share it.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::Connection;
use zeroize::Zeroizing;

/// Length of the raw key, in bytes.
pub const KEY_LENGTH: usize = 32;

static KEYING: Mutex<()> = Mutex::new(());

/// Failure of [`open_keyed`].
#[derive(Debug)]
pub enum OpenError {
    /// The key is not [`KEY_LENGTH`] bytes long.
    KeyLength(usize),
    /// The file could not be opened or keyed.
    Open(rusqlite::Error),
    /// The first read failed: a wrong key, or a file that is not a SQLCipher
    /// database. SQLCipher cannot tell the two apart.
    Unreadable(rusqlite::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyLength(length) => {
                write!(
                    f,
                    "the database key must be {KEY_LENGTH} bytes, not {length}"
                )
            }
            Self::Open(e) => write!(f, "opening the database failed: {e}"),
            Self::Unreadable(e) => write!(f, "the database cannot be read with this key: {e}"),
        }
    }
}

impl std::error::Error for OpenError {}

/// Opens (or creates) the database at `path`, keys it with `key`, and reads
/// the schema once, because SQLCipher checks the key only at the first read.
pub fn open_keyed(path: &Path, key: &[u8]) -> Result<Connection, OpenError> {
    if key.len() != KEY_LENGTH {
        return Err(OpenError::KeyLength(key.len()));
    }
    let mut hex = Zeroizing::new(String::with_capacity(2 * KEY_LENGTH));
    for byte in key {
        hex.push_str(&format!("{byte:02x}"));
    }
    // PRAGMA key takes no bound parameter; the text is the hex of a key the
    // caller generated, never request data.
    let pragma = Zeroizing::new(format!(
        "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{}'\";",
        hex.as_str()
    ));

    let _keying = KEYING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let connection = Connection::open(path).map_err(OpenError::Open)?;
    connection.execute_batch(&pragma).map_err(OpenError::Open)?;
    connection
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(OpenError::Unreadable)?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopens_with_same_key_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        let connection = open_keyed(&path, &[1u8; 32]).expect("create");
        connection
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES ('marker-text');")
            .expect("write");
        drop(connection);

        let error = open_keyed(&path, &[2u8; 32]).expect_err("wrong key");
        assert!(matches!(error, OpenError::Unreadable(_)), "{error:?}");
        assert!(open_keyed(&path, &[1u8; 32]).is_ok());
        let raw = std::fs::read(&path).expect("read");
        assert!(!raw.windows(11).any(|w| w == b"marker-text"));
    }

    #[test]
    fn short_key_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = open_keyed(&dir.path().join("x.db"), &[1u8; 16]).expect_err("short key");

        assert!(matches!(error, OpenError::KeyLength(16)));
    }

    #[test]
    fn parallel_opens_all_succeed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let path = dir.path().join(format!("db-{i}.db"));
                std::thread::spawn(move || open_keyed(&path, &[i as u8; 32]).map(|_| ()))
            })
            .collect();

        for handle in handles {
            handle.join().expect("thread").expect("open");
        }
    }
}
