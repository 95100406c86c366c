//! Password hashing with Argon2id, a 16-byte random salt and a pepper from
//! the key provider.
//!
//! The pepper is Argon2's secret input, so a stolen database alone is not
//! enough to test guesses offline. Hashing runs on tokio's blocking pool,
//! bounded by a semaphore so that a burst of logins cannot take every core
//! and all memory.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use tokio::sync::Semaphore;

use crate::error::ApiError;

const SALT_LENGTH: usize = 16;

/// A PHC string of a password that no account has, verified when the email
/// is unknown so that unknown and known accounts take about as long.
const DUMMY_PASSWORD: &[u8] = b"no account has this password";

pub struct PasswordHashing {
    pepper: SecretSlice<u8>,
    params: Params,
    permits: Arc<Semaphore>,
    dummy_hash: String,
}

impl PasswordHashing {
    /// Creates the hasher with OWASP's Argon2id defaults (19 MiB, t=2, p=1)
    /// and at most `max_parallel` hashes at once.
    pub fn new(pepper: SecretSlice<u8>, max_parallel: usize) -> Result<Self, ApiError> {
        let mut hashing = Self {
            pepper,
            params: Params::DEFAULT,
            permits: Arc::new(Semaphore::new(max_parallel.max(1))),
            dummy_hash: String::new(),
        };
        hashing.dummy_hash = hashing.hash_blocking(DUMMY_PASSWORD)?;
        Ok(hashing)
    }

    fn argon2(&self) -> Result<Argon2<'_>, ApiError> {
        Argon2::new_with_secret(
            self.pepper.expose_secret(),
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
        )
        .map_err(|e| ApiError::internal("configuring Argon2id", e))
    }

    fn hash_blocking(&self, password: &[u8]) -> Result<String, ApiError> {
        let mut salt = [0u8; SALT_LENGTH];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| ApiError::internal("generating a salt", "system random failed"))?;
        let hash = self
            .argon2()?
            .hash_password_with_salt(password, &salt)
            .map_err(|e| ApiError::internal("hashing a password", e))?;
        Ok(hash.to_string())
    }

    fn verify_blocking(&self, password: &[u8], hash: &str) -> bool {
        match self.argon2() {
            Ok(argon2) => argon2.verify_password(password, hash).is_ok(),
            Err(_) => false,
        }
    }

    /// Hashes a password into an Argon2id PHC string.
    pub async fn hash(self: &Arc<Self>, password: SecretString) -> Result<String, ApiError> {
        let _permit = self.acquire().await?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.hash_blocking(password.expose_secret().as_bytes()))
            .await
            .map_err(|e| ApiError::internal("the hashing task failed", e))?
    }

    /// Checks a password against a stored hash, or against a dummy hash when
    /// `hash` is `None` so that the time taken does not reveal the account.
    pub async fn verify(
        self: &Arc<Self>,
        password: SecretString,
        hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let _permit = self.acquire().await?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let password = password.expose_secret().as_bytes();
            match hash {
                Some(hash) => this.verify_blocking(password, &hash),
                None => {
                    this.verify_blocking(password, &this.dummy_hash);
                    false
                }
            }
        })
        .await
        .map_err(|e| ApiError::internal("the hashing task failed", e))
    }

    async fn acquire(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal("the hashing pool is closed", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashing() -> Arc<PasswordHashing> {
        let pepper = SecretSlice::from(vec![5u8; 32]);
        Arc::new(PasswordHashing::new(pepper, 2).expect("hasher"))
    }

    #[tokio::test]
    async fn hash_is_argon2id_with_owasp_parameters() {
        let hashing = hashing();
        let hash = hashing
            .hash(SecretString::from("Tulip-Harbor-4821!"))
            .await
            .expect("hash");

        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let salt = hash.split('$').nth(4).expect("salt field");
        let decoded =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD_NO_PAD, salt)
                .expect("salt is base64");
        assert_eq!(decoded.len(), 16);
    }

    #[tokio::test]
    async fn verify_accepts_right_and_rejects_wrong_password() {
        let hashing = hashing();
        let hash = hashing
            .hash(SecretString::from("Tulip-Harbor-4821!"))
            .await
            .expect("hash");

        let right = hashing
            .verify(SecretString::from("Tulip-Harbor-4821!"), Some(hash.clone()))
            .await
            .expect("verify");
        let wrong = hashing
            .verify(SecretString::from("Tulip-Harbor-4822!"), Some(hash))
            .await
            .expect("verify");
        assert!(right);
        assert!(!wrong);
    }

    #[tokio::test]
    async fn hash_depends_on_pepper() {
        let hash = hashing()
            .hash(SecretString::from("Tulip-Harbor-4821!"))
            .await
            .expect("hash");
        let other =
            Arc::new(PasswordHashing::new(SecretSlice::from(vec![6u8; 32]), 1).expect("hasher"));

        let verified = other
            .verify(SecretString::from("Tulip-Harbor-4821!"), Some(hash))
            .await
            .expect("verify");
        assert!(!verified, "a different pepper must not verify the hash");
    }
}
