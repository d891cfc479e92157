//! The application `airlock demo` writes to: a two-tenant subscription business in one SQLite
//! file. The demo plays the app's own part (and checks what Airlock did to it) through these
//! functions, so the command itself holds no SQL.

use std::path::Path;

use anyhow::Context as _;
use rusqlite::{Connection, params};

const APP_SQL: &str = include_str!("demo_app.sql");

/// Creates a SQLite database at `path` from a script (schema and rows).
pub fn create_database(path: &Path, sql: &str) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("could not create the database {}", path.display()))?;
    conn.execute_batch(sql)
        .with_context(|| format!("could not seed the database {}", path.display()))?;
    Ok(conn)
}

/// The demo app's database.
pub struct DemoApp {
    conn: Connection,
}

impl DemoApp {
    /// Creates the database at `path` and seeds both tenants. `path` must not exist yet.
    pub fn create(path: &Path) -> anyhow::Result<DemoApp> {
        Ok(DemoApp {
            conn: create_database(path, APP_SQL)?,
        })
    }

    /// Opens the database a previous [`DemoApp::create`] made.
    pub fn open(path: &Path) -> anyhow::Result<DemoApp> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("could not open the demo app database {}", path.display()))?;
        Ok(DemoApp { conn })
    }

    /// A subscription's `discount_pct` and `row_version`.
    pub fn subscription(&self, id: &str) -> anyhow::Result<(i64, i64)> {
        self.conn
            .query_row(
                "SELECT discount_pct, row_version FROM subscriptions WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .with_context(|| format!("subscription {id} in the demo app"))
    }

    /// The app itself changes a ticket's status, as a person using it would. Returns the
    /// number of rows changed.
    pub fn set_ticket_status(&self, id: &str, status: &str, at: &str) -> anyhow::Result<usize> {
        Ok(self.conn.execute(
            "UPDATE tickets SET status = ?1, updated_at = ?2 WHERE id = ?3",
            params![status, at, id],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::DemoApp;

    #[test]
    fn the_demo_app_answers_and_refuses_what_it_does_not_have() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let app = DemoApp::create(&path).unwrap();
        assert_eq!(app.subscription("SUB-1001").unwrap(), (0, 1));
        assert!(app.subscription("SUB-9999").is_err());
        // A value that looks like SQL is a value: it matches nothing.
        assert!(app.subscription("SUB-1001' OR '1'='1").is_err());
        assert_eq!(
            app.set_ticket_status("T-501", "pending", "2026-11-24T10:00:00Z")
                .unwrap(),
            1
        );
        assert_eq!(
            app.set_ticket_status("T-999", "pending", "2026-11-24T10:00:00Z")
                .unwrap(),
            0
        );
        // Seeding twice is refused rather than mixing two copies of the data.
        assert!(DemoApp::create(&path).is_err());
        let reopened = DemoApp::open(&path).unwrap();
        assert_eq!(reopened.subscription("SUB-1001").unwrap(), (0, 1));
        // Opening never creates a database.
        let missing = dir.path().join("missing.db");
        assert!(DemoApp::open(&missing).is_err());
        assert!(!missing.exists());
    }
}
