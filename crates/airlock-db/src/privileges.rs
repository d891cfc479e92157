//! What a credential may change, read from the catalog without changing anything
//! ([`Engine::privileges`](crate::Engine::privileges), used by `airlock doctor`).
//!
//! | engine | how |
//! |---|---|
//! | Postgres | `pg_roles.rolsuper`; `has_table_privilege` / `has_any_column_privilege` over every table of the user schemas; `has_schema_privilege(…, 'CREATE')`; per asked table `has_table_privilege` and `has_column_privilege` |
//! | MySQL/MariaDB | `SHOW GRANTS` for the session's user, and for each role it was granted (each activated in turn with `SET ROLE`, then the session's role restored), parsed: global, database (with `%`/`_` patterns) and table scopes, column lists |
//! | SQLite | no SQL privileges: the read connection is opened `SQLITE_OPEN_READ_ONLY`, so it can change nothing |
//!
//! Nothing is written, no transaction is opened for writing, no row is read.

use serde::Serialize;

/// A table to report on. `schema: None` is the connection's default (Postgres `search_path`,
/// the MySQL URL's database, SQLite `main`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub schema: Option<String>,
    pub table: String,
}

/// What the credential may change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Privileges {
    /// How the answer was found (see the module table).
    pub method: String,
    /// The user / role the session runs as (`None` for SQLite).
    pub user: Option<String>,
    /// Superuser (Postgres `rolsuper`; MySQL `ALL PRIVILEGES` or `SUPER` on `*.*`).
    pub superuser: bool,
    /// Objects this credential can change, each `object: PRIVILEGE, …` (at most 50).
    pub writable: Vec<String>,
    /// Schemas it may create objects in.
    pub can_create: Vec<String>,
    /// The asked tables, in the asked order.
    pub tables: Vec<TablePrivileges>,
}

/// The rights on one asked table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TablePrivileges {
    pub schema: Option<String>,
    pub table: String,
    pub select: bool,
    pub insert: bool,
    pub delete: bool,
    /// `UPDATE` on the whole table.
    pub update: bool,
    /// Columns with `UPDATE` (all of them when `update`; Postgres and MySQL column grants).
    pub update_columns: Vec<String>,
}

impl TablePrivileges {
    /// Whether `UPDATE` of `column` is allowed.
    pub fn may_update(&self, column: &str) -> bool {
        self.update || self.update_columns.iter().any(|c| c == column)
    }
}

pub(crate) mod postgres {
    use super::{Privileges, TablePrivileges, TableRef};
    use crate::DbError;

    const USER_SCHEMAS: &str = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";

