//! `airlock audit` (and `airlock mcp audit`): a risk review of another MCP server's tools.
//! Resolves the target, lets `airlock-audit` discover and judge, prints the report, and maps
//! it to the exit status: 2 when a server could not be audited, 1 when a finding is at or
//! above `--fail-on`, else 0.

use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_audit::discover::{self, Discovered, HttpServer, StdioServer};
use airlock_audit::format::{self, Format};
use airlock_audit::{DiscoveryError, ErrorCode, Limits, Severity, Target};
use airlock_capability::{AliasMode, Catalog};
use airlock_cli::{AuditArgs, AuditFormatArg, AuditSeverityArg};
use airlock_config::env_vars;
use serde_json::{Value, json};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &AuditArgs) -> anyhow::Result<ExitStatus> {
    let limits = Limits {
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
        ..Limits::default()
    };
    let discovered = match what(settings, args) {
        Err(e) => return usage(&e),
        Ok(What::Discovered(d)) => vec![d],
        Ok(What::Target(target)) => discover::discover(&target, &limits, &settings.env).await,
    };
    let report = airlock_audit::audit(discovered);
    let format = match (args.json, args.format) {
        (true, _) | (false, AuditFormatArg::Json) => Format::Json,
        (false, AuditFormatArg::Text) => Format::Text,
        (false, AuditFormatArg::Markdown) => Format::Markdown,
        (false, AuditFormatArg::Sarif) => Format::Sarif,
    };
    output::bytes(format::render(&report, format).as_bytes());
    if report.has_errors() {
        if format != Format::Text {
            for s in report
                .servers
                .iter()
                .filter_map(|s| s.error.as_ref().map(|e| (s, e)))
            {
                output::warn(&format!(
                    "{} not audited: [{}] {}",
                    s.0.target, s.1.code, s.1.message
                ));
            }
        }
        return Ok(ExitStatus::Invalid);
    }
    let threshold = args.fail_on.map(|s| match s {
        AuditSeverityArg::High => Severity::High,
        AuditSeverityArg::Medium => Severity::Medium,
        AuditSeverityArg::Low => Severity::Low,
    });
    Ok(match threshold {
        Some(t) if report.fails_at(t) => ExitStatus::Failure,
        _ => ExitStatus::Success,
    })
}

enum What {
    Target(Target),
    Discovered(Discovered),
}

/// The flag given (clap allows exactly one), or the positional target resolved as the
/// original did: `example:NAME`, an http(s) URL, `stdio:CMD`, else a file.
fn what(settings: &Settings, args: &AuditArgs) -> Result<What, DiscoveryError> {
    if let Some(name) = &args.example {
        return airlock_audit::example::load(name).map(What::Discovered);
    }
    if let Some(line) = &args.stdio {
        return StdioServer::from_command_line(line).map(|s| What::Target(Target::Stdio(s)));
    }
    if let Some(url) = &args.url {
        return http(settings, args, url);
    }
    if let Some(path) = &args.mcp_config {
        return Ok(What::Target(Target::McpConfig(path.clone())));
    }
    if let Some(path) = &args.tools_json {
        return Ok(What::Target(Target::ToolsJson(path.clone())));
    }
    let target = args.target.as_deref().unwrap_or_default();
    if let Some(name) = target.strip_prefix("example:") {
        return airlock_audit::example::load(name).map(What::Discovered);
    }
    if let Some(line) = target.strip_prefix("stdio:") {
        return StdioServer::from_command_line(line).map(|s| What::Target(Target::Stdio(s)));
    }
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return http(settings, args, target);
    }
    file(&settings.cwd.join(target), target)
}

fn http(settings: &Settings, args: &AuditArgs, url: &str) -> Result<What, DiscoveryError> {
    let token =
        match &args.bearer_env {
            Some(var) => Some(settings.env.get(var).filter(|v| !v.is_empty()).ok_or_else(
                || {
                    DiscoveryError::new(
                        ErrorCode::BearerEnvUnset,
                        format!("--bearer-env names {var}, which is not set"),
                        format!("export {var}=<token> first, or leave out --bearer-env"),
                    )
                },
            )?),
            None => [env_vars::AUDIT_BEARER, env_vars::SYNAPSOR_MCP_AUDIT_BEARER]
                .iter()
                .find_map(|v| settings.env.get(*v).filter(|t| !t.is_empty())),
        };
    HttpServer::new(url, token.map(String::as_str)).map(|s| What::Target(Target::Http(s)))
}

/// A file target: an MCP client config, an Airlock/Synapsor config (audited as the tools it
/// would serve), or a saved tool list.
fn file(path: &Path, shown: &str) -> Result<What, DiscoveryError> {
    let doc = discover::read_json(path, &Limits::default())?;
    let shown = PathBuf::from(shown);
    if doc.get("mcpServers").is_some()
        || doc.get("servers").is_some()
        || doc.pointer("/mcp/servers").is_some()
    {
        return Ok(What::Target(Target::McpConfig(shown)));
    }
    let airlock_config =
        doc.get("version").is_some() && doc.get("capabilities").is_some_and(Value::is_array);
    if !airlock_config {
        return Ok(What::Target(Target::ToolsJson(shown)));
    }
    let (config, _) = airlock_config::parse(&doc).map_err(|report| {
        DiscoveryError::new(
            ErrorCode::Config,
            format!(
                "{} is an invalid Airlock config ({} problems)",
                path.display(),
                report.errors.len()
            ),
            format!(
                "run `airlock --config {} config validate` for the list",
                path.display()
            ),
        )
    })?;
    let tools = Catalog::new(&config, AliasMode::Canonical).definitions();
    Ok(What::Discovered(Discovered {
        target: format!("airlock-config:{}", shown.display()),
        server: None,
        file: Some(shown.display().to_string()),
        outcome: airlock_audit::parse_tool_list(&json!({ "tools": tools })),
    }))
}

/// A target that cannot be audited at all: the error with its code, exit 2.
fn usage(e: &DiscoveryError) -> anyhow::Result<ExitStatus> {
    output::report_error(&output::hinted(
        format!("[{}] {}", e.code, e.message),
        e.hint.clone(),
    ));
    Ok(ExitStatus::Invalid)
}
