//! `airlock doctor [--check-handlers] [--json]`: checks the setup without changing anything.
//! Always: the config loads and validates, and each source answers on its read connection
//! (its variable is set, `SELECT 1` works) and reports how that connection is protected: TLS
//! or not, the version and cipher the server reports, whether the certificate was verified.
//! With `--check-handlers`, for each configured
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
    /// `config`, `source:<name>`, or `handler:<executor name>`.
    name: String,
    /// `config`, `source`, `http_handler` or `command_handler`.
    kind: &'static str,
    ok: bool,
    /// Which step failed: `env`, `reachable`, `executable`, `config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<&'static str>,
    detail: String,
    /// Capabilities that use this executor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    capabilities: Vec<String>,
    /// For a source: how its read connection is protected.
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<TransportJson>,
}

#[derive(Debug, Serialize)]
struct TransportJson {
    /// The TLS mode the URL asked for (`VERIFY_IDENTITY`, `verify-full`, `local file`, …).
    requested: String,
    encrypted: bool,
    tls_version: Option<String>,
    cipher: Option<String>,
    certificate_verified: bool,
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
                transport: None,
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
                transport: None,
            });
            None
        }
    };
    if let Some(loaded) = &loaded {
        for (name, source) in &loaded.config.sources {
            checks.push(source_check(name, source, loaded, settings).await);
        }
    }
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
                                transport: None,
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
                                transport: None,
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
        transport: None,
    }
}

/// One source: its read settings resolve, it answers, and how the session is protected.
async fn source_check(
    name: &str,
    source: &airlock_config::Source,
    loaded: &crate::settings::LoadedConfig,
    settings: &Settings,
) -> Check {
    let fail = |failed: &'static str, detail: String| Check {
        name: format!("source:{name}"),
        kind: "source",
        ok: false,
        failed: Some(failed),
        detail,
        capabilities: Vec::new(),
        transport: None,
    };
    let resolved = airlock_db::resolve_source(
        name,
        source,
        airlock_db::Access::Read,
        &settings.env,
        &loaded.dir(&settings.cwd),
        1,
    );
    let source_settings = match resolved {
        Ok(s) => s,
        Err(e) => return fail("env", e.to_string()),
    };
    let engine = match airlock_db::connect(&source_settings).await {
        Ok(e) => e,
        Err(e) => return fail("reachable", e.to_string()),
    };
    if let Err(e) = engine.ping().await {
        return fail("reachable", e.to_string());
    }
    let t = match engine.transport().await {
        Ok(t) => t,
        Err(e) => return fail("reachable", e.to_string()),
    };
    let protection = match (&t.tls_version, &t.cipher) {
        _ if t.requested == "local file" => "a local file".to_owned(),
        (Some(version), Some(cipher)) if t.encrypted => format!(
            "TLS {version} {cipher}, certificate {} ({})",
            if t.certificate_verified {
                "verified"
            } else {
                "NOT verified"
            },
            t.requested
        ),
        _ if t.encrypted => format!("encrypted ({})", t.requested),
        _ => format!("NOT encrypted ({})", t.requested),
    };
    Check {
        name: format!("source:{name}"),
        kind: "source",
        ok: true,
        failed: None,
        detail: format!("answers; {protection}"),
        capabilities: Vec::new(),
        transport: Some(TransportJson {
            requested: t.requested,
            encrypted: t.encrypted,
            tls_version: t.tls_version,
            cipher: t.cipher,
            certificate_verified: t.certificate_verified,
        }),
    }
}