    pub(crate) async fn privileges(
        client: &tokio_postgres::Client,
        tables: &[TableRef],
        err: impl Fn(&tokio_postgres::Error) -> DbError,
    ) -> Result<Privileges, DbError> {
        let who = client
            .query_one(
                "SELECT current_user::text, COALESCE((SELECT rolsuper FROM pg_roles \
                 WHERE rolname = current_user), false)",
                &[],
            )
            .await
            .map_err(|e| err(&e))?;
        let writable = client
            .query(
                &format!(
                    "SELECT n.nspname::text || '.' || c.relname::text || ': ' || concat_ws(', ', \
                     CASE WHEN has_table_privilege(c.oid, 'INSERT') THEN 'INSERT' END, \
                     CASE WHEN has_table_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END, \
                     CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END, \
                     CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END, \
                     CASE WHEN NOT has_table_privilege(c.oid, 'INSERT') \
                          AND has_any_column_privilege(c.oid, 'INSERT') THEN 'INSERT (columns)' END, \
                     CASE WHEN NOT has_table_privilege(c.oid, 'UPDATE') \
                          AND has_any_column_privilege(c.oid, 'UPDATE') THEN 'UPDATE (columns)' END) \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind IN ('r','p') AND {USER_SCHEMAS} \
                     AND (has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') \
                          OR has_any_column_privilege(c.oid, 'INSERT, UPDATE')) \
                     ORDER BY 1 LIMIT 50"
                ),
                &[],
            )
            .await
            .map_err(|e| err(&e))?;
        let create = client
            .query(
                &format!(
                    "SELECT n.nspname::text FROM pg_namespace n WHERE {USER_SCHEMAS} \
                     AND has_schema_privilege(n.oid, 'CREATE') ORDER BY 1"
                ),
                &[],
            )
            .await
            .map_err(|e| err(&e))?;
        let mut out = Privileges {
            method: "pg_catalog privilege functions".into(),
            user: who.get(0),
            superuser: who.get(1),
            writable: writable.iter().map(|r| r.get(0)).collect(),
            can_create: create.iter().map(|r| r.get(0)).collect(),
            tables: Vec::new(),
        };
        for t in tables {
            let row = client
                .query_opt(
                    "SELECT has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'), \
                     has_table_privilege(c.oid, 'DELETE'), has_table_privilege(c.oid, 'UPDATE'), \
                     ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid \
                           AND a.attnum > 0 AND NOT a.attisdropped \
                           AND has_column_privilege(c.oid, a.attnum, 'UPDATE') ORDER BY a.attnum) \
                     FROM pg_class c WHERE c.oid = to_regclass(CASE WHEN $1::text IS NULL \
                     THEN quote_ident($2::text) ELSE quote_ident($1::text) || '.' || quote_ident($2::text) END)",
                    &[&t.schema, &t.table],
                )
                .await
                .map_err(|e| err(&e))?;
            let mut p = TablePrivileges {
                schema: t.schema.clone(),
                table: t.table.clone(),
                ..TablePrivileges::default()
            };
            if let Some(row) = row {
                p.select = row.get(0);
                p.insert = row.get(1);
                p.delete = row.get(2);
                p.update = row.get(3);
                p.update_columns = row.get(4);
            }
            out.tables.push(p);
        }
        Ok(out)
    }
}

pub(crate) mod mysql {
    use mysql_async::Conn;
    use mysql_async::prelude::Queryable;

    use super::{Privileges, TablePrivileges, TableRef};
    use crate::DbError;

    /// Privileges that change data, schema or the server.
    const WRITES: &[&str] = &[
        "ALL",
        "ALL PRIVILEGES",
        "INSERT",
        "UPDATE",
        "DELETE",
        "DELETE HISTORY",
        "CREATE",
        "DROP",
        "ALTER",
        "INDEX",
        "TRIGGER",
        "CREATE VIEW",
        "CREATE ROUTINE",
        "ALTER ROUTINE",
        "EVENT",
        "CREATE TEMPORARY TABLES",
        "FILE",
        "SUPER",
        "CREATE USER",
    ];

    /// One `GRANT … ON … TO …` line: privileges (with their column lists) and the object.
    #[derive(Debug, PartialEq)]
    pub(crate) struct Grant {
        pub privileges: Vec<(String, Vec<String>)>,
        /// Database pattern (`*` for every database).
        pub database: String,
        /// Table name (`*` for every table).
        pub table: String,
    }

