//! The local keyring file: data keys wrapped under a root key that is
//! derived from the operator secret.
//!
//! The file is JSON. It stores the Argon2id salt and parameters, a verifier
//! (an empty AES-256-GCM message under the root key) that distinguishes a
//! wrong operator secret from a damaged file, and every version of every data key
//! as `base64(nonce ‖ ciphertext ‖ tag)`. The additional authenticated data
//! of a wrapped key names its purpose and version, so a wrapped key cannot
//! be passed off as another. The file is only ever replaced whole (write a
//! temporary file, then rename), and only after the secret has been proven
//! right.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::{DataKey, KeyError, KeyProvider, KeyPurpose, OperatorSecret};

const FORMAT: u32 = 2;
const ROOT_KEY_LENGTH: usize = 32;
const SALT_LENGTH: usize = 16;
const VERIFIER_AAD: &[u8] = b"sharepay-keyring:v2:verifier";

/// Argon2id parameters that turn the operator secret into the root key.
/// They are stored in the keyring file, so stronger ones can be chosen for a
/// new keyring without breaking old ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    pub algorithm: String,
    pub version: u32,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Base64 of a random 16-byte salt.
    pub salt: String,
}

impl KdfParams {
    /// Parameters for a new keyring: 46 MiB, one pass, one lane (one of
    /// OWASP's Argon2id configurations), with a fresh random salt.
    pub fn recommended() -> Result<Self, KeyError> {
        Self::with_cost(46 * 1024, 1)
    }

