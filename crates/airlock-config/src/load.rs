//! Finding and reading the config file: the only I/O in this crate.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// File names looked for in the working directory, in order: Airlock's own name first, then
/// the original's.
pub const DEFAULT_FILE_NAMES: [&str; 2] = ["airlock.json", "synapsor.runner.json"];

/// Largest config file read. Real configs are a few kilobytes; the cap keeps a wrong path
/// (`/dev/zero`, a log file) from growing the process without bound.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// Longest wait for a config file's bytes (a FIFO or a stalled network mount).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

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
    #[error("config file {} is larger than {} bytes", path.display(), MAX_CONFIG_BYTES)]
    TooLarge { path: PathBuf },
    #[error("config file {} did not finish reading within {} s", path.display(), READ_TIMEOUT.as_secs())]
    ReadTimeout { path: PathBuf },
    #[error("config file {} is empty", path.display())]
    Empty { path: PathBuf },
    #[error("config file {} is not valid UTF-8 (first bad byte at offset {offset})", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("config file {} nests JSON deeper than {} levels (line {line}, column {column})", path.display(), MAX_DEPTH)]
    TooDeep {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("invalid JSON in {} at line {line}, column {column}: {message}", path.display())]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Deepest JSON nesting accepted (the parser's own recursion limit).
pub const MAX_DEPTH: usize = 128;

impl LoadError {
    /// Stable code, printed with the error and in `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::NotFound { .. } => "CONFIG_NOT_FOUND",
            LoadError::Io { .. } => "CONFIG_UNREADABLE",
            LoadError::TooLarge { .. } => "CONFIG_TOO_LARGE",
            LoadError::ReadTimeout { .. } => "CONFIG_READ_TIMEOUT",
            LoadError::Empty { .. } => "CONFIG_EMPTY",
            LoadError::NotUtf8 { .. } => "CONFIG_NOT_UTF8",
            LoadError::TooDeep { .. } => "CONFIG_TOO_DEEP",
            LoadError::InvalidJson { .. } => "CONFIG_INVALID_JSON",
        }
    }

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
            LoadError::TooLarge { .. } => {
                "point --config at the Airlock config file; a config is a few kilobytes of JSON".to_owned()
            }
            LoadError::ReadTimeout { .. } => {
                "point --config at a regular file; a pipe or device that never ends cannot be a config".to_owned()
            }
            LoadError::Empty { .. } => {
                "write a config into the file, or run `airlock demo` to generate an example".to_owned()
            }
            LoadError::NotUtf8 { .. } => "save the file as UTF-8".to_owned(),
            LoadError::TooDeep { .. } => {
                "a config never nests that deep; check that this is the right file".to_owned()
            }
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
            LoadError::Io { path, .. }
            | LoadError::TooLarge { path }
            | LoadError::ReadTimeout { path }
            | LoadError::Empty { path }
            | LoadError::NotUtf8 { path, .. }
            | LoadError::TooDeep { path, .. }
            | LoadError::InvalidJson { path, .. } => Some(path),
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

/// Reads `path` and parses it as JSON. A leading UTF-8 byte-order mark is ignored. At most
/// [`MAX_CONFIG_BYTES`] are read, within [`READ_TIMEOUT`].
pub fn read(path: &Path) -> Result<Loaded, LoadError> {
    let bytes = read_bounded(path, MAX_CONFIG_BYTES, READ_TIMEOUT).map_err(|e| {
        let path = path.to_path_buf();
        match e.kind() {
            io::ErrorKind::FileTooLarge => LoadError::TooLarge { path },
            io::ErrorKind::TimedOut => LoadError::ReadTimeout { path },
            _ => {
                let source = root_cause(e, &path);
                LoadError::Io { path, source }
            }
        }
    })?;
    from_bytes(path, &bytes)
}

/// Parses a config file's bytes (read by the caller) as [`read`] does; `path` is only named in
/// errors.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Loaded, LoadError> {
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let document = serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let message = e.to_string();
        if message.starts_with("recursion limit exceeded") {
            return LoadError::TooDeep {
                path: path.to_path_buf(),
                line,
                column,
            };
        }
        let position = format!(" at line {line} column {column}");
        LoadError::InvalidJson {
            path: path.to_path_buf(),
            line,
            column,
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

/// Reads at most `max` bytes of a file given by a user, within `timeout`, on a helper thread,
/// so a FIFO or a device that never ends cannot hang the caller. A file over `max` is an
/// error of kind `FileTooLarge`; a read that does not finish in time, of kind `TimedOut`
/// (the blocked thread is left behind; callers report the error and exit).
pub fn read_bounded(path: &Path, max: u64, timeout: Duration) -> io::Result<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::Builder::new()
        .name("bounded-read".into())
        .spawn(move || {
            let result = fs_err::File::open(&owned).and_then(|file| {
                let mut bytes = Vec::new();
                // One byte more than the cap tells "too large" apart from "exactly max".
                file.take(max + 1).read_to_end(&mut bytes)?;
                Ok(bytes)
            });
            let _ = tx.send(result);
        })?;
    let bytes = rx.recv_timeout(timeout).map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("not read within {} s", timeout.as_secs()),
        )
    })??;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
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
    fn invalid_utf8_has_its_own_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.json");
        fs::write(&path, [b'{', 0xff, 0xfe, b'}']).unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            matches!(&err, LoadError::NotUtf8 { offset: 1, .. }),
            "{err:?}"
        );
        assert_eq!(err.code(), "CONFIG_NOT_UTF8");
        assert_eq!(err.hint(), "save the file as UTF-8");
    }

    fn read_text(text: &[u8]) -> LoadError {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.json");
        fs::write(&path, text).unwrap();
        read(&path).unwrap_err()
    }

    #[test]
    fn empty_garbage_and_deep_files_each_have_a_code() {
        assert_eq!(read_text(b"").code(), "CONFIG_EMPTY");
        assert_eq!(read_text(b" \n\t").code(), "CONFIG_EMPTY");
        assert_eq!(read_text(b"\xef\xbb\xbf").code(), "CONFIG_EMPTY");
        assert_eq!(read_text(b"garbage").code(), "CONFIG_INVALID_JSON");
        let deep = "[".repeat(100_000);
        let err = read_text(deep.as_bytes());
        assert_eq!(err.code(), "CONFIG_TOO_DEEP", "{err:?}");
        assert!(err.to_string().contains("deeper than 128"), "{err}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_without_reading_it_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.json");
        let file = fs::File::create(&path).unwrap();
        file.set_len(MAX_CONFIG_BYTES + 10).unwrap();
        let err = read(&path).unwrap_err();
        assert_eq!(err.code(), "CONFIG_TOO_LARGE", "{err:?}");
        assert!(err.hint().contains("--config"));
    }

    #[test]
    fn an_endless_device_is_refused() {
        let err = read(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err.code(), "CONFIG_TOO_LARGE", "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let err = read(&path).unwrap_err();
        assert_eq!(err.code(), "CONFIG_READ_TIMEOUT", "{err:?}");
    }
}
