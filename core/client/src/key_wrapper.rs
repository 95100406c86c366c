//! The platform's part of store encryption.
//!
//! The core generates the SQLCipher key; the platform wraps it with a key it
//! holds in hardware (Android Keystore, iOS Keychain and Secure Enclave), and
//! only the wrapped blob is written to disk.

use zeroize::Zeroizing;

/// A failure reported by the platform's key store.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct KeyWrapperError {
    pub message: String,
}

/// Wraps and unwraps the 32-byte store key with a platform-held key.
pub trait KeyWrapper: Send + Sync {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, KeyWrapperError>;
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapperError>;
}
