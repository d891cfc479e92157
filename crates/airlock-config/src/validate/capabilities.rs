//! `capabilities[i]`: the model-facing tools, their target, args and lookup; then writeback
//! readiness, which needs sources, executors and capabilities together.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::{Ctx, Facts, Path, args, bounded_positive, kind_of, non_empty_str, proposal};
use crate::names::{is_capability_name, is_safe_identifier, is_secret_name};

/// Largest accepted `max_rows`.
pub(crate) const MAX_ROWS: u64 = 1000;
/// Longest accepted description, returns_hint or arg description, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 2000;

const CAPABILITY_KEYS: &[&str] = &[
    "name",
    "kind",
    "description",
    "returns_hint",
    "source",
    "context",
    "executor",
    "target",
    "args",
    "lookup",
    "visible_columns",
    "evidence",
    "max_rows",
    "patch",
    "allowed_columns",
    "numeric_bounds",
    "transition_guards",
    "conflict_guard",
    "approval",
    "single_tenant_dev_ack",
];
/// Fields only a proposal uses; ignored (with a warning) on a read capability.
const PROPOSAL_ONLY_KEYS: &[&str] = &[
    "patch",
    "allowed_columns",
    "numeric_bounds",
    "transition_guards",
    "conflict_guard",
];
const TARGET_KEYS: &[&str] = &[
    "schema",
    "table",
    "primary_key",
    "tenant_key",
    "single_tenant_dev",
];
const LOOKUP_KEYS: &[&str] = &["id_from_arg"];
const APPROVAL_KEYS: &[&str] = &["mode", "required_role", "allow_self_approval"];

/// What proposal checks need to know about the capability's target and reads.
pub(super) struct CapFacts<'a> {
    pub path: Path,
    /// Declared args with their type when valid; `None` when `args` is invalid.
    pub args: Option<IndexMap<&'a str, Option<&'a str>>>,
    pub primary_key: Option<&'a str>,
    pub tenant_key: Option<&'a str>,
    /// Valid visible columns; `None` when `visible_columns` is invalid.
    pub visible: Option<Vec<&'a str>>,
}

pub(super) fn capabilities(ctx: &mut Ctx, root: &Map<String, Value>, facts: &Facts) {
    let path = Path::root().key("capabilities");
    let list = match root.get("capabilities") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        None if facts.mode == Some("cloud") => return,
        Some(Value::Array(_)) if facts.mode == Some("cloud") => return,
        _ => {
            ctx.error(
                "CAPABILITIES_REQUIRED",
                &path,
                "capabilities must be a non-empty array",
                "add at least one read capability; `airlock demo` writes a complete example",
            );
            return;
        }
    };
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, cap) in list.iter().enumerate() {
        let p = path.index(i);
        let Some(obj) = cap.as_object() else {
            ctx.error(
                "CAPABILITY_NOT_OBJECT",
                &p,
                format!("a capability must be an object, found {}", kind_of(cap)),
                "see `airlock config schema` for the fields of a capability",
            );
            continue;
        };
        capability(ctx, obj, &p, facts, &mut seen);
    }
}

