//! Traces and log format for the commands that serve or move proposals: resolves
//! `--otlp-endpoint` and OpenTelemetry's standard variables, installs the tracer, and flushes
//! it before the process exits. Commands that emit no spans never start an exporter.

use std::time::Duration;

use airlock_cli::{Cli, Command, LogFormatArg, McpCommand, McpCommonArgs, ProposalsCommand};
use airlock_config::env_vars;
use airlock_telemetry::{AttrValue, ExportSettings, RootSampler, Sampler};

use crate::output::hinted;
use airlock_runtime::Env;

/// The serving flags of `cli`'s command, when it has them.
fn serving_flags(command: &Command) -> Option<&McpCommonArgs> {
    match command {
        Command::Mcp(McpCommand::Serve(a)) => Some(&a.common),
        Command::Mcp(McpCommand::ServeStreamableHttp(a) | McpCommand::ServeHttp(a)) => {
            Some(&a.common)
        }
        Command::Up(a) => Some(&a.common),
        _ => None,
    }
}

/// Whether `command` emits spans: the servers, and the verbs of a proposal's lifecycle.
fn emits_spans(command: &Command) -> bool {
    serving_flags(command).is_some()
        || matches!(
            command,
            Command::Proposals(ProposalsCommand::Approve(_) | ProposalsCommand::Reject(_))
                | Command::Apply(_)
                | Command::Ui(_)
        )
}

/// `--log-format`, else `AIRLOCK_LOG_FORMAT` (`json` or `text`).
pub fn json_logs(cli: &Cli) -> bool {
    if let Some(format) = serving_flags(&cli.command).and_then(|c| c.log_format) {
        return format == LogFormatArg::Json;
    }
    std::env::var(env_vars::LOG_FORMAT).is_ok_and(|v| v.trim().eq_ignore_ascii_case("json"))
}

fn var<'e>(env: &'e Env, name: &str) -> Option<&'e str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The traces URL: the flag or `OTEL_EXPORTER_OTLP_ENDPOINT` as a base (`/v1/traces`
/// appended), `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is.
fn traces_url(env: &Env, flag: Option<&str>) -> Option<String> {
    let base = |b: &str| {
        let b = b.trim_end_matches('/');
        if b.ends_with("/v1/traces") {
            b.to_owned()
        } else {
            format!("{b}/v1/traces")
        }
    };
    if let Some(flag) = flag.map(str::trim).filter(|f| !f.is_empty()) {
        return Some(base(flag));
    }
    if let Some(url) = var(env, env_vars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
        return Some(url.to_owned());
    }
    var(env, env_vars::OTEL_EXPORTER_OTLP_ENDPOINT).map(base)
}

fn sampler(env: &Env) -> anyhow::Result<Sampler> {
    let ratio = || -> anyhow::Result<f64> {
        match var(env, env_vars::OTEL_TRACES_SAMPLER_ARG) {
            None => Ok(1.0),
            Some(arg) => arg
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    hinted(
                        format!(
                            "{} is not a ratio: {arg:?}",
                            env_vars::OTEL_TRACES_SAMPLER_ARG
                        ),
                        "give a number from 0 to 1, e.g. 0.25",
                    )
                }),
        }
    };
    Ok(match var(env, env_vars::OTEL_TRACES_SAMPLER) {
        None | Some("parentbased_always_on") => Sampler::ParentBased(RootSampler::AlwaysOn),
        Some("parentbased_always_off") => Sampler::ParentBased(RootSampler::AlwaysOff),
        Some("parentbased_traceidratio") => Sampler::ParentBased(RootSampler::Ratio(ratio()?)),
        Some("always_on") => Sampler::AlwaysOn,
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => Sampler::Ratio(ratio()?),
        Some(other) => {
            return Err(hinted(
                format!(
                    "{} {other:?} is not a sampler Airlock knows",
                    env_vars::OTEL_TRACES_SAMPLER
                ),
                "use always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off or parentbased_traceidratio",
            ));
        }
    })
}

/// Starts the exporter when `cli`'s command emits spans and an endpoint is configured.
pub fn start(cli: &Cli, env: &Env) -> anyhow::Result<()> {
    if !emits_spans(&cli.command) {
        return Ok(());
    }
    let flag = serving_flags(&cli.command).and_then(|c| c.otlp_endpoint.as_deref());
    if flag.is_none()
        && (var(env, env_vars::OTEL_SDK_DISABLED).is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || var(env, env_vars::OTEL_TRACES_EXPORTER)
                .is_some_and(|v| v.eq_ignore_ascii_case("none")))
    {
        return Ok(());
    }
    let Some(url) = traces_url(env, flag) else {
        return Ok(());
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(hinted(
            "the OTLP endpoint must be an http:// or https:// URL",
            "give the receiver's OTLP/HTTP address, e.g. --otlp-endpoint http://127.0.0.1:4318",
        ));
    }
    if let Some(p) = var(env, env_vars::OTEL_EXPORTER_OTLP_PROTOCOL)
        && p != "http/protobuf"
    {
        tracing::warn!(
            "{} is {p:?}; Airlock sends OTLP over HTTP with protobuf (http/protobuf) only",
            env_vars::OTEL_EXPORTER_OTLP_PROTOCOL
        );
    }
    let sampler = sampler(env)?;
    let service = var(env, env_vars::OTEL_SERVICE_NAME).unwrap_or("airlock");
    let instance: [u8; 8] = rand_instance();
    let resource: Vec<(&'static str, AttrValue)> = vec![
        ("service.name", service.to_owned().into()),
        ("service.version", env!("CARGO_PKG_VERSION").into()),
        (
            "service.instance.id",
            airlock_telemetry::context::hex(&instance).into(),
        ),
        ("telemetry.sdk.name", "airlock-telemetry".into()),
        ("telemetry.sdk.language", "rust".into()),
        ("telemetry.sdk.version", env!("CARGO_PKG_VERSION").into()),
    ];
    let mut settings = ExportSettings::new(url, resource);
    if let Some(ms) = var(env, env_vars::OTEL_EXPORTER_OTLP_TIMEOUT).and_then(|v| v.parse().ok()) {
        settings.timeout = Duration::from_millis(ms);
    }
    airlock_telemetry::install(settings, sampler)
        .map_err(|e| anyhow::Error::new(e).context("could not start the trace exporter"))?;
    Ok(())
}

fn rand_instance() -> [u8; 8] {
    // The process id and start time: distinct enough between the replicas of a fleet.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ (u64::from(std::process::id()) << 32)).to_be_bytes()
}

/// Sends the spans still queued (at most a few seconds) before the process exits.
pub fn flush() {
    if airlock_telemetry::tracer().is_some() && !airlock_telemetry::flush(Duration::from_secs(5)) {
        tracing::warn!("some spans were not sent before exit: the trace receiver was slow");
    }
}
