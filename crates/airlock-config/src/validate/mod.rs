//! Pure validation of a config document with stable error codes.
//!
//! [`validate`] walks a parsed JSON document (not the typed [`Config`]) so that it can report
//! every problem at once, each with a JSON path such as `$.capabilities[3].args.foo.max_length`.
//! Codes and paths are compatible with the original Synapsor Runner validator; messages and
//! hints are Airlock's own. No I/O and no environment reads happen here.
//!
//! Checks run in the original's order (so issues come out in that order):
//! top-level keys, `strict`, version, result_format, mode, storage, cloud, sources, contexts,
//! trusted_context, executors, capabilities, writeback readiness, forbidden-key scan.

mod args;
mod capabilities;
mod contexts;
mod executors;
mod guards;
mod ident_length;
mod notifications;
mod operators;
mod proposal;
mod review;
mod scan;
mod sources;
mod writeback;

#[cfg(test)]
pub(crate) mod fixtures;

use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Config;
use crate::names::closest;

/// One problem found in a config document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Stable machine-readable code, e.g. `TENANT_GUARD_REQUIRED`.
    pub code: &'static str,
    /// JSON path of the offending value, e.g. `$.capabilities[0].target.tenant_key`.
    pub path: String,
    /// What is wrong (lowercase fragment, no trailing period).
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.path, self.code, self.message)
    }
}

/// The outcome of [`validate`]: `ok` is true exactly when `errors` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

/// Pure: no I/O, no env reads. Walks a parsed JSON document and reports EVERY problem at once.
///
/// When the report is ok, the document (with unknown keys and ignored fields stripped) is
/// guaranteed to deserialize into [`Config`]; [`parse`] does exactly that.
pub fn validate(doc: &Value) -> Report {
    check(doc).0
}

/// [`validate`], then deserialize into the typed [`Config`]. Keys reported as warnings because
/// they are ignored (unknown keys under `strict: false`, proposal-only fields on a read
/// capability, executor fields its type does not use) are stripped first.
///
/// Returns the config and the warnings, or the full report when there are errors.
pub fn parse(doc: &Value) -> Result<(Config, Vec<Issue>), Report> {
    match check(doc) {
        (report, Some(config)) if report.ok => Ok((config, report.warnings)),
        (report, _) => Err(report),
    }
}

fn check(doc: &Value) -> (Report, Option<Config>) {
    check_with(doc, serde_json::from_value::<Config>)
}

fn check_with(
    doc: &Value,
    deserialize: impl FnOnce(Value) -> Result<Config, serde_json::Error>,
) -> (Report, Option<Config>) {
    let ctx = walk(doc);
    let Ctx {
        errors,
        warnings,
        strip,
        ..
    } = ctx;
    if !errors.is_empty() {
        return (
            Report {
                ok: false,
                errors,
                warnings,
            },
            None,
        );
    }
    let mut stripped = doc.clone();
    for path in &strip {
        path.remove_from(&mut stripped);
    }
    match deserialize(stripped) {
        Ok(config) => (
            Report {
                ok: true,
                errors,
                warnings,
            },
            Some(config),
        ),
        // Validation is meant to catch everything serde would reject; this is a safety net.
        Err(e) => (
            Report {
                ok: false,
                errors: vec![Issue {
                    code: "CONFIG_SHAPE_INVALID",
                    path: "$".into(),
                    message: format!("config does not match the expected shape: {e}"),
                    hint: Some(
                        "compare the file with `airlock config schema`; this is also an Airlock \
                         bug worth reporting, since validation should have named the field"
                            .into(),
                    ),
                }],
                warnings,
            },
            None,
        ),
    }
}

pub(crate) const TOP_KEYS: &[&str] = &[
    "version",
    "mode",
    "storage",
    "sources",
    "trusted_context",
    "contexts",
    "executors",
    "capabilities",
    "cloud",
    "strict",
    "result_format",
    "operators",
    "notifications",
    "review",
];

fn walk(doc: &Value) -> Ctx {
    let mut ctx = Ctx::new(true);
    let root_path = Path::root();
    let Some(root) = doc.as_object() else {
        ctx.error(
            "CONFIG_NOT_OBJECT",
            &root_path,
            format!("config must be a JSON object, found {}", kind_of(doc)),
            "wrap the config in `{ ... }` with at least version, mode, sources, trusted_context and capabilities",
        );
        return ctx;
    };
    ctx.strict = root.get("strict") != Some(&Value::Bool(false));

    ctx.unknown_keys(root, TOP_KEYS, &root_path);
    if let Some(v) = root.get("strict").filter(|v| !v.is_boolean()) {
        ctx.error(
            "INVALID_STRICT",
            &root_path.key("strict"),
            format!("strict must be true or false, found {}", kind_of(v)),
            "remove `strict` (strict is the default) or set it to false to turn unknown keys into warnings",
        );
    }
    if root.get("version").and_then(Value::as_u64) != Some(1) {
        ctx.error(
            "UNSUPPORTED_CONFIG_VERSION",
            &root_path.key("version"),
            "config version must be 1",
            "set \"version\": 1",
        );
    }
    if root
        .get("result_format")
        .is_some_and(|v| !matches!(v.as_u64(), Some(1 | 2)))
    {
        ctx.error(
            "INVALID_RESULT_FORMAT",
            &root_path.key("result_format"),
            "result_format must be 1 or 2",
            "use 2 for the ok/summary/data envelope, 1 for the legacy flat result, or remove the key (default 1)",
        );
    }

    let mode = match root.get("mode").and_then(Value::as_str) {
        Some(m @ ("read_only" | "shadow" | "review")) => Some(m),
        Some("cloud") => {
            ctx.error(
                "CLOUD_MODE_UNSUPPORTED",
                &root_path.key("mode"),
                "mode cloud is not supported: Airlock runs locally only",
                "use read_only, shadow or review and list capabilities in this file",
            );
            Some("cloud")
        }
        _ => {
            ctx.error(
                "INVALID_MODE",
                &root_path.key("mode"),
                "mode must be read_only, shadow, review or cloud",
                "start with \"mode\": \"read_only\"; use \"review\" to let the agent propose changes for human approval",
            );
            None
        }
    };

    sources::storage(&mut ctx, root);
    sources::cloud(&mut ctx, root, mode);
    let source_facts = sources::sources(&mut ctx, root, mode);
    let context_names = contexts::contexts(&mut ctx, root, mode);
    contexts::trusted_context(&mut ctx, root, mode);
    let executor_facts = executors::executors(&mut ctx, root, mode);
    let facts = Facts {
        mode,
        sources: source_facts,
        contexts: context_names,
        executors: executor_facts,
    };
    capabilities::capabilities(&mut ctx, root, &facts);
    ident_length::identifier_lengths(&mut ctx, root);
    operators::operators(&mut ctx, root);
    notifications::notifications(&mut ctx, root);
    review::review(&mut ctx, root);
    writeback::readiness(&mut ctx, root, &facts);
    scan::forbidden(&mut ctx, doc, &root_path);
    ctx
}

