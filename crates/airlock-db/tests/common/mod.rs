//! Helpers shared by the engine integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use airlock_db::{
    DbErrorKind, Engine, EngineKind, Ident, Param, Row, ScopedSelect, SecretUrl, SourceSettings,
};

pub fn id(s: &str) -> Ident {
    Ident::new(s).unwrap_or_else(|| panic!("bad test identifier {s}"))
}

pub fn text(s: &str) -> Param {
    Param::Text(s.to_owned())
}

pub fn settings(
    engine: EngineKind,
    url: &str,
    timeout_ms: Option<u64>,
    max: usize,
) -> SourceSettings {
    SourceSettings {
        engine,
        url: SecretUrl::new(url),
        statement_timeout_ms: timeout_ms,
        max_connections: max,
        pool: Default::default(),
    }
}

pub async fn engine(
    engine: EngineKind,
    url: &str,
    timeout_ms: Option<u64>,
    max: usize,
) -> Arc<dyn Engine> {
    airlock_db::connect(&settings(engine, url, timeout_ms, max))
        .await
        .expect("connect")
}

/// `SELECT <cols> FROM <table> WHERE <key> = key [AND tenant_id = tenant] LIMIT 10`.
pub fn select(
    table: &str,
    cols: &[&str],
    key_col: &str,
    key: Param,
    tenant: Option<&str>,
) -> ScopedSelect {
    ScopedSelect {
        schema: None,
        table: id(table),
        columns: cols.iter().map(|c| id(c)).collect(),
        key_column: id(key_col),
        key_value: key,
        tenant: tenant.map(|t| (id("tenant_id"), text(t))),
        limit: 10,
    }
}

pub fn keys(row: &Row) -> Vec<&str> {
    row.keys().map(String::as_str).collect()
}

/// Strings a model might send to break out of a parameter.
pub fn injection_strings() -> Vec<String> {
    vec![
        "' OR '1'='1".to_owned(),
        "1' OR '1'='1' --".to_owned(),
        "1; DROP TABLE accounts; --".to_owned(),
        "1); DROP TABLE notes; --".to_owned(),
        "\" OR \"\"=\"".to_owned(),
        "\\'; DROP TABLE notes; --".to_owned(),
        "\\\\".to_owned(),
        "a\\".to_owned(),
        "%".to_owned(),
        "_".to_owned(),
        "`notes`".to_owned(),
        "$1".to_owned(),
        "?".to_owned(),
        "a'b\"c`d".to_owned(),
        "x".repeat(1 << 20),
    ]
}

pub fn assert_kind<T: std::fmt::Debug>(
    r: Result<T, airlock_db::DbError>,
    kind: DbErrorKind,
) -> airlock_db::DbError {
    match r {
        Err(e) if e.kind == kind => e,
        other => panic!("expected {kind:?}, got {other:?}"),
    }
}

/// The tenant-boundary fixture every engine seeds in a table whose `id` and `tenant_id`
/// columns fold case (or trailing spaces): `(id, tenant_id, note)` rows `('O-1', 'acme', 'a')`
/// and `('P-1', 'ACME', 'b')`.
pub const FOLDED_ROWS: &str = "('O-1', 'acme', 'a'), ('P-1', 'ACME', 'b')";

/// Lookups that differ from a stored key or tenant only in case or padding.
pub const NEAR_MISSES: [(&str, &str); 10] = [
    ("O-1", "ACME"),
    ("O-1", "Acme"),
    ("O-1", "acme "),
    ("O-1", " acme"),
    ("o-1", "acme"),
    ("O-1 ", "acme"),
    ("o-1 ", "acme "),
    ("P-1", "acme"),
    ("p-1", "ACME"),
    ("P-1", "ACME "),
];

/// Only byte-exact key and tenant values find a row of [`FOLDED_ROWS`] in `table`, and the
/// guard columns selected for the check do not leak into a narrower projection.
pub async fn assert_exact_boundary(e: &dyn Engine, table: &str) {
    let find =
        |key: &str, tenant: &str, cols: &[&str]| select(table, cols, "id", text(key), Some(tenant));
    let cols = ["id", "tenant_id", "note"];
    for (key, tenant, note) in [("O-1", "acme", "a"), ("P-1", "ACME", "b")] {
        let rows = e.select(&find(key, tenant, &cols)).await.unwrap();
        assert_eq!(rows.len(), 1, "{table}: {key:?}/{tenant:?}");
        assert_eq!(rows[0]["note"], serde_json::json!(note), "{table}");
    }
    for (key, tenant) in NEAR_MISSES {
        let rows = e.select(&find(key, tenant, &cols)).await.unwrap();
        assert!(
            rows.is_empty(),
            "{table}: {key:?}/{tenant:?} must not match, got {rows:?}"
        );
    }
    let rows = e.select(&find("O-1", "acme", &["note"])).await.unwrap();
    assert_eq!(rows.len(), 1, "{table}");
    assert_eq!(keys(&rows[0]), ["note"], "{table}");
}
