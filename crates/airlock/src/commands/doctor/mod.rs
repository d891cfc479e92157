//! `airlock doctor`: checks that the setup works, without changing anything. Each finding
//! has a stable code (`check.rs`, the table in docs/doctor.md), a level (pass / warn / fail)
//! and a hint; exit 1 when any check fails.
//!
//! Always: the config is valid; every variable it names is set (names only, never values);
//! each source answers on its read connection; the read credential can change nothing
//! (privileges from the catalog: nothing is written); the writer is another credential; every
//! table, column, key and guard column a capability names exists with a fitting type, and the
//! tenant column is part of a unique lookup; the tools the model sees are semantic only; the
//! ledger verifies. `--check-writeback`: the receipts table and the writer's grants.
//! `--check-handlers`: each app-owned handler answers. `--first-run`: also the store folder
//! and MCP client configs holding secrets.

mod check;
mod env;
mod first_run;
mod handlers;
mod ledger;
mod schema;
mod source;
mod writeback;

use std::path::PathBuf;

use airlock_capability::exposure::safety_checks;
use airlock_capability::{AliasMode, Catalog};
use airlock_cli::DoctorArgs;
use airlock_config::{CapabilityKind, Config, ExecutorKind, Mode};
use serde::Serialize;

pub use check::{Check, Code, Level};

use crate::open_ledger::LedgerTarget;
use crate::output::{self, ExitStatus};
use crate::settings::{InvalidConfig, Settings};

/// Value of [`Report::format`].
pub const REPORT_FORMAT: &str = "airlock.doctor.v1";

/// What to check beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub check_handlers: bool,
    pub check_writeback: bool,
    pub allow_shared_credential: bool,
    pub first_run: bool,
    pub client_configs: Vec<PathBuf>,
}

/// The whole result (`--json` prints it).
#[derive(Debug, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub ok: bool,
    pub config_path: Option<PathBuf>,
    pub mode: Option<&'static str>,
    pub store_path: PathBuf,
    pub summary: Summary,
    pub checks: Vec<Check>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

