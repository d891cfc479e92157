//! Architecture checks: the model-facing MCP server cannot approve or apply.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[test]
fn airlock_mcp_does_not_depend_on_writeback() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or(""),
                p["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let nodes: HashMap<&str, Vec<&str>> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve graph")
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .map(|d| {
                    d.iter()
                        // Normal and build dependencies only; dev-dependencies do not ship.
                        .filter(|dep| {
                            dep["dep_kinds"].as_array().is_some_and(|kinds| {
                                kinds.iter().any(|k| k["kind"].as_str() != Some("dev"))
                            })
                        })
                        .filter_map(|dep| dep["pkg"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            (n["id"].as_str().unwrap_or(""), deps)
        })
        .collect();
    let root = names
        .iter()
        .find(|(_, n)| **n == "airlock-mcp")
        .map(|(id, _)| *id)
        .expect("airlock-mcp in metadata");
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        let name = names.get(id).copied().unwrap_or("");
        assert_ne!(
            name, "airlock-writeback",
            "airlock-mcp must not depend on airlock-writeback (reached {id})"
        );
        queue.extend(nodes.get(id).into_iter().flatten());
    }
    assert!(seen.len() > 10, "walked the dependency graph");
}

#[test]
fn airlock_mcp_source_has_no_approve_or_apply_path() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        "approve(",
        "apply(",
        "begin_apply(",
        "record_receipt(",
        "record_decision(",
        "decide(",
        "airlock_writeback",
    ];
    let mut stack = vec![src];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).expect("read file");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for f in forbidden {
                    assert!(
                        !code.contains(f),
                        "{}:{}: `{f}` has no place in the MCP server",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
    }
    assert!(files > 5);
}
