//! `mcp config CLIENT --write`: puts Airlock's server entry into the client's own config file.
//!
//! The file is read whole and must be a JSON object; the entry goes under the client's servers
//! key (`mcpServers`, or `servers` for VS Code) and nothing else changes: other servers, other
//! keys and their order stay as they were. An entry of the same name is replaced only when
//! asked (`force`). Before a changed file is written, a copy is kept beside it
//! (`<file>.airlock-backup-<stamp>`); the new text goes to a temporary file in the same folder
//! that is then renamed over the old one, so a reader sees the old file or the new one, never
//! half of one. A file that is not valid JSON is refused and left untouched.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use airlock_config::kind_of;
use serde_json::{Map, Value};

use super::Client;

/// The folders a client's standard config path is built from (the caller reads them from the
/// environment, so this module stays pure and testable).
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `std::env::consts::OS`: `macos`, `windows`, anything else is treated as Linux.
    pub os: String,
    pub home: Option<PathBuf>,
    /// Windows `%APPDATA%`.
    pub appdata: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` (Linux).
    pub xdg_config_home: Option<PathBuf>,
    /// The project folder, for clients configured per project.
    pub cwd: PathBuf,
}

/// Why a client's config file was not changed. The file is as it was in every case.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{client} has no config file Airlock can write to: {why}")]
    NoStandardPath { client: &'static str, why: String },
    #[error("cannot find the {client} config folder: {missing} is not set")]
    NoHome {
        client: &'static str,
        missing: &'static str,
    },
    #[error(
        "{path} is not valid JSON (line {line}, column {column}: {reason}); nothing was changed"
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{path} holds JSON {found}, not an object; nothing was changed")]
    NotAnObject { path: PathBuf, found: &'static str },
    #[error("`{key}` in {path} is JSON {found}, not an object of servers; nothing was changed")]
    ServersNotAnObject {
        path: PathBuf,
        key: &'static str,
        found: &'static str,
    },
    #[error("{path} already has a different server named `{name}`; nothing was changed")]
    Exists { path: PathBuf, name: String },
    #[error("invalid server name `{0}`: use 1 to 64 letters, digits, `-` or `_`")]
    BadName(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl InstallError {
    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            InstallError::NoStandardPath { .. } | InstallError::NoHome { .. } => {
                "pass --path FILE, or print the snippet (without --write) and paste it"
            }
            InstallError::Malformed { .. } | InstallError::NotAnObject { .. } => {
                "fix the file (comments and trailing commas are not JSON), or move it aside and run again"
            }
            InstallError::ServersNotAnObject { .. } => {
                "make that key an object of named servers, or move the file aside and run again"
            }
            InstallError::Exists { .. } => {
                "pass --force to replace it (a backup is kept), or --name to add Airlock under another name"
            }
            InstallError::BadName(_) => "for example --name airlock-billing",
            InstallError::Io { .. } => "check the path and its permissions",
        }
    }
}

/// What `--write` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The file did not exist and was created.
    Created,
    /// The entry was added to an existing file.
    Added,
    /// An entry of the same name was replaced (`force`).
    Replaced,
    /// The same entry was already there; the file was not rewritten.
    Unchanged,
}

/// The result of [`install`], as `--json` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstallReport {
    pub client: &'static str,
    pub path: PathBuf,
    pub servers_key: &'static str,
    pub server: String,
    pub outcome: Outcome,
    /// The copy of the previous file, when one existed and changed.
    pub backup: Option<PathBuf>,
}

impl Client {
    /// The key of the servers object in the client's config file.
    pub fn servers_key(self) -> &'static str {
        match self {
            Client::Vscode => "servers",
            _ => "mcpServers",
        }
    }

    /// The client's standard config file: user-wide for Claude Desktop, Cursor and Windsurf;
    /// the project's (`.mcp.json`, `.vscode/mcp.json` under `cwd`) for Claude Code and VS Code.
    pub fn config_path(self, dirs: &Dirs) -> Result<PathBuf, InstallError> {
        let client = self.as_str();
        let home = || {
            dirs.home.clone().ok_or(InstallError::NoHome {
                client,
                missing: if dirs.os == "windows" {
                    airlock_config::env_vars::USERPROFILE
                } else {
                    airlock_config::env_vars::HOME
                },
            })
        };
        Ok(match self {
            Client::ClaudeDesktop => match dirs.os.as_str() {
                "macos" => home()?.join("Library/Application Support/Claude"),
                "windows" => dirs
                    .appdata
                    .clone()
                    .ok_or(InstallError::NoHome {
                        client,
                        missing: airlock_config::env_vars::APPDATA,
                    })?
                    .join("Claude"),
                _ => match &dirs.xdg_config_home {
                    Some(x) if x.is_absolute() => x.clone(),
                    _ => home()?.join(".config"),
                }
                .join("Claude"),
            }
            .join("claude_desktop_config.json"),
            Client::ClaudeCode => dirs.cwd.join(".mcp.json"),
            Client::Cursor => home()?.join(".cursor").join("mcp.json"),
            Client::Vscode => dirs.cwd.join(".vscode").join("mcp.json"),
            Client::Windsurf => home()?
                .join(".codeium")
                .join("windsurf")
                .join("mcp_config.json"),
            Client::OpenaiAgents => {
                return Err(InstallError::NoStandardPath {
                    client,
                    why: "the OpenAI Agents SDK is configured in your code, not a file".into(),
                });
            }
            Client::Generic => {
                return Err(InstallError::NoStandardPath {
                    client,
                    why: "a generic client has no standard location".into(),
                });
            }
        })
    }
}

/// Checks a server name (it becomes a key other tools read).
pub fn check_name(name: &str) -> Result<(), InstallError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(InstallError::BadName(name.to_owned()))
    }
}

/// The new text of the file: `existing` (`None`: no file yet) with `entry` under
/// `key.name`. Pure; every refusal leaves the caller with nothing to write.
pub fn merge(
    path: &Path,
    existing: Option<&str>,
    key: &'static str,
    name: &str,
    entry: &Value,
    force: bool,
) -> Result<(String, Outcome), InstallError> {
    let mut root = match existing {
        // An empty file is treated as an empty object (some clients create one).
        None => Map::new(),
        Some(text) if text.trim().is_empty() => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(other) => {
                return Err(InstallError::NotAnObject {
                    path: path.to_owned(),
                    found: kind_of(&other),
                });
            }
            Err(e) => {
                return Err(InstallError::Malformed {
                    path: path.to_owned(),
                    line: e.line(),
                    column: e.column(),
                    reason: e
                        .to_string()
                        .split(" at line")
                        .next()
                        .unwrap_or("")
                        .to_owned(),
                });
            }
        },
    };
    let servers = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        return Err(InstallError::ServersNotAnObject {
            path: path.to_owned(),
            key,
            found: kind_of(servers),
        });
    };
    let outcome = match servers.get(name) {
        Some(old) if old == entry => return Ok((String::new(), Outcome::Unchanged)),
        Some(_) if !force => {
            return Err(InstallError::Exists {
                path: path.to_owned(),
                name: name.to_owned(),
            });
        }
        Some(_) => Outcome::Replaced,
        None if existing.is_none() => Outcome::Created,
        None => Outcome::Added,
    };
    servers.insert(name.to_owned(), entry.clone());
    let mut text = serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default();
    text.push('\n');
    Ok((text, outcome))
}

/// Merges `entry` into the config file at `path` (see the module docs). `stamp` names the
/// backup (e.g. `20261206T170553Z`).
pub fn install(
    client: Client,
    path: &Path,
    name: &str,
    entry: &Value,
    force: bool,
    stamp: &str,
) -> Result<InstallReport, InstallError> {
    check_name(name)?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| InstallError::Io {
            action,
            path,
            source,
        }
    };
    // Write through a symlink (a dotfile manager's link) to the file it points at.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(io("cannot resolve the link", path))?
        }
        _ => path.to_owned(),
    };
    let existing = match std::fs::read_to_string(&target) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("cannot read", &target)(e)),
    };
    let key = client.servers_key();
    let (text, outcome) = merge(&target, existing.as_deref(), key, name, entry, force)?;
    let mut report = InstallReport {
        client: client.as_str(),
        path: target.clone(),
        servers_key: key,
        server: name.to_owned(),
        outcome,
        backup: None,
    };
    if report.outcome == Outcome::Unchanged {
        return Ok(report);
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io("cannot create the folder", &dir))?;
    if existing.is_some() {
        let backup = backup_path(&target, stamp);
        std::fs::copy(&target, &backup).map_err(io("cannot back up to", &backup))?;
        report.backup = Some(backup);
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".airlock-tmp-")
        .tempfile_in(&dir)
        .map_err(io("cannot create a temporary file in", &dir))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io("cannot write", tmp.path()))?;
    if let Ok(meta) = std::fs::metadata(&target) {
        // Keep the file's permissions (a config may hold tokens of other servers).
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(&target)
        .map_err(|e| io("cannot replace", &target)(e.error))?;
    Ok(report)
}

/// `<file>.airlock-backup-<stamp>`, with `-2`, `-3`… if that name is taken.
fn backup_path(target: &Path, stamp: &str) -> PathBuf {
    let file = target
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let base = target.with_file_name(format!("{file}.airlock-backup-{stamp}"));
    let mut candidate = base.clone();
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dirs(os: &str) -> Dirs {
        Dirs {
            os: os.into(),
            home: Some("/home/dana".into()),
            appdata: Some("C:/Users/dana/AppData/Roaming".into()),
            xdg_config_home: None,
            cwd: "/srv/app".into(),
        }
    }

    #[test]
    fn standard_paths_per_os() {
        let p = |c: Client, os: &str| c.config_path(&dirs(os)).unwrap();
        assert_eq!(
            p(Client::ClaudeDesktop, "macos"),
            PathBuf::from(
                "/home/dana/Library/Application Support/Claude/claude_desktop_config.json"
            )
        );
        assert_eq!(
            p(Client::ClaudeDesktop, "windows"),
            PathBuf::from("C:/Users/dana/AppData/Roaming/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            p(Client::ClaudeDesktop, "linux"),
            PathBuf::from("/home/dana/.config/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            p(Client::ClaudeCode, "linux"),
            PathBuf::from("/srv/app/.mcp.json")
        );
        assert_eq!(
            p(Client::Cursor, "linux"),
            PathBuf::from("/home/dana/.cursor/mcp.json")
        );
        assert_eq!(
            p(Client::Vscode, "macos"),
            PathBuf::from("/srv/app/.vscode/mcp.json")
        );
        assert_eq!(
            p(Client::Windsurf, "linux"),
            PathBuf::from("/home/dana/.codeium/windsurf/mcp_config.json")
        );
        let mut x = dirs("linux");
        x.xdg_config_home = Some("/xdg".into());
        assert_eq!(
            Client::ClaudeDesktop.config_path(&x).unwrap(),
            PathBuf::from("/xdg/Claude/claude_desktop_config.json")
        );
        x.home = None;
        let err = Client::Cursor.config_path(&x).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot find the cursor config folder: HOME is not set"
        );
        for c in [Client::OpenaiAgents, Client::Generic] {
            assert!(matches!(
                c.config_path(&dirs("linux")),
                Err(InstallError::NoStandardPath { .. })
            ));
        }
    }

    #[test]
    fn merge_keeps_other_servers_keys_and_order() {
        let path = Path::new("/x.json");
        let existing =
            r#"{"theme": "dark", "mcpServers": {"github": {"command": "gh"}}, "z": [1]}"#;
        let entry = json!({"command": "/bin/airlock", "args": ["mcp", "serve"]});
        let (text, outcome) =
            merge(path, Some(existing), "mcpServers", "airlock", &entry, false).unwrap();
        assert_eq!(outcome, Outcome::Added);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["theme"], "dark");
        assert_eq!(v["z"], json!([1]));
        assert_eq!(v["mcpServers"]["github"], json!({"command": "gh"}));
        assert_eq!(v["mcpServers"]["airlock"], entry);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["theme", "mcpServers", "z"]);
        // Same entry again: nothing to write.
        let (_, again) = merge(path, Some(&text), "mcpServers", "airlock", &entry, false).unwrap();
        assert_eq!(again, Outcome::Unchanged);
    }

    #[test]
    fn merge_refusals_name_their_cause() {
        let path = Path::new("/x.json");
        let entry = json!({"command": "a"});
        let err = |text: &str, force| {
            merge(path, Some(text), "mcpServers", "airlock", &entry, force)
                .unwrap_err()
                .to_string()
        };
        assert!(err("{\"a\": 1,}", false).contains("is not valid JSON (line 1"));
        assert!(err("// c\n{}", false).contains("not valid JSON"));
        assert!(err("[1]", false).contains("holds JSON an array, not an object"));
        assert!(
            err(r#"{"mcpServers": "x"}"#, false)
                .contains("`mcpServers` in /x.json is JSON a string")
        );
        let taken = r#"{"mcpServers": {"airlock": {"command": "old"}}}"#;
        assert!(err(taken, false).contains("already has a different server named `airlock`"));
        let (_, o) = merge(path, Some(taken), "mcpServers", "airlock", &entry, true).unwrap();
        assert_eq!(o, Outcome::Replaced);
        assert!(check_name("bad name").is_err() && check_name("").is_err());
        assert!(check_name(&"a".repeat(65)).is_err() && check_name("airlock_2-b").is_ok());
    }
}
