//! MySQL / MariaDB introspection from `information_schema`: one query per catalog view
//! (schemata, tables, columns, key columns, checks, statistics, triggers) for all inspected
//! schemas at once, on one read-only pooled connection.
//!
//! Default scope: `--schema`, else the URL's database (`DATABASE()`), else every user schema.
//! `information_schema` lists only objects the user holds some privilege on; triggers need the
//! `TRIGGER` privilege to be listed (a note says so).

use std::collections::HashMap;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::classify::{assigned_columns, type_category};
use super::model::{
    CheckConstraint, ColumnReport, ForeignKey, IndexReport, RelationKind, SchemaReport,
    TableReport, TriggerReport, TypeCategory, UniqueConstraint,
};
use crate::{DbError, EngineKind};

const SYSTEM_SCHEMAS: &str = "('information_schema','mysql','performance_schema','sys')";

const NOTE_TRIGGERS: &str = "MySQL/MariaDB list a table's triggers only to users with the TRIGGER \
     privilege on it; without it, trigger-maintained guard columns show as application-maintained.";

type Key = (String, String);

/// Reads the catalog through `conn`. `err` classifies and scrubs driver errors.
pub(crate) async fn inspect(
    conn: &mut Conn,
    schema: Option<&str>,
    err: impl Fn(&mysql_async::Error) -> DbError,
) -> Result<SchemaReport, DbError> {
    let (version, user, database): (String, String, Option<String>) = conn
        .query_first("SELECT VERSION(), CURRENT_USER(), DATABASE()")
        .await
        .map_err(|e| err(&e))?
        .unwrap_or_default();
    let mariadb = version.contains("MariaDB");
    let visible: Vec<String> = conn
        .query(format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA \
             WHERE SCHEMA_NAME NOT IN {SYSTEM_SCHEMAS} ORDER BY 1"
        ))
        .await
        .map_err(|e| err(&e))?;
    let schemas: Vec<String> = match schema.or(database.as_deref()) {
        Some(s) if visible.iter().any(|v| v == s) => vec![s.to_owned()],
        Some(s) => return Err(super::unknown_schema(s, &visible)),
        None => visible,
    };
    if schemas.is_empty() {
        return Ok(super::finish(
            EngineKind::Mysql,
            version,
            Some(user),
            schemas,
            Vec::new(),
            &[NOTE_TRIGGERS],
        ));
    }
    let marks = vec!["?"; schemas.len()].join(",");
    let params = || mysql_async::Params::Positional(schemas.iter().map(Into::into).collect());

    let rels: Vec<(String, String, String, Option<u64>)> = conn
        .exec(
            format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS \
                 FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA IN ({marks}) AND TABLE_TYPE <> 'SEQUENCE'"
            ),
            params(),
        )
        .await
        .map_err(|e| err(&e))?;
    let mut tables: HashMap<Key, TableReport> = rels
        .into_iter()
        .map(|(s, n, ty, rows)| {
            let kind = if ty.contains("VIEW") {
                RelationKind::View
            } else {
                RelationKind::Table
            };
            let mut t = TableReport::new(&s, &n, kind);
            t.row_estimate = rows
                .filter(|_| kind == RelationKind::Table)
                .and_then(|r| i64::try_from(r).ok());
            ((s, n), t)
        })
        .collect();

    type ColRow = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
    );
    let cols: Vec<ColRow> = conn
        .exec(
            format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, \
                 IS_NULLABLE, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA IN ({marks}) \
                 ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
            ),
            params(),
        )
        .await
        .map_err(|e| err(&e))?;
    for (s, n, name, column_type, data_type, nullable, default, extra) in cols {
        if let Some(t) = tables.get_mut(&(s, n)) {
            t.columns.push(column(
                name,
                column_type,
                &data_type,
                nullable == "YES",
                default,
                &extra,
                mariadb,
            ));
        }
    }

    // Key columns of primary keys (named PRIMARY), unique constraints and foreign keys (with a
    // referenced table). TABLE_CONSTRAINTS would name the type, but MariaDB hides it from
    // users whose only privilege is SELECT.
    type KeyRow = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let keys: Vec<KeyRow> = conn
        .exec(
            format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, \
                 REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
                 FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA IN ({marks}) \
                 ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"
            ),
            params(),
        )
        .await
        .map_err(|e| err(&e))?;
    for (s, n, cname, col, rs, rt, rc) in keys {
        let Some(t) = tables.get_mut(&(s, n)) else {
            continue;
        };
        match (cname.as_str(), &rt) {
            ("PRIMARY", None) => t.primary_key.push(col),
            (_, None) => match t
                .unique_constraints
                .iter_mut()
                .find(|u| u.name.as_deref() == Some(cname.as_str()))
            {
                Some(u) => u.columns.push(col),
                None => t.unique_constraints.push(UniqueConstraint {
                    name: Some(cname),
                    columns: vec![col],
                }),
            },
            (_, Some(_)) => match t
                .foreign_keys
                .iter_mut()
                .find(|f| f.name.as_deref() == Some(cname.as_str()))
            {
                Some(f) => {
                    f.columns.push(col);
                    f.referenced_columns.push(rc.unwrap_or_default());
                }
                None => t.foreign_keys.push(ForeignKey {
                    name: Some(cname),
                    columns: vec![col],
                    referenced_schema: rs.unwrap_or_default(),
                    referenced_table: rt.unwrap_or_default(),
                    referenced_columns: vec![rc.unwrap_or_default()],
                }),
            },
        }
    }

    // MariaDB's CHECK_CONSTRAINTS has TABLE_NAME (and column-level checks are named after the
    // column, so names repeat across tables); MySQL's needs TABLE_CONSTRAINTS for the table.
    let checks_sql = if mariadb {
        format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE \
             FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN ({marks})"
        )
    } else {
        format!(
            "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.CONSTRAINT_NAME, cc.CHECK_CLAUSE \
             FROM information_schema.TABLE_CONSTRAINTS c \
             JOIN information_schema.CHECK_CONSTRAINTS cc \
               ON cc.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA \
              AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME \
             WHERE c.CONSTRAINT_TYPE = 'CHECK' AND c.TABLE_SCHEMA IN ({marks})"
        )
    };
    let checks: Vec<(String, String, String, String)> =
        conn.exec(checks_sql, params()).await.map_err(|e| err(&e))?;
    for (s, n, name, expression) in checks {
        if let Some(t) = tables.get_mut(&(s, n)) {
            t.check_constraints.push(CheckConstraint {
                name: Some(name),
                expression,
            });
        }
    }

    let stats: Vec<(String, String, String, i64, Option<String>)> = conn
        .exec(
            format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME \
                 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({marks}) \
                 ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
            ),
            params(),
        )
        .await
        .map_err(|e| err(&e))?;
    for (s, n, index, non_unique, col) in stats {
        let Some(t) = tables.get_mut(&(s, n)) else {
            continue;
        };
        let col = col.unwrap_or_else(|| "(expression)".to_owned());
        match t.indexes.iter_mut().find(|i| i.name == index) {
            Some(i) => i.columns.push(col),
            None => t.indexes.push(IndexReport {
                primary: index == "PRIMARY",
                name: index,
                columns: vec![col],
                unique: non_unique == 0,
                predicate: None,
            }),
        }
    }

    let triggers: Vec<(String, String, String, String, String, String)> = conn
        .exec(
            format!(
                "SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, \
                 EVENT_MANIPULATION, ACTION_STATEMENT FROM information_schema.TRIGGERS \
                 WHERE EVENT_OBJECT_SCHEMA IN ({marks})"
            ),
            params(),
        )
        .await
        .map_err(|e| err(&e))?;
    for (s, n, name, timing, event, body) in triggers {
        let Some(t) = tables.get_mut(&(s, n)) else {
            continue;
        };
        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        t.triggers.push(TriggerReport {
            name,
            timing: timing.to_lowercase(),
            events: vec![event.to_lowercase()],
            sets_columns: assigned_columns(&body, &names),
        });
    }

    Ok(super::finish(
        EngineKind::Mysql,
        version,
        Some(user),
        schemas,
        tables.into_values().collect(),
        &[NOTE_TRIGGERS],
    ))
}

