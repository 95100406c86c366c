//! Root and data keys, behind the [`KeyProvider`] trait.
//!
//! Every purpose has its own key, and each key has numbered versions. A
//! ciphertext or MAC records the version it was made with, so a new version
//! can be added without breaking what the old one protects.
//!
//! The default provider is [`LocalKeyring`]: a file in the data directory
//! whose data keys are wrapped with AES-256-GCM under a root key derived
//! from an operator secret with Argon2id. Key bytes leave this module only
//! inside [`DataKey`], whose `Debug` output is redacted and whose memory is
//! zeroed on drop. This module must never log or format key bytes.

mod local;
mod operator_secret;

use std::fmt;

use zeroize::Zeroizing;

pub use local::{KdfParams, LocalKeyring};
pub use operator_secret::{OPERATOR_SECRET_ENV, OperatorSecret, resolve_operator_secret};

/// What a data key is used for. Compromising one purpose's key does not
/// expose data protected by another.
///
/// NOTE: vault, backup and per-user keys come with the features that use
/// them. The keyring stores purposes by name, so adding one needs no file
/// migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// The SQLCipher key of the embedded store (32 raw bytes).
    Database,
    /// AES-256-GCM key for encrypted PII columns (32 bytes).
    PiiField,
    /// HMAC-SHA256 key for the blind indexes of PII columns (32 bytes).
    PiiBlindIndex,
    /// HMAC-SHA256 key that chains the audit trail (32 bytes).
    AuditChain,
    /// Ed25519 PKCS#8 document that signs access tokens.
    JwtSigning,
    /// Argon2id secret input mixed into every password hash (32 bytes).
    PasswordPepper,
}

impl KeyPurpose {
    /// Every purpose the keyring holds a key for.
    pub const ALL: [KeyPurpose; 6] = [
        KeyPurpose::Database,
        KeyPurpose::PiiField,
        KeyPurpose::PiiBlindIndex,
        KeyPurpose::AuditChain,
        KeyPurpose::JwtSigning,
        KeyPurpose::PasswordPepper,
    ];

    /// The stable name used in the keyring file and in messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyPurpose::Database => "database",
            KeyPurpose::PiiField => "pii_field",
            KeyPurpose::PiiBlindIndex => "pii_blind_index",
            KeyPurpose::AuditChain => "audit_chain",
            KeyPurpose::JwtSigning => "jwt_signing",
            KeyPurpose::PasswordPepper => "password_pepper",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|purpose| purpose.name() == name)
    }

    /// Whether data protected by this key stays usable after a new version
    /// is added. The others need stored data re-keyed first.
    fn supports_rotation(self) -> bool {
        // TODO: the database key needs `PRAGMA rekey` and the blind index a
        // recomputation of every index; until those exist, rotating them is
        // rejected. Password hashes record their pepper version and are
        // replaced at the next login.
        matches!(
            self,
            KeyPurpose::PiiField
                | KeyPurpose::AuditChain
                | KeyPurpose::JwtSigning
                | KeyPurpose::PasswordPepper
        )
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One version of a data key. `Debug` never prints the bytes, and they are
/// zeroed when the value is dropped.
pub struct DataKey {
    pub purpose: KeyPurpose,
    pub version: u32,
    bytes: Zeroizing<Vec<u8>>,
}

impl DataKey {
    fn new(purpose: KeyPurpose, version: u32, bytes: Zeroizing<Vec<u8>>) -> Self {
        Self {
            purpose,
            version,
            bytes,
        }
    }

    /// Key bytes, for the one primitive that uses them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("purpose", &self.purpose)
            .field("version", &self.version)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

/// Source of the server's data keys.
///
/// Implementations keep root keys to themselves; a PKCS#11 token can
/// implement the same calls by unwrapping inside the token.
pub trait KeyProvider: Send + Sync {
    /// Returns the newest version of the key for `purpose`, the one new
    /// ciphertexts and MACs use.
    fn current(&self, purpose: KeyPurpose) -> Result<DataKey, KeyError>;

    /// Returns one version of the key for `purpose`, to open data that
    /// recorded it.
    fn get(&self, purpose: KeyPurpose, version: u32) -> Result<DataKey, KeyError>;

    /// Adds a new version for `purpose`, makes it current and returns its
    /// number. Older versions stay available through [`KeyProvider::get`].
    fn rotate(&self, purpose: KeyPurpose) -> Result<u32, KeyError>;
}

/// A failure to open, read or change the keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no {purpose} key version {version} in the keyring")]
    MissingVersion { purpose: KeyPurpose, version: u32 },
    #[error("no {0} key in the keyring; restore the keyring from a backup")]
    Missing(KeyPurpose),
    #[error(
        "the operator secret does not open the keyring {path}; check operator_secret_file or \
         {OPERATOR_SECRET_ENV} (the keyring was left unchanged)"
    )]
    WrongOperatorSecret { path: String },
    #[error("the keyring {path} is damaged: {detail}; restore it from a backup")]
    Corrupt { path: String, detail: String },
    #[error("no keyring at {path}; start the server once to create it, or check data_dir")]
    NotFound { path: String },
    #[error("operator secret: {0}")]
    OperatorSecret(String),
    #[error("rotating the {0} key is not supported yet, because stored data would need re-keying")]
    RotationUnsupported(KeyPurpose),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    File(String),
    #[error("{0} failed")]
    Crypto(&'static str),
}
