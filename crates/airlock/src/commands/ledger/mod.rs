pub mod backup;
pub mod export;
pub mod import;
pub mod prune;
pub mod reset;
pub mod stats;
pub mod vacuum;
pub mod verify;

use airlock_ledger::{LedgerError, SqliteLedger};

use crate::settings::Settings;

/// Opens an existing ledger for a maintenance command that writes (prune, vacuum): never
/// creates one where there was none.
pub fn open_existing(settings: &Settings) -> anyhow::Result<SqliteLedger> {
    let path = settings.store_path_for_reading();
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
