//! What a model must never be offered, and the checks `airlock tools list` runs on a catalog
//! to show that it is not.

use airlock_config::is_reserved_arg_name;
use serde::Serialize;

use crate::Catalog;

/// What Airlock never exposes to a model, whatever the config says.
pub const NOT_EXPOSED: [&str; 7] = [
    "execute_sql / raw query tools",
    "approval tools",
    "commit/apply tools",
    "database URLs",
    "write credentials",
    "model-controlled tenant authority",
    "arbitrary table or column names",
];

/// Tool names that would read as a raw SQL, approval or apply tool.
const RAW_SQL_WORDS: &[&str] = &["execute_sql", "run_query", "query_database", "raw_sql"];
const APPROVAL_WORDS: &[&str] = &["approve"];
const APPLY_WORDS: &[&str] = &["apply_writeback", "commit"];

/// URL schemes of database connection strings.
const DATABASE_URL_SCHEMES: &[&str] = &[
    "postgres://",
    "postgresql://",
    "mysql://",
    "mariadb://",
    "sqlite://",
];

/// One safety check over the served tool definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafetyCheck {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>) -> SafetyCheck {
    SafetyCheck {
        name,
        ok,
        detail: detail.into(),
    }
}

/// The checks, in display order, over the tool definitions the MCP server serves
/// ([`Catalog::definitions`]).
pub fn safety_checks(catalog: &Catalog) -> Vec<SafetyCheck> {
    let names: Vec<String> = catalog
        .tools
        .iter()
        .map(|t| t.name.to_lowercase())
        .collect();
    let any_name = |words: &[&str]| names.iter().any(|n| words.iter().any(|w| n.contains(w)));
    let served = serde_json::to_string(&catalog.definitions())
        .unwrap_or_default()
        .to_lowercase();
    let model_tenant = catalog.tools.iter().any(|t| {
        t.input_schema["properties"]
            .as_object()
            .is_some_and(|p| p.keys().any(|k| is_reserved_arg_name(k)))
    });
    vec![
        check(
            "semantic tools present",
            !names.is_empty(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                format!("{} tools", names.len())
            },
        ),
        check(
            "execute_sql absent",
            !any_name(RAW_SQL_WORDS),
            "the model gets no raw SQL tool",
        ),
        check(
            "approval tools absent",
            !any_name(APPROVAL_WORDS),
            "approval stays outside MCP",
        ),
        check(
            "apply tools absent",
            !any_name(APPLY_WORDS),
            "apply stays outside MCP",
        ),
        check(
            "database URLs absent",
            !DATABASE_URL_SCHEMES.iter().any(|s| served.contains(s)),
            "tools carry no connection strings",
        ),
        check(
            "write credentials absent",
            !served.contains("bearer ") && !served.contains("-----begin"),
            "tools carry no tokens or keys",
        ),
        check(
            "tenant authority not model-controlled",
            !model_tenant,
            "no tool argument names a tenant, principal or role",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AliasMode;
    use serde_json::json;

    fn catalog(name: &str, arg: &str, description: &str) -> Catalog {
        let config: airlock_config::Config = serde_json::from_value(json!({
            "version": 1, "mode": "review",
            "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
            "trusted_context": {"provider": "environment"},
            "capabilities": [{
                "name": name, "kind": "read", "source": "app", "description": description,
                "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
                "args": {arg: {"type": "string"}},
                "lookup": {"id_from_arg": arg},
                "visible_columns": ["id"]
            }]
        }))
        .expect("config");
        Catalog::new(&config, AliasMode::Canonical)
    }

    fn failed(c: &Catalog) -> Vec<&'static str> {
        safety_checks(c)
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn a_plain_read_tool_passes_every_check() {
        let c = catalog(
            "billing.inspect_invoice",
            "invoice_id",
            "Reads one invoice.",
        );
        assert_eq!(failed(&c), Vec::<&str>::new());
        assert_eq!(safety_checks(&c).len(), 7);
    }

    #[test]
    fn unsafe_catalogs_fail_the_matching_check() {
        // These configs would not validate; the checks must still catch them.
        let cases = [
            (catalog("admin.execute_sql", "q", "x"), "execute_sql absent"),
            (
                catalog("billing.approve_fee", "invoice_id", "x"),
                "approval tools absent",
            ),
            (
                catalog("billing.commit_fee", "invoice_id", "x"),
                "apply tools absent",
            ),
            (
                catalog("billing.inspect", "invoice_id", "see postgres://u:p@h/db"),
                "database URLs absent",
            ),
            (
                catalog("billing.inspect", "invoice_id", "send Bearer abc"),
                "write credentials absent",
            ),
            (
                catalog("billing.inspect", "Tenant-Id", "x"),
                "tenant authority not model-controlled",
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(failed(&c), vec![expected]);
        }
    }
}