    /// Parameters with a given memory (KiB) and pass count, and a fresh
    /// salt. Tests use small values to stay fast.
    pub fn with_cost(memory_kib: u32, iterations: u32) -> Result<Self, KeyError> {
        let mut salt = [0u8; SALT_LENGTH];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| KeyError::Crypto("the system random generator"))?;
        Ok(Self {
            algorithm: "argon2id".to_owned(),
            version: 19,
            memory_kib,
            iterations,
            parallelism: 1,
            salt: BASE64.encode(salt),
        })
    }

    fn derive_root_key(
        &self,
        secret: &OperatorSecret,
        path: &str,
    ) -> Result<Zeroizing<[u8; ROOT_KEY_LENGTH]>, KeyError> {
        let corrupt = |detail: String| KeyError::Corrupt {
            path: path.to_owned(),
            detail,
        };
        if self.algorithm != "argon2id" || self.version != 19 {
            return Err(corrupt(format!(
                "unsupported key derivation {} version {}",
                self.algorithm, self.version
            )));
        }
        let salt = BASE64
            .decode(&self.salt)
            .map_err(|_| corrupt("the kdf salt is not base64".to_owned()))?;
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(ROOT_KEY_LENGTH),
        )
        .map_err(|e| corrupt(format!("invalid kdf parameters: {e}")))?;
        let mut root = Zeroizing::new([0u8; ROOT_KEY_LENGTH]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(secret.expose(), &salt, root.as_mut())
            .map_err(|e| corrupt(format!("deriving the root key failed: {e}")))?;
        Ok(root)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: u32,
    kdf: KdfParams,
    verifier: String,
    keys: Vec<WrappedKey>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrappedKey {
    purpose: String,
    version: u32,
    created_at: String,
    /// Base64 of nonce ‖ ciphertext ‖ tag.
    wrapped: String,
}

struct UnwrappedKeys {
    file: KeyringFile,
    keys: BTreeMap<(KeyPurpose, u32), Zeroizing<Vec<u8>>>,
}

/// The keyring file in the data directory, opened with the operator secret.
pub struct LocalKeyring {
    path: PathBuf,
    root: Zeroizing<[u8; ROOT_KEY_LENGTH]>,
    state: RwLock<UnwrappedKeys>,
}

impl std::fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyring")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalKeyring {
    /// Opens the keyring at `path`, or creates it with fresh keys and the
    /// recommended derivation parameters if the file does not exist.
    pub fn open_or_create(path: &Path, secret: &OperatorSecret) -> Result<Self, KeyError> {
        if path.exists() {
            Self::open(path, secret)
        } else {
            Self::create(path, secret, KdfParams::recommended()?)
        }
    }

    /// Creates a keyring with one fresh version of every key. Fails if the
    /// file exists, so an existing keyring is never replaced.
    pub fn create(path: &Path, secret: &OperatorSecret, kdf: KdfParams) -> Result<Self, KeyError> {
        let path_text = path.display().to_string();
        let root = kdf.derive_root_key(secret, &path_text)?;
        let verifier = wrap(&root, VERIFIER_AAD, &[])?;
        let mut state = UnwrappedKeys {
            file: KeyringFile {
                format: FORMAT,
                kdf,
                verifier,
                keys: Vec::new(),
            },
            keys: BTreeMap::new(),
        };
        for purpose in KeyPurpose::ALL {
            add_version(&root, &mut state, purpose)?;
        }
        write_new_file(path, &state.file)?;
        tracing::info!(path = %path_text, "created the local keyring");
        Ok(Self {
            path: path.to_path_buf(),
            root,
            state: RwLock::new(state),
        })
    }

    /// Opens an existing keyring. A wrong secret is reported as
    /// [`KeyError::WrongOperatorSecret`] and the file is not written.
    pub fn open(path: &Path, secret: &OperatorSecret) -> Result<Self, KeyError> {
        let path_text = path.display().to_string();
        let corrupt = |detail: String| KeyError::Corrupt {
            path: path_text.clone(),
            detail,
        };
        if !path.exists() {
            return Err(KeyError::NotFound { path: path_text });
        }
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| KeyError::Io {
                    action: "read",
                    path: path_text.clone(),
                    source,
                })?,
            );
        let file: KeyringFile = serde_json::from_str(&text).map_err(|e| {
            corrupt(format!(
                "not a keyring (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if file.format != FORMAT {
            return Err(corrupt(format!(
                "keyring format {} is not supported by this build (expected {FORMAT})",
                file.format
            )));
        }

        let root = file.kdf.derive_root_key(secret, &path_text)?;
        if unwrap(&root, VERIFIER_AAD, &file.verifier).is_err() {
            return Err(KeyError::WrongOperatorSecret { path: path_text });
        }

        let mut keys = BTreeMap::new();
        for entry in &file.keys {
            let purpose = KeyPurpose::from_name(&entry.purpose)
                .ok_or_else(|| corrupt(format!("unknown key purpose {:?}", entry.purpose)))?;
            let bytes =
                unwrap(&root, &wrap_aad(purpose, entry.version), &entry.wrapped).map_err(|_| {
                    corrupt(format!(
                        "the {purpose} key version {} does not unwrap",
                        entry.version
                    ))
                })?;
            keys.insert((purpose, entry.version), bytes);
        }

        let mut state = UnwrappedKeys { file, keys };
        let missing: Vec<KeyPurpose> = KeyPurpose::ALL
            .into_iter()
            .filter(|purpose| latest_version(&state, *purpose).is_none())
            .collect();
        if !missing.is_empty() {
            // A purpose added by a newer build gets its first key here. The
            // secret is proven right at this point, so rewriting is safe.
            for purpose in &missing {
                add_version(&root, &mut state, *purpose)?;
            }
            replace_file(path, &state.file)?;
            tracing::info!(path = %path_text, ?missing, "added keys for new purposes to the keyring");
        }

        Ok(Self {
            path: path.to_path_buf(),
            root,
            state: RwLock::new(state),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_state(&self) -> Result<std::sync::RwLockReadGuard<'_, UnwrappedKeys>, KeyError> {
        self.state
            .read()
            .map_err(|_| KeyError::Crypto("reading the keyring lock (poisoned)"))
    }
}

impl KeyProvider for LocalKeyring {
    fn current(&self, purpose: KeyPurpose) -> Result<DataKey, KeyError> {
        let state = self.read_state()?;
        let version = latest_version(&state, purpose).ok_or(KeyError::Missing(purpose))?;
        let bytes = state
            .keys
            .get(&(purpose, version))
            .ok_or(KeyError::Missing(purpose))?;
        Ok(DataKey::new(purpose, version, bytes.clone()))
    }

    fn get(&self, purpose: KeyPurpose, version: u32) -> Result<DataKey, KeyError> {
        let state = self.read_state()?;
        let bytes = state
            .keys
            .get(&(purpose, version))
            .ok_or(KeyError::MissingVersion { purpose, version })?;
        Ok(DataKey::new(purpose, version, bytes.clone()))
    }

    fn rotate(&self, purpose: KeyPurpose) -> Result<u32, KeyError> {
        if !purpose.supports_rotation() {
            return Err(KeyError::RotationUnsupported(purpose));
        }
        let mut state = self
            .state
            .write()
            .map_err(|_| KeyError::Crypto("writing the keyring lock (poisoned)"))?;
        let version = add_version(&self.root, &mut state, purpose)?;
        if let Err(e) = replace_file(&self.path, &state.file) {
            state.file.keys.pop();
            state.keys.remove(&(purpose, version));
            return Err(e);
        }
        tracing::info!(%purpose, version, "added a new key version");
        Ok(version)
    }
}

fn latest_version(state: &UnwrappedKeys, purpose: KeyPurpose) -> Option<u32> {
    state
        .keys
        .keys()
        .filter(|(p, _)| *p == purpose)
        .map(|(_, version)| *version)
        .max()
}

/// Generates the next version of `purpose`, wraps it and adds it to `state`.
fn add_version(
    root: &[u8; ROOT_KEY_LENGTH],
    state: &mut UnwrappedKeys,
    purpose: KeyPurpose,
) -> Result<u32, KeyError> {
    let version = latest_version(state, purpose).map_or(1, |v| v + 1);
    let key = generate_key(purpose)?;
    let wrapped = wrap(root, &wrap_aad(purpose, version), &key)?;
    let created_at = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .map_err(|_| KeyError::Crypto("formatting the creation time"))?;
    state.file.keys.push(WrappedKey {
        purpose: purpose.name().to_owned(),
        version,
        created_at,
        wrapped,
    });
    state.keys.insert((purpose, version), key);
    Ok(version)
}

fn generate_key(purpose: KeyPurpose) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let rng = SystemRandom::new();
    if purpose == KeyPurpose::JwtSigning {
        let document = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| KeyError::Crypto("generating an Ed25519 key"))?;
        return Ok(Zeroizing::new(document.as_ref().to_vec()));
    }
    let mut key = Zeroizing::new(vec![0u8; 32]);
    rng.fill(&mut key)
        .map_err(|_| KeyError::Crypto("the system random generator"))?;
    Ok(key)
}

fn wrap_aad(purpose: KeyPurpose, version: u32) -> Vec<u8> {
    format!("sharepay-keyring:v2:{}:{version}", purpose.name()).into_bytes()
}

fn wrap(root: &[u8; ROOT_KEY_LENGTH], aad: &[u8], plaintext: &[u8]) -> Result<String, KeyError> {
    let key = aead_key(root)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| KeyError::Crypto("the system random generator"))?;
    let mut sealed = Zeroizing::new(plaintext.to_vec());
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut *sealed,
    )
    .map_err(|_| KeyError::Crypto("wrapping a key"))?;
    let mut output = nonce.to_vec();
    output.extend_from_slice(&sealed);
    Ok(BASE64.encode(output))
}