pub async fn run(settings: &Settings, args: &DoctorArgs) -> anyhow::Result<ExitStatus> {
    let opts = Options {
        check_handlers: args.check_handlers,
        check_writeback: args.check_writeback,
        allow_shared_credential: args.allow_shared_credential,
        first_run: args.first_run,
        client_configs: args.client_config.clone(),
    };
    let report = collect(settings, &opts).await;
    if args.report {
        let path = crate::settings::absolute(
            &settings.cwd,
            args.output
                .as_deref()
                .unwrap_or(std::path::Path::new("airlock-doctor.md")),
        );
        fs_err::write(&path, markdown(&report))?;
        output::line(&format!("wrote doctor report: {}", path.display()));
    } else if args.json {
        output::json(&report)?;
    } else {
        print_text(&report);
    }
    Ok(if report.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Sources whose proposals are applied by `sql_update` in review mode: they need a writer.
pub fn writer_sources(config: &Config) -> Vec<String> {
    if config.mode != Mode::Review {
        return Vec::new();
    }
    config
        .sources
        .iter()
        .filter(|(name, s)| {
            s.read_only != Some(true)
                && config.capabilities.iter().any(|c| {
                    &c.source == *name
                        && c.kind == CapabilityKind::Proposal
                        && airlock_writeback::setup::executor_kind(config, c)
                            == Some(ExecutorKind::SqlUpdate)
                })
        })
        .map(|(n, _)| n.clone())
        .collect()
}

/// Runs every check `opts` asks for.
pub async fn collect(settings: &Settings, opts: &Options) -> Report {
    let mut checks = Vec::new();
    let loaded = match settings.load_config() {
        Ok(l) => {
            checks.push(Check::pass(
                Code::ConfigOk,
                "config",
                format!("{} is valid", l.path.display()),
            ));
            for w in &l.warnings {
                checks.push(Check::warn(
                    Code::ConfigWarning,
                    format!("config:{}", w.code),
                    format!("{} {}: {}", w.path, w.code, w.message),
                    w.hint
                        .clone()
                        .unwrap_or_else(|| "see `airlock config validate`".into()),
                ));
            }
            Some(l)
        }
        Err(e) => {
            checks.push(match e.downcast_ref::<InvalidConfig>() {
                Some(invalid) => Check::fail(
                    Code::ConfigInvalid,
                    "config",
                    invalid.to_string().trim_end().to_owned(),
                    "run `airlock config validate` and fix each problem it lists",
                ),
                None => Check::fail(
                    Code::ConfigMissing,
                    "config",
                    format!("{e:#}"),
                    "describe your database with `airlock inspect --url-env DATABASE_URL`, then write a config with `airlock init`",
                ),
            });
            None
        }
    };
    let store_path = match settings.ledger_target(loaded.as_ref()) {
        Ok(LedgerTarget::Postgres(pg)) => PathBuf::from(pg.display()),
        _ => settings.store_path(loaded.as_ref()),
    };
    if let Some(loaded) = &loaded {
        let config = &loaded.config;
        let writers = writer_sources(config);
        checks.extend(env::checks(settings, config, &writers));
        for (name, source) in &config.sources {
            let reached = source::read_side(name, source, loaded, settings, &mut checks).await;
            if writers.contains(name) {
                let reader = reached.as_ref().and_then(|r| r.privileges.as_ref());
                checks.extend(
                    source::separation(
                        name,
                        source,
                        reader,
                        settings,
                        loaded,
                        opts.allow_shared_credential,
                    )
                    .await,
                );
            }
            if let Some(r) = &reached {
                schema::checks(config, name, r.engine.as_ref(), &mut checks).await;
            }
            if writers.contains(name) {
                if opts.check_writeback {
                    writeback::checks(name, source, config, loaded, settings, &mut checks).await;
                } else {
                    checks.push(Check::warn(
                        Code::WritebackNotChecked,
                        format!("source:{name}:writer"),
                        format!(
                            "the receipts table and writer grants of `{name}` were not checked"
                        ),
                        "rerun with --check-writeback (reads the catalog; writes nothing)",
                    ));
                }
            }
        }
        handlers::checks(settings, config, opts.check_handlers, &mut checks).await;
        checks.push(tool_boundary(config));
    }
    match settings.ledger_target(loaded.as_ref()) {
        Ok(LedgerTarget::Postgres(pg)) => checks.push(ledger::check_postgres(&pg).await),
        Ok(LedgerTarget::Sqlite(_)) => checks.push(ledger::check(&store_path).await),
        Err(e) => checks.push(ledger::unreachable(&e)),
    }
    if opts.first_run {
        checks.extend(first_run::checks(
            settings,
            &store_path,
            &opts.client_configs,
        ));
    }
    let count = |l: Level| checks.iter().filter(|c| c.level == l).count();
    let summary = Summary {
        pass: count(Level::Pass),
        warn: count(Level::Warn),
        fail: count(Level::Fail),
    };
    Report {
        format: REPORT_FORMAT,
        ok: summary.fail == 0,
        config_path: loaded.as_ref().map(|l| l.path.clone()),
        mode: loaded.as_ref().map(|l| l.config.mode.as_str()),
        store_path,
        summary,
        checks,
    }
}

/// The tools the model would see are semantic only (no raw SQL, approve or apply tool).
fn tool_boundary(config: &Config) -> Check {
    let catalog = Catalog::new(config, AliasMode::Canonical);
    let bad: Vec<String> = safety_checks(&catalog)
        .into_iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    if bad.is_empty() {
        Check::pass(
            Code::ToolsSemanticOnly,
            "tools",
            format!(
                "{} model-facing tool(s), none runs SQL, approves or applies",
                catalog.tools.len()
            ),
        )
    } else {
        Check::fail(
            Code::ToolsUnsafe,
            "tools",
            bad.join("; "),
            "rename or remove those capabilities (`airlock tools list` shows the checks)",
        )
    }
}

fn mark(l: Level) -> &'static str {
    match l {
        Level::Pass => "pass",
        Level::Warn => "WARN",
        Level::Fail => "FAIL",
    }
}

/// Human output: a verdict, then one line per check, with the fix under warnings and failures.
pub fn print_text(report: &Report) {
    output::line(&format!(
        "Airlock doctor: {} ({} passed, {} warning(s), {} failure(s))",
        if report.ok { "ok" } else { "FAILED" },
        report.summary.pass,
        report.summary.warn,
        report.summary.fail
    ));
    if let Some(p) = &report.config_path {
        output::line(&format!(
            "config: {}  mode: {}",
            p.display(),
            report.mode.unwrap_or("?")
        ));
    }
    for c in &report.checks {
        output::line(&format!(
            "{} {} [{}]: {}",
            mark(c.level),
            c.name,
            c.code.as_str(),
            c.message
        ));
        if c.level != Level::Pass
            && let Some(h) = &c.hint
        {
            output::line(&format!("     fix: {h}"));
        }
    }
}

/// `--report`: the same findings as Markdown, for a ticket or a pull request. Like every
/// doctor output it holds variable names, never their values.
fn markdown(report: &Report) -> String {
    let mut s = String::from("# Airlock doctor report\n\n");
    s += &format!(
        "- Status: {}\n- Config: {}\n- Mode: {}\n- Ledger: {}\n- Checks: {} passed, {} warnings, {} failures\n\n",
        if report.ok { "ok" } else { "needs attention" },
        report
            .config_path
            .as_ref()
            .map_or_else(|| "not found".into(), |p| p.display().to_string()),
        report.mode.unwrap_or("-"),
        report.store_path.display(),
        report.summary.pass,
        report.summary.warn,
        report.summary.fail
    );
    s += "| level | check | code | message | fix |\n|---|---|---|---|---|\n";
    for c in &report.checks {
        let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
        s += &format!(
            "| {} | {} | `{}` | {} | {} |\n",
            c.level.as_str(),
            cell(&c.name),
            c.code.as_str(),
            cell(&c.message),
            cell(c.hint.as_deref().unwrap_or(""))
        );
    }
    s += "\nEnvironment variables appear by name only; no URL, password or token is included.\n";
    s
}