fn capability<'a>(
    ctx: &mut Ctx,
    obj: &'a Map<String, Value>,
    p: &Path,
    facts: &Facts,
    seen: &mut HashSet<&'a str>,
) {
    ctx.unknown_keys(obj, CAPABILITY_KEYS, p);
    let kind = name_and_kind(ctx, obj, p, seen);
    references(ctx, obj, p, facts);
    let (primary_key, tenant_key) = target(ctx, obj.get("target"), &p.key("target"));
    let args = args::args(ctx, obj.get("args"), &p.key("args"));
    lookup(ctx, obj.get("lookup"), &p.key("lookup"), args.as_ref());
    let visible = visible_columns(ctx, obj.get("visible_columns"), &p.key("visible_columns"));

    if obj
        .get("max_rows")
        .is_some_and(|v| bounded_positive(v, MAX_ROWS).is_none())
    {
        ctx.error(
            "INVALID_MAX_ROWS",
            &p.key("max_rows"),
            format!("max_rows must be a positive integer no larger than {MAX_ROWS}"),
            "use 1: a capability reads exactly one row by primary key",
        );
    }

    let cap = CapFacts {
        path: p.clone(),
        args,
        primary_key,
        tenant_key,
        visible,
    };
    match kind {
        Some("proposal") => proposal::check(ctx, obj, &cap),
        Some(_) => {
            for key in PROPOSAL_ONLY_KEYS {
                if obj.contains_key(*key) {
                    let kp = p.key(key);
                    ctx.warning(
                        "PROPOSAL_FIELD_ON_READ",
                        &kp,
                        format!("{key} is ignored on a read capability"),
                        "remove it, or change kind to proposal",
                    );
                    ctx.strip.push(kp);
                }
            }
        }
        None => {}
    }

    if let Some(v) = obj.get("approval") {
        approval(ctx, v, &p.key("approval"));
    }
}

/// `name`, `kind`, `description` and `returns_hint`; returns the kind when valid.
fn name_and_kind<'a>(
    ctx: &mut Ctx,
    obj: &'a Map<String, Value>,
    p: &Path,
    seen: &mut HashSet<&'a str>,
) -> Option<&'a str> {
    match obj.get("name").and_then(Value::as_str) {
        Some(name) if is_capability_name(name) => {
            if !seen.insert(name) {
                ctx.error(
                    "DUPLICATE_CAPABILITY_NAME",
                    &p.key("name"),
                    format!("capability name `{name}` is already used by an earlier capability"),
                    "give every capability a unique namespace.name",
                );
            }
        }
        _ => ctx.error(
            "INVALID_CAPABILITY_NAME",
            &p.key("name"),
            "capability name must be namespace.name: two identifiers joined by exactly one dot",
            "e.g. \"billing.inspect_invoice\"",
        ),
    }

    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| matches!(*k, "read" | "proposal"));
    if kind.is_none() {
        ctx.error(
            "INVALID_CAPABILITY_KIND",
            &p.key("kind"),
            "kind must be read or proposal",
            "use \"read\" to return one scoped row, \"proposal\" to record a change for human review",
        );
    }

    for (key, code) in [
        ("description", "INVALID_CAPABILITY_DESCRIPTION"),
        ("returns_hint", "INVALID_RETURNS_HINT"),
    ] {
        if obj.get(key).is_some_and(|v| !is_text(v)) {
            ctx.error(
                code,
                &p.key(key),
                format!("{key} must be a non-empty string of at most {MAX_TEXT_CHARS} characters"),
                format!("write one or two sentences for the model, or remove `{key}`"),
            );
        }
    }
    kind
}

/// `source`, `context` and `executor` must name declared things.
fn references(ctx: &mut Ctx, obj: &Map<String, Value>, p: &Path, facts: &Facts) {
    let source_ok = obj
        .get("source")
        .and_then(Value::as_str)
        .is_some_and(|s| facts.sources.contains_key(s));
    if !source_ok {
        let declared: Vec<&str> = facts.sources.keys().copied().collect();
        ctx.error(
            "UNKNOWN_SOURCE",
            &p.key("source"),
            match obj.get("source").and_then(Value::as_str) {
                Some(s) => format!("source `{s}` is not declared in sources"),
                None => "source must name a declared source".to_owned(),
            },
            if declared.is_empty() {
                "declare the database under `sources` and name it here".to_owned()
            } else {
                format!("use one of: {}", declared.join(", "))
            },
        );
    }

    if let Some(v) = obj.get("context") {
        let known = v.as_str().is_some_and(|c| {
            facts
                .contexts
                .as_ref()
                .is_some_and(|names| names.contains(&c))
        });
        if !known {
            ctx.error(
                "UNKNOWN_CONTEXT",
                &p.key("context"),
                match v.as_str() {
                    Some(c) => format!("context `{c}` is not declared in contexts"),
                    None => "context must name a declared context".to_owned(),
                },
                "declare it under `contexts`, or remove `context` to use trusted_context",
            );
        }
    }

    if let Some(v) = obj.get("executor") {
        match v.as_str() {
            Some(e) if !e.is_empty() => {
                if e != "sql_update" && !facts.executors.contains_key(e) {
                    ctx.error(
                        "UNKNOWN_EXECUTOR",
                        &p.key("executor"),
                        format!("executor `{e}` is neither sql_update nor declared in executors"),
                        "declare it under `executors`, or remove `executor` to use direct SQL",
                    );
                }
            }
            _ => ctx.error(
                "INVALID_EXECUTOR_REFERENCE",
                &p.key("executor"),
                "executor must be a non-empty string",
                "name an executor declared under `executors`, or remove the key to use sql_update",
            ),
        }
    }
}

