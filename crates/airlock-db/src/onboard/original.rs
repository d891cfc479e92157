//! Synapsor Runner's flat onboarding documents, read into [`Answers`]: the `--answers` file
//! (keys with aliases, lists as arrays or comma-separated strings, patches as
//! `col=arg:name` / `col=fixed:value`) and the onboarding-selection v1 document (`--spec`,
//! maps for `patch`, `numeric_bounds`, `transition_guards`). One reader accepts both: every
//! key of either form, with the same meaning. Unlike the original, an unknown key is an error
//! (a typo would otherwise silently change the config), and an object where a list was
//! expected is read, not ignored.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use airlock_config::{
    Arg, ContextProvider, Engine, ExecutorKind, Mode, NumericBound, PatchBinding, TransitionGuard,
};

use super::{
    ANSWERS_FORMAT, Answers, ContextAnswers, ExecutorAnswers, Problem, ProposalAnswers,
    SourceAnswers, TableAnswers,
};

/// Every key either form defines.
const KEYS: &[&str] = &[
    "version",
    "engine",
    "mode",
    "source_name",
    "read_url_env",
    "database_url_env",
    "write_url_env",
    "statement_timeout_ms",
    "schema",
    "table",
    "primary_key",
    "tenant_key",
    "tenant_column",
    "single_tenant_dev",
    "conflict_column",
    "namespace",
    "object_name",
    "lookup_arg",
    "id_arg",
    "read_tool",
    "inspect_tool_name",
    "proposal_tool",
    "proposal_tool_name",
    "read_description",
    "inspect_description",
    "read_returns_hint",
    "inspect_returns_hint",
    "proposal_description",
    "proposal_returns_hint",
    "result_format",
    "visible_columns",
    "allowed_columns",
    "patch",
    "patch_args",
    "numeric_bounds",
    "patch_bounds",
    "transition_guards",
    "status_guards",
    "trusted_context",
    "tenant_env",
    "principal_env",
    "approval",
    "approval_role",
    "writeback",
    "executor_name",
    "handler_url_env",
    "handler_token_env",
    "handler_signing_secret_env",
    "handler_command_env",
    "timeout_ms",
    "handler_timeout_ms",
];

struct Reader<'a> {
    doc: &'a Map<String, Value>,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn bad(&mut self, key: &str, message: String, hint: &str) {
        self.problems
            .push(Problem::new("ANSWERS_INVALID_VALUE", key, message, hint));
    }

    /// A trimmed, non-blank string under any of `keys` (first present wins).
    fn string(&mut self, keys: &[&str]) -> Option<String> {
        for k in keys {
            match self.doc.get(*k) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) if s.trim().is_empty() => continue,
                Some(Value::String(s)) => return Some(s.trim().to_owned()),
                Some(Value::Number(n)) => return Some(n.to_string()),
                Some(other) => {
                    self.bad(
                        k,
                        format!("expected a string, found {}", kind(other)),
                        "write it as a JSON string",
                    );
                    return None;
                }
            }
        }
        None
    }

    /// A list given as an array of strings or a comma-separated string.
    fn list(&mut self, keys: &[&str]) -> Option<Vec<String>> {
        for k in keys {
            match self.doc.get(*k) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) => {
                    return Some(
                        s.split(',')
                            .map(str::trim)
                            .filter(|x| !x.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    );
                }
                Some(Value::Array(items)) => {
                    let mut out = Vec::new();
                    for item in items {
                        match item {
                            Value::String(s) if !s.trim().is_empty() => {
                                out.push(s.trim().to_owned())
                            }
                            other => {
                                self.bad(
                                    k,
                                    format!("list item {} is not a non-empty string", kind(other)),
                                    "use an array of strings or a comma-separated string",
                                );
                            }
                        }
                    }
                    return Some(out);
                }
                Some(other) => {
                    self.bad(
                        k,
                        format!("expected a list, found {}", kind(other)),
                        "use an array of strings or a comma-separated string",
                    );
                    return None;
                }
            }
        }
        None
    }

    fn flag(&mut self, key: &str) -> bool {
        match self.doc.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(Value::String(s)) if s == "true" => true,
            Some(other) => {
                self.bad(
                    key,
                    format!("expected true or false, found {}", kind(other)),
                    "use true or false",
                );
                false
            }
        }
    }

    /// A map under any of `keys`, given as an object, or as `col=...` strings parsed by `item`.
    fn map<T>(
        &mut self,
        keys: &[&str],
        from_object: impl Fn(&Value) -> Result<T, String>,
        from_text: impl Fn(&str) -> Result<T, String>,
    ) -> Option<IndexMap<String, T>> {
        let (key, value) = keys
            .iter()
            .find_map(|k| self.doc.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))?;
        let mut out = IndexMap::new();
        let mut add = |r: &mut Self, col: &str, parsed: Result<T, String>| match parsed {
            Ok(v) => {
                out.insert(col.trim().to_owned(), v);
            }
            Err(e) => r.bad(
                key,
                format!("`{col}`: {e}"),
                "see docs/onboarding.md for the accepted forms",
            ),
        };
        let texts: Vec<String> = match value {
            Value::Object(m) => {
                for (col, v) in m {
                    add(self, col, from_object(v));
                }
                return Some(out);
            }
            Value::String(s) => s.split(',').map(str::to_owned).collect(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).unwrap_or_default())
                .collect(),
            other => {
                self.bad(
                    key,
                    format!("expected an object or a list, found {}", kind(other)),
                    "see docs/onboarding.md",
                );
                return None;
            }
        };
        for text in texts.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            match text.split_once('=') {
                Some((col, rest)) if !col.trim().is_empty() => {
                    add(self, col, from_text(rest.trim()))
                }
                _ => self.bad(
                    key,
                    format!("`{text}` is not column=value"),
                    "write column=value",
                ),
            }
        }
        Some(out)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `null`, `true`, `false` and numbers as JSON values; anything else as text.
