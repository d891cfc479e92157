//! SQLite introspection: `sqlite_master` joined with the table-valued pragmas
//! (`pragma_table_xinfo`, `pragma_foreign_key_list`, `pragma_index_list`, `pragma_index_info`)
//! so each catalog is one query for every table of a schema.
//!
//! SQLite keeps no catalog of CHECK constraints or trigger timing: they are read from the
//! stored `CREATE` statements by a small lexer that respects quotes and comments. Row
//! estimates come from `sqlite_stat1` when `ANALYZE` has filled it.

use std::collections::HashMap;

use rusqlite::Connection;

use super::classify::{assigned_columns, type_category};
use super::model::{
    CheckConstraint, ColumnReport, ForeignKey, IndexReport, RelationKind, SchemaReport,
    TableReport, TriggerReport, UniqueConstraint,
};
use crate::{DbError, EngineKind};

/// Reads the catalog of `schema` (default `main`). `err` classifies driver errors.
pub(crate) fn inspect(
    conn: &Connection,
    schema: Option<&str>,
    err: impl Fn(&rusqlite::Error) -> DbError,
) -> Result<SchemaReport, DbError> {
    let version: String = conn
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .map_err(|e| err(&e))?;
    let mut stmt = conn.prepare("PRAGMA database_list").map_err(|e| err(&e))?;
    let attached: Vec<String> = stmt
        .query_map([], |r| r.get(1))
        .map_err(|e| err(&e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&e))?;
    let name = schema.unwrap_or("main");
    if !attached.iter().any(|a| a == name) {
        return Err(super::unknown_schema(name, &attached));
    }
    let tables = read_schema(conn, name).map_err(|e| err(&e))?;
    Ok(super::finish(
        EngineKind::Sqlite,
        version,
        None,
        vec![name.to_owned()],
        tables,
        &[],
    ))
}

