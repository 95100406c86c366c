//! The development mailbox: each message becomes one file under
//! `<data_dir>/mailbox/`, so everything works offline and tests can read
//! the codes a user would receive.
//!
//! File names start with the message's creation time in UTC
//! (`20261204T183800.123456Z`) followed by the channel and the message id,
//! so sorting the names sorts the messages by time. A message is first
//! written as a hidden `.<name>.partial` file and then renamed to its
//! `.txt` name, so a reader that takes only `.txt` files never sees half a
//! message.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use time::macros::format_description;

use super::Message;
use super::delivery::{DeliveryError, Transport};

/// Name of the mailbox folder inside the data directory.
pub const MAILBOX_DIR: &str = "mailbox";

/// Writes messages as files into one folder.
pub struct Mailbox {
    dir: PathBuf,
}

impl Mailbox {
    /// Uses `<data_dir>/mailbox/`, creating it on the first delivery.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join(MAILBOX_DIR),
        }
    }

    fn file_name(message: &Message) -> Result<String, DeliveryError> {
        let stamp = message
            .created_at
            .format(format_description!(
                "[year][month][day]T[hour][minute][second].[subsecond digits:6]Z"
            ))
            .map_err(|e| DeliveryError::Permanent(format!("formatting the file time: {e}")))?;
        Ok(format!(
            "{stamp}-{}-{}.txt",
            message.channel.name(),
            message.id
        ))
    }
}

/// Renders the file content: headers, a blank line, then the body.
pub fn render(message: &Message) -> String {
    format!(
        "To: {}\nSubject: {}\nKind: {}\nMessage-Id: {}\n\n{}\n",
        message.recipient, message.subject, message.kind, message.id, message.body
    )
}

#[async_trait]
impl Transport for Mailbox {
    fn name(&self) -> &'static str {
        "mailbox"
    }

    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let name = Self::file_name(message)?;
        let dir = self.dir.clone();
        let content = render(message);
        tokio::task::spawn_blocking(move || write_private(&dir, &name, content.as_bytes()))
            .await
            .map_err(|e| DeliveryError::Temporary(format!("the mailbox task failed: {e}")))?
    }
}

/// Writes `content` to `dir/name` readable by the owner only, through a
/// temporary file and a rename.
fn write_private(dir: &Path, name: &str, content: &[u8]) -> Result<(), DeliveryError> {
    use std::io::Write;

    let failed = |action: &str, path: &Path, e: std::io::Error| {
        DeliveryError::Temporary(format!("cannot {action} {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| failed("create", dir, e))?;
    let temporary = dir.join(format!(".{name}.partial"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .map_err(|e| failed("create", &temporary, e))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| failed("write", &temporary, e))?;
    let target = dir.join(name);
    std::fs::rename(&temporary, &target).map_err(|e| failed("rename", &target, e))
}
