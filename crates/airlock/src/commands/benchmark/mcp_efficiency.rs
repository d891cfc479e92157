//! `airlock benchmark mcp-efficiency`: one task (waive invoice INV-1001's late fee, for tenant
//! acme, with a reason) done through Airlock's reviewed tools and through a raw-SQL MCP
//! surface, measured as what a model must read and write: tools, tool-list size, round trips,
//! arguments and results. Method and caveats: docs/mcp-efficiency.md.
//!
//! The reviewed side is real: the `billing.late_fee_waiver` recipe's config, its `tools/list`
//! entries from the catalog the MCP server serves, and both calls run by the runtime on a
//! throwaway SQLite copy of the recipe's table. The raw-SQL side is a fixed reference
//! (`raw_sql_surface.json`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use airlock_capability::{AliasMode, Catalog, envelope};
use airlock_cli::McpEfficiencyArgs;
use airlock_config::{Engine, Storage, env_vars};
use airlock_db::onboard::{self, recipes};
use airlock_ledger::SqliteLedger;
use airlock_runtime::{Runtime, RuntimeOptions};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::output::{self, ExitStatus};

/// Format of the `--json` report.
pub const FORMAT: &str = "airlock.mcp-efficiency.v1";
const RAW_SURFACE: &str = include_str!("raw_sql_surface.json");
const RECIPE: &str = "billing.late_fee_waiver";
const REASON: &str = "Customer was charged twice in March";

/// Size of one piece of text a model reads or writes, under both counting rules.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Size {
    pub bytes: usize,
    /// [`word_tokens`]: deterministic, exact across runs and machines.
    pub tokens: usize,
    /// Characters / 4, rounded up: the usual rule of thumb for BPE tokenizers.
    pub tokens_chars_div_4: usize,
}

impl Size {
    /// Of the compact JSON form of `v`.
    pub fn of(v: &Value) -> Size {
        let text = v.to_string();
        Size {
            bytes: text.len(),
            tokens: word_tokens(&text),
            tokens_chars_div_4: text.chars().count().div_ceil(4),
        }
    }

    fn plus(self, o: Size) -> Size {
        Size {
            bytes: self.bytes + o.bytes,
            tokens: self.tokens + o.tokens,
            tokens_chars_div_4: self.tokens_chars_div_4 + o.tokens_chars_div_4,
        }
    }
}

/// Counts tokens as runs of ASCII letters, digits and `_`, plus every other character that is
/// not white space (the rule of Synapsor Runner's fixture tokenizer, so figures compare).
pub fn word_tokens(text: &str) -> usize {
    let mut n = 0;
    let mut in_word = false;
    for c in text.chars() {
        let word = c.is_ascii_alphanumeric() || c == '_';
        if word {
            if !in_word {
                n += 1;
            }
        } else if !c.is_whitespace() {
            n += 1;
        }
        in_word = word;
    }
    n
}

/// One call of the task.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub tool: String,
    pub arguments: Value,
    /// What the model writes (the arguments).
    pub written: Size,
    /// What the model reads back (the result).
    pub read: Size,
}

/// One way of doing the task.
#[derive(Debug, Clone, Serialize)]
pub struct Path {
    pub exposed_tools: usize,
    /// `{"tools":[...]}` as `tools/list` returns it, compact.
    pub tools_list: Size,
    /// Tool calls (round trips) the task takes.
    pub round_trips: usize,
    pub arguments: Size,
    pub results: Size,
    /// tools_list + arguments + results: what the task puts in the model's context.
    pub total: Size,
    pub calls: Vec<Call>,
    pub properties: Value,
}

impl Path {
    fn new(tools: &[Value], calls: Vec<Call>, properties: Value) -> Path {
        let tools_list = Size::of(&json!({ "tools": tools }));
        let arguments = calls.iter().fold(Size::default(), |a, c| a.plus(c.written));
        let results = calls.iter().fold(Size::default(), |a, c| a.plus(c.read));
        Path {
            exposed_tools: tools.len(),
            tools_list,
            round_trips: calls.len(),
            arguments,
            results,
            total: tools_list.plus(arguments).plus(results),
            calls,
            properties,
        }
    }
}

