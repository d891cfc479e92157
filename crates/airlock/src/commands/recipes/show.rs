//! `airlock recipes show`: one recipe, with the config it generates and its table's DDL.

use airlock_cli::RecipeShowArgs;
use airlock_config::{Capability, CapabilityKind};
use airlock_db::onboard::{self, recipes::Placement};
use serde_json::json;

use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &RecipeShowArgs) -> anyhow::Result<ExitStatus> {
    let recipe = super::load(settings, &args.name)?;
    let engine = super::engine(&args.engine);
    let placement = Placement {
        engine: Some(engine),
        sqlite_path: (engine == airlock_config::Engine::Sqlite).then(|| "app.db".to_owned()),
        ..Placement::default()
    };
    let mut generated =
        onboard::generate(&recipe.answers(&placement), None).map_err(|problems| {
            let first = problems.first().map(|p| p.hint.clone()).unwrap_or_default();
            hinted(
                format!(
                    "[RECIPE_INVALID] recipe {} does not generate a config: {}",
                    recipe.id,
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                first,
            )
        })?;
    recipe.finish(&mut generated.config);
    let schema_sql = recipe.schema_sql(engine);
    if args.json {
        output::json(&json!({
            "recipe": recipe,
            "engine": engine.as_str(),
            "config": generated.config,
            "schema_sql": schema_sql,
        }))?;
        return Ok(ExitStatus::Success);
    }
    let caps = &generated.config.capabilities;
    let read = caps.iter().find(|c| c.kind == CapabilityKind::Read);
    let proposal = caps.iter().find(|c| c.kind == CapabilityKind::Proposal);
    output::line(&format!("{} ({})", recipe.title, recipe.id));
    output::line(&recipe.summary);
    output::line("");
    output::line(&format!("table:            {}", recipe.table));
    if let Some(c) = read.or(proposal) {
        let t = &c.target;
        output::line(&format!("primary key:      {}", t.primary_key));
        output::line(&format!(
            "tenant column:    {}",
            t.tenant_key.as_deref().unwrap_or("none")
        ));
        output::line(&format!(
            "visible columns:  {}",
            c.visible_columns.join(", ")
        ));
    }
    if let Some(p) = proposal {
        output::line(&format!(
            "allowed columns:  {}",
            p.allowed_columns.clone().unwrap_or_default().join(", ")
        ));
        output::line(&format!(
            "conflict guard:   {}",
            p.conflict_guard
                .as_ref()
                .and_then(|g| g.column.clone())
                .unwrap_or_else(|| "whole row".into())
        ));
        output::line(&format!("guards:           {}", guards(p)));
        output::line(&format!(
            "approval role:    {}",
            p.approval
                .as_ref()
                .and_then(|a| a.required_role.clone())
                .unwrap_or_else(|| "any operator".into())
        ));
    }
    output::line("tools:");
    for c in caps {
        let args: Vec<&str> = c.args.keys().map(String::as_str).collect();
        output::line(&format!(
            "  {} ({}: {})",
            c.name,
            c.kind.as_str(),
            args.join(", ")
        ));
    }
    for n in &recipe.notes {
        output::line(&format!("- {n}"));
    }
    output::line(&format!(
        "\nwrite it: airlock recipes init {} --engine {} --out DIR (the table's DDL{} is written too)",
        recipe.id,
        engine.as_str(),
        if schema_sql.is_some() {
            ""
        } else {
            ", none for a recipe file,"
        }
    ));
    Ok(ExitStatus::Success)
}

fn guards(p: &Capability) -> String {
    let mut out = Vec::new();
    for (c, b) in p.numeric_bounds.iter().flatten() {
        let show = |v: Option<f64>| v.map_or("-".into(), |x| x.to_string());
        out.push(format!("{c} in {}..{}", show(b.minimum), show(b.maximum)));
    }
    for (c, g) in p.transition_guards.iter().flatten() {
        let moves: Vec<String> = g
            .allowed
            .iter()
            .map(|(from, to)| format!("{from}->{}", to.join("|")))
            .collect();
        out.push(format!("{c}: {}", moves.join(", ")));
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join("; ")
    }
}
