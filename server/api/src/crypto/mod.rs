//! Field-level protection of personal data stored by the server.
//!
//! [`FieldCipher`] encrypts one column value with AES-256-GCM under the
//! current PII key, and [`BlindIndex`] computes the keyed HMAC-SHA256 that
//! lets the store look an encrypted value up by equality. Both bind their
//! output to a [`Column`], so a value copied to another column fails to
//! decrypt and its index does not match there. This module must never log a
//! plaintext value.

mod blind_index;
mod field;

pub use blind_index::{BLIND_INDEX_LENGTH, BlindIndex};
pub use field::FieldCipher;

/// A table and column whose values are protected. Its name is the
/// additional authenticated data of every ciphertext in that column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub table: &'static str,
    pub column: &'static str,
}

impl Column {
    pub const USERS_EMAIL: Column = Column {
        table: "users",
        column: "email",
    };

    fn label(self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

/// A failure to encrypt, decrypt or index a field value.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error("a value in {column} has an invalid format ({detail}); the row may be damaged")]
    Malformed {
        column: String,
        detail: &'static str,
    },
    #[error("a value in {column} failed to decrypt; it was changed, or moved from another column")]
    Decrypt { column: String },
    #[error("a value in {column} is not UTF-8 after decryption")]
    NotUtf8 { column: String },
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error("{0} failed")]
    Crypto(&'static str),
}
