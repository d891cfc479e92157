//! SQLite ledger fixtures older than the current schema.

/// Takes a SQLite ledger back to schema 7, as written before the search index (migrations 8
/// and 9): drops the index's tables, its marks, views and triggers (found by name) and sets
/// the version, so the next writing open (or `airlock ledger migrate`) migrates it again.
pub fn back_to_schema_7(conn: &rusqlite::Connection) {
    let objects: Vec<(String, String)> = conn
        .prepare(
            "SELECT type, name FROM sqlite_master WHERE name LIKE 'search\\_%' ESCAPE '\\'
             AND (type IN ('trigger', 'view') OR sql LIKE 'CREATE VIRTUAL TABLE%'
                  OR name IN ('search_indexed', 'search_marks'))",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(objects.len(), 5 + 5 + 15 + 1, "{objects:?}");
    for (kind, name) in &objects {
        conn.execute_batch(&format!("DROP {kind} {name}")).unwrap();
    }
    conn.execute_batch("PRAGMA user_version = 7").unwrap();
}
