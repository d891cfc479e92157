//! Ready-to-paste MCP client snippets (`airlock mcp client-config`). Pure: the caller passes
//! absolute paths and the [`Launcher`]; nothing here reads the environment. [`install`] merges
//! the server entry into a client's own config file (`--write`).

pub mod install;

use std::path::PathBuf;

use airlock_capability::AliasMode;
use serde_json::{Value, json};

/// The clients a snippet can be printed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    Vscode,
    Windsurf,
    OpenaiAgents,
    Generic,
}

impl Client {
    pub fn as_str(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Cursor => "cursor",
            Client::Vscode => "vscode",
            Client::Windsurf => "windsurf",
            Client::OpenaiAgents => "openai-agents",
            Client::Generic => "generic",
        }
    }
}

/// The name Airlock is published under on PyPI and npm (`airlock` is taken on both).
pub const PACKAGE: &str = "airlock-mcp";

/// How the client starts Airlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    /// The `airlock` binary at this absolute path.
    Binary(PathBuf),
    /// `uvx airlock-mcp@VERSION`: the PyPI package, fetched and cached by uv.
    Uvx { version: String },
    /// `npx -y airlock-mcp@VERSION`: the npm package, fetched and cached by npm.
    Npx { version: String },
}

impl Launcher {
    /// The command, and the arguments that come before Airlock's own.
    pub fn command(&self) -> (String, Vec<String>) {
        match self {
            Launcher::Binary(path) => (path.display().to_string(), Vec::new()),
            Launcher::Uvx { version } => ("uvx".into(), vec![format!("{PACKAGE}@{version}")]),
            Launcher::Npx { version } => (
                "npx".into(),
                vec!["-y".into(), format!("{PACKAGE}@{version}")],
            ),
        }
    }
}

/// Everything a snippet is built from.
#[derive(Debug, Clone)]
pub struct SnippetInputs {
    pub client: Client,
    /// The server's name in the client's config (`airlock` unless `--name`).
    pub server_name: String,
    /// How the client starts Airlock.
    pub launcher: Launcher,
    pub config: PathBuf,
    /// The SQLite ledger (`--store`); `None` when the config names a shared Postgres ledger,
    /// which `--store` would contradict.
    pub store: Option<PathBuf>,
    /// `None`: openai for openai-agents, canonical otherwise.
    pub alias_mode: Option<AliasMode>,
    pub host: String,
    pub port: u16,
    pub auth_token_env: String,
    pub include_instructions: bool,
    /// A canonical tool name to show in the openai-agents naming note.
    pub example_tool: Option<String>,
}