    pub(crate) async fn privileges(
        conn: &mut Conn,
        tables: &[TableRef],
        err: impl Fn(&mysql_async::Error) -> DbError,
    ) -> Result<Privileges, DbError> {
        let (user, db): (Option<String>, Option<String>) = conn
            .query_first("SELECT CURRENT_USER(), DATABASE()")
            .await
            .map_err(|e| err(&e))?
            .unwrap_or_default();
        let mut lines: Vec<String> = conn.query("SHOW GRANTS").await.map_err(|e| err(&e))?;
        // Roles granted but not active are one `SET ROLE` away, so their grants count too.
        // The server shows a role's grants only while it is active: activate each in turn,
        // then restore the session's role. Role names come quoted from the server's output.
        let roles: Vec<String> = lines.iter().flat_map(|l| granted_roles(l)).collect();
        if !roles.is_empty() {
            let current: Option<String> = conn
                .query_first("SELECT CURRENT_ROLE()")
                .await
                .ok()
                .flatten()
                .flatten();
            for role in roles {
                if conn.query_drop(format!("SET ROLE {role}")).await.is_ok()
                    && let Ok(more) = conn.query::<String, _>("SHOW GRANTS").await
                {
                    lines.extend(more);
                }
            }
            let restore = match current.as_deref() {
                None | Some("NONE") => "SET ROLE NONE".to_owned(),
                Some(r) if r.starts_with('`') => format!("SET ROLE {r}"),
                Some(r) => format!("SET ROLE `{}`", r.replace('`', "``")),
            };
            conn.query_drop(restore).await.map_err(|e| err(&e))?;
        }
        let grants: Vec<Grant> = lines.iter().filter_map(|l| parse_grant(l)).collect();
        let mut out = Privileges {
            method: "SHOW GRANTS".into(),
            user,
            ..Privileges::default()
        };
        for g in &grants {
            let writes: Vec<String> = g
                .privileges
                .iter()
                .filter(|(p, _)| WRITES.contains(&p.as_str()))
                .map(|(p, cols)| {
                    if cols.is_empty() {
                        p.clone()
                    } else {
                        format!("{p} ({})", cols.join(", "))
                    }
                })
                .collect();
            let global = g.database == "*";
            if global
                && g.privileges
                    .iter()
                    .any(|(p, _)| p == "ALL" || p == "ALL PRIVILEGES" || p == "SUPER")
            {
                out.superuser = true;
            }
            if g.privileges
                .iter()
                .any(|(p, _)| p == "CREATE" || p.starts_with("ALL"))
            {
                out.can_create.push(g.database.clone());
            }
            if !writes.is_empty() && out.writable.len() < 50 {
                out.writable
                    .push(format!("{}.{}: {}", g.database, g.table, writes.join(", ")));
            }
        }
        for t in tables {
            let schema = t.schema.clone().or_else(|| db.clone()).unwrap_or_default();
            let mut p = TablePrivileges {
                schema: t.schema.clone(),
                table: t.table.clone(),
                ..TablePrivileges::default()
            };
            for g in grants.iter().filter(|g| covers(g, &schema, &t.table)) {
                for (name, cols) in &g.privileges {
                    let all = name.starts_with("ALL");
                    p.select |= all || name == "SELECT";
                    p.insert |= all || name == "INSERT";
                    p.delete |= all || name == "DELETE";
                    if all || name == "UPDATE" {
                        if cols.is_empty() {
                            p.update = true;
                        } else {
                            p.update_columns.extend(cols.iter().cloned());
                        }
                    }
                }
            }
            out.tables.push(p);
        }
        Ok(out)
    }

    /// Whether a grant's object includes `schema`.`table`.
    fn covers(g: &Grant, schema: &str, table: &str) -> bool {
        (g.database == "*" || like(&g.database, schema))
            && (g.table == "*" || g.table.eq_ignore_ascii_case(table))
    }

    /// MySQL database-name patterns: `%` any run, `_` one character, `\` escapes.
    fn like(pattern: &str, name: &str) -> bool {
        fn go(p: &[char], n: &[char]) -> bool {
            match p.split_first() {
                None => n.is_empty(),
                Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
                Some(('_', rest)) => !n.is_empty() && go(rest, &n[1..]),
                Some(('\\', rest)) if !rest.is_empty() => {
                    n.first() == Some(&rest[0]) && go(&rest[1..], &n[1..])
                }
                Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
            }
        }
        let p: Vec<char> = pattern.chars().collect();
        let n: Vec<char> = name.chars().collect();
        go(&p, &n)
    }

