//! `airlock up`: doctor first (any failure stops here, listed with its fix), then the
//! review-mode checklist (what the model sees and never sees, how each proposal is applied,
//! how a person approves), then with `--serve` the Streamable HTTP MCP server of
//! `airlock mcp serve-streamable-http`.

use airlock_capability::Catalog;
use airlock_capability::exposure::NOT_EXPOSED;
use airlock_cli::{UpArgs, UpTransportArg};
use airlock_config::{CapabilityKind, ExecutorKind};

use super::doctor::{self, Level, Options};
use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &UpArgs) -> anyhow::Result<ExitStatus> {
    let transport = args.transport.unwrap_or(if args.serve {
        UpTransportArg::StreamableHttp
    } else {
        UpTransportArg::Stdio
    });
    if args.serve && transport == UpTransportArg::Stdio {
        return Err(hinted(
            "up --serve starts the Streamable HTTP server; a stdio server is started by the MCP client",
            "omit --transport, or print the client's config with `airlock mcp config <client>`",
        ));
    }
    let opts = Options {
        check_handlers: args.with_handler,
        check_writeback: args.check_writeback,
        allow_shared_credential: args.allow_shared_credential,
        ..Options::default()
    };
    let report = doctor::collect(settings, &opts).await;
    if !report.ok {
        output::line(&format!(
            "airlock up stopped: doctor found {} failure(s)",
            report.summary.fail
        ));
        for c in report.checks.iter().filter(|c| c.level == Level::Fail) {
            output::line(&format!(
                "FAIL {} [{}]: {}",
                c.name,
                c.code.as_str(),
                c.message
            ));
            if let Some(h) = &c.hint {
                output::line(&format!("     fix: {h}"));
            }
        }
        output::line("run `airlock doctor` for every check");
        return Ok(ExitStatus::Failure);
    }
    let loaded = settings.load_config()?;
    let config = &loaded.config;
    let mode = crate::commands::mcp::requested_alias_mode(
        args.common.alias_mode,
        args.common.openai_tool_aliases,
    )?
    .unwrap_or(airlock_capability::AliasMode::Canonical);
    let catalog = Catalog::new(config, mode);
    let warnings = report.checks.iter().filter(|c| c.level == Level::Warn);
    let mut lines = vec![format!(
        "Airlock up: doctor ok ({} passed, {} warning(s))",
        report.summary.pass, report.summary.warn
    )];
    for w in warnings {
        lines.push(format!(
            "  WARN {} [{}]: {}",
            w.name,
            w.code.as_str(),
            w.message
        ));
    }
    lines.push(String::new());
    lines.push(format!("Config: {}", loaded.path.display()));
    lines.push(format!("Ledger: {}", report.store_path.display()));
    lines.push(format!("Mode:   {}", config.mode.as_str()));
    lines.push(String::new());
    lines.push("What the model sees:".into());
    if catalog.tools.is_empty() {
        lines.push("  (no tools)".into());
    }
    for t in &catalog.tools {
        let alias = if t.name == t.canonical {
            String::new()
        } else {
            format!(" (= {})", t.canonical)
        };
        lines.push(format!("  - {}{alias}: {}", t.name, t.kind.as_str()));
    }
    lines.push(format!("What it never sees: {}", NOT_EXPOSED.join(", ")));
    lines.push(String::new());
    lines.push("How proposals are applied:".into());
    let proposals: Vec<_> = config
        .capabilities
        .iter()
        .filter(|c| c.kind == CapabilityKind::Proposal)
        .collect();
    if proposals.is_empty() {
        lines.push("  no proposal tools: read-only from Airlock's side".into());
    }
    for c in &proposals {
        let how = match airlock_writeback::setup::executor_kind(config, c) {
            Some(ExecutorKind::SqlUpdate) => format!(
                "one guarded UPDATE through {}",
                config
                    .sources
                    .get(&c.source)
                    .and_then(|s| s.write_url_env.clone().or(s.path.clone()))
                    .unwrap_or_else(|| "(no writer)".into())
            ),
            Some(kind) => format!("app-owned {} `{}`", kind_name(kind), c.executor_name()),
            None => "no executor".into(),
        };
        lines.push(format!("  - {}: {how}", c.name));
    }
    if config.mode != airlock_config::Mode::Review && !proposals.is_empty() {
        lines.push(format!(
            "  mode {}: proposals are recorded but never applied",
            config.mode.as_str()
        ));
    }
    lines.push(String::new());
    lines.push("How a person reviews (outside MCP; the model cannot approve):".into());
    for (cmd, what) in [
        ("airlock proposals list", "what is waiting"),
        (
            "airlock proposals show latest",
            "the change, its evidence and guards",
        ),
        (
            "airlock proposals approve <id>",
            "approve (or `reject <id>`)",
        ),
        (
            "airlock apply <id>",
            "apply an approved proposal under its guards",
        ),
        (
            "airlock replay show <id>",
            "what the agent saw, proposed and what happened",
        ),
    ] {
        lines.push(format!("  {cmd:<34} {what}"));
    }
    lines.push(String::new());
    let serving = args.serve && !args.dry_run;
    match transport {
        UpTransportArg::Stdio => lines.push(
            "Server: stdio, started by your MCP client; print its config with `airlock mcp config <client>`"
                .into(),
        ),
        UpTransportArg::StreamableHttp if serving => {
            lines.push("Server: Streamable HTTP, starting now".into())
        }
        UpTransportArg::StreamableHttp => lines.push(format!(
            "Server: not started ({}); start it with `airlock up --serve`",
            if args.dry_run { "--dry-run" } else { "no --serve" }
        )),
    }
    // While serving, stdout stays the checklist's; the server's banner goes to stderr.
    for l in &lines {
        output::line(l);
    }
    if !serving {
        return Ok(ExitStatus::Success);
    }
    crate::commands::mcp::serve_streamable_http::run(settings, &args.common, &args.http).await
}

fn kind_name(kind: ExecutorKind) -> &'static str {
    match kind {
        ExecutorKind::SqlUpdate => "sql_update",
        ExecutorKind::HttpHandler => "http_handler",
        ExecutorKind::CommandHandler => "command_handler",
    }
}
