//! `airlock mcp ...`: serve the tools to MCP clients, or print a client snippet. The server
//! itself lives in `airlock-mcp`; these files only resolve settings.

pub mod client_config;
pub mod serve;
pub mod serve_jsonrpc_bridge;
pub mod serve_streamable_http;

use std::time::Duration;

use airlock_capability::AliasMode;
use airlock_cli::{AliasModeArg, McpCommonArgs, McpHttpFlags};
use airlock_config::{Mode, env_vars};
use airlock_mcp::auth::{AuthSetupError, HttpAuth, JwtVerifier};
use airlock_mcp::transport::HttpOptions;
use airlock_mcp::{McpServer, Runtime};
use airlock_runtime::RuntimeOptions;

use crate::open_ledger::OpenLedger;
use crate::output::{hinted, note};
use crate::settings::{self, LoadedConfig, Settings};

/// The bearer token variable of Synapsor Runner, kept as the default.
pub const DEFAULT_TOKEN_ENV: &str = env_vars::SYNAPSOR_RUNNER_HTTP_TOKEN;

/// `--config`/`AIRLOCK_CONFIG` first, then `SYNAPSOR_MCP_CONFIG`; same for the store with
/// `SYNAPSOR_LOCAL_STORE` (compatibility with Synapsor Runner).
pub fn compat_settings(s: &Settings) -> Settings {
    let from_env = |name: &str| {
        s.env
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .map(std::path::PathBuf::from)
    };
    Settings {
        cwd: s.cwd.clone(),
        env: s.env.clone(),
        config: s
            .config
            .clone()
            .or_else(|| from_env(env_vars::SYNAPSOR_MCP_CONFIG)),
        store: s
            .store
            .clone()
            .or_else(|| from_env(env_vars::SYNAPSOR_LOCAL_STORE)),
    }
}

pub fn alias_mode(arg: Option<AliasModeArg>) -> AliasMode {
    match arg {
        None | Some(AliasModeArg::Canonical) => AliasMode::Canonical,
        Some(AliasModeArg::Openai) => AliasMode::Openai,
        Some(AliasModeArg::Both) => AliasMode::Both,
    }
}

/// `--alias-mode`, with Synapsor Runner's `--openai-tool-aliases` meaning `openai`.
pub fn requested_alias_mode(
    arg: Option<AliasModeArg>,
    openai_tool_aliases: bool,
) -> anyhow::Result<Option<AliasMode>> {
    match (arg, openai_tool_aliases) {
        (Some(AliasModeArg::Canonical | AliasModeArg::Both), true) => Err(hinted(
            "--openai-tool-aliases cannot be combined with a non-openai --alias-mode",
            "drop one of them",
        )),
        (_, true) => Ok(Some(AliasMode::Openai)),
        (arg, false) => Ok(arg.map(|a| alias_mode(Some(a)))),
    }
}

/// Says once, on stderr, what Synapsor Runner flags that Airlock does not need do here.
fn note_moot_flags(common: &McpCommonArgs) {
    if common.allow_concurrent_store {
        eprintln!(
            "Note: --allow-concurrent-store is not needed: the Airlock ledger is safe for several servers and commands at once."
        );
    }
}

/// Loads the config and builds the server: tools are listed from here on without I/O. The
/// ledger is returned too, to be closed when the server stops ([`OpenLedger::close`]).
pub async fn build(
    s: &Settings,
    common: &McpCommonArgs,
    max_connections: usize,
) -> anyhow::Result<(McpServer, LoadedConfig, OpenLedger)> {
    note_moot_flags(common);
    let mut loaded = s.load_config()?;
    if common.read_only {
        loaded.config.mode = Mode::ReadOnly;
    }
    for w in &loaded.warnings {
        tracing::warn!(code = %w.code, path = %w.path, "{}", w.message);
    }
    let ledger = s.open_ledger_serving(&loaded).await?;
    let runtime = Runtime::new(
        loaded.config.clone(),
        ledger.as_ledger(),
        s.env.clone(),
        RuntimeOptions {
            alias_mode: requested_alias_mode(common.alias_mode, common.openai_tool_aliases)?
                .unwrap_or(AliasMode::Canonical),
            result_format: settings::result_format(common.result_format.as_deref())?,
            base_dir: loaded.dir(&s.cwd),
            max_connections,
        },
    );
    Ok((McpServer::new(runtime), loaded, ledger))
}