pub(super) fn is_text(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= MAX_TEXT_CHARS)
}

/// Returns the valid primary key and tenant key.
fn target<'a>(ctx: &mut Ctx, v: Option<&'a Value>, p: &Path) -> (Option<&'a str>, Option<&'a str>) {
    let Some(obj) = v.and_then(Value::as_object) else {
        ctx.error(
            "TARGET_REQUIRED",
            p,
            "target must be an object naming the table",
            "add \"target\": {\"table\": \"invoices\", \"primary_key\": \"id\", \"tenant_key\": \"tenant_id\"}",
        );
        return (None, None);
    };
    ctx.unknown_keys(obj, TARGET_KEYS, p);
    let mut ident = |key: &str, required: bool| -> Option<&'a str> {
        match obj.get(key) {
            None if !required => None,
            Some(v) if v.as_str().is_some_and(is_safe_identifier) => v.as_str(),
            _ => {
                ctx.error(
                    "INVALID_TARGET_IDENTIFIER",
                    &p.key(key),
                    format!(
                        "target.{key} must be a fixed safe identifier (^[A-Za-z_][A-Za-z0-9_]*$)"
                    ),
                    format!(
                        "set {key} to the exact name of the database object, e.g. \"{}\"",
                        example(key)
                    ),
                );
                None
            }
        }
    };
    ident("schema", false);
    ident("table", true);
    let primary_key = ident("primary_key", true);
    let tenant_key = ident("tenant_key", false);

    let single_tenant_dev = match obj.get("single_tenant_dev") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            ctx.error(
                "INVALID_SINGLE_TENANT_DEV",
                &p.key("single_tenant_dev"),
                "single_tenant_dev must be true or false",
                "remove it and set tenant_key; use true only for a local table without a tenant column",
            );
            false
        }
    };
    if !obj.contains_key("tenant_key") && !single_tenant_dev {
        ctx.error(
            "TENANT_GUARD_REQUIRED",
            &p.key("tenant_key"),
            "target.tenant_key is required: every read and proposal is scoped to the trusted tenant",
            "set tenant_key to the tenant column (e.g. \"tenant_id\"); for a local single-tenant table set \"single_tenant_dev\": true",
        );
    }
    if single_tenant_dev {
        ctx.warning(
            "SINGLE_TENANT_DEV_EXCEPTION",
            &p.key("single_tenant_dev"),
            "single_tenant_dev turns off tenant scoping for this capability",
            "never use it on data shared by several tenants; set tenant_key instead",
        );
    }
    (primary_key, tenant_key)
}

fn example(key: &str) -> &'static str {
    match key {
        "schema" => "public",
        "table" => "invoices",
        "primary_key" => "id",
        _ => "tenant_id",
    }
}

