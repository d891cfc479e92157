//! `ledger_meta`: a few named facts about the ledger itself (not part of the hash chain; none
//! of them is evidence of what happened).

use rusqlite::{Connection, OptionalExtension, params};

use crate::LedgerError;
use airlock_protocol::now_rfc3339;

/// Absolute path of the config file that last served the ledger.
pub(crate) const CONFIG_PATH: &str = "config_path";

pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<String>, LedgerError> {
    Ok(conn
        .query_row("SELECT value FROM ledger_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(crate) fn set_if_changed(conn: &Connection, key: &str, value: &str) -> Result<(), LedgerError> {
    if get(conn, key)?.as_deref() == Some(value) {
        return Ok(());
    }
    conn.execute(
        "INSERT INTO ledger_meta (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now_rfc3339()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::SqliteLedger;

    #[test]
    fn the_config_path_is_remembered_and_rewritten_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        assert_eq!(ledger.remembered_config().unwrap(), None);
        ledger.remember_config(Path::new("/srv/a.json")).unwrap();
        let writes = |l: &SqliteLedger| l.conn().total_changes();
        let before = writes(&ledger);
        ledger.remember_config(Path::new("/srv/a.json")).unwrap();
        assert_eq!(
            writes(&ledger),
            before,
            "the same path is not written again"
        );
        ledger.remember_config(Path::new("/srv/b.json")).unwrap();
        drop(ledger);
        let read_only = SqliteLedger::open_read_only(&path).unwrap();
        assert_eq!(
            read_only.remembered_config().unwrap().as_deref(),
            Some(Path::new("/srv/b.json"))
        );
        assert!(
            read_only.remember_config(Path::new("/srv/c.json")).is_err(),
            "read-only"
        );
    }
}
