//! Sources of the operator secret: a file (`operator_secret_file`),
//! the `SHAREPAY_OPERATOR_SECRET` environment variable, or, when neither is
//! configured, `operator-secret` in the data directory, generated on first
//! start.
//!
//! The generated file makes the server start with no setup, but it keeps the
//! secret next to the keyring it protects. Production must keep the secret
//! elsewhere. The secret is never logged.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::KeyError;

/// Environment variable that carries the operator secret itself.
pub const OPERATOR_SECRET_ENV: &str = "SHAREPAY_OPERATOR_SECRET";
/// File name of the generated secret inside the data directory.
pub const GENERATED_SECRET_FILE: &str = "operator-secret";
/// Shortest secret accepted, in bytes after trimming.
const MIN_SECRET_LENGTH: usize = 16;

/// The secret the root key is derived from. `Debug` is redacted.
#[derive(Debug)]
pub struct OperatorSecret(SecretString);

impl OperatorSecret {
    /// Wraps a secret, trimming surrounding whitespace (a trailing newline
    /// in a file is common) and rejecting one shorter than 16 bytes.
    pub fn new(secret: &str, source: &str) -> Result<Self, KeyError> {
        let trimmed = secret.trim();
        if trimmed.len() < MIN_SECRET_LENGTH {
            return Err(KeyError::OperatorSecret(format!(
                "the secret from {source} is shorter than {MIN_SECRET_LENGTH} bytes; use a long \
                 random value"
            )));
        }
        Ok(Self(SecretString::from(trimmed.to_owned())))
    }

    pub(crate) fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

/// Finds the operator secret. `secret_file` and `env_secret` are the
/// configured sources. If both are unset, the generated file in `data_dir`
/// is read, or created when `may_generate` is set and no keyring exists yet.
pub fn resolve_operator_secret(
    secret_file: Option<&Path>,
    env_secret: Option<&SecretString>,
    data_dir: &Path,
    keyring_exists: bool,
    may_generate: bool,
) -> Result<OperatorSecret, KeyError> {
    match (secret_file, env_secret) {
        (Some(_), Some(_)) => Err(KeyError::OperatorSecret(format!(
            "both operator_secret_file and {OPERATOR_SECRET_ENV} are set; keep only one"
        ))),
        (Some(path), None) => read_secret_file(path, "operator_secret_file"),
        (None, Some(secret)) => OperatorSecret::new(secret.expose_secret(), OPERATOR_SECRET_ENV),
        (None, None) => {
            let path = data_dir.join(GENERATED_SECRET_FILE);
            if path.exists() {
                return read_secret_file(&path, "the generated operator secret");
            }
            if keyring_exists {
                return Err(KeyError::OperatorSecret(format!(
                    "the keyring exists but {} is missing and neither operator_secret_file nor \
                     {OPERATOR_SECRET_ENV} is set; configure the secret the keyring was created \
                     with",
                    path.display()
                )));
            }
            if !may_generate {
                return Err(KeyError::NotFound {
                    path: data_dir.display().to_string(),
                });
            }
            generate_secret_file(&path)
        }
    }
}

fn read_secret_file(path: &Path, source: &str) -> Result<OperatorSecret, KeyError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        KeyError::OperatorSecret(format!(
            "cannot read {source} {}: {e}; check the path and its permissions",
            path.display()
        ))
    })?);
    warn_if_readable_by_others(path);
    OperatorSecret::new(&text, &path.display().to_string())
}

fn generate_secret_file(path: &Path) -> Result<OperatorSecret, KeyError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| KeyError::Crypto("the system random generator"))?;
    let secret = Zeroizing::new(BASE64URL.encode(bytes.as_ref()));
    crate::tls::write_private(path, &format!("{}\n", secret.as_str()))
        .map_err(|e| KeyError::File(e.to_string()))?;
    tracing::warn!(
        path = %path.display(),
        "generated an operator secret next to the keyring it protects; in production keep it \
         elsewhere (operator_secret_file or {OPERATOR_SECRET_ENV}) and remove this file"
    );
    OperatorSecret::new(&secret, &path.display().to_string())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the operator secret file is readable by group or others; set its mode to 0600"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
