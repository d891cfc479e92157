//! SQL text shared by the engines: identifier quoting, the scoped SELECT and the guarded
//! UPDATE. Identifiers only from [`Ident`]; every value a placeholder.

use std::fmt::Write as _;

use crate::exact::ExactMatch;
use crate::{DbError, DbErrorKind, Ident, Param, RowUpdate, ScopedSelect};

/// Quotes an identifier with `q` as the quote character, doubling any `q` inside it.
/// [`Ident`] cannot contain quote characters; the doubling is defence in depth.
pub(crate) fn quote_with(ident: &Ident, q: char) -> String {
    let s = ident.as_str();
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// How one projected column is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnRender {
    /// `"col"`
    Plain,
    /// `"col"::text AS "col"` (Postgres types without a native mapping).
    CastText,
}

/// What follows the `WHERE` clause of a scoped select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectTail {
    /// `LIMIT n` (reads).
    Limit,
    /// `FOR UPDATE`, no limit (Postgres and MySQL write transactions).
    ForUpdate,
    /// Nothing (SQLite write transactions, which already hold the write lock).
    Nothing,
}

/// Renders `SELECT <cols> FROM [<schema>.]<table> WHERE <key predicate> [AND <tenant
/// predicate>] LIMIT n`; each predicate is `col = p` or doubled as `exact` says
/// ([`ExactMatch::predicate`]), with values in [`crate::exact::select_params`] order.
///
/// `placeholder(i)` gives the i-th (1-based) placeholder; `casts` (if given) has one entry per
/// projected column.
pub(crate) fn render_select(
    q: &ScopedSelect,
    quote: impl Fn(&Ident) -> String,
    placeholder: impl Fn(usize) -> String,
    casts: Option<&[ColumnRender]>,
    exact: &ExactMatch,
) -> String {
    render_select_with(q, quote, placeholder, casts, SelectTail::Limit, exact)
}

/// [`render_select`] with a chosen tail.
pub(crate) fn render_select_with(
    q: &ScopedSelect,
    quote: impl Fn(&Ident) -> String,
    placeholder: impl Fn(usize) -> String,
    casts: Option<&[ColumnRender]>,
    tail: SelectTail,
    exact: &ExactMatch,
) -> String {
    let mut sql = String::with_capacity(64 + q.columns.len() * 16);
    sql.push_str("SELECT ");
    for (i, col) in q.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let quoted = quote(col);
        match casts
            .and_then(|c| c.get(i))
            .copied()
            .unwrap_or(ColumnRender::Plain)
        {
            ColumnRender::Plain => sql.push_str(&quoted),
            ColumnRender::CastText => {
                let _ = write!(sql, "{quoted}::text AS {quoted}");
            }
        }
    }
    sql.push_str(" FROM ");
    if let Some(schema) = &q.schema {
        sql.push_str(&quote(schema));
        sql.push('.');
    }
    sql.push_str(&quote(&q.table));
    let mut n = 0;
    let mut next = || {
        n += 1;
        placeholder(n)
    };
    let key = exact.predicate(exact.key, &quote(&q.key_column), &mut next);
    let _ = write!(sql, " WHERE {key}");
    if let Some((tenant_col, _)) = &q.tenant {
        let tenant = exact.predicate(exact.tenant, &quote(tenant_col), &mut next);
        let _ = write!(sql, " AND {tenant}");
    }
    match tail {
        SelectTail::Limit => {
            let _ = write!(sql, " LIMIT {}", q.limit);
        }
        SelectTail::ForUpdate => sql.push_str(" FOR UPDATE"),
        SelectTail::Nothing => {}
    }
    sql
}

/// How the version column of a [`RowUpdate`] is advanced in its `SET` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AdvanceSql {
    /// An SQL expression built by the engine from quoted identifiers and fixed text only.
    Expr(String),
    /// A value computed by Airlock and bound as a parameter.
    Param(Param),
}

/// An UPDATE statement and its parameters in placeholder order, each with the column it is
/// compared with or assigned to (for engines that convert values per column).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RenderedUpdate {
    pub(crate) sql: String,
    pub(crate) params: Vec<(Ident, Param)>,
}