pub async fn run(args: &McpEfficiencyArgs) -> anyhow::Result<ExitStatus> {
    let raw = raw_sql_path()?;
    let reviewed = reviewed_path().await?;
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 100.0).round() / 100.0
        }
    };
    let ratios = json!({
        "exposed_tools": ratio(reviewed.exposed_tools, raw.exposed_tools),
        "tools_list_tokens": ratio(reviewed.tools_list.tokens, raw.tools_list.tokens),
        "round_trips": ratio(reviewed.round_trips, raw.round_trips),
        "arguments_tokens": ratio(reviewed.arguments.tokens, raw.arguments.tokens),
        "total_tokens": ratio(reviewed.total.tokens, raw.total.tokens),
    });
    if args.json {
        output::json(&json!({
            "format": FORMAT,
            "task": "waive the late fee of invoice INV-1001 of tenant acme, with a reason",
            "tokenizers": {
                "tokens": "runs of [A-Za-z0-9_] plus each other non-space character, over compact JSON (deterministic)",
                "tokens_chars_div_4": "characters / 4, rounded up (the usual BPE rule of thumb)",
            },
            "paths": { "raw_sql": raw, "reviewed": reviewed },
            "ratios_reviewed_to_raw": ratios,
            "note": "One task on one fixture; a measurement of this workflow, not a general claim. Reviewed results come from a real run (ids and times vary, sizes by a few bytes at most).",
        }))?;
        return Ok(ExitStatus::Success);
    }
    output::line("MCP efficiency: waive invoice INV-1001's late fee (tenant acme), one task");
    output::line(
        "tokens: runs of letters/digits/_ plus each other symbol, over compact JSON; ~tokens: chars/4",
    );
    for (name, p) in [
        ("raw-SQL MCP surface", &raw),
        ("Airlock reviewed tools", &reviewed),
    ] {
        output::line("");
        output::line(&format!("{name}:"));
        output::line(&format!("  exposed tools:  {}", p.exposed_tools));
        output::line(&format!("  tools/list:     {}", shown(p.tools_list)));
        output::line(&format!(
            "  round trips:    {} ({})",
            p.round_trips,
            p.calls
                .iter()
                .map(|c| c.tool.as_str())
                .collect::<Vec<_>>()
                .join(" -> ")
        ));
        output::line(&format!("  model writes:   {}", shown(p.arguments)));
        output::line(&format!("  model reads:    {}", shown(p.results)));
        output::line(&format!("  total context:  {}", shown(p.total)));
    }
    output::line("");
    output::line(&format!(
        "reviewed / raw: tools {}, tools/list tokens {}, round trips {}, written tokens {}, total tokens {}",
        ratios["exposed_tools"],
        ratios["tools_list_tokens"],
        ratios["round_trips"],
        ratios["arguments_tokens"],
        ratios["total_tokens"]
    ));
    output::line(
        "raw SQL: the model writes SQL, picks the table and the tenant filter, and the write happens at once (no approval, no stale-row check).",
    );
    output::line(
        "reviewed: ids and a reason only; the tenant comes from trusted context; the change waits for a person and applies under a version guard.",
    );
    output::line("Method: docs/mcp-efficiency.md. --json for every figure.");
    Ok(ExitStatus::Success)
}

fn shown(s: Size) -> String {
    format!(
        "{} bytes, {} tokens (~{})",
        s.bytes, s.tokens, s.tokens_chars_div_4
    )
}

/// The raw-SQL reference, from its fixture.
fn raw_sql_path() -> anyhow::Result<Path> {
    let doc: Value = serde_json::from_str(RAW_SURFACE)?;
    let tools = doc["tools"].as_array().cloned().unwrap_or_default();
    let calls = doc["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| Call {
            tool: c["tool"].as_str().unwrap_or_default().to_owned(),
            arguments: c["arguments"].clone(),
            written: Size::of(&c["arguments"]),
            read: Size::of(&c["result"]),
        })
        .collect();
    Ok(Path::new(&tools, calls, doc["properties"].clone()))
}

/// A folder of its own under the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The reviewed side, run for real on a throwaway SQLite database.
async fn reviewed_path() -> anyhow::Result<Path> {
    let recipe = recipes::find(RECIPE).expect("the benchmark's recipe is built in");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let scratch =
        Scratch(std::env::temp_dir().join(format!("airlock-bench-{}-{nanos}", std::process::id())));
    fs_err::create_dir_all(&scratch.0)?;
    let placement = recipes::Placement {
        engine: Some(Engine::Sqlite),
        sqlite_path: Some("app.db".into()),
        ..recipes::Placement::default()
    };
    let mut generated = onboard::generate(&recipe.answers(&placement), None)
        .map_err(|p| anyhow::anyhow!("the benchmark's recipe does not generate: {p:?}"))?;
    recipe.finish(&mut generated.config);
    let mut config = generated.config;
    config.storage = Some(Storage {
        sqlite_path: Some("ledger.db".into()),
        ledger: None,
        retention: None,
    });
    let sql = recipe.schema_sql(Engine::Sqlite).unwrap_or_default();
    drop(crate::demo_app::create_database(
        &scratch.0.join("app.db"),
        sql,
    )?);
    let tools = Catalog::new(&config, AliasMode::Canonical).definitions();
    let ledger = SqliteLedger::open(&scratch.0.join("ledger.db"))?;
    let env: HashMap<String, String> = [
        (env_vars::SYNAPSOR_TENANT_ID, "acme"),
        (env_vars::SYNAPSOR_PRINCIPAL, "billing_agent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let runtime = Runtime::new(
        config,
        Arc::new(ledger),
        env,
        RuntimeOptions {
            alias_mode: AliasMode::Canonical,
            result_format: None,
            base_dir: scratch.0.clone(),
            max_connections: 1,
        },
    );
    let plan = [
        ("billing.inspect_invoice", json!({"invoice_id": "INV-1001"})),
        (
            "billing.propose_late_fee_waiver",
            json!({"invoice_id": "INV-1001", "reason": REASON}),
        ),
    ];
    let mut calls = Vec::new();
    for (tool, arguments) in plan {
        let map: Map<String, Value> = arguments.as_object().cloned().unwrap_or_default();
        let result = match runtime.call(tool, &map, None).await {
            Ok(o) => envelope::render(&o, runtime.result_format()),
            Err(f) => anyhow::bail!(
                "the benchmark's reviewed call {tool} failed: {}",
                f.render(runtime.result_format())
            ),
        };
        calls.push(Call {
            tool: tool.to_owned(),
            written: Size::of(&arguments),
            read: Size::of(&result),
            arguments,
        });
    }
    drop(runtime);
    Ok(Path::new(
        &tools,
        calls,
        json!({
            "exposes_raw_sql": false,
            "model_chooses_tables_and_tenant": false,
            "approval_separated": true,
            "stale_row_conflict_checked": true,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_tokens_counts_words_and_symbols() {
        assert_eq!(word_tokens(""), 0);
        assert_eq!(word_tokens("{\"a_b\":12}"), 7);
        assert_eq!(word_tokens("SELECT * FROM t"), 4);
        assert_eq!(Size::of(&json!("abcd")).tokens_chars_div_4, 2);
    }
}
