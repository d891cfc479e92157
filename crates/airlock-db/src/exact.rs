//! Exact key and tenant matching, whatever the column's collation.
//!
//! A plain `key = ?` follows the column's collation: on MariaDB's default `utf8mb4_general_ci`
//! (case-insensitive, pad-space) the tenant `ACME` or `acme ` matches rows of tenant `acme`; a
//! Postgres `citext` column or nondeterministic ICU collation and a SQLite `COLLATE NOCASE`
//! column fold case too. The tenant boundary and the row a proposal names must not depend on
//! how a DBA declared a column, so every key and tenant predicate is written twice:
//!
//! | engine | predicate for a text column |
//! |--------|-----------------------------|
//! | Postgres | `"c" = $1 AND "c"::text COLLATE "C" = $2::text` |
//! | MySQL/MariaDB | `` `c` = ? AND `c` = CAST(? AS BINARY) `` |
//! | SQLite | `"c" = ? AND "c" = ? COLLATE BINARY` |
//!
//! The first comparison keeps the column's index usable; the second compares bytes (no case
//! folding, trailing spaces significant). Both get the same value. Non-text columns (integers,
//! uuids, numerics, binary strings) compare by value already and keep the plain predicate;
//! SQLite has no column types, so its predicates are always doubled.
//!
//! As a second line of defence, [`keep_exact`] drops any returned row whose key or tenant
//! value is not byte for byte the requested one. For that the key and tenant columns are
//! always selected ([`guard_columns`]) and removed again if the caller did not ask for them.
//!
//! Postgres `char(n)` is the one text type whose value has no trailing spaces by definition:
//! its stored padding is ignored (case and every other byte still count).

use std::borrow::Cow;

use crate::{EngineKind, Ident, Param, Row, ScopedSelect};

/// How one key or tenant predicate compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exact {
    /// Plain `=`: the column's type compares values exactly already.
    No,
    /// Byte comparison; the returned value must be the same string.
    Bytes,
    /// Postgres `char(n)`: byte comparison of the value without its padding.
    Padded,
    /// SQLite: byte comparison; a returned value that is not text (a number stored in a
    /// numeric column) was compared by value and is kept.
    BytesIfText,
}

impl Exact {
    fn doubled(self) -> bool {
        self != Exact::No
    }
}

/// The comparison for the key and the tenant predicate of one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExactMatch {
    pub(crate) engine: EngineKind,
    pub(crate) key: Exact,
    pub(crate) tenant: Exact,
}

impl ExactMatch {
    /// Plain predicates (before the column types are known).
    pub(crate) fn plain(engine: EngineKind) -> ExactMatch {
        ExactMatch {
            engine,
            key: Exact::No,
            tenant: Exact::No,
        }
    }

    /// SQLite: always doubled.
    pub(crate) fn sqlite() -> ExactMatch {
        ExactMatch {
            engine: EngineKind::Sqlite,
            key: Exact::BytesIfText,
            tenant: Exact::BytesIfText,
        }
    }

    /// Whether any predicate is doubled.
    pub(crate) fn any(&self) -> bool {
        self.key.doubled() || self.tenant.doubled()
    }

    /// `<col> = <ph1>` or, doubled, `<col> = <ph1> AND <exact comparison with ph2>`. Calls
    /// `placeholder` once or twice, in the order the placeholders appear.
    pub(crate) fn predicate(
        &self,
        which: Exact,
        quoted: &str,
        mut placeholder: impl FnMut() -> String,
    ) -> String {
        let first = placeholder();
        if !which.doubled() {
            return format!("{quoted} = {first}");
        }
        let second = placeholder();
        match self.engine {
            EngineKind::Postgres => {
                format!("{quoted} = {first} AND {quoted}::text COLLATE \"C\" = {second}::text")
            }
            EngineKind::Mysql => {
                format!("{quoted} = {first} AND {quoted} = CAST({second} AS BINARY)")
            }
            EngineKind::Sqlite => {
                format!("{quoted} = {first} AND {quoted} = {second} COLLATE BINARY")
            }
        }
    }
}

