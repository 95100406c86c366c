//! A [`KeyWrapper`] backed by a key file, for desktops and tests only.
//!
//! Phones wrap the store key with a hardware-held key (Android Keystore,
//! iOS Keychain). A terminal has no such thing, so this wrapper keeps a
//! random AES-256-GCM key in a file with mode 0600 next to the store. Anyone
//! who can read that file can decrypt the store.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sharepay_client::store::WRAPPED_KEY_FILE;
use sharepay_client::{KeyWrapper, KeyWrapperError};
use zeroize::Zeroizing;

pub struct FileKeyWrapper {
    path: PathBuf,
}

impl FileKeyWrapper {
    /// Uses the key in `path`, creating it on first use.
    ///
    /// A missing key file next to an existing wrapped store key is an error,
    /// not a first use: a new key could never open that store.
    pub fn open_or_create(path: &Path) -> Result<Self, KeyWrapperError> {
        if !path.exists() {
            let wrapped = path
                .parent()
                .map(|dir| dir.join(WRAPPED_KEY_FILE))
                .filter(|wrapped| wrapped.exists());
            if let Some(wrapped) = wrapped {
                return Err(error(&format!(
                    "the key file {} is missing, but the store was locked with it ({} \
                     exists); restore the key file from a backup, or move the folder \
                     away to start over, which loses its unsent readings",
                    path.display(),
                    wrapped.display()
                )));
            }
            let mut key = Zeroizing::new([0u8; 32]);
            SystemRandom::new()
                .fill(key.as_mut())
                .map_err(|_| error("the system random generator failed"))?;
            write_private(path, key.as_ref())
                .map_err(|e| error(&format!("cannot create {}: {e}", path.display())))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    fn key(&self) -> Result<LessSafeKey, KeyWrapperError> {
        let bytes = Zeroizing::new(
            fs::read(&self.path)
                .map_err(|e| error(&format!("cannot read {}: {e}", self.path.display())))?,
        );
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| error(&format!("{} is not a 32-byte key", self.path.display())))?;
        Ok(LessSafeKey::new(unbound))
    }
}

impl KeyWrapper for FileKeyWrapper {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, KeyWrapperError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| error("the system random generator failed"))?;
        let mut sealed = key.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .map_err(|_| error("wrapping the store key failed"))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapperError> {
        if wrapped.len() < NONCE_LEN {
            return Err(error("the wrapped store key is truncated"));
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| error("the wrapped store key is truncated"))?;
        let mut buffer = Zeroizing::new(sealed.to_vec());
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::empty(), buffer.as_mut_slice())
            .map_err(|_| error("the wrapped store key does not match this key file"))?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

fn error(message: &str) -> KeyWrapperError {
    KeyWrapperError {
        message: message.to_owned(),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        crate::private_files::create_private_dir(parent)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_creates_a_private_key_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("desktop-key.bin");

        FileKeyWrapper::open_or_create(&path).expect("first use");
        assert_eq!(fs::read(&path).expect("key file").len(), 32);
    }

    #[test]
    fn missing_key_beside_a_wrapped_key_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join(WRAPPED_KEY_FILE), b"sealed").expect("wrapped key");
        let path = dir.path().join("desktop-key.bin");

        let error = FileKeyWrapper::open_or_create(&path)
            .err()
            .expect("a missing key file is refused");
        assert!(error.to_string().contains("is missing"), "{error}");
        assert!(!path.exists(), "no new key file may replace the lost one");
    }
}