fn lookup(ctx: &mut Ctx, v: Option<&Value>, p: &Path, args: Option<&IndexMap<&str, Option<&str>>>) {
    let Some(obj) = v.and_then(Value::as_object) else {
        ctx.error(
            "LOOKUP_REQUIRED",
            p,
            "lookup must be an object naming the argument that carries the primary key",
            "add \"lookup\": {\"id_from_arg\": \"invoice_id\"}",
        );
        return;
    };
    ctx.unknown_keys(obj, LOOKUP_KEYS, p);
    match non_empty_str(obj.get("id_from_arg")) {
        None => ctx.error(
            "LOOKUP_ARG_REQUIRED",
            &p.key("id_from_arg"),
            "lookup.id_from_arg must be a non-empty string",
            "name the argument that carries the primary key, e.g. \"invoice_id\"",
        ),
        Some(a) => {
            if args.is_some_and(|args| !args.contains_key(a)) {
                ctx.error(
                    "LOOKUP_ARG_UNDECLARED",
                    &p.key("id_from_arg"),
                    format!("lookup.id_from_arg names `{a}`, which is not declared in args"),
                    format!("declare `{a}` under args, or name one of the declared arguments"),
                );
            }
        }
    }
}

/// Returns the valid visible columns, or `None` when the list is not a non-empty array.
fn visible_columns<'a>(ctx: &mut Ctx, v: Option<&'a Value>, p: &Path) -> Option<Vec<&'a str>> {
    let list = match v.and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a,
        _ => {
            ctx.error(
                "VISIBLE_COLUMNS_REQUIRED",
                p,
                "visible_columns must be a non-empty array of column names",
                "list the columns the model may see, e.g. [\"id\", \"status\", \"updated_at\"]",
            );
            return None;
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (j, c) in list.iter().enumerate() {
        match c.as_str() {
            Some(name) if is_safe_identifier(name) => {
                if is_secret_name(name) {
                    secret_column(ctx, name, &p.index(j));
                }
                out.push(name);
            }
            _ => ctx.error(
                "INVALID_VISIBLE_COLUMN",
                &p.index(j),
                "a visible column must be a safe identifier (^[A-Za-z_][A-Za-z0-9_]*$)",
                "use the exact column name",
            ),
        }
    }
    Some(out)
}

pub(super) fn secret_column(ctx: &mut Ctx, name: &str, p: &Path) {
    ctx.error(
        "SECRET_COLUMN_VISIBLE",
        p,
        format!("column `{name}` looks like it holds secret material and would be shown to the model and stored in evidence"),
        "remove it; if the name is misleading, expose the data through a view with a different column name",
    );
}

fn approval(ctx: &mut Ctx, v: &Value, p: &Path) {
    let Some(obj) = v.as_object() else {
        ctx.error(
            "APPROVAL_NOT_OBJECT",
            p,
            format!("approval must be an object, found {}", kind_of(v)),
            "use {\"mode\": \"human\", \"required_role\": \"billing_lead\"} or remove `approval`",
        );
        return;
    };
    ctx.unknown_keys(obj, APPROVAL_KEYS, p);
    if let Some(v) = obj.get("allow_self_approval").filter(|v| !v.is_boolean()) {
        ctx.error(
            "INVALID_APPROVAL_SELF",
            &p.key("allow_self_approval"),
            format!(
                "approval.allow_self_approval must be true or false, found {}",
                kind_of(v)
            ),
            "remove it (the default, false, forbids approving your own proposal) or set a boolean",
        );
    }
    for (key, code) in [
        ("mode", "INVALID_APPROVAL_MODE"),
        ("required_role", "INVALID_APPROVAL_ROLE"),
    ] {
        if obj.contains_key(key) && non_empty_str(obj.get(key)).is_none() {
            ctx.error(
                code,
                &p.key(key),
                format!("approval.{key} must be a non-empty string"),
                format!("set {key} to a string or remove it"),
            );
        }
    }
}

#[cfg(test)]
mod tests;
