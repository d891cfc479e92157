//! Schema introspection for onboarding (`airlock inspect`): tables, columns, keys,
//! constraints, indexes, triggers and row estimates from the catalog, plus suggestions for
//! the config (tenant, principal and conflict-guard columns, sensitive columns kept out of
//! the visible ones).
//!
//! Metadata only: the engines query `pg_catalog`, `information_schema` or `sqlite_master` and
//! pragmas, never a user table, so a credential with no more than `SELECT`/`USAGE` (or none on
//! the tables at all, on Postgres) can run it. Each engine reads a whole catalog at once (one
//! query per catalog, not one per table), inside the engine's read-only session:
//!
//! - `postgres.rs`: seven queries pipelined on one connection in one `REPEATABLE READ READ
//!   ONLY` transaction, so they share a snapshot and cost about one round trip.
//! - `mysql.rs`: eight `information_schema` queries on one read-only pooled connection.
//! - `sqlite.rs`: `sqlite_master` joined with the table-valued pragmas, per attached database.
//!
//! The judgement (type families, sensitive names, candidates) lives in `classify.rs`, pure
//! functions over the facts; the report shape in `model.rs`.

pub mod classify;
mod model;
pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;

pub use model::*;

/// Sorts what an engine read into the report's fixed order and adds the classification.
pub(crate) fn finish(
    engine: crate::EngineKind,
    server_version: String,
    current_user: Option<String>,
    schemas: Vec<String>,
    mut tables: Vec<TableReport>,
    engine_notes: &[&str],
) -> SchemaReport {
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    for t in &mut tables {
        t.unique_constraints
            .sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
        t.foreign_keys
            .sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
        t.check_constraints
            .sort_by(|a, b| (&a.name, &a.expression).cmp(&(&b.name, &b.expression)));
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        classify::annotate(t);
    }
    let mut notes = vec![
        "Metadata only: no row was read. Candidates and sensitive-column flags are suggestions \
         from names, types and constraints; review them before writing the config."
            .to_owned(),
    ];
    notes.extend(engine_notes.iter().map(|n| (*n).to_owned()));
    if tables.is_empty() {
        notes.push(format!(
            "No tables or views were found in {} (or the credential may not see them).",
            if schemas.is_empty() {
                "any schema".to_owned()
            } else {
                schemas.join(", ")
            }
        ));
    }
    SchemaReport {
        format: REPORT_FORMAT.to_owned(),
        engine: engine.as_str().to_owned(),
        server_version,
        current_user,
        schemas,
        tables,
        notes,
    }
}

/// The error for a `--schema` the catalog does not show.
pub(crate) fn unknown_schema(name: &str, known: &[String]) -> crate::DbError {
    crate::DbError::new(
        crate::DbErrorKind::NotFound,
        format!(
            "schema {name:?} does not exist or is not visible to this credential (visible: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ),
    )
}
