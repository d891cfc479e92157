//! Postgres introspection from `pg_catalog`: seven queries, pipelined on one connection inside
//! one `REPEATABLE READ READ ONLY` transaction (one snapshot, about one round trip).
//!
//! Every query is filtered by the same relation predicate (user schemas only, partitions
//! folded into their parent), so the work is one pass per catalog whatever the table count.

use std::collections::HashMap;

use tokio_postgres::{IsolationLevel, Row};

use super::classify::{assigned_columns, type_category};
use super::model::{
    CheckConstraint, ColumnReport, ForeignKey, IndexReport, RelationKind, SchemaReport,
    TableReport, TriggerReport, TypeCategory, UniqueConstraint,
};
use crate::{DbError, EngineKind};

/// The relations inspected: tables, views, materialized views and foreign tables of user
/// schemas (`$1` narrows to one schema), without partitions. Needs `c` and `n` in scope.
const RELATIONS: &str = "c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition \
     AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
     AND ($1::text IS NULL OR n.nspname = $1::text)";

fn q_schemas() -> String {
    "SELECT n.nspname::text FROM pg_namespace n \
     WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
     AND ($1::text IS NULL OR n.nspname = $1::text) ORDER BY 1"
        .to_owned()
}

fn q_relations() -> String {
    format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, \
         CASE WHEN c.relkind IN ('r','m') AND c.reltuples >= 0 THEN c.reltuples::int8 END, \
         has_table_privilege(c.oid, 'SELECT') \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {RELATIONS}"
    )
}

fn q_columns() -> String {
    format!(
        "SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod), \
         CASE WHEN t.typtype = 'd' THEN bt.typname::text ELSE t.typname::text END, \
         (CASE WHEN t.typtype = 'd' THEN bt.typtype ELSE t.typtype END)::text, \
         a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, \
         a.attidentity::text, \
         ARRAY(SELECT e.enumlabel::text FROM pg_enum e \
               WHERE e.enumtypid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
               ORDER BY e.enumsortorder) \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_type bt ON bt.oid = t.typbasetype \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND {RELATIONS} \
         ORDER BY a.attrelid, a.attnum"
    )
}

fn q_constraints() -> String {
    format!(
        "SELECT co.conrelid, co.conname::text, co.contype::text, \
         ARRAY(SELECT a.attname::text FROM unnest(co.conkey) WITH ORDINALITY k(num, ord) \
               JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num ORDER BY k.ord), \
         fn.nspname::text, fc.relname::text, \
         ARRAY(SELECT a.attname::text FROM unnest(co.confkey) WITH ORDINALITY k(num, ord) \
               JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.num ORDER BY k.ord), \
         pg_get_constraintdef(co.oid, true) \
         FROM pg_constraint co \
         JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_class fc ON fc.oid = co.confrelid \
         LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
         WHERE co.contype IN ('p','u','f','c') AND {RELATIONS}"
    )
}

fn q_indexes() -> String {
    format!(
        "SELECT i.indrelid, ic.relname::text, i.indisunique, i.indisprimary, \
         ARRAY(SELECT CASE WHEN i.indkey[k - 1] <> 0 \
                 THEN (SELECT a.attname::text FROM pg_attribute a \
                       WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]) \
                 ELSE pg_get_indexdef(i.indexrelid, k, true) END \
               FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
         pg_get_expr(i.indpred, i.indrelid, true) \
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {RELATIONS}"
    )
}

fn q_triggers() -> String {
    format!(
        "SELECT t.tgrelid, t.tgname::text, t.tgtype::int4, p.prosrc \
         FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid \
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT t.tgisinternal AND {RELATIONS}"
    )
}

