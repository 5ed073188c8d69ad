//! The audit trail: one append-only record per write, saying who did what to which object,
//! from where and when. Records are never changed or removed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// A record to append to the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The user name of who acted; `None` for the command line and for anonymous requests
    /// (a failed login).
    pub actor: Option<String>,
    /// What was done, dotted, e.g. `auth.login`, `user.add`, `case.transition`.
    pub action: String,
    /// The object acted on, e.g. a user name or a case id.
    pub target: String,
    /// Details of the action (a JSON object; never a password or a token).
    pub detail: Value,
    /// Where the request came from: the client's IP address, or `cli` for the command line.
    pub remote: Option<String>,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the trail (increasing).
    pub id: i64,
    /// When it was appended.
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor: Option<String>,
    /// What was done.
    pub action: String,
    /// The object acted on.
    pub target: String,
    /// Details.
    pub detail: Value,
    /// Where the request came from.
    pub remote: Option<String>,
}

/// The default number of audit records returned.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;
/// The largest number of audit records returned at once.
pub const MAX_AUDIT_LIMIT: u32 = 1000;

/// Which audit records to read; every given condition must hold. Newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only records by this actor.
    pub actor: Option<String>,
    /// Only records whose action starts with this, e.g. `auth.` or `case.transition`.
    pub action_prefix: Option<String>,
    /// Only records about this target.
    pub target: Option<String>,
    /// Only records at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only records before this instant.
    pub to: Option<DateTime<Utc>>,
    /// At most this many records (1 to [`MAX_AUDIT_LIMIT`]).
    pub limit: u32,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            actor: None,
            action_prefix: None,
            target: None,
            from: None,
            to: None,
            limit: DEFAULT_AUDIT_LIMIT,
        }
    }
}
