//! `airlock doctor [--check-handlers] [--json]`: checks the setup without changing anything.
//! Always: the config loads and validates. With `--check-handlers`, for each configured
//! `http_handler` / `command_handler`: its environment variables are set (the same resolution
//! `airlock apply` does), and it is reachable — one `OPTIONS` request to the URL with no body
//! and no credentials (any HTTP status counts; nothing is applied), or the program exists and
//! is executable (it is not run). Exit 1 if any check fails.

use airlock_cli::DoctorArgs;
use airlock_config::ExecutorKind;
use airlock_writeback::command_handler::CommandHandler;
use airlock_writeback::http_handler::HttpHandler;
use serde::Serialize;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

#[derive(Debug, Serialize)]
struct Check {
    /// `config`, or `handler:<executor name>`.
    name: String,
    /// `config`, `http_handler` or `command_handler`.
    kind: &'static str,
    ok: bool,
    /// Which step failed: `env`, `reachable`, `executable`, `config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<&'static str>,
    detail: String,
    /// Capabilities that use this executor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    capabilities: Vec<String>,
}

pub async fn run(settings: &Settings, args: &DoctorArgs) -> anyhow::Result<ExitStatus> {
    let mut checks = Vec::new();
    let loaded = match settings.load_config() {
        Ok(l) => {
            checks.push(Check {
                name: "config".into(),
                kind: "config",
                ok: true,
                failed: None,
                detail: format!("{} is valid", l.path.display()),
                capabilities: Vec::new(),
            });
            Some(l)
        }
        Err(e) => {
            checks.push(Check {
                name: "config".into(),
                kind: "config",
                ok: false,
                failed: Some("config"),
                detail: format!("{e:#}"),
                capabilities: Vec::new(),
            });
            None
        }
    };
    if let (Some(loaded), true) = (&loaded, args.check_handlers) {
        let config = &loaded.config;
        for (name, e) in config.executors.iter().flatten() {
            let capabilities: Vec<String> = config
                .capabilities
                .iter()
                .filter(|c| c.executor_name() == name)
                .map(|c| c.name.clone())
                .collect();
            let check = match e.kind {
                ExecutorKind::SqlUpdate => continue,
                ExecutorKind::HttpHandler => {
                    match HttpHandler::from_config(name, e, &settings.env) {
                        Err(err) => env_failure(name, "http_handler", err.to_string()),
                        Ok(h) => {
                            let p = h.probe().await;
                            Check {
                                name: format!("handler:{name}"),
                                kind: "http_handler",
                                ok: p.reachable,
                                failed: (!p.reachable).then_some("reachable"),
                                detail: p.detail,
                                capabilities: Vec::new(),
                            }
                        }
                    }
                }
                ExecutorKind::CommandHandler => {
                    match CommandHandler::from_config(name, e, &settings.env) {
                        Err(err) => env_failure(name, "command_handler", err.to_string()),
                        Ok(h) => {
                            let p = h.probe();
                            Check {
                                name: format!("handler:{name}"),
                                kind: "command_handler",
                                ok: p.runnable,
                                failed: (!p.runnable).then_some("executable"),
                                detail: p.detail,
                                capabilities: Vec::new(),
                            }
                        }
                    }
                }
            };
            checks.push(Check {
                capabilities,
                ..check
            });
        }
    }
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        output::json(&serde_json::json!({"ok": ok, "checks": checks}))?;
    } else {
        for c in &checks {
            output::line(&format!(
                "{} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            ));
        }
        if args.check_handlers && checks.iter().all(|c| c.kind == "config") && loaded.is_some() {
            output::line("no app-owned handlers are configured");
        }
        if !args.check_handlers {
            output::line("pass --check-handlers to check app-owned handlers too");
        }
    }
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn env_failure(name: &str, kind: &'static str, detail: String) -> Check {
    Check {
        name: format!("handler:{name}"),
        kind,
        ok: false,
        failed: Some("env"),
        detail,
        capabilities: Vec::new(),
    }
}
