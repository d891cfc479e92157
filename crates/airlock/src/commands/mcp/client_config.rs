//! `airlock mcp client-config --client NAME`: a ready JSON snippet for an MCP client, with the
//! absolute paths of this binary, the config and the store.

use airlock_cli::{McpClientArg, McpClientConfigArgs, McpConfigArgs};
use airlock_mcp::client_config::{Client, SnippetInputs, snippet};
use anyhow::Context as _;

use crate::output::{self, ExitStatus, hinted};
use crate::settings::{self, Settings};

/// `mcp client-config --client NAME` / `mcp configure --client NAME`.
pub fn run(settings: &Settings, args: &McpClientConfigArgs) -> anyhow::Result<ExitStatus> {
    let Some(client) = args.client else {
        return Err(hinted(
            "mcp client-config needs --client",
            "pass --client claude-desktop|cursor|vscode|openai-agents|generic, or use `airlock mcp config CLIENT`",
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
    let command = std::env::current_exe().context("could not find the path of this binary")?;
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
    let store = settings.store_path(loaded.as_ref());
    let client = match client {
        McpClientArg::ClaudeDesktop => Client::ClaudeDesktop,
        McpClientArg::Cursor => Client::Cursor,
        McpClientArg::Vscode => Client::Vscode,
        McpClientArg::OpenaiAgents => Client::OpenaiAgents,
        McpClientArg::Generic => Client::Generic,
    };
    let value = snippet(&SnippetInputs {
        client,
        command,
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
    });
    eprintln!(
        "Paste this {} MCP config into your client's settings. It holds command paths only, no database URLs or credentials.",
        client.as_str()
    );
    output::json(&value)?;
    Ok(ExitStatus::Success)
}
