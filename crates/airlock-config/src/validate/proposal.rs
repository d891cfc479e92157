//! Proposal-only fields: `patch`, `allowed_columns`, `numeric_bounds`, `transition_guards`,
//! `conflict_guard`, and the cross-checks between them that the original only found when a
//! change set was parsed at run time.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::capabilities::{CapFacts, secret_column};
use super::{Ctx, Path, guards, kind_of, non_empty_str};
use crate::names::{is_safe_identifier, is_secret_name};

const BINDING_KEYS: &[&str] = &["fixed", "from_arg"];
const CONFLICT_KEYS: &[&str] = &["column", "weak_guard_ack", "bump"];

/// Where a patched column's value comes from, when the binding is valid.
pub(super) enum Binding<'a> {
    Fixed(&'a Value),
    FromArg(&'a str),
    Invalid,
}

/// The checked patch, for the guard checks.
pub(super) struct Patch<'a> {
    pub cap: &'a CapFacts<'a>,
    pub bindings: IndexMap<&'a str, Binding<'a>>,
    /// Columns the read returns (visible ∪ primary key ∪ tenant key ∪ conflict column), or
    /// `None` when visible_columns is invalid.
    pub read_columns: Option<Vec<&'a str>>,
}

impl Patch<'_> {
    /// The declared type of an argument, when known.
    pub fn arg_type(&self, arg: &str) -> Option<&str> {
        self.cap
            .args
            .as_ref()
            .and_then(|args| args.get(arg).copied().flatten())
    }
}

pub(super) fn check<'a>(ctx: &mut Ctx, obj: &'a Map<String, Value>, cap: &'a CapFacts<'a>) {
    let conflict_column = obj
        .get("conflict_guard")
        .and_then(|g| g.get("column"))
        .and_then(Value::as_str)
        .filter(|c| is_safe_identifier(c));
    // Columns the read returns, so the reviewer sees each before value.
    let read_columns: Option<Vec<&str>> = cap.visible.as_ref().map(|v| {
        let mut cols = v.clone();
        cols.extend(cap.primary_key);
        cols.extend(cap.tenant_key);
        cols.extend(conflict_column);
        cols
    });
    let allowed: Option<Vec<&str>> = obj
        .get("allowed_columns")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| a.iter().filter_map(Value::as_str).collect());

    let mut patch = Patch {
        cap,
        bindings: IndexMap::new(),
        read_columns,
    };
    let pp = cap.path.key("patch");
    match obj.get("patch").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => {
            for (col, b) in m {
                let cp = pp.key(col);
                patch_column(ctx, col, &cp, &patch, allowed.as_deref());
                let binding = binding(ctx, b, &cp, cap);
                patch.bindings.insert(col.as_str(), binding);
            }
        }
        _ => ctx.error(
            "PATCH_REQUIRED",
            &pp,
            "a proposal needs a non-empty patch object",
            "map each changed column to {\"from_arg\": \"<arg>\"} or {\"fixed\": <value>}",
        ),
    }
    allowed_columns(ctx, obj.get("allowed_columns"), cap);
    guards::numeric_bounds(ctx, obj.get("numeric_bounds"), &patch);
    guards::transition_guards(ctx, obj.get("transition_guards"), &patch);
    conflict_guard(
        ctx,
        obj.get("conflict_guard"),
        &cap.path.key("conflict_guard"),
        &patch,
    );
}

fn is_key_column(cap: &CapFacts, col: &str) -> bool {
    cap.primary_key == Some(col) || cap.tenant_key == Some(col)
}

/// The patched column's name against the target, allowed_columns and the read columns.
fn patch_column(ctx: &mut Ctx, col: &str, cp: &Path, patch: &Patch, allowed: Option<&[&str]>) {
    if !is_safe_identifier(col) {
        ctx.error(
            "INVALID_PATCH_COLUMN",
            cp,
            format!("patch column `{col}` must be a safe identifier (^[A-Za-z_][A-Za-z0-9_]*$)"),
            "use the exact column name",
        );
        return;
    }
    if is_secret_name(col) {
        secret_column(ctx, col, cp);
    }
    if is_key_column(patch.cap, col) {
        ctx.error(
            "PATCH_TARGETS_KEY_COLUMN",
            cp,
            format!("`{col}` is the primary key or tenant key and can never be patched"),
            "remove it from patch; a proposal changes one row's other columns",
        );
    } else if allowed.is_some_and(|a| !a.contains(&col)) {
        ctx.error(
            "PATCH_COLUMN_NOT_ALLOWED",
            cp,
            format!("patch column `{col}` is not in allowed_columns"),
            format!("add \"{col}\" to allowed_columns, or remove it from patch"),
        );
    }
    // Every example config reads its patched columns, so this stays an error.
    if patch
        .read_columns
        .as_ref()
        .is_some_and(|r| !r.contains(&col))
    {
        ctx.error(
            "PATCH_COLUMN_NOT_VISIBLE",
            cp,
            format!("patch column `{col}` is not read, so the reviewer could not see its value before the change"),
            format!("add \"{col}\" to visible_columns"),
        );
    }
}

