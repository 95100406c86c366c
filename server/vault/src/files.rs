//! Writing files in the vault's data directory.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::VaultError;

/// Writes a new secret file that only the owner can read (mode 0600 on
/// Unix). An existing file is never overwritten.
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<(), VaultError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| VaultError::io("create", path, e))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| VaultError::io("write", path, e))
}

/// Writes a public file such as a certificate.
pub(crate) fn write_public(path: &Path, contents: &str) -> Result<(), VaultError> {
    fs::write(path, contents).map_err(|e| VaultError::io("write", path, e))
}

pub(crate) fn read_text(path: &Path) -> Result<String, VaultError> {
    fs::read_to_string(path).map_err(|e| VaultError::io("read", path, e))
}
