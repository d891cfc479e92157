//! MCP client configs: the server list of Claude Desktop, Cursor, Windsurf and Claude Code
//! (`mcpServers`), VS Code (`servers`, or `mcp.servers` in settings.json).
//!
//! Each entry becomes a stdio server (`command`, `args`, `env`, `cwd`) or a Streamable HTTP
//! server (`url` or `serverUrl`, `headers`). `${env:NAME}` and `${NAME}` in any of those
//! strings are replaced from the environment; an unknown variable, a VS Code `${input:…}`
//! prompt or the legacy SSE transport make that one server an error, not the whole audit.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{HttpServer, StdioServer};
use crate::error::{DiscoveryError, ErrorCode};

/// How to reach one configured server.
#[derive(Debug, Clone)]
pub enum Spec {
    Stdio(StdioServer),
    Http(HttpServer),
}

/// One configured server: its name and how to reach it (or why it cannot be used).
pub type Entry = (String, Result<Spec, DiscoveryError>);

/// The servers of a client config, by name, in file order. Disabled entries are left out.
pub fn servers(doc: &Value, env: &HashMap<String, String>) -> Result<Vec<Entry>, DiscoveryError> {
    let list = doc
        .get("mcpServers")
        .or_else(|| doc.get("servers"))
        .or_else(|| doc.get("mcp").and_then(|m| m.get("servers")))
        .and_then(Value::as_object)
        .ok_or_else(|| {
            DiscoveryError::new(
                ErrorCode::Config,
                "no server list found: expected mcpServers (Claude, Cursor), servers (VS Code) or mcp.servers",
                "pass the MCP client's config file, or audit one server with --stdio or --url",
            )
        })?;
    if list.is_empty() {
        return Err(DiscoveryError::new(
            ErrorCode::Config,
            "the client config lists no servers",
            "add a server to the config, or audit one with --stdio or --url",
        ));
    }
    Ok(list
        .iter()
        .filter(|(_, entry)| entry.get("disabled") != Some(&Value::Bool(true)))
        .map(|(name, entry)| (name.clone(), spec(name, entry, env)))
        .collect())
}

fn spec(name: &str, entry: &Value, env: &HashMap<String, String>) -> Result<Spec, DiscoveryError> {
    let bad = |what: String| {
        DiscoveryError::new(
            ErrorCode::Config,
            format!("server {name:?}: {what}"),
            "fix the entry in the client config (or audit the server with --stdio/--url)",
        )
    };
    let entry = entry
        .as_object()
        .ok_or_else(|| bad("the entry is not an object".into()))?;
    let text = |v: &Value| -> Result<String, DiscoveryError> {
        let s = v
            .as_str()
            .ok_or_else(|| bad(format!("{v} is not a string")))?;
        expand(s, env).map_err(bad)
    };
    let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "sse" {
        return Err(bad("the legacy SSE transport is not supported; audit its Streamable HTTP endpoint with --url".into()));
    }
    if let Some(url) = entry.get("url").or_else(|| entry.get("serverUrl")) {
        let mut server = HttpServer::new(&text(url)?, None)?;
        for (k, v) in object(entry, "headers") {
            server.headers.push((k.clone(), text(v)?));
        }
        return Ok(Spec::Http(server));
    }
    let command = entry
        .get("command")
        .ok_or_else(|| bad("no command or url".into()))?;
    let args = match entry.get("args") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(text).collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("args is not an array".into())),
    };
    let env_vars = object(entry, "env")
        .map(|(k, v)| Ok((k.clone(), text(v)?)))
        .collect::<Result<_, DiscoveryError>>()?;
    Ok(Spec::Stdio(StdioServer {
        program: text(command)?,
        args,
        env: env_vars,
        cwd: entry.get("cwd").map(text).transpose()?.map(PathBuf::from),
    }))
}

fn object<'a>(
    entry: &'a Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    entry
        .get(key)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// Replaces `${env:NAME}` and `${NAME}`; refuses `${input:…}` and unknown variables.
fn expand(s: &str, env: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
        let reference = &after[..end];
        if reference.starts_with("input:") {
            return Err(format!(
                "${{{reference}}} is a VS Code input prompt, which only VS Code can answer"
            ));
        }
        let name = reference.strip_prefix("env:").unwrap_or(reference);
        let value = env
            .get(name)
            .ok_or_else(|| format!("the variable {name} is not set"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_client_shape_gives_its_servers() {
        let env = HashMap::from([("TOKEN".to_owned(), "s3cret".to_owned())]);
        let claude = json!({"mcpServers": {
            "db": {"command": "npx", "args": ["-y", "pkg", "--dsn", "${env:TOKEN}"], "env": {"A": "${TOKEN}"}},
            "web": {"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}},
            "off": {"command": "x", "disabled": true},
        }});
        let got = servers(&claude, &env).unwrap();
        assert_eq!(got.len(), 2);
        let Ok(Spec::Stdio(db)) = &got[0].1 else {
            panic!("{got:?}")
        };
        assert_eq!(db.args[3], "s3cret");
        assert_eq!(db.env, [("A".to_owned(), "s3cret".to_owned())]);
        let Ok(Spec::Http(web)) = &got[1].1 else {
            panic!("{got:?}")
        };
        assert_eq!(web.headers[0].1, "Bearer s3cret");

        let vscode = json!({"servers": {"pg": {"type": "stdio", "command": "uvx", "args": ["x"]}}});
        assert_eq!(servers(&vscode, &env).unwrap().len(), 1);
        let settings =
            json!({"mcp": {"servers": {"pg": {"type": "http", "url": "https://h/mcp"}}}});
        assert!(matches!(
            servers(&settings, &env).unwrap()[0].1,
            Ok(Spec::Http(_))
        ));
    }

    #[test]
    fn one_broken_entry_does_not_hide_the_others() {
        let doc = json!({"mcpServers": {
            "a": {"command": "x", "args": ["${input:pw}"]},
            "b": {"command": "x", "args": ["${MISSING}"]},
            "c": {"type": "sse", "url": "http://h/sse"},
            "d": {"args": []},
            "e": {"command": "ok"},
        }});
        let got = servers(&doc, &HashMap::new()).unwrap();
        let codes: Vec<_> = got
            .iter()
            .map(|(_, r)| r.as_ref().err().map(|e| e.code))
            .collect();
        assert_eq!(
            codes,
            [
                Some(ErrorCode::Config),
                Some(ErrorCode::Config),
                Some(ErrorCode::Config),
                Some(ErrorCode::Config),
                None
            ]
        );
        assert_eq!(
            servers(&json!({}), &HashMap::new()).unwrap_err().code,
            ErrorCode::Config
        );
        assert_eq!(
            servers(&json!({"mcpServers": {}}), &HashMap::new())
                .unwrap_err()
                .code,
            ErrorCode::Config
        );
    }
}
