//! `airlock mcp client-config --client NAME`: a ready JSON snippet for an MCP client, with the
//! absolute paths of the config and the store and, as `--launcher` says, this binary's path or
//! `uvx`/`npx` with the published package at this binary's version; with `--write`, merged
//! into the client's own config file (`airlock_mcp::client_config::install`).

use std::path::PathBuf;

use airlock_cli::{LauncherArg, McpClientArg, McpClientConfigArgs, McpConfigArgs};
use airlock_config::env_vars;
use airlock_config::types::LedgerEngine;
use airlock_mcp::client_config::install::{self, Dirs, InstallReport, Outcome};
use airlock_mcp::client_config::{Client, Launcher, SnippetInputs, server_entry, snippet};
use anyhow::Context as _;

use crate::output::{self, ExitStatus, hinted};
use crate::settings::{self, Settings};

/// `mcp client-config --client NAME` / `mcp configure --client NAME`.
pub fn run(settings: &Settings, args: &McpClientConfigArgs) -> anyhow::Result<ExitStatus> {
    let Some(client) = args.client else {
        return Err(hinted(
            "mcp client-config needs --client",
            "pass --client claude-desktop|claude-code|cursor|vscode|windsurf|openai-agents|generic, or use `airlock mcp config CLIENT`",
        ));
    };
    snippet_for(settings, client, args)
}

/// `mcp config [CLIENT]`: the client as a word, claude-desktop when none is given.
pub fn run_positional(settings: &Settings, args: &McpConfigArgs) -> anyhow::Result<ExitStatus> {
    let client = args
        .client_name
        .or(args.rest.client)
        .unwrap_or(McpClientArg::ClaudeDesktop);
    snippet_for(settings, client, &args.rest)
}

fn snippet_for(
    settings: &Settings,
    client: McpClientArg,
    args: &McpClientConfigArgs,
) -> anyhow::Result<ExitStatus> {
    let settings = super::compat_settings(settings);
    let version = env!("CARGO_PKG_VERSION").to_owned();
    let launcher = match args.launcher {
        LauncherArg::Binary => Launcher::Binary(
            std::env::current_exe().context("could not find the path of this binary")?,
        ),
        LauncherArg::Uvx => Launcher::Uvx { version },
        LauncherArg::Npx => Launcher::Npx { version },
    };
    let loaded = settings.load_config().ok();
    let config = match &loaded {
        Some(l) => settings::absolute(&settings.cwd, &l.path),
        None => {
            let path = settings
                .config
                .clone()
                .unwrap_or_else(|| "airlock.json".into());
            eprintln!(
                "Warning: no valid config found yet; the snippet points at {}",
                path.display()
            );
            settings::absolute(&settings.cwd, &path)
        }
    };
    // A config on the shared Postgres ledger gets no --store (the server would refuse it); the
    // client must pass the ledger's URL variable to the server itself.
    let shared_ledger = loaded
        .as_ref()
        .and_then(|l| l.config.storage.as_ref())
        .and_then(|s| s.ledger.as_ref())
        .filter(|l| l.engine == LedgerEngine::Postgres);
    let store = match shared_ledger {
        Some(ledger) => {
            eprintln!(
                "Note: this config uses the shared Postgres ledger; give the server {} in the client's env block (the snippet never holds URLs).",
                ledger.url_env()
            );
            None
        }
        None => Some(settings.store_path(loaded.as_ref())),
    };
    let client = match client {
        McpClientArg::ClaudeDesktop => Client::ClaudeDesktop,
        McpClientArg::ClaudeCode => Client::ClaudeCode,
        McpClientArg::Cursor => Client::Cursor,
        McpClientArg::Vscode => Client::Vscode,
        McpClientArg::Windsurf => Client::Windsurf,
        McpClientArg::OpenaiAgents => Client::OpenaiAgents,
        McpClientArg::Generic => Client::Generic,
    };
    install::check_name(&args.name).map_err(|e| hinted(e.to_string(), e.hint()))?;
    let inputs = SnippetInputs {
        client,
        server_name: args.name.clone(),
        launcher,
        config,
        store,
        alias_mode: super::requested_alias_mode(args.alias_mode, args.openai_tool_aliases)?,
        host: args.host.clone(),
        port: args.port,
        auth_token_env: args.auth_token_env.clone(),
        include_instructions: args.include_instructions,
        example_tool: loaded
            .as_ref()
            .and_then(|l| l.config.capabilities.first().map(|c| c.name.clone())),
    };
    let value = snippet(&inputs);
    if args.write {
        return write(&settings, &inputs, &value, args);
    }
    eprintln!(
        "Paste this {} MCP config into your client's settings. It holds commands and paths only, no database URLs or credentials.",
        client.as_str()
    );
    output::json(&value)?;
    Ok(ExitStatus::Success)
}

/// `--write`: merges the entry into the client's config file and reports what changed.
fn write(
    settings: &Settings,
    inputs: &SnippetInputs,
    snippet: &serde_json::Value,
    args: &McpClientConfigArgs,
) -> anyhow::Result<ExitStatus> {
    let client = inputs.client;
    let Some(entry) = server_entry(inputs, snippet) else {
        return Err(hinted(
            "the OpenAI Agents SDK has no config file to write: it is configured in your code",
            "run without --write and paste the printed Python into your agent",
        ));
    };
    let path = match &args.path {
        Some(p) => settings::absolute(&settings.cwd, p),
        None => client
            .config_path(&dirs(settings))
            .map_err(|e| hinted(e.to_string(), e.hint()))?,
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let report = install::install(client, &path, &args.name, &entry, args.force, &stamp)
        .map_err(|e| hinted(e.to_string(), e.hint()))?;
    if args.json {
        output::json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(ExitStatus::Success)
}

fn print_report(r: &InstallReport) {
    let (server, path) = (&r.server, r.path.display());
    output::line(&match r.outcome {
        Outcome::Created => format!("Created {path} with server `{server}`"),
        Outcome::Added => format!("Added server `{server}` to {path}"),
        Outcome::Replaced => format!("Replaced server `{server}` in {path}"),
        Outcome::Unchanged => format!("Already configured: server `{server}` in {path}"),
    });
    if let Some(b) = &r.backup {
        output::line(&format!("  backup  {}", b.display()));
    }
    if r.outcome != Outcome::Unchanged {
        output::line(&format!("Restart or reload {} to pick it up.", r.client));
    }
}

/// The folders client config paths are built from, from the environment Airlock was run in.
fn dirs(settings: &Settings) -> Dirs {
    let var = |name: &str| {
        settings
            .env
            .get(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    Dirs {
        os: std::env::consts::OS.to_owned(),
        home: var(env_vars::HOME).or_else(|| var(env_vars::USERPROFILE)),
        appdata: var(env_vars::APPDATA),
        xdg_config_home: var(env_vars::XDG_CONFIG_HOME),
        cwd: settings.cwd.clone(),
    }
}