/// The snippet as JSON.
pub fn snippet(inputs: &SnippetInputs) -> Value {
    let alias = inputs.alias_mode.unwrap_or(match inputs.client {
        Client::OpenaiAgents => AliasMode::Openai,
        _ => AliasMode::Canonical,
    });
    let (command, mut stdio_args) = inputs.launcher.command();
    let mut http_args = stdio_args.clone();
    let config = inputs.config.display().to_string();
    let store: Vec<String> = inputs
        .store
        .iter()
        .flat_map(|s| ["--store".to_owned(), s.display().to_string()])
        .collect();
    stdio_args.extend([
        "mcp".to_owned(),
        "serve".to_owned(),
        "--config".to_owned(),
        config.clone(),
    ]);
    stdio_args.extend(store.iter().cloned());
    http_args.extend([
        "mcp".to_owned(),
        "serve-streamable-http".to_owned(),
        "--config".to_owned(),
        config,
    ]);
    http_args.extend(store);
    http_args.extend([
        "--host".to_owned(),
        inputs.host.clone(),
        "--port".to_owned(),
        inputs.port.to_string(),
        "--auth-token-env".to_owned(),
        inputs.auth_token_env.clone(),
    ]);
    if alias != AliasMode::Canonical {
        for args in [&mut stdio_args, &mut http_args] {
            args.push("--alias-mode".into());
            args.push(alias.as_str().into());
        }
    }
    let name = inputs.server_name.as_str();
    let mut out = match inputs.client {
        Client::Generic => json!({"command": command, "args": stdio_args}),
        Client::ClaudeDesktop | Client::Cursor | Client::Windsurf => {
            json!({"mcpServers": {name: {"command": command, "args": stdio_args}}})
        }
        Client::ClaudeCode => {
            json!({"mcpServers": {name: {"type": "stdio", "command": command, "args": stdio_args, "env": {}}}})
        }
        Client::Vscode => {
            json!({"servers": {name: {"type": "stdio", "command": command, "args": stdio_args}}})
        }
        Client::OpenaiAgents => {
            let url = format!("http://{}:{}/mcp", inputs.host, inputs.port);
            let env = &inputs.auth_token_env;
            let canonical = inputs
                .example_tool
                .clone()
                .unwrap_or_else(|| "billing.inspect_invoice".into());
            json!({
                "transport": "streamable-http",
                "start_server": {"command": command, "args": http_args, "env": {env: "<set-a-random-local-token>"}},
                "openai_agents_sdk": {
                    "package": "openai-agents",
                    "url": url,
                    "headers_from_env": {"Authorization": format!("Bearer ${env}")},
                    "python": format!("import os\nfrom agents.mcp import MCPServerStreamableHttp\n\nairlock_mcp = MCPServerStreamableHttp(\n    params={{\n        \"url\": \"{url}\",\n        \"headers\": {{\"Authorization\": f\"Bearer {{os.environ['{env}']}}\"}},\n    }}\n)"),
                },
                "tool_names": {
                    "canonical": canonical,
                    "model_visible_with_alias_mode_openai": airlock_capability::catalog::openai_alias(&canonical),
                    "alias_mode": alias.as_str(),
                },
                "notes": [
                    "Start the local Streamable HTTP MCP server before creating the OpenAI Agents SDK server.",
                    "OpenAI-facing configs should use --alias-mode openai because OpenAI function names cannot contain dots.",
                    "Airlock maps aliases back to canonical capability names and includes the canonical name in MCP tool metadata.",
                    "This config contains no database URLs, write credentials, API keys, or bearer token values.",
                ],
            })
        }
    };
    if inputs.include_instructions {
        let note = if alias == AliasMode::Openai {
            "OpenAI-facing tool names may use aliases such as billing__inspect_invoice. Treat the canonical capability name in tool metadata/results as the audit name."
        } else {
            "Use the model-visible tool names exactly as listed by the MCP client."
        };
        out["agent_instructions"] = json!({
            "target_client": inputs.client.as_str(),
            "alias_mode": alias.as_str(),
            "recommended_system_prompt": format!("Use the Airlock tools in a propose-first pattern. Inspect relevant records, policy rows, and other evidence before proposing a change. Do not claim a database change was committed unless a result says source_database_changed: true. Proposal tools create reviewable proposals only; they do not commit writes. You cannot approve, apply, commit, or write back through model-facing MCP tools. On VERSION_CONFLICT, re-inspect the record before proposing again. Evidence handles are audit/replay handles; you do not need to call them during the turn. {note}"),
            "checklist": [
                "Inspect evidence before proposing.",
                "Use trusted session scope; never ask the user/model for tenant or principal values.",
                "Report proposal ids and source_database_changed exactly from the tool result.",
                "If ok is false, follow error.code. On TEMPORARILY_UNAVAILABLE, retry later. On NOT_FOUND_IN_TENANT, do not infer cross-tenant existence.",
            ],
        });
    }
    out
}