/// Which predicate a bound value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Key,
    Tenant,
}

/// The values of a scoped select's predicates in placeholder order: the key (twice when
/// doubled), then the tenant (likewise).
pub(crate) fn select_params<'a>(q: &'a ScopedSelect, m: &ExactMatch) -> Vec<(Slot, &'a Param)> {
    let mut out = Vec::with_capacity(4);
    out.push((Slot::Key, &q.key_value));
    if m.key.doubled() {
        out.push((Slot::Key, &q.key_value));
    }
    if let Some((_, tenant)) = &q.tenant {
        out.push((Slot::Tenant, tenant));
        if m.tenant.doubled() {
            out.push((Slot::Tenant, tenant));
        }
    }
    out
}

/// `q` with its key and tenant columns added to the projection when missing, so
/// [`keep_exact`] can check them.
pub(crate) fn guard_columns(q: &ScopedSelect) -> Cow<'_, ScopedSelect> {
    let missing: Vec<&Ident> = std::iter::once(&q.key_column)
        .chain(q.tenant.as_ref().map(|(c, _)| c))
        .filter(|c| !q.columns.contains(c))
        .collect();
    if missing.is_empty() {
        return Cow::Borrowed(q);
    }
    let mut owned = q.clone();
    for c in missing {
        if !owned.columns.contains(c) {
            owned.columns.push(c.clone());
        }
    }
    Cow::Owned(owned)
}

/// Keeps the rows whose key and tenant values are exactly the requested ones, and removes the
/// columns [`guard_columns`] added. `q` is the caller's select.
pub(crate) fn keep_exact(q: &ScopedSelect, rows: Vec<Row>, m: &ExactMatch) -> Vec<Row> {
    let before = rows.len();
    let mut out: Vec<Row> = rows
        .into_iter()
        .filter(|row| {
            matches(row, &q.key_column, &q.key_value, m.key)
                && q.tenant
                    .as_ref()
                    .is_none_or(|(c, v)| matches(row, c, v, m.tenant))
        })
        .collect();
    if out.len() != before {
        // The SQL compares exactly; reaching this means a comparison the engine did not make
        // exact. Values are not logged (they may be tenant ids).
        tracing::warn!(
            table = %q.table,
            dropped = before - out.len(),
            "rows whose key or tenant differs from the requested value were dropped"
        );
    }
    let extra = |c: &str| !q.columns.iter().any(|k| k.as_str() == c);
    for row in &mut out {
        if row.keys().any(|k| extra(k)) {
            row.retain(|k, _| !extra(k));
        }
    }
    out
}

