//! What the rules know about one tool: its words, its flattened arguments, its hints, and the
//! signals several rules share (SQL, write, proposal boundary). Computed once per tool.

use serde_json::Value;

use crate::report::Evidence;
use crate::tool::{Tool, escape};

/// How deep argument schemas are followed (nested objects, arrays, combinators).
const MAX_SCHEMA_DEPTH: usize = 12;

/// One argument, at any depth of the input schema.
#[derive(Debug)]
pub(crate) struct Arg {
    /// The property name as written.
    pub name: String,
    /// Lower case, letters and digits only (`Tenant_ID` → `tenantid`).
    pub folded: String,
    /// JSON pointer of the property's schema.
    pub pointer: String,
    pub schema: Value,
}

impl Arg {
    pub fn evidence(&self, detail: impl Into<String>) -> Evidence {
        Evidence {
            pointer: self.pointer.clone(),
            detail: detail.into(),
        }
    }

    /// Whether the schema allows a string (or says nothing about the type).
    pub fn takes_text(&self) -> bool {
        match self.schema.get("type") {
            None => self.schema.get("enum").is_none() && self.schema.get("const").is_none(),
            Some(Value::String(t)) => t == "string",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
            Some(_) => false,
        }
    }
}

/// The tool as the rules see it.
pub(crate) struct Facts<'a> {
    pub tool: &'a Tool,
    /// Words of the name: split on anything but letters and digits, and at camelCase humps.
    pub name_words: Vec<String>,
    /// Words of the title and description, lower case.
    pub text_words: Vec<String>,
    pub args: Vec<Arg>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
}

impl<'a> Facts<'a> {
    pub fn of(tool: &'a Tool) -> Facts<'a> {
        let mut args = Vec::new();
        if let Some(schema) = tool.input_schema() {
            collect_args(schema, &tool.at("inputSchema"), 0, &mut args);
        }
        Facts {
            tool,
            name_words: words(&tool.name),
            text_words: words(&format!(
                "{} {}",
                tool.text("title"),
                tool.text("description")
            )),
            args,
            read_only: tool.hint("readOnlyHint"),
            destructive: tool.hint("destructiveHint"),
        }
    }

    pub fn name_has(&self, set: &[&str]) -> Option<&str> {
        self.name_words
            .iter()
            .map(String::as_str)
            .find(|w| set.contains(w))
    }

    /// A word of the description from `set`, unless a negation ("not", "never", "without",
    /// "no") stands within the four words before it.
    pub fn text_has(&self, set: &[&str]) -> Option<&str> {
        let w = &self.text_words;
        (0..w.len())
            .find(|&i| {
                set.contains(&w[i].as_str())
                    && !w[i.saturating_sub(4)..i]
                        .iter()
                        .any(|p| NEGATIONS.contains(&p.as_str()))
            })
            .map(|i| w[i].as_str())
    }

    /// Two adjacent description words forming one of `pairs` ("execute sql").
    pub fn text_has_pair(&self, pairs: &[(&str, &str)]) -> Option<String> {
        self.text_words.windows(2).find_map(|p| {
            pairs
                .iter()
                .any(|(a, b)| p[0] == *a && p[1] == *b)
                .then(|| format!("{} {}", p[0], p[1]))
        })
    }

    pub fn name_evidence(&self, detail: impl Into<String>) -> Evidence {
        Evidence {
            pointer: self.tool.at("name"),
            detail: detail.into(),
        }
    }

    pub fn description_evidence(&self, detail: impl Into<String>) -> Evidence {
        let field = if self.tool.text("description").is_empty() {
            "title"
        } else {
            "description"
        };
        Evidence {
            pointer: self.tool.at(field),
            detail: detail.into(),
        }
    }

    /// Evidence at a field of the tool (present or not).
    pub fn tool_evidence(&self, field: &str, detail: impl Into<String>) -> Evidence {
        Evidence {
            pointer: self.tool.at(field),
            detail: detail.into(),
        }
    }

    pub fn hint_evidence(&self, hint: &str, detail: impl Into<String>) -> Evidence {
        Evidence {
            pointer: format!("{}/{hint}", self.tool.at("annotations")),
            detail: detail.into(),
        }
    }

    /// Arguments whose folded name is in `set`.
    pub fn args_named<'s>(&'s self, set: &'s [&str]) -> impl Iterator<Item = &'s Arg> + 's {
        self.args
            .iter()
            .filter(move |a| set.contains(&a.folded.as_str()))
    }

