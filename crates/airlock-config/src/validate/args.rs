//! `capabilities[i].args`: the model-facing arguments.

use indexmap::IndexMap;
use serde_json::Value;

use super::capabilities::{MAX_TEXT_CHARS, is_text};
use super::{Ctx, Path, guards, kind_of};
use crate::names::{is_reserved_arg_name, is_safe_identifier};

const ARG_KEYS: &[&str] = &[
    "type",
    "description",
    "required",
    "max_length",
    "minimum",
    "maximum",
    "enum",
];

/// Returns declared arg names with their type when valid, or `None` when `args` is not a
/// non-empty object.
pub(super) fn args<'a>(
    ctx: &mut Ctx,
    v: Option<&'a Value>,
    p: &Path,
) -> Option<IndexMap<&'a str, Option<&'a str>>> {
    let map = match v.and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m,
        _ => {
            ctx.error(
                "ARGS_REQUIRED",
                p,
                "args must be a non-empty object of model-facing arguments",
                "declare at least the argument that carries the primary key, e.g. {\"invoice_id\": {\"type\": \"string\", \"max_length\": 128}}",
            );
            return None;
        }
    };
    let mut out = IndexMap::new();
    for (name, a) in map {
        let ap = p.key(name);
        if is_reserved_arg_name(name) {
            ctx.error(
                "MODEL_CONTROLLED_RESERVED_ARG",
                &ap,
                format!("`{name}` cannot be a model-facing argument: it names trust scope, identity or a database identifier"),
                "remove it: tenant, principal and roles come from trusted context (config, environment or verified HTTP claims) and identifiers from the capability's target",
            );
        } else if !is_safe_identifier(name) {
            ctx.error(
                "INVALID_ARG_NAME",
                &ap,
                format!("argument name `{name}` must match ^[A-Za-z_][A-Za-z0-9_]*$"),
                "use letters, digits and underscores, e.g. \"invoice_id\"",
            );
        }
        out.insert(name.as_str(), arg(ctx, a, &ap));
    }
    Some(out)
}

/// One arg; returns its type when valid.
fn arg<'a>(ctx: &mut Ctx, v: &'a Value, p: &Path) -> Option<&'a str> {
    let Some(obj) = v.as_object() else {
        ctx.error(
            "ARG_NOT_OBJECT",
            p,
            format!("an argument must be an object, found {}", kind_of(v)),
            "use {\"type\": \"string\", \"max_length\": 128}",
        );
        return None;
    };
    ctx.unknown_keys(obj, ARG_KEYS, p);
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| matches!(*t, "string" | "number" | "boolean"));
    if ty.is_none() {
        ctx.error(
            "INVALID_ARG_TYPE",
            &p.key("type"),
            "type must be string, number or boolean",
            "set \"type\": \"string\" for ids and text",
        );
    }
    if obj.get("description").is_some_and(|d| !is_text(d)) {
        ctx.error(
            "INVALID_ARG_DESCRIPTION",
            &p.key("description"),
            format!(
                "description must be a non-empty string of at most {MAX_TEXT_CHARS} characters"
            ),
            "describe the argument for the model, or remove `description`",
        );
    }
    if let Some(r) = obj.get("required").filter(|r| !r.is_boolean()) {
        ctx.error(
            "INVALID_ARG_REQUIRED",
            &p.key("required"),
            format!("required must be true or false, found {}", kind_of(r)),
            "use false for an optional argument; arguments are required by default",
        );
    }
    let max_length = obj.get("max_length");
    if let Some(m) = max_length {
        if m.as_u64().is_none_or(|n| n == 0) {
            ctx.error(
                "INVALID_MAX_LENGTH",
                &p.key("max_length"),
                "max_length must be a positive integer",
                "e.g. 128 for ids, 500 for free text",
            );
        } else if ty.is_some_and(|t| t != "string") {
            ctx.error(
                "MAX_LENGTH_REQUIRES_STRING",
                &p.key("max_length"),
                "max_length only applies to string arguments",
                "remove max_length, or use minimum/maximum for numbers",
            );
        }
    }
    let bounds = if ty.is_some_and(|t| t != "number") {
        for key in ["minimum", "maximum"] {
            if obj.contains_key(key) {
                ctx.error(
                    "NUMERIC_BOUNDS_REQUIRE_NUMBER",
                    &p.key(key),
                    format!("{key} only applies to number arguments"),
                    "remove it, or change the argument's type to number",
                );
            }
        }
        [None, None]
    } else {
        guards::numeric_range(ctx, obj, p)
    };
    if let Some(e) = obj.get("enum") {
        let limit = max_length.and_then(Value::as_u64);
        let fits = |item: &Value| match ty {
            Some("string") => item
                .as_str()
                .is_some_and(|s| limit.is_none_or(|l| s.chars().count() as u64 <= l)),
            Some("number") => item.as_f64().is_some_and(|n| {
                bounds[0].is_none_or(|min| n >= min) && bounds[1].is_none_or(|max| n <= max)
            }),
            Some(_) => item.is_boolean(),
            None => true,
        };
        let ok = e
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(fits));
        if !ok {
            ctx.error(
                "INVALID_ENUM",
                &p.key("enum"),
                format!(
                    "enum must be a non-empty array of {} values within the argument's limits",
                    ty.unwrap_or("matching")
                ),
                "list the allowed values, e.g. [\"shipped\", \"canceled\"], or remove `enum`",
            );
        }
    }
    ty
}

#[cfg(test)]
mod tests;
