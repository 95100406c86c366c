//! The audit anchor: the id and MAC of the newest entry a server appended,
//! kept in a small file outside the database.
//!
//! The file only moves forward within one process, and it is replaced
//! atomically (written to a temporary file, then renamed), so a process
//! that dies while writing leaves either the old anchor or the new one.
//! Any anchor names a real entry, so it is a lower bound on how far the
//! chain must reach.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// File name of the anchor inside the data directory.
pub const AUDIT_ANCHOR_FILE: &str = "audit-anchor.json";

/// An anchored entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub id: i64,
    pub mac: Vec<u8>,
}

/// The anchor file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("could not {action} the audit anchor {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the audit anchor {path} is not valid ({reason}); restore it from a backup, \
         or move it away to verify without it"
    )]
    Invalid { path: String, reason: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnchorJson {
    id: i64,
    mac: String,
}

/// The anchor file of one data directory.
pub(super) struct AnchorFile {
    path: PathBuf,
    /// Highest id written by this process, so that a slower append never
    /// moves the anchor back.
    written: Mutex<i64>,
}

impl AnchorFile {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            written: Mutex::new(0),
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Reads the anchored entry; `None` when no anchor was written yet.
    pub(super) fn read(&self) -> Result<Option<Anchor>, AnchorError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(AnchorError::Io {
                    action: "read",
                    path: self.display(),
                    source,
                });
            }
        };
        let invalid = |reason: String| AnchorError::Invalid {
            path: self.display(),
            reason,
        };
        let json: AnchorJson =
            serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        let mac = BASE64
            .decode(&json.mac)
            .map_err(|e| invalid(format!("mac: {e}")))?;
        if json.id < 1 {
            return Err(invalid(format!("id {} is not an entry id", json.id)));
        }
        Ok(Some(Anchor { id: json.id, mac }))
    }

    /// Records `anchor` unless this process already wrote a newer one.
    pub(super) fn advance(&self, anchor: Anchor) -> Result<(), AnchorError> {
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if anchor.id <= *written {
            return Ok(());
        }
        self.write(&anchor)?;
        *written = anchor.id;
        Ok(())
    }

    fn write(&self, anchor: &Anchor) -> Result<(), AnchorError> {
        let io = |action: &'static str| {
            let path = self.display();
            move |source| AnchorError::Io {
                action,
                path,
                source,
            }
        };
        let json = serde_json::to_vec(&AnchorJson {
            id: anchor.id,
            mac: BASE64.encode(&anchor.mac),
        })
        .map_err(|e| AnchorError::Invalid {
            path: self.display(),
            reason: e.to_string(),
        })?;
        let temporary = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary).map_err(io("write"))?;
        file.write_all(&json).map_err(io("write"))?;
        drop(file);
        std::fs::rename(&temporary, &self.path).map_err(io("replace"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_only_moves_forward() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(AUDIT_ANCHOR_FILE);
        let file = AnchorFile::new(path.clone());
        assert_eq!(file.read().expect("read"), None);

        let newer = Anchor {
            id: 7,
            mac: vec![7; 32],
        };
        file.advance(newer.clone()).expect("write 7");
        file.advance(Anchor {
            id: 5,
            mac: vec![5; 32],
        })
        .expect("skip 5");

        assert_eq!(AnchorFile::new(path).read().expect("read"), Some(newer));
    }

    #[test]
    fn invalid_anchor_names_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(AUDIT_ANCHOR_FILE);
        std::fs::write(&path, b"{\"id\": 3}").expect("write");

        let error = AnchorFile::new(path).read().expect_err("missing mac");

        assert!(error.to_string().contains(AUDIT_ANCHOR_FILE), "{error}");
        assert!(error.to_string().contains("restore it"), "{error}");
    }
}