    /// Why the tool runs SQL the model writes, if it does: the first of its name, an argument
    /// carrying SQL text, or its description.
    pub fn sql(&self) -> Option<Evidence> {
        let folded = fold(&self.tool.name);
        if SQL_TOOL_NAMES.contains(&folded.as_str()) || self.name_has(&["sql"]).is_some() {
            return Some(
                self.name_evidence(format!("the name {:?} says it runs SQL", self.tool.name)),
            );
        }
        if let Some(arg) = self.sql_args().next() {
            return Some(arg.evidence(format!("the argument {:?} carries SQL text", arg.name)));
        }
        self.text_has_pair(SQL_PHRASES)
            .map(|p| self.description_evidence(format!("the description says {p:?}")))
    }

    /// Arguments that carry SQL text or a SQL fragment.
    pub fn sql_args(&self) -> impl Iterator<Item = &Arg> {
        let context = self.sql_context();
        self.args.iter().filter(move |a| {
            a.takes_text()
                && (SQL_ARGS.contains(&a.folded.as_str())
                    || SQL_FRAGMENT_ARGS.contains(&a.folded.as_str())
                    || (context && AMBIGUOUS_SQL_ARGS.contains(&a.folded.as_str())))
        })
    }

    /// Whether the tool talks about SQL or a database anywhere (name, description, argument
    /// descriptions): then an argument called `query` is SQL, not a search phrase.
    fn sql_context(&self) -> bool {
        let arg_text = self
            .args
            .iter()
            .filter_map(|a| a.schema.get("description").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let all: Vec<String> = self
            .name_words
            .iter()
            .chain(&self.text_words)
            .cloned()
            .chain(words(&arg_text))
            .collect();
        all.iter().any(|w| SQL_CONTEXT.contains(&w.as_str()))
    }

    /// Why the tool changes something, if it does.
    pub fn write(&self) -> Option<Evidence> {
        if let Some(w) = self.name_has(WRITE_VERBS) {
            return Some(self.name_evidence(format!("the name contains the write verb {w:?}")));
        }
        if self.destructive == Some(true) {
            return Some(self.hint_evidence("destructiveHint", "destructiveHint is true"));
        }
        if self.read_only == Some(false) {
            return Some(self.hint_evidence("readOnlyHint", "readOnlyHint is false"));
        }
        if self.read_only == Some(true) {
            return None;
        }
        self.text_has(WRITE_VERBS_IN_TEXT)
            .map(|w| self.description_evidence(format!("the description says {w:?}")))
    }

    /// Whether the tool says it only records a proposal for a person to review.
    pub fn proposal_boundary(&self) -> bool {
        let meta = self
            .tool
            .raw
            .get("_meta")
            .map(|m| m.to_string().to_lowercase())
            .unwrap_or_default();
        self.name_has(&["propose", "proposal", "draft"]).is_some()
            || self
                .text_has(&["proposal", "propose", "proposes", "changeset"])
                .is_some()
            || self
                .text_has_pair(&[
                    ("review", "required"),
                    ("approval", "required"),
                    ("requires", "approval"),
                    ("human", "review"),
                    ("change", "set"),
                ])
                .is_some()
            || meta.contains("\"proposal\"")
    }

    /// Whether the tool reads or lists things.
    pub fn read_like(&self) -> bool {
        self.name_has(READ_VERBS).is_some() || self.sql().is_some()
    }
}

const NEGATIONS: &[&str] = &[
    "not", "never", "no", "without", "cannot", "nor", "don", "doesn",
];

/// Folded names of tools that run the SQL they are given.
const SQL_TOOL_NAMES: &[&str] = &[
    "executesql",
    "runsql",
    "runquery",
    "querydatabase",
    "databasequery",
    "sqlquery",
    "rawsql",
    "executequery",
    "readquery",
    "writequery",
    "execsql",
    "runsqlquery",
    "executestatement",
    "runstatement",
    "querydb",
    "dbquery",
];

const SQL_PHRASES: &[(&str, &str)] = &[
    ("execute", "sql"),
    ("executes", "sql"),
    ("run", "sql"),
    ("runs", "sql"),
    ("raw", "sql"),
    ("arbitrary", "sql"),
    ("any", "sql"),
    ("sql", "query"),
    ("sql", "queries"),
    ("sql", "statement"),
    ("sql", "statements"),
    ("execute", "query"),
    ("run", "query"),
    ("query", "executor"),
    ("query", "database"),
    ("select", "query"),
];

/// Folded argument names that always carry SQL text.
const SQL_ARGS: &[&str] = &[
    "sql",
    "rawsql",
    "sqlquery",
    "sqlstatement",
    "statement",
    "statements",
    "sqltext",
    "querysql",
    "sqlstring",
    "rawquery",
];

/// Folded argument names that carry a piece of SQL spliced into a statement.
const SQL_FRAGMENT_ARGS: &[&str] = &[
    "where",
    "whereclause",
    "wherecondition",
    "having",
    "sqlfilter",
    "sqlwhere",
];

/// Folded argument names that are SQL when the tool is about a database.
const AMBIGUOUS_SQL_ARGS: &[&str] = &["query", "q", "querystring", "querytext", "command"];

const SQL_CONTEXT: &[&str] = &[
    "sql",
    "database",
    "databases",
    "db",
    "table",
    "tables",
    "postgres",
    "postgresql",
    "mysql",
    "sqlite",
    "mariadb",
    "select",
];

pub(crate) const WRITE_VERBS: &[&str] = &[
    "update", "insert", "delete", "upsert", "write", "mutate", "refund", "waive", "charge",
    "cancel", "commit", "approve", "settle", "apply", "merge", "resolve", "close", "create",
    "drop", "alter", "truncate", "remove", "modify", "set", "grant", "revoke", "transfer", "pay",
    "send", "purge", "destroy", "erase", "reset", "patch", "put", "edit", "rename", "migrate",
    "add", "append", "execute", "exec",
];

const WRITE_VERBS_IN_TEXT: &[&str] = &[
    "update", "updates", "insert", "inserts", "delete", "deletes", "upsert", "write", "writes",
    "mutate", "mutates", "refund", "refunds", "waive", "waives", "charge", "charges", "cancel",
    "cancels", "commit", "commits", "approve", "approves", "settle", "settles", "drop", "drops",
    "alter", "alters", "truncate", "remove", "removes", "modify", "modifies", "transfer", "grant",
    "revoke", "purge", "issue", "issues",
];

const READ_VERBS: &[&str] = &[
    "get", "list", "read", "search", "find", "inspect", "select", "query", "fetch", "describe",
    "show", "lookup", "export", "dump", "scan", "browse",
];

/// Lower case, letters and digits only.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Lower-case words: split on anything but letters and digits, and before an upper-case
/// letter that follows a lower-case one (`deleteOrder` → `delete`, `order`).
pub(crate) fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            cur.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn collect_args(schema: &Value, pointer: &str, depth: usize, out: &mut Vec<Arg>) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let at = format!("{pointer}/properties/{}", escape(name));
            out.push(Arg {
                name: name.clone(),
                folded: fold(name),
                pointer: at.clone(),
                schema: sub.clone(),
            });
            collect_args(sub, &at, depth + 1, out);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = schema.get(key).filter(|s| s.is_object()) {
            collect_args(sub, &format!("{pointer}/{key}"), depth + 1, out);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            for (i, sub) in list.iter().enumerate() {
                collect_args(sub, &format!("{pointer}/{key}/{i}"), depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_snake_kebab_dots_and_camel_case() {
        assert_eq!(
            words("billing.update_customer"),
            ["billing", "update", "customer"]
        );
        assert_eq!(words("deleteOrder"), ["delete", "order"]);
        assert_eq!(
            words("Run a read-only SQL query"),
            ["run", "a", "read", "only", "sql", "query"]
        );
        assert_eq!(fold("Tenant_ID"), "tenantid");
    }
}