    /// Splits at `sep` outside backticks, quotes and parentheses.
    fn split_top(s: &str, sep: &str) -> Vec<String> {
        let mut parts = Vec::new();
        let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0usize);
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < s.len() {
            let c = bytes[i] as char;
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '`' | '\'' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => depth -= 1,
                (None, _) if depth == 0 && s[i..].starts_with(sep) => {
                    parts.push(s[start..i].to_owned());
                    i += sep.len();
                    start = i;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        parts.push(s[start..].to_owned());
        parts
    }

    fn unquote(s: &str) -> String {
        let s = s.trim();
        s.strip_prefix('`')
            .and_then(|x| x.strip_suffix('`'))
            .map_or_else(|| s.to_owned(), |x| x.replace("``", "`"))
    }

    /// The roles of a `GRANT <role>[, <role>] TO <user>` line, as the server quoted them.
    pub(crate) fn granted_roles(line: &str) -> Vec<String> {
        let Some(rest) = line.trim().strip_prefix("GRANT ") else {
            return Vec::new();
        };
        if split_top(rest, " ON ").len() > 1 {
            return Vec::new();
        }
        let to = split_top(rest, " TO ");
        if to.len() < 2 {
            return Vec::new();
        }
        split_top(&to[0], ",")
            .into_iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| r.starts_with('`') || r.starts_with('\''))
            .collect()
    }

    /// Parses `GRANT <privileges> ON <object> TO …`; `None` for role grants and routines.
    pub(crate) fn parse_grant(line: &str) -> Option<Grant> {
        let rest = line.trim().strip_prefix("GRANT ")?;
        let on = split_top(rest, " ON ");
        if on.len() < 2 {
            return None;
        }
        let object_part = split_top(&on[1..].join(" ON "), " TO ")
            .first()?
            .trim()
            .to_owned();
        if object_part.starts_with("PROCEDURE ") || object_part.starts_with("FUNCTION ") {
            return None;
        }
        let object_part = object_part.strip_prefix("TABLE ").unwrap_or(&object_part);
        let names = split_top(object_part, ".");
        let (database, table) = match names.as_slice() {
            [d, t] => (unquote(d), unquote(t)),
            [t] => ("*".to_owned(), unquote(t)),
            _ => return None,
        };
        let privileges = split_top(&on[0], ",")
            .iter()
            .map(|p| {
                let p = p.trim();
                match p.split_once('(') {
                    Some((name, cols)) => (
                        name.trim().to_ascii_uppercase(),
                        cols.trim_end_matches(')')
                            .split(',')
                            .map(unquote)
                            .filter(|c| !c.is_empty())
                            .collect(),
                    ),
                    None => (p.to_ascii_uppercase(), Vec::new()),
                }
            })
            .collect();
        Some(Grant {
            privileges,
            database,
            table,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn grants_parse_with_columns_patterns_and_roles() {
            let g = parse_grant(
                "GRANT SELECT, UPDATE (`status`, `credit`) ON `app\\_db`.`invoices` TO `w`@`%`",
            )
            .unwrap();
            assert_eq!(g.database, "app\\_db");
            assert_eq!(g.table, "invoices");
            assert_eq!(
                g.privileges,
                vec![
                    ("SELECT".to_owned(), vec![]),
                    (
                        "UPDATE".to_owned(),
                        vec!["status".to_owned(), "credit".to_owned()]
                    )
                ]
            );
            assert!(covers(&g, "app_db", "invoices"));
            assert!(!covers(&g, "appxdb", "invoices"));
            let all =
                parse_grant("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION")
                    .unwrap();
            assert_eq!((all.database.as_str(), all.table.as_str()), ("*", "*"));
            assert!(parse_grant("GRANT `reader` TO `u`@`%`").is_none());
            assert_eq!(granted_roles("GRANT `reader` TO `u`@`%`"), ["`reader`"]);
            assert_eq!(
                granted_roles("GRANT `a`@`%`,`b`@`%` TO `u`@`%`"),
                ["`a`@`%`", "`b`@`%`"]
            );
            assert!(granted_roles("GRANT SELECT ON *.* TO `u`@`%`").is_empty());
            let usage =
                parse_grant("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB'").unwrap();
            assert_eq!(usage.privileges, vec![("USAGE".to_owned(), vec![])]);
            assert!(like("app_%", "app_x1"));
            assert!(!like("app\\_%", "appx1"));
        }
    }
}
