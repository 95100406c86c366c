//! Password hashing with Argon2id, a 16-byte random salt and a versioned
//! pepper from the key provider.
//!
//! The pepper is Argon2's secret input, so a stolen database alone is not
//! enough to test guesses offline. Each stored hash records the pepper
//! version it was made with, so the pepper can rotate: a login with an
//! older pepper or older Argon2 parameters gets its hash replaced.
//!
//! Hashing runs on `max_parallel` dedicated threads.
//! At most `max_waiting` more requests wait for a turn. A request beyond
//! that fails at once with 429 and `Retry-After`, so a burst of logins can
//! neither take every core nor queue without bound.

use std::collections::BTreeMap;
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

const SALT_LENGTH: usize = 16;

/// A password that no account has, verified when the email is unknown so
/// that unknown and known accounts take about as long.
const DUMMY_PASSWORD: &[u8] = b"no account has this password";

/// `Retry-After` seconds sent when the hashing queue is full.
const QUEUE_FULL_RETRY_SECONDS: u64 = 1;

/// Every pepper version the keyring holds, and the one new hashes use.
pub struct PepperSet {
    pub current: u32,
    pub peppers: BTreeMap<u32, SecretSlice<u8>>,
}

/// A new password hash and the pepper version it was made with.
pub struct VersionedHash {
    /// Argon2id PHC string.
    pub phc: String,
    pub pepper_version: u32,
}

/// A stored hash to check a password against.
#[derive(Clone)]
pub struct StoredHash {
    pub phc: String,
    pub pepper_version: u32,
}

/// The result of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    /// The password is right; `needs_rehash` when the hash used older
    /// parameters or an older pepper.
    Valid {
        needs_rehash: bool,
    },
}

pub struct PasswordHashing {
    peppers: PepperSet,
    params: Params,
    /// Prefix of every PHC string made with `params`, such as
    /// `$argon2id$v=19$m=19456,t=2,p=1$`.
    current_prefix: String,
    permits: Arc<Semaphore>,
    /// Turns of running and waiting requests together.
    queue: Arc<Semaphore>,
    workers: HashWorkers,
    dummy_hash: String,
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that run every Argon2 call.
///
/// Argon2 allocates its 19 MiB per call. On tokio's blocking pool the calls
/// land on ever new threads, and glibc keeps the freed block in each
/// thread's malloc arena; a 100-login storm measured 768 MiB of peak RSS
/// that way. A few long-lived threads reuse the same few blocks.
struct HashWorkers {
    sender: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl HashWorkers {
    fn start(count: usize) -> Result<Self, ApiError> {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for index in 0..count {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    loop {
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // The hasher was dropped.
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| ApiError::internal("starting a password hashing thread", e))?;
        }
        Ok(Self {
            sender: std::sync::Mutex::new(sender),
        })
    }

    /// Runs `work` on a worker thread and returns its result.
    async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The request may have timed out and dropped the receiver.
            let _ = done.send(work());
        });
        self.sender
            .lock()
            .map_err(|_| {
                ApiError::internal("queueing a password hash", "the queue lock is poisoned")
            })?
            .send(job)
            .map_err(|_| {
                ApiError::internal("queueing a password hash", "the hashing threads stopped")
            })?;
        result
            .await
            .map_err(|_| ApiError::internal("hashing a password", "the hashing thread failed"))
    }
}

impl PasswordHashing {
    /// Creates the hasher with one pepper (version 1), OWASP's Argon2id
    /// defaults (19 MiB, t=2, p=1), at most `max_parallel` hashes at once
    /// and 64 waiting requests per parallel hash.
    pub fn new(pepper: SecretSlice<u8>, max_parallel: usize) -> Result<Self, ApiError> {
        let peppers = PepperSet {
            current: 1,
            peppers: BTreeMap::from([(1, pepper)]),
        };
        Self::with_options(peppers, Params::DEFAULT, max_parallel, 64 * max_parallel)
    }

    /// Creates the hasher with every option.
    pub fn with_options(
        peppers: PepperSet,
        params: Params,
        max_parallel: usize,
        max_waiting: usize,
    ) -> Result<Self, ApiError> {
        if !peppers.peppers.contains_key(&peppers.current) {
            return Err(ApiError::internal(
                "configuring password hashing",
                format!("pepper version {} is missing", peppers.current),
            ));
        }
        let max_parallel = max_parallel.max(1);
        let mut hashing = Self {
            current_prefix: format!(
                "$argon2id$v=19$m={},t={},p={}$",
                params.m_cost(),
                params.t_cost(),
                params.p_cost()
            ),
            peppers,
            params,
            permits: Arc::new(Semaphore::new(max_parallel)),
            queue: Arc::new(Semaphore::new(max_parallel + max_waiting)),
            workers: HashWorkers::start(max_parallel)?,
            dummy_hash: String::new(),
        };
        let current = hashing.peppers.current;
        hashing.dummy_hash = hashing.hash_blocking(DUMMY_PASSWORD, current)?;
        Ok(hashing)
    }