/// The server entry a client's config file holds for this snippet: what `--write` merges
/// under [`Client::servers_key`]. `None` for the OpenAI Agents SDK (configured in code).
pub fn server_entry(inputs: &SnippetInputs, snippet: &Value) -> Option<Value> {
    match inputs.client {
        Client::OpenaiAgents => None,
        Client::Generic => Some(json!({"command": snippet["command"], "args": snippet["args"]})),
        c => snippet[c.servers_key()].get(&inputs.server_name).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(client: Client) -> SnippetInputs {
        SnippetInputs {
            client,
            server_name: "airlock".into(),
            launcher: Launcher::Binary("/opt/airlock/bin/airlock".into()),
            config: "/srv/app/airlock.json".into(),
            store: Some("/srv/app/.airlock/ledger.db".into()),
            alias_mode: None,
            host: "127.0.0.1".into(),
            port: 8766,
            auth_token_env: airlock_config::env_vars::SYNAPSOR_RUNNER_HTTP_TOKEN.into(),
            include_instructions: false,
            example_tool: None,
        }
    }

    #[test]
    fn claude_desktop_runs_stdio_with_absolute_paths() {
        let s = snippet(&inputs(Client::ClaudeDesktop));
        assert_eq!(
            s["mcpServers"]["airlock"]["command"],
            "/opt/airlock/bin/airlock"
        );
        let args = s["mcpServers"]["airlock"]["args"].as_array().unwrap();
        assert!(args.iter().any(|a| a == "/srv/app/airlock.json"));
        assert!(args.iter().any(|a| a == "serve"));
    }

    #[test]
    fn a_shared_postgres_ledger_gets_no_store_flag() {
        let with = snippet(&inputs(Client::Generic));
        let args = with["args"].as_array().unwrap();
        let at = args.iter().position(|a| a == "--store").unwrap();
        assert_eq!(args[at + 1], "/srv/app/.airlock/ledger.db");
        let mut i = inputs(Client::Generic);
        i.store = None;
        let without = snippet(&i);
        let args = without["args"].as_array().unwrap();
        assert!(!args.iter().any(|a| a == "--store"), "{args:?}");
        assert!(args.iter().any(|a| a == "/srv/app/airlock.json"));
        let mut i = inputs(Client::Vscode);
        i.store = None;
        let http = snippet(&i).to_string();
        assert!(!http.contains("--store"), "{http}");
    }

    #[test]
    fn every_file_client_has_an_entry_under_its_servers_key() {
        for c in [
            Client::ClaudeDesktop,
            Client::ClaudeCode,
            Client::Cursor,
            Client::Vscode,
            Client::Windsurf,
            Client::Generic,
        ] {
            let mut i = inputs(c);
            i.server_name = "billing".into();
            let s = snippet(&i);
            let entry = server_entry(&i, &s).unwrap_or_else(|| panic!("{c:?}"));
            assert_eq!(entry["command"], "/opt/airlock/bin/airlock", "{c:?}");
            assert!(
                entry["args"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "serve"))
            );
        }
        let i = inputs(Client::OpenaiAgents);
        assert!(server_entry(&i, &snippet(&i)).is_none());
    }

    #[test]
    fn uvx_and_npx_launchers_put_the_pinned_package_before_airlocks_arguments() {
        let version = "1.2.3".to_owned();
        for (launcher, command, prefix) in [
            (
                Launcher::Uvx {
                    version: version.clone(),
                },
                "uvx",
                vec!["airlock-mcp@1.2.3"],
            ),
            (
                Launcher::Npx { version },
                "npx",
                vec!["-y", "airlock-mcp@1.2.3"],
            ),
        ] {
            for client in [Client::ClaudeDesktop, Client::Vscode, Client::Generic] {
                let mut i = inputs(client);
                i.launcher = launcher.clone();
                let entry = server_entry(&i, &snippet(&i)).unwrap();
                assert_eq!(entry["command"], command);
                let args: Vec<&str> = entry["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect();
                assert_eq!(args[..prefix.len()], prefix[..], "{client:?}");
                assert_eq!(args[prefix.len()..prefix.len() + 2], ["mcp", "serve"]);
                assert!(args.contains(&"/srv/app/airlock.json"));
            }
            let mut i = inputs(Client::OpenaiAgents);
            i.launcher = launcher.clone();
            let s = snippet(&i);
            assert_eq!(s["start_server"]["command"], command);
            assert_eq!(s["start_server"]["args"][prefix.len()], "mcp");
        }
    }

    #[test]
    fn openai_agents_uses_http_and_aliases_and_no_secrets() {
        let mut i = inputs(Client::OpenaiAgents);
        i.include_instructions = true;
        let s = snippet(&i);
        assert_eq!(s["transport"], "streamable-http");
        assert_eq!(s["tool_names"]["alias_mode"], "openai");
        let args = s["start_server"]["args"].as_array().unwrap();
        assert!(args.iter().any(|a| a == "openai"));
        assert!(s.get("agent_instructions").is_some());
    }
}
