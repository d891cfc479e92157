//! Writeback readiness (review mode): can approved proposals be applied?

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Ctx, Facts, Path};

/// Review mode only: a proposal applied by direct SQL needs a writable, non-read-only source.
/// Unlike the original, an executor declared with type sql_update also counts as direct SQL,
/// and the warning is emitted once per source.
pub(super) fn readiness(ctx: &mut Ctx, root: &Map<String, Value>, facts: &Facts) {
    if facts.mode != Some("review") {
        return;
    }
    let Some(list) = root.get("capabilities").and_then(Value::as_array) else {
        return;
    };
    let mut warned: HashSet<&str> = HashSet::new();
    for (i, cap) in list.iter().enumerate() {
        if cap.get("kind").and_then(Value::as_str) != Some("proposal") {
            continue;
        }
        let direct = match cap.get("executor") {
            None => true,
            Some(v) => v.as_str().is_some_and(|e| {
                e == "sql_update" || facts.executors.get(e) == Some(&Some("sql_update"))
            }),
        };
        if !direct {
            continue;
        }
        let Some((src, source)) = cap
            .get("source")
            .and_then(Value::as_str)
            .and_then(|s| facts.sources.get_key_value(s))
        else {
            continue;
        };
        let name = cap.get("name").and_then(Value::as_str).unwrap_or("?");
        if source.read_only {
            ctx.error(
                "READ_ONLY_SOURCE_DIRECT_WRITEBACK",
                &Path::root().key("capabilities").index(i).key("executor"),
                format!("proposal {name} would be applied with direct SQL, but source {src} is marked read_only"),
                "set executor to an app-owned http_handler or command_handler, or remove read_only from the source",
            );
        } else if !source.writable && warned.insert(src) {
            ctx.warning(
                "WRITEBACK_DISABLED",
                &Path::root().key("sources").key(src).key("write_url_env"),
                format!("source {src} has no write_url_env, so approved proposals on it cannot be applied"),
                "add \"write_url_env\" naming a variable with a write connection URL, or use an app-owned executor",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::fixtures::*;
    use super::super::validate;

    fn at(cap: &str, rest: &str) -> String {
        format!("{cap}/{rest}")
    }

    fn second_proposal(doc: &mut Value) {
        let mut p = doc["capabilities"][1].clone();
        p["name"] = json!("billing.propose_other");
        set(doc, "/capabilities/2", p);
    }

    #[test]
    fn writeback_disabled_once_per_source() {
        let mut doc = valid();
        remove(&mut doc, "/sources/app/write_url_env");
        second_proposal(&mut doc);
        let r = only_warning(&doc, "WRITEBACK_DISABLED", "$.sources.app.write_url_env");
        assert!(r.warnings[0].message.contains("app"));
    }

    #[test]
    fn writeback_disabled_only_in_review_mode_and_for_direct_sql() {
        let mut doc = valid();
        remove(&mut doc, "/sources/app/write_url_env");
        set(&mut doc, "/mode", json!("shadow"));
        let r = validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");

        let mut doc = valid();
        remove(&mut doc, "/sources/app/write_url_env");
        set(
            &mut doc,
            "/executors",
            json!({"h": {"type": "command_handler", "command_env": "APPLY_CMD"}}),
        );
        set(&mut doc, &at(PROPOSAL, "executor"), json!("h"));
        let r = validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
    }

    #[test]
    fn sqlite_path_source_counts_as_writable() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app",
            json!({"engine": "sqlite", "path": "./app.db"}),
        );
        let r = validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
        set(
            &mut doc,
            "/sources/app",
            json!({"engine": "sqlite", "read_url_env": "APP_DB"}),
        );
        only_warning(&doc, "WRITEBACK_DISABLED", "$.sources.app.write_url_env");
    }

    #[test]
    fn read_only_source_direct_writeback() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/read_only", json!(true));
        only_error(
            &doc,
            "READ_ONLY_SOURCE_DIRECT_WRITEBACK",
            "$.capabilities[1].executor",
        );
    }

    #[test]
    fn a_declared_sql_update_executor_counts_as_direct_sql() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/read_only", json!(true));
        set(
            &mut doc,
            "/executors",
            json!({"direct": {"type": "sql_update"}}),
        );
        set(&mut doc, &at(PROPOSAL, "executor"), json!("direct"));
        only_error(
            &doc,
            "READ_ONLY_SOURCE_DIRECT_WRITEBACK",
            "$.capabilities[1].executor",
        );
    }
}