fn fixed_value(s: &str) -> Value {
    match s {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => s
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Value::from)
            })
            .unwrap_or_else(|| Value::String(s.to_owned())),
    }
}

fn patch_text(s: &str) -> Result<PatchBinding, String> {
    match s.split_once(':') {
        Some(("fixed", v)) => Ok(PatchBinding {
            fixed: Some(fixed_value(v.trim())),
            from_arg: None,
        }),
        Some(("arg", a)) if !a.trim().is_empty() => Ok(PatchBinding {
            fixed: None,
            from_arg: Some(a.trim().to_owned()),
        }),
        _ => Err("expected fixed:VALUE or arg:NAME".into()),
    }
}

fn bound_text(s: &str) -> Result<NumericBound, String> {
    let (a, z) = s
        .split_once(':')
        .ok_or("expected MIN:MAX (either side may be empty)")?;
    let num = |x: &str| -> Result<Option<f64>, String> {
        let x = x.trim();
        if x.is_empty() {
            return Ok(None);
        }
        x.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| format!("`{x}` is not a finite number"))
    };
    let b = NumericBound {
        minimum: num(a)?,
        maximum: num(z)?,
    };
    if b.minimum.is_none() && b.maximum.is_none() {
        return Err("a bound needs a minimum or a maximum".into());
    }
    Ok(b)
}

/// `from:to|to;from:to`.
fn transitions_text(s: &str) -> Result<TransitionGuard, String> {
    let mut allowed = IndexMap::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once(':').ok_or("expected FROM:TO|TO;FROM:TO")?;
        let targets: Vec<String> = to
            .split('|')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if from.trim().is_empty() || targets.is_empty() {
            return Err("each FROM needs at least one TO".into());
        }
        allowed.insert(from.trim().to_owned(), targets);
    }
    if allowed.is_empty() {
        return Err("no transition given".into());
    }
    Ok(TransitionGuard {
        from_column: None,
        allowed,
    })
}

fn from_serde<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

