//! Identifiers longer than the source engine accepts. Postgres silently truncates a longer
//! name to 63 bytes (so `…_a` and `…_b` can become the same column) and MySQL refuses names
//! over 64 characters at run time; both are config errors here instead.

use serde_json::{Map, Value};

use super::{Ctx, Path};
use crate::names::is_safe_identifier;

/// The longest identifier an engine keeps as written, and how it counts.
fn limit(engine: &str) -> Option<(usize, &'static str)> {
    match engine {
        "postgres" => Some((63, "bytes")),
        "mysql" => Some((64, "characters")),
        _ => None,
    }
}

pub(crate) fn identifier_lengths(ctx: &mut Ctx, root: &Map<String, Value>) {
    let Some(caps) = root.get("capabilities").and_then(Value::as_array) else {
        return;
    };
    let sources = root.get("sources").and_then(Value::as_object);
    for (i, cap) in caps.iter().enumerate() {
        let Some(cap) = cap.as_object() else { continue };
        let engine = cap
            .get("source")
            .and_then(Value::as_str)
            .and_then(|name| sources?.get(name))
            .and_then(|s| s.get("engine"))
            .and_then(Value::as_str);
        let Some((max, unit)) = engine.and_then(limit) else {
            continue;
        };
        let path = Path::root().key("capabilities").index(i);
        for (at, name) in identifiers(cap, &path) {
            // Identifiers are ASCII (checked elsewhere), so bytes and characters agree.
            if is_safe_identifier(name) && name.len() > max {
                ctx.error(
                    "IDENTIFIER_TOO_LONG",
                    &at,
                    format!(
                        "`{name}` is {} {unit} long; {} keeps at most {max}",
                        name.len(),
                        engine.unwrap_or_default()
                    ),
                    "use the name as the database knows it (Postgres truncates longer names when they are created)",
                );
            }
        }
    }
}

/// Every table and column name a capability hands to SQL, with its JSON path.
fn identifiers<'a>(cap: &'a Map<String, Value>, path: &Path) -> Vec<(Path, &'a str)> {
    let mut out = Vec::new();
    let mut one = |at: Path, v: Option<&'a Value>| {
        if let Some(s) = v.and_then(Value::as_str) {
            out.push((at, s));
        }
    };
    if let Some(target) = cap.get("target").and_then(Value::as_object) {
        let tp = path.key("target");
        for key in ["schema", "table", "primary_key", "tenant_key"] {
            one(tp.key(key), target.get(key));
        }
    }
    for list in ["visible_columns", "allowed_columns"] {
        if let Some(items) = cap.get(list).and_then(Value::as_array) {
            for (j, item) in items.iter().enumerate() {
                one(path.key(list).index(j), Some(item));
            }
        }
    }
    for map in ["patch", "numeric_bounds", "transition_guards"] {
        if let Some(obj) = cap.get(map).and_then(Value::as_object) {
            for key in obj.keys() {
                out.push((path.key(map).key(key), key.as_str()));
            }
        }
    }
    if let Some(guards) = cap.get("transition_guards").and_then(Value::as_object) {
        for (col, guard) in guards {
            let at = path.key("transition_guards").key(col).key("from_column");
            if let Some(from) = guard.get("from_column").and_then(Value::as_str) {
                out.push((at, from));
            }
        }
    }
    if let Some(col) = cap
        .get("conflict_guard")
        .and_then(|g| g.get("column"))
        .and_then(Value::as_str)
    {
        out.push((path.key("conflict_guard").key("column"), col));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate;
    use serde_json::json;

    #[test]
    fn postgres_names_over_63_bytes_are_errors() {
        let mut doc = valid();
        set(
            &mut doc,
            "/capabilities/0/target/table",
            json!("t".repeat(64)),
        );
        let report = only_error(
            &doc,
            "IDENTIFIER_TOO_LONG",
            "$.capabilities[0].target.table",
        );
        assert!(report.errors[0].message.contains("64 bytes long"));
        let mut doc = valid();
        set(
            &mut doc,
            "/capabilities/1/conflict_guard/column",
            json!("u".repeat(70)),
        );
        only_error(
            &doc,
            "IDENTIFIER_TOO_LONG",
            "$.capabilities[1].conflict_guard.column",
        );
    }

    #[test]
    fn mysql_allows_64_and_sqlite_has_no_limit() {
        let mut doc = valid();
        set(
            &mut doc,
            "/capabilities/0/target/table",
            json!("t".repeat(63)),
        );
        assert!(validate(&doc).ok);
        set(&mut doc, "/sources/app/engine", json!("mysql"));
        set(
            &mut doc,
            "/capabilities/0/target/table",
            json!("t".repeat(64)),
        );
        assert!(validate(&doc).ok);
        set(
            &mut doc,
            "/capabilities/0/target/table",
            json!("t".repeat(65)),
        );
        only_error(
            &doc,
            "IDENTIFIER_TOO_LONG",
            "$.capabilities[0].target.table",
        );
    }
}