fn read_schema(conn: &Connection, schema: &str) -> rusqlite::Result<Vec<TableReport>> {
    let s = format!("\"{}\"", schema.replace('"', "\"\""));
    const USER: &str = "m.type IN ('table','view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

    let mut tables: HashMap<String, (TableReport, String)> = HashMap::new();
    for (name, ty, sql) in text_triples(
        conn,
        &format!(
            "SELECT m.name, m.type, coalesce(m.sql, '') FROM {s}.sqlite_master m WHERE {USER}"
        ),
    )? {
        let kind = if ty == "view" {
            RelationKind::View
        } else {
            RelationKind::Table
        };
        let mut t = TableReport::new(schema, &name, kind);
        for (cname, expression) in check_clauses(&sql) {
            t.check_constraints.push(CheckConstraint {
                name: cname,
                expression,
            });
        }
        tables.insert(name, (t, sql));
    }

    // Columns; `pk` is the 1-based position in the primary key, `hidden` 2/3 = generated.
    let mut stmt = conn.prepare(&format!(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden \
         FROM {s}.sqlite_master m JOIN pragma_table_xinfo(m.name, ?1) p \
         WHERE {USER} ORDER BY m.name, p.cid"
    ))?;
    let rows = stmt.query_map([schema], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut pk_pos: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for row in rows {
        let (table, name, ty, notnull, default, pk, hidden) = row?;
        let Some((t, _)) = tables.get_mut(&table) else {
            continue;
        };
        if hidden == 1 {
            continue; // hidden columns of virtual tables
        }
        if pk > 0 {
            pk_pos.entry(table).or_default().push((pk, name.clone()));
        }
        t.columns.push(ColumnReport {
            category: type_category(&ty),
            data_type: ty,
            nullable: !notnull && pk == 0,
            generated: hidden >= 2,
            default: if hidden >= 2 { None } else { default },
            auto_increment: false,
            on_update: None,
            enum_values: Vec::new(),
            sensitive: None,
            name,
        });
    }
    for (table, mut pk) in pk_pos {
        pk.sort();
        if let Some((t, sql)) = tables.get_mut(&table) {
            t.primary_key = pk.into_iter().map(|(_, n)| n).collect();
            // A single INTEGER PRIMARY KEY is the rowid: SQLite fills it.
            if let [key] = t.primary_key.as_slice()
                && let Some(c) = t.columns.iter_mut().find(|c| &c.name == key)
                && (c.data_type.eq_ignore_ascii_case("integer")
                    || sql.to_uppercase().contains("AUTOINCREMENT"))
            {
                c.auto_increment = true;
            }
        }
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\" \
         FROM {s}.sqlite_master m JOIN pragma_foreign_key_list(m.name, ?1) f \
         WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq"
    ))?;
    let rows = stmt.query_map([schema], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut fks: Vec<(String, i64, ForeignKey)> = Vec::new();
    for row in rows {
        let (table, id, target, from, to) = row?;
        match fks.iter_mut().find(|(t, i, _)| *t == table && *i == id) {
            Some((_, _, fk)) => {
                fk.columns.push(from);
                fk.referenced_columns.push(to.unwrap_or_default());
            }
            None => fks.push((
                table,
                id,
                ForeignKey {
                    name: None,
                    columns: vec![from],
                    referenced_schema: schema.to_owned(),
                    referenced_table: target,
                    referenced_columns: vec![to.unwrap_or_default()],
                },
            )),
        }
    }
    // `REFERENCES t` without columns means t's primary key.
    let pks: HashMap<String, Vec<String>> = tables
        .iter()
        .map(|(n, (t, _))| (n.to_lowercase(), t.primary_key.clone()))
        .collect();
    for (table, _, mut fk) in fks {
        if fk.referenced_columns.iter().all(String::is_empty)
            && let Some(pk) = pks.get(&fk.referenced_table.to_lowercase())
        {
            fk.referenced_columns = pk.clone();
        }
        if let Some((t, _)) = tables.get_mut(&table) {
            t.foreign_keys.push(fk);
        }
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT m.name, il.name, il.\"unique\", il.origin, il.partial, ii.name \
         FROM {s}.sqlite_master m JOIN pragma_index_list(m.name, ?1) il \
         JOIN pragma_index_info(il.name, ?1) ii \
         WHERE m.type = 'table' ORDER BY m.name, il.name, ii.seqno"
    ))?;
    let rows = stmt.query_map([schema], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    for row in rows {
        let (table, index, unique, origin, partial, col) = row?;
        let Some((t, _)) = tables.get_mut(&table) else {
            continue;
        };
        let col = col.unwrap_or_else(|| "(expression)".to_owned());
        match t.indexes.iter_mut().find(|i| i.name == index) {
            Some(i) => i.columns.push(col),
            None => t.indexes.push(IndexReport {
                name: index,
                columns: vec![col],
                unique,
                primary: origin == "pk",
                predicate: partial.then(|| "(partial)".to_owned()),
            }),
        }
    }
    for (t, _) in tables.values_mut() {
        let from_constraints: Vec<UniqueConstraint> = t
            .indexes
            .iter()
            .filter(|i| i.unique && !i.primary && i.name.starts_with("sqlite_autoindex_"))
            .map(|i| UniqueConstraint {
                name: None,
                columns: i.columns.clone(),
            })
            .collect();
        t.unique_constraints = from_constraints;
    }

    for (name, table, sql) in text_triples(
        conn,
        &format!(
            "SELECT name, tbl_name, coalesce(sql, '') FROM {s}.sqlite_master WHERE type = 'trigger'"
        ),
    )? {
        let Some((t, _)) = tables.get_mut(&table) else {
            continue;
        };
        let (timing, events) = trigger_head(&sql);
        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        t.triggers.push(TriggerReport {
            name,
            timing,
            events,
            sets_columns: assigned_columns(&sql, &names),
        });
    }

    let has_stats: bool = conn.query_row(
        &format!("SELECT count(*) > 0 FROM {s}.sqlite_master WHERE name = 'sqlite_stat1'"),
        [],
        |r| r.get(0),
    )?;
    if has_stats {
        let mut stmt = conn.prepare(&format!("SELECT tbl, stat FROM {s}.sqlite_stat1"))?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        for row in rows {
            let (table, stat) = row?;
            let rows = stat
                .as_deref()
                .and_then(|s| s.split_whitespace().next())
                .and_then(|n| n.parse::<i64>().ok());
            if let (Some((t, _)), Some(n)) = (tables.get_mut(&table), rows) {
                t.row_estimate = Some(t.row_estimate.map_or(n, |e| e.max(n)));
            }
        }
    }
    Ok(tables.into_values().map(|(t, _)| t).collect())
}

/// Rows of a query returning three text columns.
fn text_triples(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// A token of SQL text: an unquoted word, a quoted identifier, a string literal or one
/// punctuation character, with its byte span.
#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str,
    Punct(char),
}

fn lex(sql: &str) -> Vec<(Tok, usize, usize)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if matches!(c, b'\'' | b'"' | b'`' | b'[') {
            let close = if c == b'[' { b']' } else { c };
            i += 1;
            let mut text = Vec::new();
            while i < b.len() {
                if b[i] == close {
                    if close != b']' && b.get(i + 1) == Some(&close) {
                        text.push(close);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                text.push(b[i]);
                i += 1;
            }
            let tok = if c == b'\'' {
                Tok::Str
            } else {
                Tok::Quoted(String::from_utf8_lossy(&text).into_owned())
            };
            out.push((tok, start, i));
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            out.push((Tok::Word(sql[start..i].to_owned()), start, i));
        } else {
            // Multi-byte characters are consumed by the word branch, so `c` is ASCII here.
            i += 1;
            out.push((Tok::Punct(c as char), start, i));
        }
    }
    out
}

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

/// The CHECK constraints of a `CREATE TABLE` statement: optional `CONSTRAINT name` and the
/// condition text between the parentheses.
pub(crate) fn check_clauses(sql: &str) -> Vec<(Option<String>, String)> {
    let toks = lex(sql);
    let mut out = Vec::new();
    for (k, (tok, _, _)) in toks.iter().enumerate() {
        if !is_kw(tok, "check") || !matches!(toks.get(k + 1), Some((Tok::Punct('('), _, _))) {
            continue;
        }
        let open_end = toks[k + 1].2;
        let mut depth = 0usize;
        let mut close = None;
        for (t, s, _) in &toks[k + 1..] {
            match t {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(*s);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else { continue };
        let name = match (k.checked_sub(2).map(|i| &toks[i].0), k.checked_sub(1)) {
            (Some(c), Some(n)) if is_kw(c, "constraint") => match &toks[n].0 {
                Tok::Word(w) | Tok::Quoted(w) => Some(w.clone()),
                _ => None,
            },
            _ => None,
        };
        out.push((name, sql[open_end..close].trim().to_owned()));
    }
    out
}

/// Timing and event of a `CREATE TRIGGER` statement (SQLite's default timing is BEFORE).
pub(crate) fn trigger_head(sql: &str) -> (String, Vec<String>) {
    let mut timing = "before";
    let mut events = Vec::new();
    for (t, _, _) in lex(sql) {
        if is_kw(&t, "on") {
            break;
        }
        if is_kw(&t, "after") {
            timing = "after";
        } else if is_kw(&t, "instead") {
            timing = "instead_of";
        }
        for e in ["insert", "update", "delete"] {
            if is_kw(&t, e) {
                events.push(e.to_owned());
            }
        }
    }
    (timing.to_owned(), events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_from_create_table() {
        let sql = "CREATE TABLE \"t\" (id INTEGER PRIMARY KEY, \
                   qty INT CHECK (qty > 0), -- a CHECK (in a comment) \n\
                   note TEXT DEFAULT 'CHECK (not one)', \
                   CONSTRAINT \"pos total\" CHECK ((qty * 2) < 100), \
                   CONSTRAINT named check(note <> ''))";
        assert_eq!(
            check_clauses(sql),
            [
                (None, "qty > 0".to_owned()),
                (Some("pos total".to_owned()), "(qty * 2) < 100".to_owned()),
                (Some("named".to_owned()), "note <> ''".to_owned()),
            ]
        );
        assert!(check_clauses("CREATE TABLE x (a CHECK").is_empty());
        assert!(check_clauses("CREATE TABLE x (a int CHECK (a > (1)").is_empty());
        assert!(check_clauses("").is_empty());
    }

    #[test]
    fn trigger_heads() {
        assert_eq!(
            trigger_head("CREATE TRIGGER t AFTER UPDATE OF a ON x BEGIN UPDATE x SET b = 1; END"),
            ("after".to_owned(), vec!["update".to_owned()])
        );
        assert_eq!(
            trigger_head("CREATE TRIGGER \"on\" DELETE ON x BEGIN SELECT 1; END"),
            ("before".to_owned(), vec!["delete".to_owned()])
        );
        assert_eq!(
            trigger_head("CREATE TRIGGER v INSTEAD OF INSERT ON vw BEGIN SELECT 1; END"),
            ("instead_of".to_owned(), vec!["insert".to_owned()])
        );
    }
}
