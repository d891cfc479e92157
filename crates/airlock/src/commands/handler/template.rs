//! `airlock handler template NAME [--output PATH] [--force] [--stdout]`, `--list`: write a
//! starting handler that accepts the signed requests Airlock sends. Sources live in
//! `templates/` and are embedded here.

use std::path::{Path, PathBuf};

use airlock_cli::HandlerTemplateArgs;

use crate::output::{self, ExitStatus, hinted};
use crate::settings::{Settings, absolute};

/// Printed after writing a template and with `--list`.
pub const WARNING: &str = "IMPORTANT: your app handler owns the final business write.
Keep, inside ONE transaction: the idempotency check (a repeated idempotency key answers
already_applied and writes nothing), the tenant guard (find the row by primary key AND tenant),
and the version guard (the row still has the version the agent saw). Map each action to the
write you allow; never let the request choose tables or columns. Contract: docs/handlers.md.";

/// One file of a template.
struct File {
    /// Path inside the output folder (multi-file templates) or the default file name.
    name: &'static str,
    text: &'static str,
    executable: bool,
}

struct Template {
    name: &'static str,
    aliases: &'static [&'static str],
    summary: &'static str,
    /// One file: written to `--output` (default: its name). Several: `--output` is a folder.
    files: &'static [File],
    /// Default output for multi-file templates.
    default_dir: &'static str,
}

const TEMPLATES: &[Template] = &[
    Template {
        name: "node-fastify",
        aliases: &["node", "fastify"],
        summary: "Node.js + Fastify (npm install fastify); POST /airlock/writeback on 127.0.0.1:$PORT",
        files: &[File {
            name: "airlock-writeback-handler.mjs",
            text: include_str!(
                "../../../../../templates/node-fastify/airlock-writeback-handler.mjs"
            ),
            executable: true,
        }],
        default_dir: "",
    },
    Template {
        name: "python-fastapi",
        aliases: &["python", "fastapi"],
        summary: "Python + FastAPI (pip install fastapi uvicorn); POST /airlock/writeback on 127.0.0.1:$PORT",
        files: &[File {
            name: "airlock_writeback_handler.py",
            text: include_str!(
                "../../../../../templates/python-fastapi/airlock_writeback_handler.py"
            ),
            executable: false,
        }],
        default_dir: "",
    },
    Template {
        name: "command",
        aliases: &["script", "local-command"],
        summary: "command_handler program, Python 3 standard library: request on stdin, receipt on stdout",
        files: &[File {
            name: "airlock_command_handler.py",
            text: include_str!("../../../../../templates/command/airlock_command_handler.py"),
            executable: true,
        }],
        default_dir: "",
    },
    Template {
        name: "rust-axum",
        aliases: &["rust", "axum"],
        summary: "Rust + axum with the airlock-handler crate (a Cargo project folder)",
        files: &[
            File {
                name: "Cargo.toml",
                text: include_str!("../../../../../templates/rust-axum/Cargo.toml"),
                executable: false,
            },
            File {
                name: "src/main.rs",
                text: include_str!("../../../../../templates/rust-axum/main.rs"),
                executable: false,
            },
        ],
        default_dir: "airlock-writeback-handler",
    },
];

fn find(name: &str) -> Option<&'static Template> {
    let n = name.trim().to_ascii_lowercase();
    TEMPLATES
        .iter()
        .find(|t| t.name == n || t.aliases.contains(&n.as_str()))
}

pub fn run(settings: &Settings, args: &HandlerTemplateArgs) -> anyhow::Result<ExitStatus> {
    if args.list {
        for t in TEMPLATES {
            output::line(&format!(
                "{:<15} {} (aliases: {})",
                t.name,
                t.summary,
                t.aliases.join(", ")
            ));
        }
        output::line("");
        output::line(WARNING);
        return Ok(ExitStatus::Success);
    }
    let name = args.name.as_deref().unwrap_or_default();
    let t = find(name).ok_or_else(|| {
        hinted(
            format!("unknown handler template: {name}"),
            "list them with `airlock handler template --list`",
        )
    })?;
    if args.stdout {
        for f in t.files {
            if t.files.len() > 1 {
                output::line(&format!("// ===== {} =====", f.name));
            }
            output::line(f.text.trim_end());
        }
        return Ok(ExitStatus::Success);
    }
    let writes: Vec<(PathBuf, &File)> = if t.files.len() == 1 {
        let path = args
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(t.files[0].name));
        vec![(absolute(&settings.cwd, &path), &t.files[0])]
    } else {
        let dir = args
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(t.default_dir));
        let dir = absolute(&settings.cwd, &dir);
        t.files.iter().map(|f| (dir.join(f.name), f)).collect()
    };
    let existing = writes
        .iter()
        .find(|(p, _)| p.exists())
        .filter(|_| !args.force);
    if let Some((existing, _)) = existing {
        return Err(hinted(
            format!("{} already exists", existing.display()),
            "pass --force to overwrite it",
        ));
    }
    for (path, f) in &writes {
        write(path, f)?;
        output::line(&format!("created {}", path.display()));
    }
    output::line("");
    output::line(WARNING);
    Ok(ExitStatus::Success)
}

fn write(path: &Path, f: &File) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)?;
    }
    fs_err::write(path, f.text)?;
    if f.executable {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        for (n, want) in [
            ("node", "node-fastify"),
            (" FastAPI ", "python-fastapi"),
            ("script", "command"),
            ("axum", "rust-axum"),
        ] {
            assert_eq!(find(n).map(|t| t.name), Some(want));
        }
        assert!(find("lambda").is_none());
    }

    #[test]
    fn every_template_keeps_the_checks_and_the_warning_line() {
        for t in TEMPLATES {
            let all: String = t.files.iter().map(|f| f.text).collect();
            for needle in [
                "IMPORTANT: your app handler owns the final business write.",
                "YOUR TRANSACTION GOES HERE",
                "ROW_NOT_FOUND_OR_WRONG_TENANT",
                "ROW_CHANGED_AFTER_PROPOSAL",
                "already_applied",
            ] {
                assert!(all.contains(needle), "{}: {needle}", t.name);
            }
        }
    }
}
