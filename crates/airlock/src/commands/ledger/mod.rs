pub mod backup;
pub mod export;
pub mod import;
pub mod migrate;
pub mod prune;
pub mod reset;
pub mod stats;
pub mod vacuum;
pub mod verify;

use std::path::PathBuf;

use airlock_config::LedgerEngine;
use airlock_ledger::{LedgerError, SqliteLedger};

use crate::open_ledger::postgres_refusal;
use crate::settings::Settings;

/// What to use instead of each SQLite-only maintenance command on the Postgres ledger.
pub const BACKUP_ON_POSTGRES: &str = "back up the ledger's schema with pg_dump (e.g. pg_dump --schema airlock), or rely on the database's own backups; `airlock ledger verify` checks a restored copy";
pub const VACUUM_ON_POSTGRES: &str =
    "Postgres reclaims space itself (autovacuum); run VACUUM on the ledger's schema if you must";
pub const PRUNE_ON_POSTGRES: &str = "a shared Postgres ledger is kept whole: size it with the database's own tooling (partitioning, archiving with pg_dump); see docs/fleet.md";
pub const MIGRATE_ON_POSTGRES: &str = "the Postgres ledger migrates itself: a server or writing command that connects applies its pending migrations under the ledger's advisory lock (replicas may start together); there is nothing to run";
pub const RESET_ON_POSTGRES: &str = "to delete every record of the shared ledger, drop its schema yourself (DROP SCHEMA airlock CASCADE) while no server runs; every replica's history goes with it";
pub const IMPORT_ON_POSTGRES: &str = "import the original's store into a SQLite ledger (a config without storage.ledger, --store PATH); the Postgres ledger starts its own history";
pub const EXPORT_ON_POSTGRES: &str = "an export file carries one hash chain, and the Postgres ledger keeps one chain per writer tied by cross-anchors, which `ledger verify --file` cannot check; copy it with pg_dump (e.g. pg_dump --schema airlock) and check the copy, restored into a scratch database, with `airlock ledger verify`, or check the live ledger in place the same way";

/// The SQLite file of a maintenance command. On the Postgres ledger (the config's
/// `storage.ledger.engine`, whether or not its URL is set) an error saying `what` is
/// SQLite-only and what to use `instead`.
pub fn sqlite_file(settings: &Settings, what: &str, instead: &str) -> anyhow::Result<PathBuf> {
    let config = settings.load_config().ok();
    if let Some(loaded) = &config
        && loaded.config.ledger_engine() == LedgerEngine::Postgres
    {
        let place = settings
            .ledger_target(Some(loaded))
            .map_or_else(|_| "storage.ledger".to_owned(), |t| t.display());
        return Err(postgres_refusal(what, &place, instead));
    }
    Ok(settings.store_path(config.as_ref()))
}

/// Opens an existing ledger for a maintenance command that writes (prune, vacuum): never
/// creates one where there was none.
pub fn open_existing(
    settings: &Settings,
    what: &str,
    instead: &str,
) -> anyhow::Result<SqliteLedger> {
    let path = sqlite_file(settings, what, instead)?;
    if !path.exists() {
        return Err(LedgerError::Missing {
            path: path.display().to_string(),
        }
        .into());
    }
    Ok(SqliteLedger::open(&path)?)
}

/// Bytes for people: `1.4 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
