//! `airlock mcp config CLIENT --write` against real files in temporary folders: other servers
//! and keys survive, a backup is kept, a same-name entry needs `--force`, a malformed file is
//! refused unchanged, a missing folder is created, and each client's standard path is used.

mod common;

use std::path::Path;

use common::airlock;
use serde_json::{Value, json};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("valid JSON")
}

fn backups(dir: &Path, file: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with(&format!("{file}.airlock-backup-"))
            })
        })
        .collect();
    v.sort();
    v
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".airlock-tmp-"))
        .collect()
}

#[test]
fn write_merges_into_an_existing_file_and_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claude_desktop_config.json");
    let original = r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_TOKEN": "ghp_x"}}
  }
}
"#;
    std::fs::write(&file, original).unwrap();
    let path = file.to_str().unwrap();
    let r = airlock(
        dir.path(),
        &[
            "mcp",
            "config",
            "claude-desktop",
            "--write",
            "--path",
            path,
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("json report");
    assert_eq!(report["outcome"], "added");
    assert_eq!(report["server"], "airlock");
    assert_eq!(report["servers_key"], "mcpServers");
    let v = read_json(&file);
    assert_eq!(v["globalShortcut"], "Ctrl+Space");
    assert_eq!(v["mcpServers"]["github"]["env"]["GITHUB_TOKEN"], "ghp_x");
    let entry = &v["mcpServers"]["airlock"];
    assert!(Path::new(entry["command"].as_str().unwrap()).is_absolute());
    assert_eq!(entry["args"][0], "mcp");
    assert_eq!(entry["args"][1], "serve");
    let b = backups(dir.path(), "claude_desktop_config.json");
    assert_eq!(b.len(), 1);
    assert_eq!(report["backup"], b[0].to_str().unwrap());
    assert_eq!(std::fs::read_to_string(&b[0]).unwrap(), original);
    assert!(leftovers(dir.path()).is_empty());

    // Running again changes nothing and keeps no new backup.
    let r = airlock(
        dir.path(),
        &["mcp", "config", "claude-desktop", "--write", "--path", path],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Already configured"), "{}", r.stdout);
    assert_eq!(backups(dir.path(), "claude_desktop_config.json").len(), 1);
}

#[test]
fn a_different_entry_of_the_same_name_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mcp.json");
    let original = json!({"mcpServers": {"airlock": {"command": "/old/airlock", "args": []}, "other": {"command": "x"}}});
    let text = serde_json::to_string_pretty(&original).unwrap();
    std::fs::write(&file, &text).unwrap();
    let path = file.to_str().unwrap();
    let r = airlock(
        dir.path(),
        &["mcp", "config", "cursor", "--write", "--path", path],
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("already has a different server named `airlock`")
            && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "unchanged");
    assert!(backups(dir.path(), "mcp.json").is_empty());

    // Another name adds beside it.
    let r = airlock(
        dir.path(),
        &[
            "mcp",
            "config",
            "cursor",
            "--write",
            "--path",
            path,
            "--name",
            "airlock-billing",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = read_json(&file);
    assert_eq!(v["mcpServers"]["airlock"]["command"], "/old/airlock");
    assert!(v["mcpServers"]["airlock-billing"]["command"].is_string());

    let r = airlock(
        dir.path(),
        &[
            "mcp", "config", "cursor", "--write", "--path", path, "--force", "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["outcome"], "replaced");
    let v = read_json(&file);
    assert_ne!(v["mcpServers"]["airlock"]["command"], "/old/airlock");
    assert_eq!(v["mcpServers"]["other"]["command"], "x");
    assert!(v["mcpServers"]["airlock-billing"].is_object());
    assert_eq!(backups(dir.path(), "mcp.json").len(), 2);
}

#[test]
fn a_malformed_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, expect) in [
        (
            "trailing.json",
            "{\"mcpServers\": {},}\n",
            "is not valid JSON (line 1",
        ),
        (
            "comments.json",
            "// mine\n{\"servers\": {}}\n",
            "is not valid JSON",
        ),
        ("array.json", "[1, 2]", "not an object"),
        ("servers.json", "{\"servers\": [\"x\"]}", "`servers` in"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let r = airlock(
            dir.path(),
            &[
                "mcp",
                "config",
                "vscode",
                "--write",
                "--path",
                file.to_str().unwrap(),
            ],
            &[],
        );
        assert_ne!(r.code, 0, "{name}");
        assert!(r.stderr.contains(expect), "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("nothing was changed"),
            "{name}: {}",
            r.stderr
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "{name}");
        assert!(backups(dir.path(), name).is_empty(), "{name}");
    }
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn standard_paths_and_missing_folders() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    let env = [("HOME", h), ("XDG_CONFIG_HOME", "")];
    for (client, rel, key, in_project) in [
        ("cursor", ".cursor/mcp.json", "mcpServers", false),
        (
            "windsurf",
            ".codeium/windsurf/mcp_config.json",
            "mcpServers",
            false,
        ),
        ("claude-code", ".mcp.json", "mcpServers", true),
        ("vscode", ".vscode/mcp.json", "servers", true),
    ] {
        let r = airlock(
            project.path(),
            &["mcp", "config", client, "--write", "--json"],
            &env,
        );
        assert_eq!(r.code, 0, "{client}: {}", r.stderr);
        let base = if in_project {
            project.path()
        } else {
            home.path()
        };
        let file = base.join(rel);
        let report: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(report["outcome"], "created", "{client}");
        assert_eq!(report["backup"], Value::Null, "{client}");
        assert_eq!(
            std::fs::canonicalize(report["path"].as_str().unwrap()).unwrap(),
            std::fs::canonicalize(&file).unwrap(),
            "{client}"
        );
        let v = read_json(&file);
        assert!(v[key]["airlock"]["command"].is_string(), "{client}: {v}");
    }
    if cfg!(target_os = "linux") {
        let r = airlock(
            project.path(),
            &["mcp", "config", "claude-desktop", "--write"],
            &env,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            home.path()
                .join(".config/Claude/claude_desktop_config.json")
                .is_file()
        );
    }
    // A folder that does not exist yet under --path is created.
    let deep = project.path().join("a/b/c/config.json");
    let r = airlock(
        project.path(),
        &[
            "mcp",
            "config",
            "generic",
            "--write",
            "--path",
            deep.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(read_json(&deep)["mcpServers"]["airlock"]["args"].is_array());
}

#[test]
fn clients_without_a_file_and_bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = airlock(
        dir.path(),
        &["mcp", "config", "openai-agents", "--write"],
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("configured in your code"), "{}", r.stderr);
    let r = airlock(dir.path(), &["mcp", "config", "generic", "--write"], &[]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--path"), "{}", r.stderr);
    let file = dir.path().join("x.json");
    let r = airlock(
        dir.path(),
        &[
            "mcp",
            "config",
            "cursor",
            "--write",
            "--path",
            file.to_str().unwrap(),
            "--name",
            "a b\"}",
        ],
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("invalid server name"), "{}", r.stderr);
    assert!(!file.exists());
    let r = airlock(dir.path(), &["mcp", "config", "cursor", "--force"], &[]);
    assert_ne!(r.code, 0, "--force without --write is a usage error");
    // Without --write nothing is written: the snippet for the new clients is printed.
    let r = airlock(dir.path(), &["mcp", "config", "windsurf"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["mcpServers"]["airlock"]["command"].is_string());
}

#[test]
fn launcher_uvx_and_npx_write_the_published_package_at_this_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::examples_dir()
            .join("garden-sqlite")
            .join(common::EXAMPLE_CONFIG),
        dir.path().join("airlock.json"),
    )
    .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let file = dir.path().join("mcp.json");
    for (launcher, command, prefix) in [
        ("uvx", "uvx", vec![format!("airlock-mcp@{version}")]),
        (
            "npx",
            "npx",
            vec!["-y".to_owned(), format!("airlock-mcp@{version}")],
        ),
    ] {
        let r = airlock(
            dir.path(),
            &[
                "mcp",
                "config",
                "cursor",
                "--launcher",
                launcher,
                "--write",
                "--force",
                "--path",
                file.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let entry = &read_json(&file)["mcpServers"]["airlock"];
        assert_eq!(entry["command"], command);
        let args: Vec<String> = serde_json::from_value(entry["args"].clone()).unwrap();
        assert_eq!(args[..prefix.len()], prefix[..]);
        // Airlock's own arguments follow, with absolute paths: the client starts it elsewhere.
        assert_eq!(
            args[prefix.len()..prefix.len() + 3],
            ["mcp", "serve", "--config"]
        );
        let config = Path::new(&args[prefix.len() + 3]);
        assert!(
            config.is_absolute() && config.ends_with("airlock.json"),
            "{args:?}"
        );
    }
    // The printed snippet (no --write) and the HTTP form of openai-agents follow it too.
    let r = airlock(
        dir.path(),
        &["mcp", "config", "vscode", "--launcher", "npx"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["servers"]["airlock"]["command"], "npx");
    let r = airlock(
        dir.path(),
        &[
            "mcp",
            "client-config",
            "--client",
            "openai-agents",
            "--launcher",
            "uvx",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["start_server"]["command"], "uvx");
    assert_eq!(v["start_server"]["args"][1], "mcp");
    assert_eq!(v["start_server"]["args"][2], "serve-streamable-http");
}

#[test]
fn the_default_launcher_is_this_binary_and_an_unknown_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = airlock(dir.path(), &["mcp", "config", "generic"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let command = Path::new(v["command"].as_str().unwrap());
    assert!(command.is_absolute() && command.exists(), "{command:?}");
    assert_eq!(v["args"][0], "mcp");
    for bad in ["pip", "", "uvx; rm -rf /", "UVX"] {
        let r = airlock(
            dir.path(),
            &["mcp", "config", "cursor", "--launcher", bad],
            &[],
        );
        assert_eq!(r.code, 2, "--launcher {bad:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("binary") && r.stderr.contains("uvx") && r.stderr.contains("npx"),
            "the error lists the choices: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
    }
}
