//! The audit trail: an append-only, HMAC-chained record of authentication,
//! authorization, data access, system changes and security events.
//!
//! [`Audit::record`] appends an entry through the store, which serializes
//! appends so that the chain never forks. [`Audit::verify`] walks the chain
//! and names the first entry whose MAC, link or id does not fit, so a
//! changed or deleted row is found. Entries must never carry a secret, a
//! password, a token or a full email: callers name accounts by user id or
//! by blind index.
//!
//! Removing the newest entries would leave a shorter chain that still
//! verifies, so the id and MAC of the newest entry this server appended
//! are also written to an anchor file outside the database
//! (`data_dir/audit-anchor.json`). [`Audit::verify`] requires the chain to
//! reach that entry with that MAC. Entries appended after the last anchor
//! write, and entries appended inside another store transaction, are not
//! covered until a later [`Audit::record`] moves the anchor past them.

mod anchor;
mod chain;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub use anchor::{AUDIT_ANCHOR_FILE, AnchorError};
pub use chain::{ChainSealer, GENESIS_MAC, canonical_bytes};

use anchor::{Anchor, AnchorFile};

use crate::keys::KeyProvider;
use crate::store::{AuditQuery, AuditRow, AuditSealer, Store, StoreError};

/// Largest `details` object accepted, in bytes of compact JSON.
pub const MAX_DETAILS_BYTES: usize = 4096;
/// Rows read per query while verifying or exporting.
const PAGE_SIZE: u32 = 500;

/// The class of an audited event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    Authentication,
    Authorization,
    DataAccess,
    SystemChange,
    SecurityEvent,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Authentication => "authentication",
            AuditKind::Authorization => "authorization",
            AuditKind::DataAccess => "data_access",
            AuditKind::SystemChange => "system_change",
            AuditKind::SecurityEvent => "security_event",
        }
    }
}

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    /// The server itself (start-up, scheduled jobs).
    System,
    /// A caller not yet authenticated, such as a failed login.
    Anonymous,
}

impl Actor {
    fn encode(self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::System => "system".to_owned(),
            Actor::Anonymous => "anonymous".to_owned(),
        }
    }
}

