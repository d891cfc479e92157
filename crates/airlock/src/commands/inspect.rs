//! `airlock inspect [--url URL | --url-env VAR | --source NAME] [--schema S] [--json]`:
//! describes a database's tables from its catalog for writing a config. Metadata only (see
//! `airlock_db::inspect`); the URL is never printed with its credentials.

use airlock_cli::InspectArgs;
use airlock_db::inspect::{Candidate, GuardCandidate, SchemaReport, TableReport};
use airlock_db::{DbError, DbErrorKind, EngineKind, SecretUrl, SourceSettings};

use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

/// Statement timeout for a URL given on the command line (a config source keeps its own).
const URL_STATEMENT_TIMEOUT_MS: u64 = 30_000;

pub async fn run(settings: &Settings, args: &InspectArgs) -> anyhow::Result<ExitStatus> {
    let source = resolve(settings, args)?;
    let report = inspect_source(&source, args.schema.as_deref()).await?;
    if args.json {
        output::json(&report)?;
    } else {
        print_human(&report);
    }
    Ok(ExitStatus::Success)
}

/// Inspects one connection; failures are coded and name the target without credentials.
pub(crate) async fn inspect_source(
    source: &SourceSettings,
    schema: Option<&str>,
) -> anyhow::Result<SchemaReport> {
    let target = match source.engine {
        EngineKind::Sqlite => source.url.expose().to_owned(),
        _ => source.url.redacted(),
    };
    async {
        let engine = airlock_db::connect(source).await?;
        engine.inspect(schema).await
    }
    .await
    .map_err(|e| failure(&e, &target))
}