/// HTTP settings: static token from `--auth-token-env`, JWT verification from the config's
/// `http_claims` contexts, or neither with `--dev-no-auth`.
pub fn http_options(
    s: &Settings,
    loaded: &LoadedConfig,
    flags: &McpHttpFlags,
    default_port: u16,
) -> anyhow::Result<HttpOptions> {
    let jwt = JwtVerifier::from_config(&loaded.config, &s.env, &loaded.dir(&s.cwd))?;
    // With JWT verification configured, a static token is used only when asked for.
    let token_env = match (&flags.auth_token_env, &jwt) {
        (Some(name), _) => Some(name.clone()),
        (None, None) => Some(DEFAULT_TOKEN_ENV.to_owned()),
        (None, Some(_)) => None,
    };
    let token = token_env.as_ref().and_then(|name| {
        s.env
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (name.clone(), v.clone()))
    });
    if token.is_none() && jwt.is_none() && !flags.dev_no_auth {
        return Err(AuthSetupError::TokenMissing {
            env: token_env.unwrap_or_else(|| DEFAULT_TOKEN_ENV.to_owned()),
        }
        .into());
    }
    let auth = HttpAuth::new(token, jwt, flags.dev_no_auth);
    let mut opts = HttpOptions::new(flags.host.clone(), flags.port.unwrap_or(default_port), auth);
    opts.allowed_hosts = flags.allowed_host.clone();
    opts.allowed_origins = flags
        .allowed_origin
        .iter()
        .chain(&flags.cors_origin)
        .cloned()
        .collect();
    if !flags.cors_origin.is_empty() {
        eprintln!(
            "Note: --cors-origin is taken as --allowed-origin: requests from that Origin pass the Origin check and get CORS headers for it (see docs/compatibility.md)."
        );
    }
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    opts.max_sessions = count(flags.max_sessions);
    opts.max_sessions_per_credential = count(flags.max_sessions_per_credential);
    opts.session_idle = Duration::from_secs(flags.session_idle_secs.max(1));
    opts.max_in_flight = count(flags.max_in_flight);
    opts.max_in_flight_per_credential = count(flags.max_in_flight_per_credential);
    opts.max_body_bytes = flags.max_body_bytes;
    opts.body_timeout = Duration::from_secs(flags.body_timeout_secs);
    Ok(opts)
}

/// Startup lines on stderr (stdout stays free).
pub fn banner(what: &str, url: &str, opts: &HttpOptions, s: &Settings, loaded: &LoadedConfig) {
    note(&format!("Airlock {what} listening on {url}"));
    note(&format!("Auth: {}", opts.auth.describe()));
    note(&format!("Config: {}", loaded.path.display()));
    let store = s.ledger_target(Some(loaded)).map_or_else(
        |_| s.store_path(Some(loaded)).display().to_string(),
        |t| t.display(),
    );
    note(&format!("Store: {store}"));
    if !airlock_mcp::transport::is_loopback(&opts.host) {
        note(&format!(
            "Warning: {} is not a loopback address; model-facing tools are exposed on the network. Use TLS, private networking and rate limits.",
            opts.host
        ));
    }
    note("Press Ctrl+C to stop.");
}

/// Starts the Prometheus listener when `--metrics-listen` asks for one, before the MCP server,
/// so a bad address fails at once.
pub async fn start_metrics(server: &McpServer, flags: &McpHttpFlags) -> anyhow::Result<()> {
    let Some(addr) = flags.metrics_listen else {
        return Ok(());
    };
    if !addr.ip().is_loopback() && !flags.metrics_allow_remote {
        anyhow::bail!(
            "[METRICS_REMOTE_BIND] --metrics-listen {addr} is not a loopback address; metrics \
             have no authentication, so add --metrics-allow-remote to serve them there on purpose"
        );
    }
    let bound = airlock_mcp::metrics::start(server.clone(), addr).await?;
    note(&format!("Metrics: http://{bound}/metrics"));
    Ok(())
}
