/// Ledger failures. Messages are lowercase fragments; `hint` says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("no ledger at {path}")]
    Missing { path: String },
    #[error("could not open the ledger at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the ledger at {path} has schema version {found}, newer than this airlock understands ({supported})"
    )]
    TooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error(
        "the store at {path} was written by Synapsor Runner, not Airlock; it was left unchanged"
    )]
    OriginalStore { path: String },
    #[error("the store at {path} is not a Synapsor Runner store; there is nothing to import")]
    NotOriginalStore { path: String },
    #[error("could not write the backup {backup} before importing: {source}")]
    Backup {
        backup: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot import {table} row {id}: {detail}; the store was left unchanged")]
    Unmappable {
        table: &'static str,
        id: String,
        detail: String,
    },
    #[error("{kind} not found: {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("proposal {proposal_id} is {state}; cannot {action} it")]
    InvalidState {
        proposal_id: String,
        state: airlock_protocol::ProposalState,
        action: &'static str,
    },
    #[error(
        "proposal {proposal_id} changed since it was shown (hash {found}, expected {expected})"
    )]
    HashMismatch {
        proposal_id: String,
        expected: String,
        found: String,
    },
    #[error(
        "proposal {proposal_id} is a shadow proposal; shadow mode records proposals but never applies them"
    )]
    Shadow { proposal_id: String },
    #[error("the ledger is empty: no proposals yet")]
    NoProposals,
    #[error("ledger record {what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("ledger storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("ledger serialization error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the ledger writer has stopped")]
    WriterStopped,
    #[error("could not read the anchor file {path}: {detail}")]
    Anchor { path: String, detail: String },
    /// A maintenance command (prune, backup, vacuum) could not run; the detail says why.
    #[error("{detail}")]
    Maintenance { detail: String },
    /// A `--cursor` token that cannot continue this listing; `code` says why
    /// (`CURSOR_MALFORMED`, `CURSOR_TAMPERED`, `CURSOR_MISMATCH`).
    #[error("[{code}] {detail}")]
    Cursor { code: &'static str, detail: String },
    /// The Postgres ledger's database refused or lost a statement; `detail` names which.
    #[error("postgres ledger: {detail}")]
    Postgres { detail: String },
    /// A feature this ledger engine does not offer (yet).
    #[error("{what} is not supported on the {engine} ledger yet")]
    Unsupported {
        engine: &'static str,
        what: &'static str,
    },
    /// Another worker holds a live lease on the proposal's apply job.
    #[error(
        "proposal {proposal_id} is being applied by another worker (attempt {attempt}, lease until {expires_at})"
    )]
    LeaseHeld {
        proposal_id: String,
        attempt: u32,
        expires_at: String,
    },
    /// A receipt from an attempt whose lease has since moved to a newer attempt (a paused
    /// worker that woke up late): refused so it cannot overwrite the newer attempt's outcome.
    #[error(
        "the receipt for proposal {proposal_id} comes from attempt {attempt}, but attempt {current} holds the job now"
    )]
    Fenced {
        proposal_id: String,
        attempt: u32,
        current: u32,
    },
    /// A write through a ledger opened for reading only (a listing, `verify`, `stats`,
    /// `events tail`): refused before anything reaches the database.
    #[error("{what} needs a writable ledger, but this one was opened read-only ({location})")]
    ReadOnly {
        what: &'static str,
        location: String,
    },
    #[error("could not create the ledger folder: {0}")]
    Io(#[from] std::io::Error),
}

impl LedgerError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            LedgerError::Missing { .. } => Some(
                "run a capability first (`airlock smoke call`, `airlock propose` or `airlock demo`), or pass --store PATH",
            ),
            LedgerError::TooNew { .. } => Some("upgrade airlock to read this ledger"),
            LedgerError::OriginalStore { .. } => Some(
                "migrate it in place with `airlock ledger import --store PATH` (it writes a backup beside it first), or give airlock a new ledger with --store PATH (or storage.sqlite_path)",
            ),
            LedgerError::Unmappable { .. } => Some(
                "fix or remove that row with Synapsor Runner (or sqlite3), then run `airlock ledger import` again",
            ),
            LedgerError::Backup { .. } => {
                Some("make the store's folder writable (or free space there), then retry")
            }
            LedgerError::NoProposals => {
                Some("create one with `airlock propose CAPABILITY --json '{...}'`")
            }
            LedgerError::Storage(e) if is_busy(e) => {
                Some("another process holds the ledger lock for too long; retry")
            }
            LedgerError::Anchor { .. } => Some(
                "airlock only ever appends to an anchor file; a line it cannot parse was edited or cut off by a crash. Compare it with a copy kept elsewhere and pass that copy with --anchor",
            ),
            LedgerError::Corrupt { .. } => Some("run `airlock ledger verify` to locate the damage"),
            LedgerError::InvalidState { .. } => Some(
                "see `airlock proposals show ID`: approve works on pending_review, conflict and failed proposals; apply needs an approved one",
            ),
            LedgerError::Cursor { .. } => Some(
                "a token continues only the listing that printed it, with the same filters; run the listing again without --cursor",
            ),
            LedgerError::LeaseHeld { .. } => Some(
                "wait for that attempt to finish (or for its lease to expire), then apply again; `airlock replay show ID` shows its jobs",
            ),
            LedgerError::Fenced { .. } => Some(
                "this worker's lease expired and another attempt took the job over; its receipt decides the proposal. See `airlock replay show ID`",
            ),
            LedgerError::Unsupported { .. } => {
                Some("use the SQLite ledger for this command, or a newer airlock")
            }
            LedgerError::Postgres { .. } => Some(
                "check that the ledger database is reachable and its schema was migrated by this airlock version",
            ),
            LedgerError::ReadOnly { .. } => Some(
                "reading commands open the ledger read-only; record, decide and apply through a command that writes (a server, `airlock propose`, `proposals approve`, `airlock apply`)",
            ),
            LedgerError::HashMismatch { .. } => {
                Some("show the proposal again and review the current content")
            }
            _ => None,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