/// Reads either flat form. Errors list every problem.
pub fn from_flat(doc: &Value) -> Result<Answers, Vec<Problem>> {
    let Some(map) = doc.as_object() else {
        return Err(vec![Problem::new(
            "ANSWERS_NOT_OBJECT",
            "$",
            "the answers file must hold a JSON object",
            "see docs/onboarding.md for the formats",
        )]);
    };
    let mut r = Reader {
        doc: map,
        problems: Vec::new(),
    };
    for k in map.keys() {
        if !KEYS.contains(&k.as_str()) {
            r.problems.push(Problem::new(
                "ANSWERS_UNKNOWN_KEY",
                k.clone(),
                format!("unknown key `{}`", k.escape_default()),
                "check the spelling; docs/onboarding.md lists every key",
            ));
        }
    }
    if let Some(v) = map.get("version").filter(|v| !v.is_null())
        && v != &Value::from(1)
    {
        r.bad("version", format!("version {v}"), "only version 1 exists");
    }
    let engine = match r.string(&["engine"]).as_deref() {
        None | Some("auto") => None,
        Some("postgres" | "postgresql") => Some(Engine::Postgres),
        Some("mysql" | "mariadb") => Some(Engine::Mysql),
        Some("sqlite") => Some(Engine::Sqlite),
        Some(other) => {
            r.bad(
                "engine",
                format!("unknown engine `{other}`"),
                "postgres, mysql or sqlite",
            );
            None
        }
    };
    let mode = match r.string(&["mode"]).as_deref() {
        None => None,
        Some("read_only") => Some(Mode::ReadOnly),
        Some("shadow") => Some(Mode::Shadow),
        Some("review") => Some(Mode::Review),
        Some(other) => {
            r.bad(
                "mode",
                format!("unknown mode `{other}`"),
                "read_only, shadow or review",
            );
            None
        }
    };
    let result_format = match r.string(&["result_format"]).as_deref() {
        None | Some("default") => None,
        Some("1" | "v1") => Some(1),
        Some("2" | "v2") => Some(2),
        Some(other) => {
            r.bad(
                "result_format",
                format!("`{other}`"),
                "1, 2, v1, v2 or default",
            );
            None
        }
    };
    let statement_timeout_ms = match map.get("statement_timeout_ms") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().filter(|n| *n > 0) {
            Some(n) => Some(n),
            None => {
                r.bad(
                    "statement_timeout_ms",
                    format!("{v}"),
                    "a positive integer of milliseconds",
                );
                None
            }
        },
    };
    let (mut tenant_env, mut principal_env) =
        (r.string(&["tenant_env"]), r.string(&["principal_env"]));
    if let Some(tc) = map.get("trusted_context").filter(|v| !v.is_null()) {
        match tc.as_object() {
            Some(o) => {
                for (k, v) in o {
                    match (k.as_str(), v.as_str()) {
                        ("tenant_id_env", Some(s)) => tenant_env = Some(s.to_owned()),
                        ("principal_env", Some(s)) => principal_env = Some(s.to_owned()),
                        _ => r.bad(
                            "trusted_context",
                            format!("`{k}`"),
                            "only tenant_id_env and principal_env (strings)",
                        ),
                    }
                }
            }
            None => r.bad(
                "trusted_context",
                "not an object".into(),
                "{\"tenant_id_env\": …, \"principal_env\": …}",
            ),
        }
    }
    let mut approval_role = r.string(&["approval_role"]);
    if let Some(a) = map.get("approval").filter(|v| !v.is_null()) {
        match a.get("required_role").and_then(Value::as_str) {
            Some(role) if a.as_object().is_some_and(|o| o.len() == 1) => {
                approval_role = Some(role.to_owned())
            }
            _ => r.bad(
                "approval",
                "expected {\"required_role\": \"…\"}".into(),
                "name the approving role",
            ),
        }
    }
    let timeout_ms = map
        .get("timeout_ms")
        .or_else(|| map.get("handler_timeout_ms"))
        .and_then(Value::as_u64);
    let executor = match r.string(&["writeback"]).as_deref() {
        None | Some("sql_update") => None,
        Some(w @ ("http_handler" | "command_handler")) => Some(ExecutorAnswers {
            kind: if w == "http_handler" {
                ExecutorKind::HttpHandler
            } else {
                ExecutorKind::CommandHandler
            },
            name: r.string(&["executor_name"]),
            url_env: r.string(&["handler_url_env"]),
            token_env: r.string(&["handler_token_env"]),
            signing_secret_env: r.string(&["handler_signing_secret_env"]),
            command_env: r.string(&["handler_command_env"]),
            timeout_ms,
        }),
        Some(other) => {
            r.bad(
                "writeback",
                format!("unknown writeback `{other}`"),
                "sql_update, http_handler or command_handler",
            );
            None
        }
    };
    let Some(table) = r.string(&["table"]) else {
        r.problems.push(Problem::new(
            "ANSWERS_MISSING_FIELD",
            "table",
            "no `table` given",
            "name the table to expose",
        ));
        return Err(r.problems);
    };
    let patch = r
        .map(&["patch"], from_serde::<PatchBinding>, patch_text)
        .unwrap_or_default();
    let args: IndexMap<String, Arg> = r
        .map(&["patch_args"], from_serde::<Arg>, |_| {
            Err("patch_args must be an object".into())
        })
        .unwrap_or_default();
    let numeric_bounds = r.map(
        &["numeric_bounds", "patch_bounds"],
        from_serde::<NumericBound>,
        bound_text,
    );
    let transition_guards = r.map(
        &["transition_guards", "status_guards"],
        from_serde::<TransitionGuard>,
        transitions_text,
    );
    let read_only = mode == Some(Mode::ReadOnly);
    let proposals = if patch.is_empty() || read_only {
        Vec::new()
    } else {
        vec![ProposalAnswers {
            name: r.string(&["proposal_tool_name", "proposal_tool"]),
            description: r.string(&["proposal_description"]),
            returns_hint: r.string(&["proposal_returns_hint"]),
            patch,
            args,
            allowed_columns: r.list(&["allowed_columns"]),
            numeric_bounds,
            transition_guards,
            conflict_column: r.string(&["conflict_column"]),
            weak_guard_ack: true,
            approval_role,
            ..Default::default()
        }]
    };
    let t = TableAnswers {
        schema: r.string(&["schema"]),
        table,
        primary_key: r.string(&["primary_key"]),
        tenant_key: r.string(&["tenant_key", "tenant_column"]),
        single_tenant_dev: r.flag("single_tenant_dev"),
        namespace: r.string(&["namespace"]),
        object_name: r.string(&["object_name"]),
        lookup_arg: r.string(&["lookup_arg", "id_arg"]),
        visible_columns: r.list(&["visible_columns"]),
        include_sensitive: Vec::new(),
        read_tool: r.string(&["inspect_tool_name", "read_tool"]),
        read_description: r.string(&["inspect_description", "read_description"]),
        read_returns_hint: r.string(&["inspect_returns_hint", "read_returns_hint"]),
        proposals,
    };
    let answers = Answers {
        format: ANSWERS_FORMAT.to_owned(),
        mode,
        result_format,
        storage_path: None,
        source: SourceAnswers {
            name: r.string(&["source_name"]),
            engine,
            read_url_env: r.string(&["read_url_env", "database_url_env"]),
            write_url_env: r.string(&["write_url_env"]),
            path: None,
            statement_timeout_ms,
        },
        trusted_context: ContextAnswers {
            provider: Some(ContextProvider::Environment),
            tenant_id_env: tenant_env,
            principal_env,
            values: IndexMap::new(),
        },
        executor,
        operators: IndexMap::new(),
        tables: vec![t],
    };
    if r.problems.is_empty() {
        Ok(answers)
    } else {
        Err(r.problems)
    }
}

