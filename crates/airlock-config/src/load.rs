//! Finding and reading the config file: the only I/O in this crate.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// File names looked for in the working directory, in order: Airlock's own name first, then
/// the original's.
pub const DEFAULT_FILE_NAMES: [&str; 2] = ["airlock.json", "synapsor.runner.json"];

/// A config file read and parsed as JSON (not yet validated).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub document: Value,
}

/// Why a config could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no config file found (looked for {})", list(searched))]
    NotFound { searched: Vec<PathBuf> },
    #[error("cannot read config file {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid JSON in {} at line {line}, column {column}: {message}", path.display())]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl LoadError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            LoadError::NotFound { searched } if searched.len() == 1 => {
                "check the path given with --config or AIRLOCK_CONFIG, or run `airlock demo` to generate an example".to_owned()
            }
            LoadError::NotFound { .. } => {
                "pass --config PATH, set AIRLOCK_CONFIG, or run `airlock demo` to generate an example".to_owned()
            }
            LoadError::Io { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => {
                    "check the path, or run `airlock demo` to generate an example".to_owned()
                }
                io::ErrorKind::PermissionDenied => {
                    "make the file readable by the user running airlock".to_owned()
                }
                io::ErrorKind::IsADirectory => {
                    "point --config at the JSON file, not its directory".to_owned()
                }
                io::ErrorKind::InvalidData => "save the file as UTF-8".to_owned(),
                _ => "check that the file exists and is readable".to_owned(),
            },
            LoadError::InvalidJson { line, column, .. } => format!(
                "fix the JSON at line {line}, column {column}; JSON allows no comments and no trailing commas"
            ),
        }
    }

    /// The config path involved, when there is exactly one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            LoadError::NotFound { searched } if searched.len() == 1 => Some(&searched[0]),
            LoadError::NotFound { .. } => None,
            LoadError::Io { path, .. } | LoadError::InvalidJson { path, .. } => Some(path),
        }
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds the config file. `explicit` (`--config`) wins, then `env_value` (`AIRLOCK_CONFIG`,
/// passed in by the caller; this crate never reads the environment; blank counts as unset),
/// then the first of [`DEFAULT_FILE_NAMES`] that exists in `cwd`. Relative paths are resolved
/// against `cwd`. An explicit or env path that does not exist is `NotFound` naming that path.
pub fn discover(
    explicit: Option<&Path>,
    env_value: Option<&str>,
    cwd: &Path,
) -> Result<PathBuf, LoadError> {
    let chosen = explicit.map(|p| cwd.join(p)).or_else(|| {
        env_value
            .filter(|v| !v.trim().is_empty())
            .map(|v| cwd.join(v))
    });
    if let Some(path) = chosen {
        return if path.exists() {
            Ok(path)
        } else {
            Err(LoadError::NotFound {
                searched: vec![path],
            })
        };
    }
    let searched: Vec<PathBuf> = DEFAULT_FILE_NAMES.iter().map(|n| cwd.join(n)).collect();
    match searched.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(LoadError::NotFound { searched }),
    }
}