/// Reads the catalog through `client` (a read-only pooled session). `err` classifies and
/// scrubs driver errors.
pub(crate) async fn inspect(
    client: &mut deadpool_postgres::Object,
    schema: Option<&str>,
    err: impl Fn(&tokio_postgres::Error) -> DbError,
) -> Result<SchemaReport, DbError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| err(&e))?;
    let p: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&schema];
    let (q_s, q_r, q_c, q_k, q_i, q_t) = (
        q_schemas(),
        q_relations(),
        q_columns(),
        q_constraints(),
        q_indexes(),
        q_triggers(),
    );
    let (meta, schemas, rels, cols, cons, idxs, trigs) = tokio::try_join!(
        tx.query_one(
            "SELECT current_setting('server_version'), current_user::text",
            &[]
        ),
        tx.query(&q_s, p),
        tx.query(&q_r, p),
        tx.query(&q_c, p),
        tx.query(&q_k, p),
        tx.query(&q_i, p),
        tx.query(&q_t, p),
    )
    .map_err(|e| err(&e))?;
    tx.commit().await.map_err(|e| err(&e))?;

    let schemas: Vec<String> = schemas.iter().map(|r| r.get(0)).collect();
    if let Some(name) = schema
        && schemas.is_empty()
    {
        return Err(super::unknown_schema(name, &[]));
    }
    let mut tables: HashMap<u32, TableReport> = rels.iter().map(relation).collect();
    for r in &cols {
        if let Some(t) = tables.get_mut(&r.get::<_, u32>(0)) {
            t.columns.push(column(r));
        }
    }
    for r in &cons {
        if let Some(t) = tables.get_mut(&r.get::<_, u32>(0)) {
            constraint(t, r);
        }
    }
    for r in &idxs {
        if let Some(t) = tables.get_mut(&r.get::<_, u32>(0)) {
            t.indexes.push(IndexReport {
                name: r.get(1),
                unique: r.get(2),
                primary: r.get(3),
                columns: r.get(4),
                predicate: r.get(5),
            });
        }
    }
    for r in &trigs {
        if let Some(t) = tables.get_mut(&r.get::<_, u32>(0)) {
            t.triggers.push(trigger(t, r));
        }
    }
    Ok(super::finish(
        EngineKind::Postgres,
        meta.get(0),
        Some(meta.get(1)),
        schemas,
        tables.into_values().collect(),
        &[],
    ))
}

fn relation(r: &Row) -> (u32, TableReport) {
    let kind = match r.get::<_, String>(3).as_str() {
        "v" => RelationKind::View,
        "m" => RelationKind::MaterializedView,
        "f" => RelationKind::ForeignTable,
        _ => RelationKind::Table,
    };
    let mut t = TableReport::new(&r.get::<_, String>(1), &r.get::<_, String>(2), kind);
    t.row_estimate = r.get(4);
    t.readable = r.get(5);
    (r.get(0), t)
}

fn column(r: &Row) -> ColumnReport {
    let generated: String = r.get(7);
    let identity: String = r.get(8);
    let default: Option<String> = r.get(6);
    let enum_values: Vec<String> = r.get(9);
    let category = if r.get::<_, String>(4) == "e" {
        TypeCategory::Enum
    } else {
        type_category(&r.get::<_, String>(3))
    };
    let serial = default
        .as_deref()
        .is_some_and(|d| d.starts_with("nextval("));
    ColumnReport {
        name: r.get(1),
        data_type: r.get(2),
        category,
        nullable: !r.get::<_, bool>(5),
        generated: !generated.is_empty(),
        auto_increment: !identity.is_empty() || serial,
        on_update: None,
        default: if generated.is_empty() { default } else { None },
        enum_values,
        sensitive: None,
    }
}

fn constraint(t: &mut TableReport, r: &Row) {
    let name: String = r.get(1);
    let columns: Vec<String> = r.get(3);
    match r.get::<_, String>(2).as_str() {
        "p" => t.primary_key = columns,
        "u" => t.unique_constraints.push(UniqueConstraint {
            name: Some(name),
            columns,
        }),
        "f" => t.foreign_keys.push(ForeignKey {
            name: Some(name),
            columns,
            referenced_schema: r.get::<_, Option<String>>(4).unwrap_or_default(),
            referenced_table: r.get::<_, Option<String>>(5).unwrap_or_default(),
            referenced_columns: r.get(6),
        }),
        _ => {
            let def: String = r.get(7);
            let expression = def
                .strip_prefix("CHECK ")
                .map_or(def.as_str(), |e| e.trim_end_matches(" NOT VALID"))
                .to_owned();
            t.check_constraints.push(CheckConstraint {
                name: Some(name),
                expression,
            });
        }
    }
}

/// `pg_trigger.tgtype` bits: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate,
/// 64 instead of.
fn trigger(t: &TableReport, r: &Row) -> TriggerReport {
    let bits: i32 = r.get(2);
    let timing = if bits & 64 != 0 {
        "instead_of"
    } else if bits & 2 != 0 {
        "before"
    } else {
        "after"
    };
    let events = [
        (4, "insert"),
        (16, "update"),
        (8, "delete"),
        (32, "truncate"),
    ]
    .iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, e)| (*e).to_owned())
    .collect();
    let body: String = r.get(3);
    let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    TriggerReport {
        name: r.get(1),
        timing: timing.to_owned(),
        events,
        sets_columns: assigned_columns(&body, &names),
    }
}