    /// The pepper version new hashes use.
    pub fn current_pepper_version(&self) -> u32 {
        self.peppers.current
    }

    fn argon2(&self, pepper_version: u32) -> Result<Argon2<'_>, ApiError> {
        let pepper = self.peppers.peppers.get(&pepper_version).ok_or_else(|| {
            ApiError::internal(
                "hashing a password",
                format!("pepper version {pepper_version} is not in the keyring"),
            )
        })?;
        Argon2::new_with_secret(
            pepper.expose_secret(),
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
        )
        .map_err(|e| ApiError::internal("configuring Argon2id", e))
    }

    fn hash_blocking(&self, password: &[u8], pepper_version: u32) -> Result<String, ApiError> {
        let mut salt = [0u8; SALT_LENGTH];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| ApiError::internal("generating a salt", "system random failed"))?;
        let hash = self
            .argon2(pepper_version)?
            .hash_password_with_salt(password, &salt)
            .map_err(|e| ApiError::internal("hashing a password", e))?;
        Ok(hash.to_string())
    }

    /// Checks `password` against a stored hash. The parameters come from
    /// the PHC string, so hashes made with older parameters still verify.
    pub(crate) fn verify_blocking(&self, password: &[u8], stored: &StoredHash) -> Verification {
        let valid = match self.argon2(stored.pepper_version) {
            Ok(argon2) => argon2
                .verify_password(password, stored.phc.as_str())
                .is_ok(),
            Err(_) => false,
        };
        if !valid {
            return Verification::Invalid;
        }
        Verification::Valid {
            needs_rehash: stored.pepper_version != self.peppers.current
                || !stored.phc.starts_with(&self.current_prefix),
        }
    }

    /// Hashes a password with the current parameters and pepper.
    pub async fn hash(self: &Arc<Self>, password: SecretString) -> Result<VersionedHash, ApiError> {
        let turn = self.acquire().await?;
        let this = Arc::clone(self);
        let pepper_version = self.peppers.current;
        let phc = self
            .workers
            .run(move || {
                // The turn moves into the task, so a request that times out
                // and drops this future does not free it while Argon2 runs.
                let _turn = turn;
                this.hash_blocking(password.expose_secret().as_bytes(), pepper_version)
            })
            .await??;
        Ok(VersionedHash {
            phc,
            pepper_version,
        })
    }

    /// Checks a password against a stored hash, or against a dummy hash when
    /// `stored` is `None` so that the time taken does not reveal the account.
    pub async fn verify(
        self: &Arc<Self>,
        password: SecretString,
        stored: Option<StoredHash>,
    ) -> Result<Verification, ApiError> {
        let turn = self.acquire().await?;
        let this = Arc::clone(self);
        self.workers
            .run(move || {
                let _turn = turn;
                let password = password.expose_secret().as_bytes();
                match stored {
                    Some(stored) => this.verify_blocking(password, &stored),
                    None => {
                        let dummy = StoredHash {
                            phc: this.dummy_hash.clone(),
                            pepper_version: this.peppers.current,
                        };
                        this.verify_blocking(password, &dummy);
                        Verification::Invalid
                    }
                }
            })
            .await
    }

    /// Runs `work`, which calls Argon2, on a hashing thread. Take a turn
    /// with [`PasswordHashing::acquire`] first and move it into `work`.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.workers.run(work).await
    }

    /// Takes a place in the queue at once or fails with 429, then waits
    /// for a hashing turn. Move the turn into the blocking task that
    /// hashes, so it is held until Argon2 finishes.
    pub(crate) async fn acquire(
        &self,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), ApiError> {
        let place = Arc::clone(&self.queue).try_acquire_owned().map_err(|_| {
            metrics::counter!("sharepay_password_queue_full_total").increment(1);
            ApiError::RateLimited {
                retry_after_secs: QUEUE_FULL_RETRY_SECONDS,
            }
        })?;
        let turn = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal("the hashing pool is closed", e))?;
        Ok((place, turn))
    }
}