/// Rejects updates that are malformed whatever the engine.
pub(crate) fn validate_update(u: &RowUpdate) -> Result<(), DbError> {
    let bad = |why: String| {
        Err(DbError::new(
            DbErrorKind::Other,
            format!("invalid update: {why}"),
        ))
    };
    if u.set.is_empty() && u.advance.is_none() {
        return bad("nothing to set".into());
    }
    for (i, (col, _)) in u.set.iter().enumerate() {
        if u.set[..i].iter().any(|(c, _)| c == col) {
            return bad(format!("column {col} is set twice"));
        }
        if *col == u.key.0 {
            return bad(format!("the key column {col} cannot be set"));
        }
        if u.tenant.as_ref().is_some_and(|(t, _)| t == col) {
            return bad(format!("the tenant column {col} cannot be set"));
        }
        if u.advance.as_ref().is_some_and(|(a, _)| a == col) {
            return bad(format!(
                "the advanced version column {col} cannot also be set"
            ));
        }
    }
    Ok(())
}

/// Renders `UPDATE [s.]t SET "c1" = p1, … [, "v" = <advance>] WHERE <key predicate> [AND
/// <tenant predicate>] [AND "version" = pv | AND "version" IS NULL]`, the key and tenant
/// predicates as `exact` says ([`ExactMatch::predicate`]).
pub(crate) fn render_update(
    u: &RowUpdate,
    quote: impl Fn(&Ident) -> String,
    placeholder: impl Fn(usize) -> String,
    advance: Option<&AdvanceSql>,
    exact: &ExactMatch,
) -> RenderedUpdate {
    let mut params: Vec<(Ident, Param)> = Vec::with_capacity(u.set.len() + 4);
    let next = |col: &Ident, p: &Param, params: &mut Vec<(Ident, Param)>| {
        params.push((col.clone(), p.clone()));
        placeholder(params.len())
    };
    let mut sql = String::from("UPDATE ");
    if let Some(schema) = &u.schema {
        sql.push_str(&quote(schema));
        sql.push('.');
    }
    sql.push_str(&quote(&u.table));
    sql.push_str(" SET ");
    let mut first = true;
    for (col, value) in &u.set {
        if !first {
            sql.push_str(", ");
        }
        first = false;
        let ph = next(col, value, &mut params);
        let _ = write!(sql, "{} = {ph}", quote(col));
    }
    if let (Some((col, _)), Some(adv)) = (&u.advance, advance) {
        if !first {
            sql.push_str(", ");
        }
        let rhs = match adv {
            AdvanceSql::Expr(e) => e.clone(),
            AdvanceSql::Param(p) => next(col, p, &mut params),
        };
        let _ = write!(sql, "{} = {rhs}", quote(col));
    }
    let key = exact.predicate(exact.key, &quote(&u.key.0), || {
        next(&u.key.0, &u.key.1, &mut params)
    });
    let _ = write!(sql, " WHERE {key}");
    if let Some((col, value)) = &u.tenant {
        let tenant = exact.predicate(exact.tenant, &quote(col), || next(col, value, &mut params));
        let _ = write!(sql, " AND {tenant}");
    }
    match &u.version_check {
        Some((col, Param::Null)) => {
            let _ = write!(sql, " AND {} IS NULL", quote(col));
        }
        Some((col, value)) => {
            let ph = next(col, value, &mut params);
            let _ = write!(sql, " AND {} = {ph}", quote(col));
        }
        None => {}
    }
    RenderedUpdate { sql, params }
}

