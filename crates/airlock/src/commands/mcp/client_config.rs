//! `airlock mcp client-config --client NAME`: a ready JSON snippet for an MCP client, with the
//! absolute paths of this binary, the config and the store.

use airlock_cli::{McpClientArg, McpClientConfigArgs};
use airlock_mcp::client_config::{Client, SnippetInputs, snippet};
use anyhow::Context as _;

use crate::output::{self, ExitStatus};
use crate::settings::{self, Settings};

pub fn run(settings: &Settings, args: &McpClientConfigArgs) -> anyhow::Result<ExitStatus> {
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
    let client = match args.client {
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
        alias_mode: args.alias_mode.map(|a| super::alias_mode(Some(a))),
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
