//! Encryption of card data and keyed fingerprints, with ring.
//!
//! A card number is sealed with AES-256-GCM under the newest data key, with
//! the card's token as associated data, so a ciphertext copied to another
//! row fails to open. The sealed form is `key_version (4 bytes, big
//! endian) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! Fingerprints are HMAC-SHA256 of the digits under a separate key, so a
//! stolen database cannot be matched against a list of card numbers
//! without that key. Nothing here logs or formats plaintext.

use std::collections::BTreeMap;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sharepay_domain::card::PrimaryAccountNumber;
use zeroize::Zeroizing;

use crate::keyring::VaultKeyring;

/// Failure to seal or open card data. It names no plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the system random generator failed")]
    Random,
    #[error("no data key of version {0} in the vault keyring")]
    UnknownKeyVersion(u32),
    #[error("the card ciphertext is damaged or belongs to another token")]
    Damaged,
    #[error("the vault keyring holds an unusable data key")]
    InvalidKey,
}

/// A keyed fingerprint of a card number and the key version that made it.
pub(crate) struct Fingerprint {
    pub version: u32,
    pub digest: Vec<u8>,
}

/// Seals and opens card data with the vault's keys.
pub(crate) struct CardCipher {
    data_keys: BTreeMap<u32, LessSafeKey>,
    fingerprint_version: u32,
    fingerprint_key: hmac::Key,
    rng: SystemRandom,
}

impl CardCipher {
    pub fn new(keyring: &VaultKeyring) -> Result<Self, CryptoError> {
        let mut data_keys = BTreeMap::new();
        for (version, bytes) in keyring.data_keys() {
            let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::InvalidKey)?;
            data_keys.insert(version, LessSafeKey::new(key));
        }
        let (fingerprint_version, fingerprint_bytes) = keyring.current_fingerprint_key();
        Ok(Self {
            data_keys,
            fingerprint_version,
            fingerprint_key: hmac::Key::new(hmac::HMAC_SHA256, fingerprint_bytes),
            rng: SystemRandom::new(),
        })
    }

    /// Returns the version of the data key that [`CardCipher::seal`] uses.
    pub fn current_key_version(&self) -> u32 {
        self.data_keys.keys().next_back().copied().unwrap_or(0)
    }

    /// Encrypts `plaintext` under the newest data key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let version = self.current_key_version();
        let key = self
            .data_keys
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let mut nonce_bytes = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce_bytes)
            .map_err(|_| CryptoError::Random)?;

        let mut in_out = Zeroizing::new(plaintext.to_vec());
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                in_out.as_mut_slice(),
            )
            .map_err(|_| CryptoError::InvalidKey)?;

        let mut sealed = Vec::with_capacity(4 + NONCE_LEN + in_out.len() + tag.as_ref().len());
        sealed.extend_from_slice(&version.to_be_bytes());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&in_out);
        sealed.extend_from_slice(tag.as_ref());
        Ok(sealed)
    }

    /// Decrypts the output of [`CardCipher::seal`] with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 4 + NONCE_LEN {
            return Err(CryptoError::Damaged);
        }
        let (version_bytes, rest) = sealed.split_at(4);
        let (nonce_bytes, ciphertext) = rest.split_at(NONCE_LEN);
        let mut version_array = [0u8; 4];
        version_array.copy_from_slice(version_bytes);
        let version = u32::from_be_bytes(version_array);
        let key = self
            .data_keys
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let nonce =
            Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| CryptoError::Damaged)?;

        let mut in_out = Zeroizing::new(ciphertext.to_vec());
        let plaintext_len = key
            .open_in_place(nonce, Aad::from(aad), in_out.as_mut_slice())
            .map_err(|_| CryptoError::Damaged)?
            .len();
        in_out.truncate(plaintext_len);
        Ok(in_out)
    }

    /// Computes the keyed fingerprint of a card number.
    pub fn fingerprint(&self, pan: &PrimaryAccountNumber) -> Fingerprint {
        let tag = hmac::sign(&self.fingerprint_key, pan.expose_digits().as_bytes());
        Fingerprint {
            version: self.fingerprint_version,
            digest: tag.as_ref().to_vec(),
        }
    }

    /// Returns `prefix` followed by 32 lowercase hex digits of fresh
    /// randomness (128 bits).
    pub fn random_token(&self, prefix: &str) -> Result<String, CryptoError> {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes).map_err(|_| CryptoError::Random)?;
        let mut token = String::with_capacity(prefix.len() + 32);
        token.push_str(prefix);
        for byte in bytes {
            token.push_str(&format!("{byte:02x}"));
        }
        Ok(token)
    }
}

/// SHA-256 of a bearer secret, the only form in which the store keeps it.
pub(crate) fn secret_hash(secret: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> (tempfile::TempDir, CardCipher) {
        let dir = tempfile::tempdir().expect("temp dir");
        let keyring = VaultKeyring::open_or_create(dir.path()).expect("keyring");
        let cipher = CardCipher::new(&keyring).expect("cipher");
        (dir, cipher)
    }

    #[test]
    fn sealed_data_opens_with_same_aad() {
        let (_dir, cipher) = cipher();
        let sealed = cipher.seal(b"4242424242424242", b"tok_a").expect("seal");

        assert_eq!(&sealed[..4], &1u32.to_be_bytes());
        let opened = cipher.open(&sealed, b"tok_a").expect("open");
        assert_eq!(opened.as_slice(), b"4242424242424242");
    }

    #[test]
    fn ciphertext_moved_to_other_token_fails() {
        let (_dir, cipher) = cipher();
        let sealed = cipher.seal(b"4242424242424242", b"tok_a").expect("seal");

        let error = cipher.open(&sealed, b"tok_b").expect_err("wrong AAD");
        assert!(matches!(error, CryptoError::Damaged));
    }

    #[test]
    fn random_token_has_32_hex_digits() {
        let (_dir, cipher) = cipher();
        let token = cipher.random_token("tok_").expect("token");

        assert_eq!(token.len(), 36);
        assert!(token[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
