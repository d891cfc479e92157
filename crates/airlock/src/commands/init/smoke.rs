//! `--smoke-id`: after the files are written, the generated read tool is called once for that
//! object id through the runtime, as `airlock smoke call` does, when everything it needs is at
//! hand (the database URL from `--url` or its variable, the trusted tenant and principal from
//! the environment). The outcome is reported, never fatal: the config stays written.

use std::path::Path;

use airlock_capability::AliasMode;
use airlock_capability::envelope::Outcome;
use airlock_config::{CapabilityKind, ContextProvider, env_vars};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::settings::Settings;

/// What the first read did.
#[derive(Debug, Clone, Serialize)]
pub struct Smoke {
    /// `passed`, `failed` or `not_run`.
    pub status: &'static str,
    pub tool: String,
    /// Why it failed or did not run; the evidence id when it passed.
    pub detail: String,
    /// Variables to set before it can run (names only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_env: Vec<String>,
}

/// Runs the first read of the config at `config_path` with `args` (the smoke input). `url`:
/// the database URL given with `--url`, used in memory for the source's variable when that
/// is not set.
pub async fn run(
    settings: &Settings,
    config_path: &Path,
    args: &Map<String, Value>,
    url: Option<&str>,
) -> Smoke {
    let mut env = settings.env.clone();
    let here = Settings {
        cwd: settings.cwd.clone(),
        env: settings.env.clone(),
        config: Some(config_path.to_path_buf()),
        store: None,
    };
    let loaded = match here.load_config() {
        Ok(l) => l,
        Err(e) => return not_run(String::new(), format!("{e:#}"), Vec::new()),
    };
    let config = &loaded.config;
    let Some(read) = config
        .capabilities
        .iter()
        .find(|c| c.kind == CapabilityKind::Read)
    else {
        return not_run(
            String::new(),
            "the config has no read tool".into(),
            Vec::new(),
        );
    };
    let tool = read.name.clone();
    let mut missing = Vec::new();
    if let Some(var) = config
        .sources
        .get(&read.source)
        .and_then(|s| s.read_url_env.clone())
        && env.get(&var).is_none_or(|v| v.is_empty())
    {
        match url {
            Some(u) => {
                env.insert(var, u.to_owned());
            }
            None => missing.push(var),
        }
    }
    match config.trusted_context.as_ref() {
        Some(ctx) if ctx.provider == ContextProvider::Environment => {
            let values = ctx.values.clone().unwrap_or_default();
            for var in [
                values
                    .tenant_id_env
                    .unwrap_or_else(|| env_vars::SYNAPSOR_TENANT_ID.into()),
                values
                    .principal_env
                    .unwrap_or_else(|| env_vars::SYNAPSOR_PRINCIPAL.into()),
            ] {
                if env.get(&var).is_none_or(|v| v.is_empty()) {
                    missing.push(var);
                }
            }
        }
        Some(ctx) if ctx.provider == ContextProvider::StaticDev => {}
        _ => {
            return not_run(
                tool,
                "the trusted context comes from a client's verified token; call the tool through `airlock mcp serve-http`".into(),
                Vec::new(),
            );
        }
    }
    if !missing.is_empty() {
        return not_run(
            tool,
            format!("set {} and run it", missing.join(", ")),
            missing,
        );
    }
    let runner = Settings { env, ..here };
    let runtime = match runner.runtime(&loaded, AliasMode::Canonical, None).await {
        Ok(r) => r,
        Err(e) => return failed(tool, format!("{e:#}")),
    };
    match runtime.call(&tool, args, None).await {
        Ok(Outcome::Read(r)) => Smoke {
            status: "passed",
            tool,
            detail: format!("found the row; evidence {}", r.evidence_bundle_id),
            missing_env: Vec::new(),
        },
        Ok(Outcome::Proposal(_)) => failed(tool, "the tool made a proposal".into()),
        Err(f) => {
            let e = &f.error;
            let why = match &e.detail {
                Some(d) => format!("{}: {}", e.code.as_str(), d),
                None => e.code.as_str().to_owned(),
            };
            failed(tool, why)
        }
    }
}

fn not_run(tool: String, detail: String, missing_env: Vec<String>) -> Smoke {
    Smoke {
        status: "not_run",
        tool,
        detail,
        missing_env,
    }
}

fn failed(tool: String, detail: String) -> Smoke {
    Smoke {
        status: "failed",
        tool,
        detail,
        missing_env: Vec::new(),
    }
}
