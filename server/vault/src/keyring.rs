//! The vault's own key material: a local keyring file in its data
//! directory, separate from the API server's keys.
//!
//! The file contains the SQLCipher key, the card data keys (AES-256-GCM) and
//! the fingerprint keys (HMAC-SHA256), each data and fingerprint key with a
//! version number so ciphertexts and fingerprints name the key they used.
//! Key bytes leave this module only as `&[u8]` to the crypto and store
//! modules; `Debug` never prints them.
//!
//! NOTE: the keys sit unwrapped in a mode 0600 file. A later change moves
//! them under the server's key provider (operator secret or PKCS#11), in a
//! slot of their own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::files::write_private;

/// Name of the keyring file inside the vault's data directory.
pub const KEYRING_FILE: &str = "vault-keyring.json";
const KEY_BYTES: usize = 32;

/// JSON layout of the keyring file (format 1). Keys are base64.
#[derive(Serialize, Deserialize)]
struct KeyringFile {
    format: u32,
    database: String,
    data_keys: Vec<VersionedKeyEntry>,
    fingerprint_keys: Vec<VersionedKeyEntry>,
}

#[derive(Serialize, Deserialize)]
struct VersionedKeyEntry {
    version: u32,
    key: String,
}

/// The vault's keys, loaded from its keyring file.
pub struct VaultKeyring {
    database: SecretSlice<u8>,
    data_keys: BTreeMap<u32, SecretSlice<u8>>,
    fingerprint_keys: BTreeMap<u32, SecretSlice<u8>>,
}

impl fmt::Debug for VaultKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultKeyring")
            .field(
                "data_key_versions",
                &self.data_keys.keys().collect::<Vec<_>>(),
            )
            .field(
                "fingerprint_key_versions",
                &self.fingerprint_keys.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl VaultKeyring {
    /// Opens the keyring in `data_dir`, creating it with fresh random keys
    /// (version 1 of each) on first start.
    pub fn open_or_create(data_dir: &Path) -> Result<Self, VaultError> {
        let path = data_dir.join(KEYRING_FILE);
        if !path.exists() {
            let text = generate_keyring_text()?;
            write_private(&path, &text)?;
            tracing::info!(path = %path.display(), "created the vault keyring");
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(&path).map_err(|e| VaultError::io("read", &path, e))?,
        );
        let invalid = |reason: String| {
            VaultError::Config(format!(
                "the vault keyring {} is not valid ({reason}); restore it from a backup",
                path.display()
            ))
        };
        let file: KeyringFile = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("line {}, column {}", e.line(), e.column())))?;

        let database = decode_key(&file.database).ok_or_else(|| invalid("database key".into()))?;
        let data_keys =
            decode_versions(&file.data_keys).ok_or_else(|| invalid("data keys".into()))?;
        let fingerprint_keys = decode_versions(&file.fingerprint_keys)
            .ok_or_else(|| invalid("fingerprint keys".into()))?;
        Ok(Self {
            database,
            data_keys,
            fingerprint_keys,
        })
    }

    /// Returns the raw 256-bit SQLCipher key of the vault database.
    pub fn database_key(&self) -> &[u8] {
        self.database.expose_secret()
    }

    /// Every card data key by version; the highest version encrypts.
    pub(crate) fn data_keys(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.data_keys
            .iter()
            .map(|(version, key)| (*version, key.expose_secret()))
    }

    /// The newest fingerprint key and its version.
    pub(crate) fn current_fingerprint_key(&self) -> (u32, &[u8]) {
        // decode_versions rejects an empty list, so there is a last entry.
        self.fingerprint_keys
            .iter()
            .next_back()
            .map(|(version, key)| (*version, key.expose_secret()))
            .unwrap_or((0, &[]))
    }
}

fn decode_key(encoded: &str) -> Option<SecretSlice<u8>> {
    let bytes = BASE64.decode(encoded.as_bytes()).ok()?;
    (bytes.len() == KEY_BYTES).then(|| SecretSlice::from(bytes))
}

fn decode_versions(entries: &[VersionedKeyEntry]) -> Option<BTreeMap<u32, SecretSlice<u8>>> {
    if entries.is_empty() {
        return None;
    }
    entries
        .iter()
        .map(|entry| Some((entry.version, decode_key(&entry.key)?)))
        .collect()
}

fn generate_keyring_text() -> Result<Zeroizing<String>, VaultError> {
    let rng = SystemRandom::new();
    let random_key = || -> Result<Zeroizing<String>, VaultError> {
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        rng.fill(key.as_mut())
            .map_err(|_| VaultError::Config("the system random generator failed".into()))?;
        Ok(Zeroizing::new(BASE64.encode(key.as_ref())))
    };
    let file = KeyringFile {
        format: 1,
        database: random_key()?.to_string(),
        data_keys: vec![VersionedKeyEntry {
            version: 1,
            key: random_key()?.to_string(),
        }],
        fingerprint_keys: vec![VersionedKeyEntry {
            version: 1,
            key: random_key()?.to_string(),
        }],
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| VaultError::Config(format!("encoding the vault keyring failed: {e}")));
    let KeyringFile {
        database,
        data_keys,
        fingerprint_keys,
        ..
    } = file;
    drop(Zeroizing::new(database));
    for entry in data_keys.into_iter().chain(fingerprint_keys) {
        drop(Zeroizing::new(entry.key));
    }
    Ok(Zeroizing::new(text?))
}
