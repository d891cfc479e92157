//! From a configured source to the [`SourceSettings`] a connection is opened with: the one
//! resolver the runtime (reads) and the writeback executor (writes) share.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use airlock_config::Source;

use crate::{SecretUrl, SourceSettings};

/// Which connection of a source is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The read connection: the SQLite `path` first, else the URL in `read_url_env`.
    Read,
    /// The write connection: the URL in `write_url_env` first, else the SQLite `path`. Never
    /// for a source marked `read_only`.
    Write,
}

/// Why a source cannot be connected to. The text names variables and sources, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    /// The variable that should hold the URL is unset or empty.
    EnvNotSet {
        source: String,
        var: String,
        access: Access,
    },
    /// The source names no connection for this access.
    NoConnection { source: String, access: Access },
    /// A write was asked of a source marked `read_only`.
    ReadOnlySource { source: String },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::EnvNotSet {
                source,
                var,
                access,
            } => {
                let key = match access {
                    Access::Read => "read_url_env",
                    Access::Write => "write_url_env",
                };
                write!(
                    f,
                    "environment variable {var} ({key} of source `{source}`) is not set"
                )
            }
            SettingsError::NoConnection {
                source,
                access: Access::Read,
            } => write!(f, "source `{source}` has neither path nor read_url_env"),
            SettingsError::NoConnection {
                source,
                access: Access::Write,
            } => write!(
                f,
                "source `{source}` has no write_url_env, so approved proposals on it cannot be applied"
            ),
            SettingsError::ReadOnlySource { source } => write!(
                f,
                "source `{source}` is marked read_only; airlock never writes to it"
            ),
        }
    }
}

impl std::error::Error for SettingsError {}

/// The settings of source `name` for `access`. URLs come from `env`; a relative SQLite `path`
/// resolves against `base_dir` (the config file's folder). `max_connections` is the pool size
/// when the source sets no `max_connections` of its own.
pub fn resolve_source(
    name: &str,
    source: &Source,
    access: Access,
    env: &HashMap<String, String>,
    base_dir: &Path,
    max_connections: usize,
) -> Result<SourceSettings, SettingsError> {
    let from_env = |var: &String| match env.get(var).filter(|v| !v.is_empty()) {
        Some(url) => Ok(url.clone()),
        None => Err(SettingsError::EnvNotSet {
            source: name.to_owned(),
            var: var.clone(),
            access,
        }),
    };
    let file = |path: &String| base_dir.join(path).display().to_string();
    let url = match access {
        Access::Read => match (&source.path, &source.read_url_env) {
            (Some(path), _) => file(path),
            (None, Some(var)) => from_env(var)?,
            (None, None) => return Err(no_connection(name, access)),
        },
        Access::Write => {
            if source.read_only == Some(true) {
                return Err(SettingsError::ReadOnlySource {
                    source: name.to_owned(),
                });
            }
            match (&source.write_url_env, &source.path) {
                (Some(var), _) => from_env(var)?,
                (None, Some(path)) => file(path),
                (None, None) => return Err(no_connection(name, access)),
            }
        }
    };
    Ok(SourceSettings {
        engine: source.engine,
        url: SecretUrl::new(url),
        statement_timeout_ms: source.statement_timeout_ms,
        max_connections: source
            .max_connections
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(max_connections),
        pool: crate::PoolOptions::of(source),
    })
}

fn no_connection(name: &str, access: Access) -> SettingsError {
    SettingsError::NoConnection {
        source: name.to_owned(),
        access,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_config::Engine;
    use serde_json::json;

    fn source(v: serde_json::Value) -> Source {
        serde_json::from_value(v).expect("source")
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_and_writes_take_their_own_variable() {
        let s = source(
            json!({"engine": "postgres", "read_url_env": "R", "write_url_env": "W",
            "statement_timeout_ms": 900}),
        );
        let e = env(&[("R", "postgres://r@h/db"), ("W", "postgres://w@h/db")]);
        let read = resolve_source("app", &s, Access::Read, &e, Path::new("/cfg"), 7).unwrap();
        assert_eq!(read.url.expose(), "postgres://r@h/db");
        assert_eq!(read.engine, Engine::Postgres);
        assert_eq!(read.statement_timeout_ms, Some(900));
        assert_eq!(read.max_connections, 7);
        assert_eq!(read.pool, crate::PoolOptions::default());
        let write = resolve_source("app", &s, Access::Write, &e, Path::new("/cfg"), 4).unwrap();
        assert_eq!(write.url.expose(), "postgres://w@h/db");
    }

    #[test]
    fn pool_options_come_from_the_source() {
        let s = source(json!({"engine": "mysql", "read_url_env": "R",
            "connect_timeout_ms": 1500, "idle_timeout_ms": 60000, "max_connections": 9}));
        let e = env(&[("R", "mysql://r@h/db")]);
        let got = resolve_source("app", &s, Access::Read, &e, Path::new("."), 4).unwrap();
        assert_eq!(got.max_connections, 9);
        assert_eq!(
            got.pool.connect_timeout,
            std::time::Duration::from_millis(1500)
        );
        assert_eq!(got.pool.idle_timeout, std::time::Duration::from_secs(60));
    }

    #[test]
    fn sqlite_paths_resolve_against_the_config_folder() {
        let s = source(json!({"engine": "sqlite", "path": "data/app.db"}));
        for access in [Access::Read, Access::Write] {
            let got = resolve_source("app", &s, access, &env(&[]), Path::new("/cfg"), 1).unwrap();
            assert_eq!(got.url.expose(), "/cfg/data/app.db");
        }
        let abs = source(json!({"engine": "sqlite", "path": "/srv/app.db"}));
        let got = resolve_source("app", &abs, Access::Read, &env(&[]), Path::new("/cfg"), 1);
        assert_eq!(got.unwrap().url.expose(), "/srv/app.db");
    }

    #[test]
    fn unset_or_empty_variables_are_named_never_shown() {
        let s = source(json!({"engine": "mysql", "read_url_env": "R", "write_url_env": "W"}));
        for e in [env(&[]), env(&[("R", ""), ("W", "")])] {
            let err = resolve_source("app", &s, Access::Read, &e, Path::new("."), 1).unwrap_err();
            assert_eq!(
                err.to_string(),
                "environment variable R (read_url_env of source `app`) is not set"
            );
            let err = resolve_source("app", &s, Access::Write, &e, Path::new("."), 1).unwrap_err();
            assert!(matches!(err, SettingsError::EnvNotSet { ref var, .. } if var == "W"));
        }
    }

    #[test]
    fn missing_connections_and_read_only_sources_are_refused() {
        let bare = source(json!({"engine": "postgres"}));
        let e = env(&[]);
        let err = resolve_source("app", &bare, Access::Read, &e, Path::new("."), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "source `app` has neither path nor read_url_env"
        );
        let err = resolve_source("app", &bare, Access::Write, &e, Path::new("."), 1).unwrap_err();
        assert!(err.to_string().contains("has no write_url_env"), "{err}");
        let ro = source(
            json!({"engine": "postgres", "read_url_env": "R", "write_url_env": "W",
            "read_only": true}),
        );
        let e = env(&[("R", "postgres://h/db"), ("W", "postgres://h/db")]);
        let err = resolve_source("app", &ro, Access::Write, &e, Path::new("."), 1).unwrap_err();
        assert_eq!(
            err,
            SettingsError::ReadOnlySource {
                source: "app".into()
            }
        );
        assert!(resolve_source("app", &ro, Access::Read, &e, Path::new("."), 1).is_ok());
    }
}