/// The connection to inspect: `--url`, `--url-env`, or a config source.
pub(crate) fn resolve(settings: &Settings, args: &InspectArgs) -> anyhow::Result<SourceSettings> {
    let from_url = |url: String| -> anyhow::Result<SourceSettings> {
        let (engine, url) = engine_of(&url)?;
        Ok(SourceSettings {
            engine,
            url: SecretUrl::new(url),
            statement_timeout_ms: Some(URL_STATEMENT_TIMEOUT_MS),
            max_connections: 1,
            pool: Default::default(),
        })
    };
    if let Some(url) = &args.url {
        return from_url(url.clone());
    }
    if let Some(var) = &args.url_env {
        return match settings.env.get(var).filter(|v| !v.trim().is_empty()) {
            Some(url) => from_url(url.clone()),
            None => Err(hinted(
                format!("[INSPECT_URL_MISSING] environment variable {var} is not set"),
                format!("export {var}=postgres://user:password@host/db (or pass --source NAME)"),
            )),
        };
    }
    let loaded = settings.load_config().map_err(|e| {
        e.context("no --url or --url-env given, so inspect reads the source from the config")
    })?;
    let name = match &args.source {
        Some(name) => name.clone(),
        None => {
            let names: Vec<&String> = loaded.config.sources.keys().collect();
            match names.as_slice() {
                [only] => (*only).clone(),
                _ => {
                    return Err(hinted(
                        format!(
                            "[INSPECT_SOURCE_AMBIGUOUS] the config has {} sources",
                            names.len()
                        ),
                        format!(
                            "pass --source NAME (one of: {})",
                            names
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
        }
    };
    let known = || {
        let names: Vec<&str> = loaded.config.sources.keys().map(String::as_str).collect();
        format!("configured sources: {}", names.join(", "))
    };
    let Some(source) = loaded.config.sources.get(&name) else {
        return Err(hinted(
            format!("[SOURCE_NOT_FOUND] source `{name}` is not in the config"),
            known(),
        ));
    };
    airlock_db::resolve_source(
        &name,
        source,
        airlock_db::Access::Read,
        &settings.env,
        &loaded.dir(&settings.cwd),
        1,
    )
    .map_err(|e| hinted(format!("[SOURCE_CREDENTIAL_MISSING] {e}"), known()))
}

/// The engine a URL's scheme names; `mariadb://` is read as `mysql://`. Anything without a
/// network scheme is a SQLite file.
fn engine_of(url: &str) -> anyhow::Result<(EngineKind, String)> {
    let scheme = url
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        "postgres" | "postgresql" => Ok((EngineKind::Postgres, url.to_owned())),
        "mysql" => Ok((EngineKind::Mysql, url.to_owned())),
        "mariadb" => Ok((
            EngineKind::Mysql,
            format!("mysql{}", &url["mariadb".len()..]),
        )),
        "" | "sqlite" | "file" => Ok((EngineKind::Sqlite, url.to_owned())),
        other => Err(hinted(
            format!("[INSPECT_URL_UNSUPPORTED] unsupported URL scheme `{other}://`"),
            "use postgres://, postgresql://, mysql://, mariadb://, or a SQLite file path",
        )),
    }
}

/// A database failure as a coded error naming the target without credentials.
fn failure(e: &DbError, target: &str) -> anyhow::Error {
    let (code, hint) = match e.kind {
        DbErrorKind::Connection => (
            "DB_UNREACHABLE",
            "check the host, port and database name, and that the server accepts connections",
        ),
        DbErrorKind::Permission => (
            "DB_PERMISSION_DENIED",
            "check the user name and password; inspect needs only the right to connect",
        ),
        DbErrorKind::NotFound => (
            "DB_NOT_FOUND",
            "check the database and --schema names (without --schema, inspect picks the default)",
        ),
        DbErrorKind::Timeout => (
            "DB_TIMEOUT",
            "the catalog queries exceeded the statement timeout; narrow with --schema",
        ),
        _ => (
            "DB_ERROR",
            "run with AIRLOCK_LOG=debug for the driver's messages",
        ),
    };
    hinted(
        format!("[{code}] could not inspect {target}: {}", e.detail),
        hint,
    )
}

/// Text for people: control characters in names are escaped so a hostile table name cannot
/// rewrite the terminal.
fn shown(s: &str) -> String {
    s.chars()
        .flat_map(|c| -> Vec<char> {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}

fn candidate(c: &Candidate) -> String {
    format!(
        "{} ({}: {})",
        shown(&c.column),
        c.confidence.as_str(),
        c.reason
    )
}

fn guard(g: &GuardCandidate) -> String {
    let by = g
        .maintained_by
        .as_deref()
        .map(|m| format!(", kept by {}", shown(m)))
        .unwrap_or_default();
    format!(
        "{} ({} {}{by})",
        shown(&g.column),
        g.confidence.as_str(),
        g.kind.as_str()
    )
}

fn print_human(r: &SchemaReport) {
    output::line(&format!(
        "{} {} · user {} · schemas: {}",
        r.engine,
        shown(&r.server_version),
        shown(r.current_user.as_deref().unwrap_or("-")),
        list(r.schemas.iter().map(|s| shown(s)))
    ));
    output::line(&format!("{} tables and views", r.tables.len()));
    for t in &r.tables {
        output::line("");
        print_table(t);
    }
    output::line("");
    for n in &r.notes {
        output::line(&format!("note: {n}"));
    }
}

fn print_table(t: &TableReport) {
    let rows = t
        .row_estimate
        .map(|n| format!(" · ~{n} rows"))
        .unwrap_or_default();
    let unreadable = if t.readable {
        ""
    } else {
        " · NOT readable by this credential"
    };
    output::line(&format!(
        "{}.{} ({}{rows} · {} columns{unreadable})",
        shown(&t.schema),
        shown(&t.name),
        t.kind.as_str(),
        t.columns.len()
    ));
    let row = |label: &str, value: String| output::line(&format!("  {label:<10} {value}"));
    row("key", list(t.primary_key.iter().map(|c| shown(c))));
    row("tenant", list(t.candidates.tenant.iter().map(candidate)));
    row(
        "principal",
        list(t.candidates.principal.iter().map(candidate)),
    );
    row("guard", list(t.candidates.conflict_guard.iter().map(guard)));
    row(
        "sensitive",
        list(t.columns.iter().filter_map(|c| {
            c.sensitive
                .map(|k| format!("{} ({})", shown(&c.name), k.as_str()))
        })),
    );
    row("visible", list(t.visible_columns.iter().map(|c| shown(c))));
    if !t.foreign_keys.is_empty() {
        row(
            "references",
            list(t.foreign_keys.iter().map(|f| {
                format!(
                    "{} ({})",
                    shown(&f.referenced_table),
                    f.columns
                        .iter()
                        .map(|c| shown(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_from_schemes() {
        assert_eq!(
            engine_of("postgresql://u@h/db").unwrap().0,
            EngineKind::Postgres
        );
        assert_eq!(
            engine_of("mariadb://u:p@h/db").unwrap(),
            (EngineKind::Mysql, "mysql://u:p@h/db".to_owned())
        );
        assert_eq!(engine_of("./app.db").unwrap().0, EngineKind::Sqlite);
        assert_eq!(engine_of("sqlite:///a.db").unwrap().0, EngineKind::Sqlite);
        let e = engine_of("redis://h").unwrap_err();
        assert!(e.to_string().contains("INSPECT_URL_UNSUPPORTED"), "{e}");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(shown("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        assert_eq!(shown("naïve \"t\""), "naïve \"t\"");
    }
}
