//! `airlock recipes list`: the built-in recipes.

use airlock_cli::RecipesListArgs;
use airlock_db::onboard::recipes;
use serde_json::json;

use crate::output::{self, ExitStatus};

/// Format of the `--json` output.
pub const FORMAT: &str = "airlock.recipes.v1";

pub fn run(args: &RecipesListArgs) -> anyhow::Result<ExitStatus> {
    let all = recipes::builtin();
    let tools = |r: &recipes::Recipe| -> Vec<String> {
        r.answers
            .tables
            .iter()
            .flat_map(|t| {
                t.read_tool
                    .iter()
                    .cloned()
                    .chain(t.proposals.iter().filter_map(|p| p.name.clone()))
            })
            .collect()
    };
    if args.json {
        let list: Vec<_> = all
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "title": r.title,
                    "summary": r.summary,
                    "table": r.table,
                    "tools": tools(r),
                    "approval_roles": r.roles(),
                })
            })
            .collect();
        output::json(&json!({ "format": FORMAT, "recipes": list }))?;
        return Ok(ExitStatus::Success);
    }
    for r in &all {
        output::line(&r.id);
        output::line(&format!("  {}", r.summary));
        output::line(&format!("  tools: {}", tools(r).join(", ")));
    }
    output::line(
        "\nshow one: airlock recipes show ID; write its config: airlock recipes init ID --out DIR",
    );
    Ok(ExitStatus::Success)
}