/// `COALESCE(<col>, 0) + 1`.
pub(crate) fn increment_expr(quoted: &str) -> String {
    format!("COALESCE({quoted}, 0) + 1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Ident {
        Ident::new(s).unwrap()
    }

    fn update() -> RowUpdate {
        RowUpdate {
            schema: Some(id("app")),
            table: id("orders"),
            key: (id("id"), Param::Text("7".into())),
            tenant: Some((id("tenant_id"), Param::Text("t1".into()))),
            set: vec![
                (id("status"), Param::Text("paid".into())),
                (id("note"), Param::Null),
            ],
            version_check: Some((id("version"), Param::Int(3))),
            advance: Some((id("version"), crate::VersionAdvance::Increment)),
        }
    }

    #[test]
    fn renders_updates_with_placeholders_in_order() {
        let u = update();
        let q = |i: &Ident| quote_with(i, '"');
        let r = render_update(
            &u,
            q,
            |n| format!("${n}"),
            Some(&AdvanceSql::Expr(increment_expr("\"version\""))),
            &ExactMatch::plain(crate::EngineKind::Postgres),
        );
        assert_eq!(
            r.sql,
            r#"UPDATE "app"."orders" SET "status" = $1, "note" = $2, "version" = COALESCE("version", 0) + 1 WHERE "id" = $3 AND "tenant_id" = $4 AND "version" = $5"#
        );
        let cols: Vec<&str> = r.params.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(cols, ["status", "note", "id", "tenant_id", "version"]);
        assert_eq!(r.params[4].1, Param::Int(3));

        // A computed advance is a parameter; a NULL version check is IS NULL; no tenant.
        let u2 = RowUpdate {
            schema: None,
            tenant: None,
            set: vec![],
            version_check: Some((id("version"), Param::Null)),
            advance: Some((id("version"), crate::VersionAdvance::Now)),
            ..update()
        };
        let r = render_update(
            &u2,
            |i| quote_with(i, '`'),
            |_| "?".into(),
            Some(&AdvanceSql::Param(Param::Text(
                "2026-01-01T00:00:00.000Z".into(),
            ))),
            &ExactMatch::plain(crate::EngineKind::Mysql),
        );
        assert_eq!(
            r.sql,
            "UPDATE `orders` SET `version` = ? WHERE `id` = ? AND `version` IS NULL"
        );
        assert_eq!(r.params.len(), 2);

        // Exact key and tenant predicates bind each value twice, in placeholder order.
        let exact = ExactMatch {
            engine: crate::EngineKind::Mysql,
            key: crate::exact::Exact::Bytes,
            tenant: crate::exact::Exact::Bytes,
        };
        let r = render_update(
            &update(),
            |i| quote_with(i, '`'),
            |_| "?".into(),
            None,
            &exact,
        );
        assert_eq!(
            r.sql,
            "UPDATE `app`.`orders` SET `status` = ?, `note` = ? WHERE `id` = ? AND `id` = CAST(? AS BINARY) AND `tenant_id` = ? AND `tenant_id` = CAST(? AS BINARY) AND `version` = ?"
        );
        let cols: Vec<&str> = r.params.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            cols,
            [
                "status",
                "note",
                "id",
                "id",
                "tenant_id",
                "tenant_id",
                "version"
            ]
        );
    }

    #[test]
    fn rejects_malformed_updates() {
        let ok = update();
        assert!(validate_update(&ok).is_ok());
        let cases = [
            RowUpdate {
                set: vec![],
                advance: None,
                ..update()
            },
            RowUpdate {
                set: vec![(id("id"), Param::Int(1))],
                ..update()
            },
            RowUpdate {
                set: vec![(id("tenant_id"), Param::Text("t2".into()))],
                ..update()
            },
            RowUpdate {
                set: vec![(id("version"), Param::Int(9))],
                ..update()
            },
            RowUpdate {
                set: vec![(id("a"), Param::Int(1)), (id("a"), Param::Int(2))],
                ..update()
            },
        ];
        for u in cases {
            let e = validate_update(&u).unwrap_err();
            assert_eq!(e.kind, DbErrorKind::Other, "{e}");
        }
    }

    #[test]
    fn select_tails() {
        let q = ScopedSelect {
            schema: None,
            table: id("t"),
            columns: vec![id("a")],
            key_column: id("id"),
            key_value: Param::Int(1),
            tenant: None,
            limit: 3,
        };
        let plain = ExactMatch::plain(crate::EngineKind::Sqlite);
        let r = |tail| {
            render_select_with(
                &q,
                |i| quote_with(i, '"'),
                |_| "?".into(),
                None,
                tail,
                &plain,
            )
        };
        assert_eq!(
            r(SelectTail::Limit),
            r#"SELECT "a" FROM "t" WHERE "id" = ? LIMIT 3"#
        );
        assert_eq!(
            r(SelectTail::ForUpdate),
            r#"SELECT "a" FROM "t" WHERE "id" = ? FOR UPDATE"#
        );
        assert_eq!(
            r(SelectTail::Nothing),
            r#"SELECT "a" FROM "t" WHERE "id" = ?"#
        );
    }
}