/// Whether a row's value of `col` is exactly the requested `want` under `how`.
fn matches(row: &Row, col: &Ident, want: &Param, how: Exact) -> bool {
    let want: Cow<'_, str> = match want {
        Param::Text(s) => Cow::Borrowed(s),
        Param::Int(i) => Cow::Owned(i.to_string()),
        // Engines render these differently as text; they hold no letters or padding to fold.
        Param::Null | Param::Bool(_) | Param::Float(_) => return true,
    };
    let got = row.get(col.as_str());
    match (how, got) {
        (Exact::No, _) => true,
        (Exact::Bytes, Some(serde_json::Value::String(s))) => *s == want,
        (Exact::Padded, Some(serde_json::Value::String(s))) => s.trim_end_matches(' ') == want,
        (Exact::BytesIfText, Some(serde_json::Value::String(s))) => *s == want,
        (Exact::BytesIfText, Some(v)) => !v.is_null(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(s: &str) -> Ident {
        Ident::new(s).unwrap()
    }

    fn select(columns: &[&str]) -> ScopedSelect {
        ScopedSelect {
            schema: None,
            table: id("t"),
            columns: columns.iter().map(|c| id(c)).collect(),
            key_column: id("id"),
            key_value: Param::Text("O-1".into()),
            tenant: Some((id("tenant_id"), Param::Text("acme".into()))),
            limit: 2,
        }
    }

    fn row(v: serde_json::Value) -> Row {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn predicates_per_engine() {
        let mut n = 0;
        let mut ph = || {
            n += 1;
            format!("${n}")
        };
        let pg = ExactMatch {
            engine: EngineKind::Postgres,
            key: Exact::Bytes,
            tenant: Exact::No,
        };
        assert_eq!(
            pg.predicate(Exact::Bytes, "\"id\"", &mut ph),
            r#""id" = $1 AND "id"::text COLLATE "C" = $2::text"#
        );
        assert_eq!(pg.predicate(Exact::No, "\"t\"", &mut ph), r#""t" = $3"#);
        let my = ExactMatch::plain(EngineKind::Mysql);
        assert_eq!(
            my.predicate(Exact::Bytes, "`id`", || "?".into()),
            "`id` = ? AND `id` = CAST(? AS BINARY)"
        );
        assert_eq!(
            ExactMatch::sqlite().predicate(Exact::BytesIfText, "\"id\"", || "?".into()),
            r#""id" = ? AND "id" = ? COLLATE BINARY"#
        );
    }

    #[test]
    fn params_follow_placeholders() {
        let q = select(&["id"]);
        let slots = |m: &ExactMatch| -> Vec<Slot> {
            select_params(&q, m).into_iter().map(|(s, _)| s).collect()
        };
        assert_eq!(
            slots(&ExactMatch::sqlite()),
            [Slot::Key, Slot::Key, Slot::Tenant, Slot::Tenant]
        );
        assert_eq!(
            slots(&ExactMatch::plain(EngineKind::Mysql)),
            [Slot::Key, Slot::Tenant]
        );
    }

    #[test]
    fn guard_columns_are_added_and_removed() {
        let q = select(&["note"]);
        let g = guard_columns(&q);
        let names: Vec<&str> = g.columns.iter().map(Ident::as_str).collect();
        assert_eq!(names, ["note", "id", "tenant_id"]);
        let full = select(&["id", "tenant_id"]);
        assert!(matches!(guard_columns(&full), Cow::Borrowed(_)));

        let m = ExactMatch {
            engine: EngineKind::Mysql,
            key: Exact::Bytes,
            tenant: Exact::Bytes,
        };
        let rows = vec![
            row(json!({"note": "a", "id": "O-1", "tenant_id": "acme"})),
            row(json!({"note": "b", "id": "o-1", "tenant_id": "acme"})),
            row(json!({"note": "c", "id": "O-1", "tenant_id": "ACME"})),
            row(json!({"note": "d", "id": "O-1", "tenant_id": "acme "})),
            row(json!({"note": "e", "id": "O-1"})),
        ];
        let kept = keep_exact(&q, rows, &m);
        assert_eq!(kept, vec![row(json!({"note": "a"}))]);
    }

    #[test]
    fn comparison_kinds() {
        let r = row(json!({"id": 42, "tenant_id": "acme    ", "n": null}));
        let want = Param::Text("acme".into());
        assert!(matches(&r, &id("tenant_id"), &want, Exact::Padded));
        assert!(!matches(
            &r,
            &id("tenant_id"),
            &Param::Text("acme ".into()),
            Exact::Padded
        ));
        assert!(!matches(&r, &id("tenant_id"), &want, Exact::Bytes));
        // SQLite numbers were compared by value.
        assert!(matches(
            &r,
            &id("id"),
            &Param::Text("42".into()),
            Exact::BytesIfText
        ));
        assert!(!matches(&r, &id("id"), &Param::Int(42), Exact::Bytes));
        assert!(!matches(&r, &id("n"), &want, Exact::BytesIfText));
        assert!(matches(&r, &id("id"), &Param::Int(42), Exact::No));
    }
}