/// Result of the audited action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One event to record.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub kind: AuditKind,
    pub actor: Actor,
    /// Dotted verb such as `auth.login`.
    pub action: String,
    /// The object acted on, such as `user:<id>`.
    pub resource: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    /// A small JSON object with no secrets.
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(
        kind: AuditKind,
        actor: Actor,
        action: &str,
        resource: &str,
        outcome: Outcome,
    ) -> Self {
        Self {
            kind,
            actor,
            action: action.to_owned(),
            resource: resource.to_owned(),
            outcome,
            reason: None,
            request_id: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    pub fn request_id(mut self, request_id: Option<&str>) -> Self {
        self.request_id = request_id.map(str::to_owned);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit details must be a JSON object of at most {MAX_DETAILS_BYTES} bytes")]
    InvalidDetails,
    #[error("audit store: {0}")]
    Store(#[from] StoreError),
    #[error("audit key: {0}")]
    Key(#[from] crate::keys::KeyError),
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Anchor(#[from] AnchorError),
}

/// The first entry where the chain breaks, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenLink {
    pub id: i64,
    pub problem: String,
}

/// Result of [`Audit::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked and found intact before the first break (or all).
    pub verified: u64,
    pub broken: Option<BrokenLink>,
}

/// The audit service that handlers and subcommands use.
pub struct Audit {
    store: Arc<dyn Store>,
    sealer: Arc<ChainSealer>,
    anchor: Option<AnchorFile>,
}

impl Audit {
    pub fn new(store: Arc<dyn Store>, keys: Arc<dyn KeyProvider>) -> Self {
        Self {
            store,
            sealer: Arc::new(ChainSealer::new(keys)),
            anchor: None,
        }
    }

    /// Keeps the newest entry's id and MAC in the file at `path`, and
    /// makes [`Audit::verify`] check the chain against it.
    pub fn with_anchor(mut self, path: PathBuf) -> Self {
        self.anchor = Some(AnchorFile::new(path));
        self
    }

    /// Appends `event` to the chain and returns its entry id.
    pub async fn record(&self, event: AuditEvent) -> Result<i64, AuditError> {
        let (row, sealer) = self.prepare(event)?;
        let stored = self.store.append_audit(row, sealer).await?;
        if let Some(anchor) = &self.anchor
            && let Err(error) = anchor.advance(Anchor {
                id: stored.id,
                mac: stored.mac.clone(),
            })
        {
            // The entry is stored; only the truncation check lags behind.
            tracing::error!(%error, "could not move the audit anchor");
        }
        Ok(stored.id)
    }

    /// Builds the row for `event` and the sealer that chains it, for a
    /// store call that appends it in the same transaction as another
    /// change (see [`Store::insert_user_with_audit`]).
    pub fn prepare(
        &self,
        event: AuditEvent,
    ) -> Result<(AuditRow, Arc<dyn AuditSealer>), AuditError> {
        if !event.details.is_object() {
            return Err(AuditError::InvalidDetails);
        }
        let details = event.details.to_string();
        if details.len() > MAX_DETAILS_BYTES {
            return Err(AuditError::InvalidDetails);
        }
        let now = OffsetDateTime::now_utc();
        // Both backends store microseconds, and the MAC covers what is stored.
        let recorded_at = now
            .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now);
        let row = AuditRow {
            id: 0,
            recorded_at,
            kind: event.kind.as_str().to_owned(),
            actor: event.actor.encode(),
            action: event.action,
            resource: event.resource,
            outcome: event.outcome.as_str().to_owned(),
            reason: event.reason,
            request_id: event.request_id,
            details,
            key_version: 0,
            prev_mac: Vec::new(),
            mac: Vec::new(),
        };
        let sealer: Arc<dyn AuditSealer> = self.sealer.clone();
        Ok((row, sealer))
    }

    /// Walks the whole chain from the first entry and stops at the first
    /// entry whose id, link or MAC does not fit.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        let anchored = match &self.anchor {
            Some(file) => file
                .read()?
                .map(|anchor| (anchor, file.path().display().to_string())),
            None => None,
        };
        let mut verified = 0u64;
        let mut expected_id = 1i64;
        let mut expected_prev = GENESIS_MAC.to_vec();
        loop {
            let page = self.page(expected_id - 1, None).await?;
            if page.is_empty() {
                let broken = anchored.filter(|(anchor, _)| anchor.id >= expected_id).map(
                    |(anchor, path)| BrokenLink {
                        id: anchor.id,
                        problem: format!(
                            "the trail ends at entry {}, but {path} records entry {}; \
                             the newest entries were removed",
                            expected_id - 1,
                            anchor.id
                        ),
                    },
                );
                return Ok(VerifyReport { verified, broken });
            }
            for row in page {
                let anchor_mismatch = anchored.as_ref().and_then(|(anchor, path)| {
                    (anchor.id == row.id && anchor.mac != row.mac).then(|| {
                        format!(
                            "its MAC differs from the one {path} records; \
                             the trail was replaced from this entry on"
                        )
                    })
                });
                let problem = match self.check_row(&row, expected_id, &expected_prev)? {
                    Some(problem) => Some(problem),
                    None => anchor_mismatch,
                };
                if let Some(problem) = problem {
                    return Ok(VerifyReport {
                        verified,
                        broken: Some(BrokenLink {
                            id: row.id,
                            problem,
                        }),
                    });
                }
                verified += 1;
                expected_id = row.id + 1;
                expected_prev = row.mac;
            }
        }
    }

    fn check_row(
        &self,
        row: &AuditRow,
        expected_id: i64,
        expected_prev: &[u8],
    ) -> Result<Option<String>, AuditError> {
        if row.id != expected_id {
            return Ok(Some(format!(
                "expected entry {expected_id} next but found {}; entries were deleted",
                row.id
            )));
        }
        if row.prev_mac != expected_prev {
            return Ok(Some(format!(
                "its link does not match the MAC of entry {}; an entry was changed or removed",
                row.id - 1
            )));
        }
        let intact = match self.sealer.verify(row) {
            Ok(intact) => intact,
            Err(crate::keys::KeyError::MissingVersion { version, .. }) => {
                return Ok(Some(format!(
                    "it names audit key version {version}, which the keyring does not have"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if !intact {
            return Ok(Some(
                "its contents do not match its MAC; the entry was changed".to_owned(),
            ));
        }
        Ok(None)
    }

    /// Writes entries recorded at or after `since` (all when `None`) to
    /// `out` as JSON lines and returns how many were written.
    pub async fn export(
        &self,
        since: Option<OffsetDateTime>,
        out: &mut dyn Write,
    ) -> Result<u64, AuditError> {
        let mut written = 0u64;
        let mut after_id = 0i64;
        loop {
            let page = self.page(after_id, since).await?;
            let Some(last) = page.last() else {
                out.flush()?;
                return Ok(written);
            };
            after_id = last.id;
            for row in &page {
                serde_json::to_writer(&mut *out, &ExportedEntry::from(row))
                    .map_err(std::io::Error::other)?;
                out.write_all(b"\n")?;
                written += 1;
            }
        }
    }

    async fn page(
        &self,
        after_id: i64,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditRow>, AuditError> {
        Ok(self
            .store
            .list_audit(AuditQuery {
                after_id,
                since,
                limit: PAGE_SIZE,
            })
            .await?)
    }
}

/// One line of `audit export`.
#[derive(Serialize)]
struct ExportedEntry<'a> {
    id: i64,
    recorded_at: String,
    kind: &'a str,
    actor: &'a str,
    action: &'a str,
    resource: &'a str,
    outcome: &'a str,
    reason: Option<&'a str>,
    request_id: Option<&'a str>,
    details: serde_json::Value,
    key_version: u32,
    prev_mac: String,
    mac: String,
}

impl<'a> From<&'a AuditRow> for ExportedEntry<'a> {
    fn from(row: &'a AuditRow) -> Self {
        // A row changed by hand may hold details that are not JSON; they are
        // exported as a string rather than dropped.
        let details = serde_json::from_str(&row.details)
            .unwrap_or_else(|_| serde_json::Value::String(row.details.clone()));
        Self {
            id: row.id,
            recorded_at: row
                .recorded_at
                .format(&Rfc3339)
                .unwrap_or_else(|_| row.recorded_at.unix_timestamp().to_string()),
            kind: &row.kind,
            actor: &row.actor,
            action: &row.action,
            resource: &row.resource,
            outcome: &row.outcome,
            reason: row.reason.as_deref(),
            request_id: row.request_id.as_deref(),
            details,
            key_version: row.key_version,
            prev_mac: BASE64.encode(&row.prev_mac),
            mac: BASE64.encode(&row.mac),
        }
    }
}