/// Reads any accepted answers document: Airlock's (`"format": "airlock.answers.v1"`) or
/// either of the original's flat forms.
pub fn read_answers(doc: &Value) -> Result<Answers, Vec<Problem>> {
    match doc.get("format") {
        Some(_) => serde_json::from_value::<Answers>(doc.clone()).map_err(|e| {
            vec![Problem::new(
                "ANSWERS_MALFORMED",
                "$",
                e.to_string(),
                "compare with schemas/answers.v1.schema.json",
            )]
        }),
        None => from_flat(doc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_flat_forms_read_the_same() {
        let answers = from_flat(&json!({
            "table": "invoices", "schema": "public", "primary_key": "id", "tenant_column": "tenant_id",
            "visible_columns": "id, status,amount", "patch": "status=arg:status,note=fixed:42",
            "patch_bounds": ["amount=0:"], "status_guards": "status=open:paid|void;paid:refunded",
            "writeback": "http_handler", "handler_token_env": "TOK", "mode": "review"
        })).unwrap();
        let selection = from_flat(&json!({
            "version": 1, "engine": "postgres", "table": "invoices", "schema": "public", "primary_key": "id",
            "tenant_key": "tenant_id", "namespace": "billing", "visible_columns": ["id", "status", "amount"],
            "patch": {"status": {"from_arg": "status"}, "note": {"fixed": 42}},
            "numeric_bounds": {"amount": {"minimum": 0}},
            "transition_guards": {"status": {"allowed": {"open": ["paid", "void"], "paid": ["refunded"]}}}
        })).unwrap();
        for a in [&answers, &selection] {
            let t = &a.tables[0];
            assert_eq!(t.tenant_key.as_deref(), Some("tenant_id"));
            assert_eq!(
                t.visible_columns.as_ref().unwrap(),
                &["id", "status", "amount"]
            );
            let p = &t.proposals[0];
            assert_eq!(p.patch["status"].from_arg.as_deref(), Some("status"));
            assert_eq!(p.patch["note"].fixed, Some(json!(42)));
            assert_eq!(
                p.numeric_bounds.as_ref().unwrap()["amount"].minimum,
                Some(0.0)
            );
            assert_eq!(
                p.transition_guards.as_ref().unwrap()["status"].allowed["open"],
                vec!["paid", "void"]
            );
        }
        assert_eq!(
            answers.executor.as_ref().unwrap().token_env.as_deref(),
            Some("TOK")
        );
    }

    #[test]
    fn bad_documents_name_every_problem() {
        let e = from_flat(
            &json!({"table": "t", "tabel": "x", "mode": "yolo", "patch": "a=b",
                                   "patch_bounds": "x=:", "visible_columns": 3}),
        )
        .unwrap_err();
        let text: Vec<String> = e.iter().map(|p| p.to_string()).collect();
        let all = text.join("\n");
        for needle in [
            "ANSWERS_UNKNOWN_KEY",
            "tabel",
            "unknown mode",
            "fixed:VALUE",
            "minimum or a maximum",
            "expected a list",
        ] {
            assert!(all.contains(needle), "{needle} missing from\n{all}");
        }
        assert_eq!(
            from_flat(&json!([1])).unwrap_err()[0].code,
            "ANSWERS_NOT_OBJECT"
        );
        assert_eq!(
            from_flat(&json!({})).unwrap_err()[0].code,
            "ANSWERS_MISSING_FIELD"
        );
    }
}
