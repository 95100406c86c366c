//! AES-256-GCM encryption of single column values.
//!
//! A stored value reads `v{key version}:{base64url(nonce ‖ ciphertext ‖
//! tag)}`, with a random 96-bit nonce per value. NIST SP 800-38D caps
//! random 96-bit nonces at 2^32 encryptions per key, so a key version must
//! be rotated before it encrypts that many values.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::{Column, FieldError};
use crate::keys::{DataKey, KeyProvider, KeyPurpose};

/// Encrypts and decrypts column values under the PII field key.
#[derive(Clone)]
pub struct FieldCipher {
    keys: Arc<dyn KeyProvider>,
    random: SystemRandom,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldCipher").finish_non_exhaustive()
    }
}

impl FieldCipher {
    pub fn new(keys: Arc<dyn KeyProvider>) -> Self {
        Self {
            keys,
            random: SystemRandom::new(),
        }
    }

    /// Encrypts `plaintext` for `column` under the current key version.
    pub fn encrypt(&self, column: Column, plaintext: &str) -> Result<String, FieldError> {
        let key = self.keys.current(KeyPurpose::PiiField)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| FieldError::Crypto("the system random generator"))?;
        let mut buffer = plaintext.as_bytes().to_vec();
        aead_key(&key)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(column.label().as_bytes()),
                &mut buffer,
            )
            .map_err(|_| FieldError::Crypto("encrypting a field"))?;
        let mut payload = nonce.to_vec();
        payload.extend_from_slice(&buffer);
        Ok(format!("v{}:{}", key.version, BASE64URL.encode(payload)))
    }

    /// Decrypts a value of `column` with the key version it names.
    pub fn decrypt(&self, column: Column, stored: &str) -> Result<String, FieldError> {
        let malformed = |detail| FieldError::Malformed {
            column: column.label(),
            detail,
        };
        let (version, encoded) = stored
            .strip_prefix('v')
            .and_then(|rest| rest.split_once(':'))
            .ok_or_else(|| malformed("missing the `v<version>:` prefix"))?;
        let version: u32 = version
            .parse()
            .map_err(|_| malformed("the key version is not a number"))?;
        let payload = BASE64URL
            .decode(encoded)
            .map_err(|_| malformed("the payload is not base64url"))?;
        if payload.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(malformed("the payload is too short"));
        }

        let key = self.keys.get(KeyPurpose::PiiField, version)?;
        let (nonce, sealed) = payload.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| malformed("the nonce has the wrong length"))?;
        let mut buffer = Zeroizing::new(sealed.to_vec());
        let plaintext = aead_key(&key)?
            .open_in_place(nonce, Aad::from(column.label().as_bytes()), &mut buffer)
            .map_err(|_| FieldError::Decrypt {
                column: column.label(),
            })?;
        String::from_utf8(plaintext.to_vec()).map_err(|_| FieldError::NotUtf8 {
            column: column.label(),
        })
    }
}

fn aead_key(key: &DataKey) -> Result<LessSafeKey, FieldError> {
    UnboundKey::new(&AES_256_GCM, key.expose())
        .map(LessSafeKey::new)
        .map_err(|_| FieldError::Crypto("loading the PII field key"))
}
