//! The ledger: its hash chain verifies (against the anchor file when there is one), and how
//! big it has grown. Opened read-only; a missing ledger is created on first use.

use std::path::Path;

use airlock_ledger::{Ledger, SqliteLedger};
use serde_json::json;

use super::check::{Check, Code};
use crate::open_ledger::{Access, LedgerTarget, OpenLedger, PostgresTarget};

pub async fn check(path: &Path) -> Check {
    let name = "ledger";
    if !path.exists() {
        return Check::pass(
            Code::LedgerAbsent,
            name,
            format!(
                "no ledger yet at {}; the first tool call creates it",
                path.display()
            ),
        );
    }
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = path.with_extension(format!(
        "{}-wal",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let (db_bytes, wal_bytes) = (size(path), size(&wal));
    let ledger = match SqliteLedger::open_read_only(path) {
        Ok(l) => l,
        Err(e) => {
            return Check::fail(
                Code::LedgerUnreadable,
                name,
                format!("cannot open the ledger {}: {e}", path.display()),
                "check the path (--store, storage.sqlite_path) and its permissions",
            );
        }
    };
    let data = |events: u64| json!({"path": path, "bytes": db_bytes, "wal_bytes": wal_bytes, "events": events});
    match ledger.verify().await {
        Err(e) => Check::fail(
            Code::LedgerUnreadable,
            name,
            format!("cannot read the ledger {}: {e}", path.display()),
            "run `airlock ledger verify` for details",
        ),
        Ok(r) if !r.ok => {
            let at = r.first_break.as_ref().map_or_else(String::new, |b| {
                format!(" at event #{}: {} — {}", b.seq, b.code, b.detail)
            });
            Check::fail(
                Code::LedgerBroken,
                name,
                format!("the ledger's hash chain is broken{at}"),
                "keep the file for investigation and run `airlock ledger verify --json`; see docs/security.md",
            )
            .data(data(r.events_checked))
        }
        Ok(r) => Check::pass(
            Code::LedgerOk,
            name,
            format!(
                "{} events and {} records verify; {} ({:.1} MiB, WAL {:.1} MiB)",
                r.events_checked,
                r.records_checked,
                path.display(),
                db_bytes as f64 / 1_048_576.0,
                wal_bytes as f64 / 1_048_576.0
            ),
        )
        .data(data(r.events_checked)),
    }
}

/// The ledger's target could not be resolved (the Postgres ledger's variable unset, `--store`
/// beside a Postgres config).
pub fn unreachable(e: &anyhow::Error) -> Check {
    Check::fail(
        Code::LedgerUnreadable,
        "ledger",
        format!("{e:#}"),
        "set storage.ledger and its variable as docs/fleet.md shows",
    )
}

/// The shared Postgres ledger: reachable, and its chains verify.
pub async fn check_postgres(pg: &PostgresTarget) -> Check {
    let name = "ledger";
    let place = pg.display();
    let target = LedgerTarget::Postgres(pg.clone());
    let ledger = match OpenLedger::open(&target, Access::ReadOnly).await {
        Ok(l) => l,
        Err(e)
            if matches!(
                e.downcast_ref::<airlock_ledger::LedgerError>(),
                Some(airlock_ledger::LedgerError::Missing { .. })
            ) =>
        {
            return Check::pass(
                Code::LedgerAbsent,
                name,
                format!(
                    "no ledger yet in {place}; the first server (or command that records) creates it"
                ),
            );
        }
        Err(e) => {
            return Check::fail(
                Code::LedgerUnreadable,
                name,
                format!("cannot open the Postgres ledger {place}: {e:#}"),
                format!(
                    "check {} (storage.ledger.url_env), that the server answers, and the role's rights on schema {}",
                    pg.url_env, pg.schema
                ),
            );
        }
    };
    let data = |events: u64| json!({"engine": "postgres", "location": place, "events": events});
    match ledger.verify().await {
        Err(e) => Check::fail(
            Code::LedgerUnreadable,
            name,
            format!("cannot read the Postgres ledger {place}: {e}"),
            "run `airlock ledger verify` for details",
        ),
        Ok(r) if !r.ok => {
            let at = r.first_break.as_ref().map_or_else(String::new, |b| {
                format!(" at event #{}: {} — {}", b.seq, b.code, b.detail)
            });
            Check::fail(
                Code::LedgerBroken,
                name,
                format!("the ledger's hash chain is broken{at}"),
                "keep the database for investigation and run `airlock ledger verify --json`; see docs/security.md",
            )
            .data(data(r.events_checked))
        }
        Ok(r) => Check::pass(
            Code::LedgerOk,
            name,
            format!(
                "{} events and {} records verify; Postgres ledger {place}",
                r.events_checked, r.records_checked
            ),
        )
        .data(data(r.events_checked)),
    }
}
