//! `airlock tools list`: exactly what a model would see, and what it never sees. Needs no
//! database and no ledger.

use airlock_capability::exposure::{NOT_EXPOSED, safety_checks};
use airlock_capability::{AliasMode, Catalog, Tool};
use airlock_cli::ToolsListArgs;
use serde_json::{Value, json};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &ToolsListArgs) -> anyhow::Result<ExitStatus> {
    let loaded = settings.load_config()?;
    let requested =
        crate::commands::mcp::requested_alias_mode(args.alias_mode, args.openai_tool_aliases)?;
    let mode = match (requested, args.aliases) {
        (Some(mode), _) => mode,
        (None, true) => AliasMode::Both,
        (None, false) => AliasMode::Canonical,
    };
    let catalog = Catalog::new(&loaded.config, mode);
    let checks = safety_checks(&catalog);
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        output::json(&json!({
            "ok": ok,
            "config_path": loaded.path,
            "mode": loaded.config.mode.as_str(),
            "alias_mode": mode.as_str(),
            "exposed_to_mcp": catalog.tools.iter().map(|t| &t.name).collect::<Vec<_>>(),
            "tools": catalog.definitions(),
            "not_exposed_to_mcp": NOT_EXPOSED,
            "warnings": loaded.warnings,
            "checks": checks,
        }))?;
    } else {
        output::line(&format!(
            "Airlock tools: {}",
            if ok { "ok" } else { "FAILED" }
        ));
        output::line(&format!("Config: {}", loaded.path.display()));
        output::line(&format!(
            "Mode: {}    Names: {}",
            loaded.config.mode.as_str(),
            mode.as_str()
        ));
        for w in &loaded.warnings {
            output::line(&format!("warning {} {}: {}", w.path, w.code, w.message));
        }
        output::line("");
        output::line("Exposed to the model:");
        if catalog.tools.is_empty() {
            output::line("  (none)");
        }
        for t in &catalog.tools {
            print_tool(t);
        }
        output::line("");
        output::line("Never exposed to the model:");
        for n in NOT_EXPOSED {
            output::line(&format!("  - {n}"));
        }
        output::line("");
        output::line("Safety checks:");
        for c in &checks {
            output::line(&format!(
                "  {} {}: {}",
                if c.ok { "PASS" } else { "FAIL" },
                c.name,
                c.detail
            ));
        }
        output::line("");
        output::line(&format!(
            "Next: airlock smoke call {} --sample",
            catalog
                .tools
                .first()
                .map_or("<capability>", |t| t.canonical.as_str())
        ));
    }
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn print_tool(t: &Tool) {
    let alias = if t.name != t.canonical {
        format!(" (alias of {})", t.canonical)
    } else {
        String::new()
    };
    output::line(&format!("  - {} [{}]{alias}", t.name, t.kind.as_str()));
    let props = t.input_schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let required: Vec<&str> = t.input_schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, schema) in props {
        let mut facts = vec![schema["type"].as_str().unwrap_or("?").to_owned()];
        if !required.contains(&name.as_str()) {
            facts.push("optional".into());
        }
        for (key, label) in [
            ("maxLength", "max length"),
            ("minimum", "min"),
            ("maximum", "max"),
        ] {
            if let Some(v) = schema.get(key) {
                facts.push(format!("{label} {v}"));
            }
        }
        if let Some(v) = schema.get("enum") {
            facts.push(format!("one of {v}"));
        }
        output::line(&format!("      {name}: {}", facts.join(", ")));
    }
}
