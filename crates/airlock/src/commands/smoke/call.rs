//! `airlock smoke call CAPABILITY`: run one capability as a model would, through the same
//! runtime the MCP server uses. `propose` reuses this with `Kind::Proposal`.

use airlock_capability::envelope::Outcome;
use airlock_capability::{AliasMode, CallError};
use airlock_cli::{CallArgs, OutputFormat};
use airlock_config::CapabilityKind;
use anyhow::Context as _;
use serde_json::{Map, Value};

use crate::open_ledger::LedgerTarget;
use crate::output::{self, ExitStatus, hinted};
use crate::settings::{self, Settings};

/// Which capabilities the command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Any,
    Proposal,
}

pub async fn run(settings: &Settings, args: &CallArgs, kind: Kind) -> anyhow::Result<ExitStatus> {
    let loaded = settings.load_config()?;
    let cap = loaded
        .config
        .capabilities
        .iter()
        .find(|c| c.name == args.capability)
        .ok_or_else(|| {
            let names: Vec<&str> = loaded
                .config
                .capabilities
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            hinted(
                format!(
                    "no capability named {} in {}",
                    args.capability,
                    loaded.path.display()
                ),
                format!("capabilities: {}", names.join(", ")),
            )
        })?;
    if kind == Kind::Proposal && cap.kind == CapabilityKind::Read {
        return Err(hinted(
            format!("{} is a read capability", cap.name),
            format!(
                "use `airlock smoke call {}` for reads; propose takes a proposal capability",
                cap.name
            ),
        ));
    }
    let input = input(args, cap)?;
    let format = settings::result_format(args.result_format.as_deref())?;
    let runtime = settings
        .runtime(&loaded, AliasMode::Canonical, format)
        .await?;
    let json_out = args
        .format
        .map_or(args.json.is_some(), |f| f == OutputFormat::Json);
    let result = runtime.call(&cap.name, &input, None).await;
    let rendered = match &result {
        Ok(outcome) => airlock_capability::envelope::render(outcome, runtime.result_format()),
        Err(failure) => failure.render(runtime.result_format()),
    };
    if let Err(failure) = &result {
        report_operator_detail(&failure.error);
    }
    if json_out {
        output::json(&rendered)?;
    } else {
        print_text(
            &cap.name,
            &input,
            &rendered,
            result.as_ref().ok(),
            &match settings.ledger_target(Some(&loaded))? {
                LedgerTarget::Sqlite(path) => format!("--store {}", path.display()),
                LedgerTarget::Postgres(_) => format!(
                    "--config {}",
                    settings::absolute(&settings.cwd, &loaded.path).display()
                ),
            },
        );
    }
    Ok(if result.is_ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn input(args: &CallArgs, cap: &airlock_config::Capability) -> anyhow::Result<Map<String, Value>> {
    let value: Value = if let Some(text) = &args.json {
        serde_json::from_str(text).map_err(|e| {
            hinted(
                format!("--json is not valid JSON: {e}"),
                "pass an object, e.g. --json '{\"invoice_id\":\"INV-3001\"}'",
            )
        })?
    } else if let Some(path) = &args.input {
        let bytes =
            airlock_config::read_bounded(path, 1024 * 1024, airlock_config::load::READ_TIMEOUT)
                .with_context(|| format!("cannot read the arguments file {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not valid JSON", path.display()))?
    } else if args.sample {
        Value::Object(airlock_capability::sample::sample_args(cap))
    } else {
        return Err(hinted(
            format!("{} needs arguments", cap.name),
            "pass --json '{...}', --input FILE, or --sample",
        ));
    };
    match value {
        Value::Object(map) => Ok(map),
        other => Err(hinted(
            format!("arguments must be a JSON object, not {other}"),
            "wrap them in {...}",
        )),
    }
}

/// Operator-only detail (driver messages, missing env vars) goes to stderr, never into the
/// model-facing result.
fn report_operator_detail(e: &CallError) {
    if let Some(detail) = &e.detail {
        tracing::error!(code = e.code.as_str(), "{detail}");
    }
}

fn print_text(
    name: &str,
    input: &Map<String, Value>,
    rendered: &Value,
    outcome: Option<&Outcome>,
    // `--store PATH` (SQLite) or `--config PATH` (the Postgres ledger): how the next commands
    // find the same ledger.
    store: &str,
) {
    output::line(&format!(
        "Airlock call: {}",
        if outcome.is_some() { "ok" } else { "failed" }
    ));
    output::line(&format!("Tool: {name}"));
    output::line(&format!("Input: {}", Value::Object(input.clone())));
    output::line("Result (as the model sees it):");
    output::line(&serde_json::to_string_pretty(rendered).unwrap_or_default());
    output::line("Source database changed: no");
    match outcome {
        Some(Outcome::Read(r)) => {
            output::line(&format!("Evidence: {}", r.evidence_bundle_id));
            output::line("Next:");
            output::line(&format!(
                "  airlock evidence show {} {store}",
                r.evidence_bundle_id
            ));
            output::line(&format!(
                "  airlock query-audit list --evidence {} {store}",
                r.evidence_bundle_id
            ));
        }
        Some(Outcome::Proposal(p)) => {
            output::line(&format!("Evidence: {}", p.evidence_bundle_id));
            output::line(&format!(
                "Proposal: {}{}",
                p.proposal_id,
                if p.reused {
                    " (an identical open proposal already existed)"
                } else {
                    ""
                }
            ));
            output::line("Next:");
            output::line(&format!(
                "  airlock proposals show {} {store}",
                p.proposal_id
            ));
        }
        None => {}
    }
}