/// What later sections need to know about earlier ones.
pub(crate) struct Facts<'a> {
    /// The mode when valid (`cloud` included).
    pub mode: Option<&'a str>,
    /// Every declared source name, valid or not, so references are not reported twice.
    pub sources: IndexMap<&'a str, SourceFacts>,
    /// Declared context names, or `None` when there is no `contexts` object.
    pub contexts: Option<Vec<&'a str>>,
    /// Declared executor names with their type when valid.
    pub executors: IndexMap<&'a str, Option<&'a str>>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SourceFacts {
    pub read_only: bool,
    /// Has a `write_url_env`, or is a sqlite file given by `path` (written in place).
    pub writable: bool,
}

/// Accumulates issues while walking.
pub(crate) struct Ctx {
    pub strict: bool,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Keys that `parse` removes before deserializing (all reported as warnings).
    pub strip: Vec<Path>,
}

impl Ctx {
    fn new(strict: bool) -> Self {
        Ctx {
            strict,
            errors: Vec::new(),
            warnings: Vec::new(),
            strip: Vec::new(),
        }
    }

    pub fn error(
        &mut self,
        code: &'static str,
        path: &Path,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.errors
            .push(issue(code, path, message.into(), hint.into()));
    }

    pub fn warning(
        &mut self,
        code: &'static str,
        path: &Path,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.warnings
            .push(issue(code, path, message.into(), hint.into()));
    }

    /// Reports keys of `obj` not in `allowed`: errors in strict mode, otherwise warnings (and
    /// the key is stripped by `parse`).
    pub fn unknown_keys(&mut self, obj: &Map<String, Value>, allowed: &[&str], path: &Path) {
        for key in obj.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let p = path.key(key);
            let message = format!("unknown field `{key}`");
            let hint = match closest(key, allowed) {
                Some(c) => format!("did you mean `{c}`? allowed here: {}", allowed.join(", ")),
                None => format!("remove it; allowed here: {}", allowed.join(", ")),
            };
            if self.strict {
                self.error("UNKNOWN_FIELD", &p, message, hint);
            } else {
                self.warning(
                    "UNKNOWN_FIELD",
                    &p,
                    format!("{message} is ignored (strict is false)"),
                    hint,
                );
                self.strip.push(p);
            }
        }
    }
}

fn issue(code: &'static str, path: &Path, message: String, hint: String) -> Issue {
    Issue {
        code,
        path: path.to_string(),
        message,
        hint: Some(hint),
    }
}

/// A JSON path, rendered as `$.a.b[0].c`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path(Vec<Seg>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl Path {
    pub fn root() -> Self {
        Path(Vec::new())
    }

    pub fn key(&self, key: &str) -> Path {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Path(segs)
    }

    pub fn index(&self, i: usize) -> Path {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(i));
        Path(segs)
    }

    /// Removes the value at this path from `doc` (no-op when absent). Only object keys are
    /// ever stripped, so array indices of later paths stay valid.
    fn remove_from(&self, doc: &mut Value) {
        let Some((last, parents)) = self.0.split_last() else {
            return;
        };
        let mut cur = doc;
        for seg in parents {
            let next = match seg {
                Seg::Key(k) => cur.get_mut(k.as_str()),
                Seg::Index(i) => cur.get_mut(*i),
            };
            match next {
                Some(v) => cur = v,
                None => return,
            }
        }
        if let (Seg::Key(k), Some(obj)) = (last, cur.as_object_mut()) {
            obj.shift_remove(k);
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// "a string", "an object", … for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A non-empty string.
pub(crate) fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A positive integer no larger than `max`.
pub(crate) fn bounded_positive(v: &Value, max: u64) -> Option<u64> {
    v.as_u64().filter(|n| (1..=max).contains(n))
}

/// Hint for a value that should be an env-var name; points out inline URLs specifically.
pub(crate) fn env_name_hint(v: Option<&Value>, example: &str) -> String {
    match v.and_then(Value::as_str) {
        Some(s) if s.contains("://") => format!(
            "this looks like the URL itself: export it as an environment variable and put the variable's name here, e.g. \"{example}\""
        ),
        _ => format!(
            "use the NAME of an environment variable (uppercase letters, digits and underscores), e.g. \"{example}\""
        ),
    }
}

#[cfg(test)]
mod tests;