fn allowed_columns(ctx: &mut Ctx, v: Option<&Value>, cap: &CapFacts) {
    let ap = cap.path.key("allowed_columns");
    let Some(list) = v.and_then(Value::as_array).filter(|l| !l.is_empty()) else {
        ctx.error(
            "ALLOWED_COLUMNS_REQUIRED",
            &ap,
            "a proposal needs a non-empty allowed_columns array",
            "list the columns this proposal may change, usually the keys of patch",
        );
        return;
    };
    let mut seen = HashSet::new();
    for (j, c) in list.iter().enumerate() {
        let cp = ap.index(j);
        let Some(name) = c.as_str().filter(|n| is_safe_identifier(n)) else {
            ctx.error(
                "INVALID_ALLOWED_COLUMN",
                &cp,
                "an allowed column must be a safe identifier (^[A-Za-z_][A-Za-z0-9_]*$)",
                "use the exact column name",
            );
            continue;
        };
        if !seen.insert(name) {
            ctx.error(
                "DUPLICATE_ALLOWED_COLUMN",
                &cp,
                format!("`{name}` is listed twice in allowed_columns"),
                "remove the duplicate",
            );
        }
        if is_key_column(cap, name) {
            ctx.error(
                "PATCH_TARGETS_KEY_COLUMN",
                &cp,
                format!("`{name}` is the primary key or tenant key and cannot be allow-listed"),
                "remove it from allowed_columns",
            );
        }
    }
}

fn binding<'a>(ctx: &mut Ctx, b: &'a Value, cp: &Path, cap: &CapFacts) -> Binding<'a> {
    let Some(bo) = b.as_object() else {
        ctx.error(
            "PATCH_BINDING_NOT_OBJECT",
            cp,
            format!("a patch binding must be an object, found {}", kind_of(b)),
            "use {\"from_arg\": \"<arg>\"} or {\"fixed\": <value>}",
        );
        return Binding::Invalid;
    };
    ctx.unknown_keys(bo, BINDING_KEYS, cp);
    match (bo.get("fixed"), bo.get("from_arg")) {
        (Some(v), None) => Binding::Fixed(v),
        (None, Some(a)) => match non_empty_str(Some(a)) {
            None => {
                ctx.error(
                    "INVALID_PATCH_ARG",
                    &cp.key("from_arg"),
                    "from_arg must be a non-empty string",
                    "name one of the capability's args",
                );
                Binding::Invalid
            }
            Some(name) => {
                if cap
                    .args
                    .as_ref()
                    .is_some_and(|args| !args.contains_key(name))
                {
                    ctx.error(
                        "PATCH_ARG_UNDECLARED",
                        &cp.key("from_arg"),
                        format!("from_arg names `{name}`, which is not declared in args"),
                        format!(
                            "declare `{name}` under args, or name one of the declared arguments"
                        ),
                    );
                }
                Binding::FromArg(name)
            }
        },
        _ => {
            ctx.error(
                "INVALID_PATCH_BINDING",
                cp,
                "a patch binding needs exactly one of fixed or from_arg",
                "use {\"from_arg\": \"<arg>\"} for a model-supplied value or {\"fixed\": <value>} for a constant",
            );
            Binding::Invalid
        }
    }
}

fn conflict_guard(ctx: &mut Ctx, v: Option<&Value>, cp: &Path, patch: &Patch) {
    let Some(obj) = v.and_then(Value::as_object) else {
        ctx.error(
            "CONFLICT_GUARD_REQUIRED",
            cp,
            "a proposal needs a conflict_guard object so that apply can detect a changed row",
            "use {\"column\": \"updated_at\"} (or a version column); without one, {\"weak_guard_ack\": true}",
        );
        return;
    };
    ctx.unknown_keys(obj, CONFLICT_KEYS, cp);
    let ack = match obj.get("weak_guard_ack") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            ctx.error(
                "INVALID_WEAK_GUARD_ACK",
                &cp.key("weak_guard_ack"),
                "weak_guard_ack must be true or false",
                "use true to accept a hash of the whole row as the conflict guard",
            );
            false
        }
    };
    match obj.get("column") {
        Some(c) if c.as_str().is_some_and(is_safe_identifier) => {}
        Some(_) => ctx.error(
            "CONFLICT_GUARD_COLUMN_REQUIRED",
            &cp.key("column"),
            "conflict_guard.column must be a safe identifier",
            "name a column that changes on every write, e.g. \"updated_at\" or \"version\"",
        ),
        None if !ack => ctx.error(
            "CONFLICT_GUARD_COLUMN_REQUIRED",
            cp,
            "conflict_guard needs a column, or weak_guard_ack: true",
            "name a column that changes on every write, e.g. \"updated_at\"; without one, set \"weak_guard_ack\": true",
        ),
        None => {}
    }
    bump(ctx, obj, cp, patch);
}

/// `bump: true` needs a version column to advance, one the patch does not set itself.
fn bump(ctx: &mut Ctx, obj: &Map<String, Value>, cp: &Path, patch: &Patch) {
    let bp = cp.key("bump");
    match obj.get("bump") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => match obj.get("column").and_then(Value::as_str) {
            None => ctx.error(
                "CONFLICT_GUARD_BUMP_WITHOUT_COLUMN",
                &bp,
                "bump advances the conflict_guard column, but there is none (a row-hash guard has nothing to advance)",
                "name the version column in conflict_guard.column, or remove bump",
            ),
            Some(col) if patch.bindings.contains_key(col) => ctx.error(
                "CONFLICT_GUARD_BUMP_PATCHED",
                &bp,
                format!("the patch sets `{col}` itself, so bump would have nothing to advance"),
                "remove bump, or remove the version column from patch",
            ),
            Some(_) => {}
        },
        Some(_) => ctx.error(
            "INVALID_CONFLICT_GUARD_BUMP",
            &bp,
            "bump must be true or false",
            "use true to have Airlock advance the version column with each write (the writer then needs UPDATE on it)",
        ),
    }
}

#[cfg(test)]
mod tests;
