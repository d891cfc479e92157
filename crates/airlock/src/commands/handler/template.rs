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

pub struct Template {
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
    let t = resolve(name)?;
    if args.stdout {
        for f in t.files {
            if t.files.len() > 1 {
                output::line(&format!("// ===== {} =====", f.name));
            }
            output::line(f.text.trim_end());
        }
        return Ok(ExitStatus::Success);
    }
    let writes = plan(&settings.cwd, t, args.output.as_deref());
    let existing = writes
        .iter()
        .find(|p| p.path.exists())
        .filter(|_| !args.force);
    if let Some(existing) = existing {
        return Err(hinted(
            format!("{} already exists", existing.path.display()),
            "pass --force to overwrite it",
        ));
    }
    for p in &writes {
        write(p)?;
        output::line(&format!("created {}", p.path.display()));
    }
    output::line("");
    output::line(WARNING);
    Ok(ExitStatus::Success)
}

/// One file a template writes: where, what, and whether it is a program.
pub struct Planned {
    pub path: PathBuf,
    pub text: &'static str,
    pub executable: bool,
}

/// Resolves a template name or alias, with the error `handler template` gives for an unknown one.
pub fn resolve(name: &str) -> anyhow::Result<&'static Template> {
    find(name).ok_or_else(|| {
        hinted(
            format!("unknown handler template: {name}"),
            "list them with `airlock handler template --list`",
        )
    })
}

/// The files `t` writes under `base`: to `output` (default: its file name) for a one-file
/// template, into the folder `output` (default: its own folder) for several.
pub fn plan(base: &Path, t: &Template, output: Option<&Path>) -> Vec<Planned> {
    let planned = |path: PathBuf, f: &File| Planned {
        path,
        text: f.text,
        executable: f.executable,
    };
    if let [only] = t.files {
        let path = output.map_or_else(|| PathBuf::from(only.name), Path::to_path_buf);
        vec![planned(absolute(base, &path), only)]
    } else {
        let dir = output.map_or_else(|| PathBuf::from(t.default_dir), Path::to_path_buf);
        let dir = absolute(base, &dir);
        t.files
            .iter()
            .map(|f| planned(dir.join(f.name), f))
            .collect()
    }
}

/// Writes one planned file (its folder too), executable when it is a program.
pub fn write(p: &Planned) -> anyhow::Result<()> {
    if let Some(dir) = p.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)?;
    }
    fs_err::write(&p.path, p.text)?;
    if p.executable {
        mark_executable(&p.path)?;
    }
    Ok(())
}

/// `chmod 0755`.
pub fn mark_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
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