/// Reads `path` and parses it as JSON. A leading UTF-8 byte-order mark is ignored.
pub fn read(path: &Path) -> Result<Loaded, LoadError> {
    let text = fs_err::read_to_string(path).map_err(|e| LoadError::Io {
        path: path.to_path_buf(),
        source: root_cause(e, path),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let document = serde_json::from_str(text).map_err(|e| {
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = e.to_string();
        LoadError::InvalidJson {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: message
                .strip_suffix(&position)
                .unwrap_or(&message)
                .to_owned(),
        }
    })?;
    Ok(Loaded {
        path: path.to_path_buf(),
        document,
    })
}

/// `fs_err` puts the path into the error's message ("failed to open file `<path>`: <reason>").
/// `LoadError::Io` names the path already, so keep only the reason (and the kind); should the
/// message ever look different, the error is kept whole.
fn root_cause(e: io::Error, path: &Path) -> io::Error {
    let message = e.to_string();
    match message.split_once(&format!("`{}`: ", path.display())) {
        Some((_, reason)) if !reason.is_empty() => io::Error::new(e.kind(), reason.to_owned()),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn dir_with(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            fs::write(dir.path().join(f), "{}").unwrap();
        }
        dir
    }

    #[test]
    fn explicit_path_wins() {
        let dir = dir_with(&["airlock.json", "mine.json"]);
        let got = discover(
            Some(Path::new("mine.json")),
            Some("airlock.json"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(got, dir.path().join("mine.json"));
    }

    #[test]
    fn env_value_comes_next_and_blank_is_unset() {
        let dir = dir_with(&["airlock.json", "env.json"]);
        let got = discover(None, Some("env.json"), dir.path()).unwrap();
        assert_eq!(got, dir.path().join("env.json"));
        let got = discover(None, Some("  "), dir.path()).unwrap();
        assert_eq!(got, dir.path().join("airlock.json"));
    }

    #[test]
    fn absolute_paths_are_kept() {
        let dir = dir_with(&["x.json"]);
        let abs = dir.path().join("x.json");
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(discover(Some(&abs), None, elsewhere.path()).unwrap(), abs);
    }

    #[test]
    fn default_names_in_order() {
        let both = dir_with(&["synapsor.runner.json", "airlock.json"]);
        assert_eq!(
            discover(None, None, both.path()).unwrap(),
            both.path().join("airlock.json")
        );
        let original = dir_with(&["synapsor.runner.json"]);
        assert_eq!(
            discover(None, None, original.path()).unwrap(),
            original.path().join("synapsor.runner.json")
        );
    }

    #[test]
    fn not_found_lists_what_was_searched() {
        let dir = dir_with(&[]);
        let err = discover(None, None, dir.path()).unwrap_err();
        let LoadError::NotFound { searched } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            searched,
            &[
                dir.path().join("airlock.json"),
                dir.path().join("synapsor.runner.json")
            ]
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("no config file found (looked for "),
            "{msg}"
        );
        assert!(msg.contains("synapsor.runner.json") && !msg.ends_with('.'));
        assert!(err.hint().contains("--config PATH"));
        assert!(err.hint().contains("AIRLOCK_CONFIG"));
        assert!(err.hint().contains("airlock demo"));
        assert_eq!(err.path(), None);
    }

    #[test]
    fn explicit_or_env_path_that_does_not_exist() {
        let dir = dir_with(&["airlock.json"]);
        for (explicit, env) in [
            (Some(Path::new("nope.json")), None),
            (None, Some("nope.json")),
        ] {
            let err = discover(explicit, env, dir.path()).unwrap_err();
            let expected = dir.path().join("nope.json");
            assert!(
                matches!(&err, LoadError::NotFound { searched } if searched == std::slice::from_ref(&expected)),
                "{err:?}"
            );
            assert_eq!(err.path(), Some(expected.as_path()));
            assert!(err.hint().contains("check the path"));
        }
    }

    #[test]
    fn read_parses_json_and_ignores_a_bom() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.json");
        fs::write(&path, "\u{feff}{\"version\": 1}").unwrap();
        let loaded = read(&path).unwrap();
        assert_eq!(loaded.path, path);
        assert_eq!(loaded.document, serde_json::json!({"version": 1}));
    }

    #[test]
    fn invalid_json_names_path_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.json");
        fs::write(&path, "{\n  \"version\": 1,\n  \"mode\": \"review\",\n}\n").unwrap();
        let err = read(&path).unwrap_err();
        let LoadError::InvalidJson {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (4, 1));
        assert!(!message.contains("at line"), "{message}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("line 4, column 1"), "{msg}");
        assert!(err.hint().contains("trailing commas"));
    }

    #[test]
    fn missing_file_is_io_naming_the_path_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.json");
        let err = read(&path).unwrap_err();
        let LoadError::Io { source, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(source.kind(), io::ErrorKind::NotFound);
        // The source is the OS error alone, so a chained report names the path only once.
        assert!(!source.to_string().contains("gone.json"), "{source}");
        assert!(source.to_string().contains("No such file"), "{source}");
        assert_eq!(
            err.to_string(),
            format!("cannot read config file {}", path.display())
        );
        assert!(err.hint().contains("airlock demo"));
    }

    #[test]
    fn directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
        assert!(!err.hint().is_empty());
    }

    #[test]
    fn invalid_utf8_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.json");
        fs::write(&path, [0xff, 0xfe, b'{', b'}']).unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            matches!(&err, LoadError::Io { source, .. } if source.kind() == io::ErrorKind::InvalidData),
            "{err:?}"
        );
        assert_eq!(err.hint(), "save the file as UTF-8");
    }
}
