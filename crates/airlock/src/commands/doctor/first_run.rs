//! `--first-run`: what a new user's machine needs beyond the config: a folder the ledger can
//! be written in, and MCP client configs that hold no secret (a client config is often
//! synced, shared or pasted into a ticket; URLs and tokens belong in the environment).

use std::path::{Path, PathBuf};

use airlock_config::redact::Redactor;

use super::check::{Check, Code};
use crate::settings::Settings;

pub fn checks(settings: &Settings, store: &Path, client_configs: &[PathBuf]) -> Vec<Check> {
    let mut out = vec![store_dir(store)];
    let files: Vec<PathBuf> = if client_configs.is_empty() {
        let dir = settings.cwd.join(".airlock/mcp");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        found.sort();
        found
    } else {
        client_configs
            .iter()
            .map(|p| crate::settings::absolute(&settings.cwd, p))
            .collect()
    };
    if files.is_empty() {
        out.push(Check::warn(
            Code::ClientConfigNotFound,
            "client-config",
            "no MCP client config to check (.airlock/mcp/*.json, or --client-config PATH)",
            "print one with `airlock mcp config <client>` and pass its path with --client-config",
        ));
    }
    let redactor = Redactor::new(&[], &settings.env);
    for f in files {
        let name = format!("client-config:{}", f.display());
        out.push(match std::fs::read_to_string(&f) {
            Err(e) => Check::warn(
                Code::ClientConfigNotFound,
                name,
                format!("cannot read {}: {e}", f.display()),
                "check the path given to --client-config",
            ),
            Ok(text) if redactor.text(&text) != text => Check::fail(
                Code::ClientConfigHasSecret,
                name,
                format!(
                    "{} holds a database URL, password or token in clear",
                    f.display()
                ),
                "keep only variable names in the client config and set the values in the environment airlock runs in",
            ),
            Ok(_) => Check::pass(
                Code::ClientConfigClean,
                name,
                format!("{} holds no URL, password or token", f.display()),
            ),
        });
    }
    out
}

/// The ledger's folder exists and is writable, or can be created.
fn store_dir(store: &Path) -> Check {
    let dir = store.parent().unwrap_or(Path::new("."));
    let existing = dir
        .ancestors()
        .find(|d| d.exists())
        .unwrap_or(Path::new("/"));
    // A probe file, created and removed at once: the only way to know without being root.
    let probe = existing.join(format!(".airlock-doctor-{}", std::process::id()));
    let writable = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .is_ok();
    if writable {
        let _ = std::fs::remove_file(&probe);
    }
    if writable {
        Check::pass(
            Code::StoreDirWritable,
            "store-dir",
            format!("the ledger can be written in {}", dir.display()),
        )
    } else {
        Check::fail(
            Code::StoreDirNotWritable,
            "store-dir",
            format!("{} is not writable by this user", existing.display()),
            "choose another ledger path with --store or storage.sqlite_path",
        )
    }
}
