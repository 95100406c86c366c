//! Root and data keys, behind the [`KeyProvider`] trait.
//!
//! The default provider is a local keyring file in the data directory,
//! created on first start with mode 0600. Key bytes leave this module only
//! inside [`DataKey`], whose `Debug` output is redacted and whose memory is
//! zeroed on drop.
//!
//! NOTE: the keyring file holds the data keys unwrapped, protected only by
//! file permissions. Wrapping them under an operator secret, versioning and
//! PKCS#11 are still to come; until then whoever can read the data directory
//! can read every key.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::Ed25519KeyPair;
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::StartupError;

const KEYRING_FILE: &str = "keyring.json";

/// What a data key is used for. Each purpose has its own key, so that
/// compromising one use does not expose the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// The SQLCipher key of the embedded store (32 raw bytes).
    Database,
    /// Ed25519 PKCS#8 document that signs access tokens.
    JwtSigning,
    /// HMAC key mixed into every password hash, kept out of the database.
    PasswordPepper,
}

/// A data key's bytes. `Debug` never prints them.
pub struct DataKey {
    pub version: u32,
    bytes: SecretSlice<u8>,
}

impl DataKey {
    pub fn expose(&self) -> &[u8] {
        self.bytes.expose_secret()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("version", &self.version)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

/// Source of the server's keys.
pub trait KeyProvider: Send + Sync {
    /// Returns the current version of the key for `purpose`.
    fn data_key(&self, purpose: KeyPurpose) -> Result<DataKey, KeyError>;
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no {0:?} key in the keyring")]
    Missing(KeyPurpose),
    #[error("the {0:?} key in the keyring is not valid base64")]
    Corrupt(KeyPurpose),
}

#[derive(Serialize, Deserialize)]
struct KeyringFile {
    format: u32,
    database: String,
    jwt_signing: String,
    password_pepper: String,
}

/// The keyring file in the data directory.
pub struct LocalKeyring {
    path: PathBuf,
    file: Zeroizing<String>,
}

impl LocalKeyring {
    /// Opens `keyring.json` in `data_dir`, creating it with fresh random keys
    /// on first start.
    pub fn open_or_create(data_dir: &Path) -> Result<Self, StartupError> {
        let path = data_dir.join(KEYRING_FILE);
        if !path.exists() {
            let file = generate_keyring()?;
            crate::tls::write_private(&path, &file)?;
            tracing::info!(path = %path.display(), "created the local keyring");
        }
        let file = Zeroizing::new(
            std::fs::read_to_string(&path).map_err(|e| StartupError::io("read", &path, e))?,
        );
        let keyring = Self { path, file };
        // Parse once now so that a damaged file stops the start, not a request.
        keyring.parsed()?;
        Ok(keyring)
    }

    fn parsed(&self) -> Result<KeyringFile, StartupError> {
        serde_json::from_str(&self.file).map_err(|e| {
            StartupError::Config(format!(
                "the keyring {} is not valid (line {}, column {}); restore it from a backup",
                self.path.display(),
                e.line(),
                e.column()
            ))
        })
    }
}

impl KeyProvider for LocalKeyring {
    fn data_key(&self, purpose: KeyPurpose) -> Result<DataKey, KeyError> {
        let file = self.parsed().map_err(|_| KeyError::Missing(purpose))?;
        let encoded = Zeroizing::new(match purpose {
            KeyPurpose::Database => file.database,
            KeyPurpose::JwtSigning => file.jwt_signing,
            KeyPurpose::PasswordPepper => file.password_pepper,
        });
        let bytes = BASE64
            .decode(encoded.as_bytes())
            .map_err(|_| KeyError::Corrupt(purpose))?;
        Ok(DataKey {
            version: 1,
            bytes: SecretSlice::from(bytes),
        })
    }
}

fn generate_keyring() -> Result<Zeroizing<String>, StartupError> {
    let rng = SystemRandom::new();
    let random_key = || -> Result<Zeroizing<Vec<u8>>, StartupError> {
        let mut key = Zeroizing::new(vec![0u8; 32]);
        rng.fill(&mut key)
            .map_err(|_| StartupError::Config("the system random generator failed".into()))?;
        Ok(key)
    };
    let jwt_signing = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| StartupError::Config("generating the JWT signing key failed".into()))?;

    let file = KeyringFile {
        format: 1,
        database: BASE64.encode(random_key()?.as_slice()),
        jwt_signing: BASE64.encode(jwt_signing.as_ref()),
        password_pepper: BASE64.encode(random_key()?.as_slice()),
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| StartupError::Config(format!("encoding the keyring failed: {e}")))?;
    zeroize_keyring_file(file);
    Ok(Zeroizing::new(text))
}

fn zeroize_keyring_file(file: KeyringFile) {
    let KeyringFile {
        database,
        jwt_signing,
        password_pepper,
        ..
    } = file;
    drop(Zeroizing::new(database));
    drop(Zeroizing::new(jwt_signing));
    drop(Zeroizing::new(password_pepper));
}