fn column(
    name: String,
    column_type: String,
    data_type: &str,
    nullable: bool,
    default: Option<String>,
    extra: &str,
    mariadb: bool,
) -> ColumnReport {
    let extra_lower = extra.to_lowercase();
    // `DEFAULT_GENERATED` (MySQL) marks a column with an expression default such as
    // CURRENT_TIMESTAMP: it is not a generated column.
    let generated = extra_lower.contains("virtual")
        || extra_lower.contains("stored")
        || extra_lower.contains("persistent");
    let on_update = extra_lower
        .find("on update ")
        .map(|i| extra[i + "on update ".len()..].trim().to_owned());
    // MariaDB shows a NULL default as the text `NULL` and quotes string defaults.
    let default = default.filter(|d| !(mariadb && d == "NULL"));
    let enum_values = if data_type.eq_ignore_ascii_case("enum") {
        enum_labels(&column_type)
    } else {
        Vec::new()
    };
    ColumnReport {
        name,
        category: if data_type.eq_ignore_ascii_case("enum") {
            TypeCategory::Enum
        } else {
            type_category(data_type)
        },
        data_type: column_type,
        nullable,
        default: if generated { None } else { default },
        generated,
        auto_increment: extra_lower.contains("auto_increment"),
        on_update,
        enum_values,
        sensitive: None,
    }
}

/// `enum('a','it''s','b,c')` → `a`, `it's`, `b,c`.
pub(crate) fn enum_labels(column_type: &str) -> Vec<String> {
    let Some(inner) = column_type
        .find('(')
        .and_then(|i| column_type.rfind(')').map(|j| &column_type[i + 1..j]))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut label = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        label.push(n);
                    }
                }
                other => label.push(other),
            }
        }
        out.push(label);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_labels_with_quotes_and_commas() {
        assert_eq!(enum_labels("enum('a','it''s','b,c')"), ["a", "it's", "b,c"]);
        assert_eq!(enum_labels("enum('G','PG-13')"), ["G", "PG-13"]);
        assert!(enum_labels("int(11)").is_empty());
        assert!(enum_labels("enum(").is_empty());
    }

    #[test]
    fn default_generated_is_not_generated() {
        let c = column(
            "updated_at".into(),
            "timestamp".into(),
            "timestamp",
            false,
            Some("CURRENT_TIMESTAMP".into()),
            "DEFAULT_GENERATED on update CURRENT_TIMESTAMP",
            false,
        );
        assert!(!c.generated);
        assert_eq!(c.on_update.as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(c.default.as_deref(), Some("CURRENT_TIMESTAMP"));
        let g = column(
            "total".into(),
            "int".into(),
            "int",
            true,
            None,
            "STORED GENERATED",
            false,
        );
        assert!(g.generated);
    }
}
