//! The in-process server's development mailbox, read as each person would
//! read their email: one file per message under `<server data>/mailbox/`,
//! headers, a blank line, then the body.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use secrecy::SecretString;

/// Subject of the messages that carry a six-digit security code.
const CODE_SUBJECT: &str = "Your SharePay security code";
/// How long to wait for the server to deliver a message.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

pub struct Mailbox {
    dir: PathBuf,
}

impl Mailbox {
    pub fn new(server_data_dir: &Path) -> Self {
        Self {
            dir: server_data_dir.join("mailbox"),
        }
    }

    /// Counts the security code messages to `recipient` so far.
    pub fn code_count(&self, recipient: &str) -> usize {
        self.codes(recipient).len()
    }

    /// Waits until the server delivers a security code message to
    /// `recipient` beyond the first `seen`, and returns its code.
    pub async fn wait_for_code(
        &self,
        recipient: &str,
        seen: usize,
    ) -> anyhow::Result<SecretString> {
        let started = std::time::Instant::now();
        while started.elapsed() < DELIVERY_TIMEOUT {
            let mut codes = self.codes(recipient);
            if codes.len() > seen
                && let Some(code) = codes.pop()
            {
                return Ok(SecretString::from(code));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        bail!(
            "no security code for {recipient} arrived in {} within {} s",
            self.dir.display(),
            DELIVERY_TIMEOUT.as_secs()
        )
    }

    /// Returns the codes of the security code messages to `recipient`,
    /// oldest first. File names start with the delivery time, so sorting
    /// them sorts the messages.
    fn codes(&self, recipient: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "txt"))
            .collect();
        paths.sort();

        let to_line = format!("To: {recipient}");
        let subject_line = format!("Subject: {CODE_SUBJECT}");
        let mut codes = Vec::new();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Some((headers, body)) = text.split_once("\n\n") else {
                continue;
            };
            let addressed = headers.lines().any(|line| line == to_line);
            let carries_code = headers.lines().any(|line| line == subject_line);
            if !addressed || !carries_code {
                continue;
            }
            let code = body
                .split(|c: char| !c.is_ascii_digit())
                .find(|digits| digits.len() == 6);
            if let Some(code) = code {
                codes.push(code.to_owned());
            }
        }
        codes
    }
}