/// Builds the hasher from every pepper version in `keys`, hashing with the
/// newest, with at most `max_parallel` hashes at once.
pub fn load_hashing(
    keys: &dyn crate::keys::KeyProvider,
    max_parallel: usize,
) -> Result<PasswordHashing, ApiError> {
    use crate::keys::KeyPurpose;

    let key_error = |e: crate::keys::KeyError| ApiError::internal("loading the pepper", e);
    let current = keys
        .current(KeyPurpose::PasswordPepper)
        .map_err(key_error)?;
    let mut peppers = BTreeMap::new();
    for version in 1..current.version {
        let key = keys
            .get(KeyPurpose::PasswordPepper, version)
            .map_err(key_error)?;
        peppers.insert(version, SecretSlice::from(key.expose().to_vec()));
    }
    peppers.insert(
        current.version,
        SecretSlice::from(current.expose().to_vec()),
    );
    let peppers = PepperSet {
        current: current.version,
        peppers,
    };
    PasswordHashing::with_options(peppers, Params::DEFAULT, max_parallel, 64 * max_parallel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pepper(byte: u8) -> SecretSlice<u8> {
        SecretSlice::from(vec![byte; 32])
    }

    fn hashing() -> Arc<PasswordHashing> {
        Arc::new(PasswordHashing::new(pepper(5), 2).expect("hasher"))
    }

    fn stored(hash: &VersionedHash) -> Option<StoredHash> {
        Some(StoredHash {
            phc: hash.phc.clone(),
            pepper_version: hash.pepper_version,
        })
    }

    #[tokio::test]
    async fn hash_is_argon2id_with_owasp_parameters() {
        let hashing = hashing();
        let hash = hashing
            .hash(SecretString::from("Tulip-Harbor-4821!"))
            .await
            .expect("hash");

        assert!(
            hash.phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.phc
        );
        assert_eq!(hash.pepper_version, 1);
        let salt = hash.phc.split('$').nth(4).expect("salt field");
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
            .verify(SecretString::from("Tulip-Harbor-4821!"), stored(&hash))
            .await
            .expect("verify");
        let wrong = hashing
            .verify(SecretString::from("Tulip-Harbor-4822!"), stored(&hash))
            .await
            .expect("verify");
        assert_eq!(
            right,
            Verification::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(wrong, Verification::Invalid);
    }

    #[tokio::test]
    async fn hash_depends_on_pepper() {
        let hash = hashing()
            .hash(SecretString::from("Tulip-Harbor-4821!"))
            .await
            .expect("hash");
        let other = Arc::new(PasswordHashing::new(pepper(6), 1).expect("hasher"));

        let verified = other
            .verify(SecretString::from("Tulip-Harbor-4821!"), stored(&hash))
            .await
            .expect("verify");
        assert_eq!(
            verified,
            Verification::Invalid,
            "a different pepper must not verify the hash"
        );
    }

    #[tokio::test]
    async fn older_pepper_or_params_need_rehash() {
        let weak = Params::new(8 * 1024, 1, 1, None).expect("params");
        let old = Arc::new(
            PasswordHashing::with_options(
                PepperSet {
                    current: 1,
                    peppers: BTreeMap::from([(1, pepper(5))]),
                },
                weak,
                1,
                1,
            )
            .expect("hasher"),
        );
        let current = Arc::new(
            PasswordHashing::with_options(
                PepperSet {
                    current: 2,
                    peppers: BTreeMap::from([(1, pepper(5)), (2, pepper(6))]),
                },
                Params::DEFAULT,
                1,
                1,
            )
            .expect("hasher"),
        );
        let password = || SecretString::from("Tulip-Harbor-4821!");
        let weak_hash = old.hash(password()).await.expect("hash");
        let fresh = current.hash(password()).await.expect("hash");

        let weak_result = current
            .verify(password(), stored(&weak_hash))
            .await
            .expect("verify");
        let fresh_result = current
            .verify(password(), stored(&fresh))
            .await
            .expect("verify");

        assert_eq!(fresh.pepper_version, 2);
        assert_eq!(weak_result, Verification::Valid { needs_rehash: true });
        assert_eq!(
            fresh_result,
            Verification::Valid {
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn full_queue_answers_rate_limited() {
        let hashing = Arc::new(
            PasswordHashing::with_options(
                PepperSet {
                    current: 1,
                    peppers: BTreeMap::from([(1, pepper(5))]),
                },
                Params::DEFAULT,
                1,
                1,
            )
            .expect("hasher"),
        );
        let running = hashing.acquire().await.expect("first turn");
        let waiting = {
            let hashing = Arc::clone(&hashing);
            tokio::spawn(async move { hashing.acquire().await.map(|_| ()) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;

        let refused = hashing.hash(SecretString::from("Tulip-Harbor-4821!")).await;

        let Err(ApiError::RateLimited { retry_after_secs }) = refused else {
            panic!("a full queue must answer 429");
        };
        assert_eq!(retry_after_secs, 1);
        drop(running);
        assert!(
            waiting.await.expect("task").is_ok(),
            "the waiting request gets its turn"
        );
    }
}