fn unwrap(
    root: &[u8; ROOT_KEY_LENGTH],
    aad: &[u8],
    encoded: &str,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bytes = Zeroizing::new(
        BASE64
            .decode(encoded)
            .map_err(|_| KeyError::Crypto("decoding a wrapped key"))?,
    );
    if bytes.len() < NONCE_LEN {
        return Err(KeyError::Crypto("unwrapping a truncated key"));
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Crypto("reading a nonce"))?;
    let mut buffer = Zeroizing::new(sealed.to_vec());
    let plaintext_length = aead_key(root)?
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| KeyError::Crypto("unwrapping a key"))?
        .len();
    buffer.truncate(plaintext_length);
    Ok(buffer)
}

fn aead_key(root: &[u8; ROOT_KEY_LENGTH]) -> Result<LessSafeKey, KeyError> {
    UnboundKey::new(&AES_256_GCM, root)
        .map(LessSafeKey::new)
        .map_err(|_| KeyError::Crypto("loading the root key"))
}

fn encode_file(file: &KeyringFile) -> Result<Zeroizing<String>, KeyError> {
    serde_json::to_string_pretty(file)
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Crypto("encoding the keyring"))
}

fn write_new_file(path: &Path, file: &KeyringFile) -> Result<(), KeyError> {
    let text = encode_file(file)?;
    crate::tls::write_private(path, &text).map_err(|e| KeyError::File(e.to_string()))
}

/// Replaces the keyring atomically: a crash leaves either the old file or
/// the new one, never a half-written keyring.
fn replace_file(path: &Path, file: &KeyringFile) -> Result<(), KeyError> {
    let text = encode_file(file)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    // A leftover from an interrupted write contains nothing the keyring lacks.
    let _ = std::fs::remove_file(&temporary);
    crate::tls::write_private(&temporary, &text).map_err(|e| KeyError::File(e.to_string()))?;
    std::fs::rename(&temporary, path).map_err(|source| KeyError::Io {
        action: "replace",
        path: path.display().to_string(),
        source,
    })
}
