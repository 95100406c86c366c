//! Folders and files that only the user may read: the phone data folder
//! (mode 0700) and the files in it or written from it (mode 0600) on Unix.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Creates `dir` and its missing parents, each with mode 0700 on Unix. An
/// existing folder keeps its mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `contents` to `path`, replacing any earlier file, and sets mode
/// 0600 on Unix before writing.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)
}
