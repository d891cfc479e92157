//! `numeric_bounds` and `transition_guards` of a proposal, checked against its patch: each must
//! name a patched column whose value can satisfy it. The original found type mismatches and
//! out-of-range fixed values only when a proposal was made.

use serde_json::{Map, Value};

use super::proposal::{Binding, Patch};
use super::{Ctx, Path, kind_of, non_empty_str};
use crate::names::is_safe_identifier;

const BOUND_KEYS: &[&str] = &["minimum", "maximum"];
const GUARD_KEYS: &[&str] = &["from_column", "allowed"];

/// Reads optional `minimum`/`maximum` of `obj` (an arg or a bound at `path`), reporting
/// non-numbers and an inverted range. Returns the valid bounds.
pub(super) fn numeric_range(
    ctx: &mut Ctx,
    obj: &Map<String, Value>,
    path: &Path,
) -> [Option<f64>; 2] {
    let mut range = [None, None];
    for (slot, (key, code)) in [
        ("minimum", "INVALID_MINIMUM"),
        ("maximum", "INVALID_MAXIMUM"),
    ]
    .into_iter()
    .enumerate()
    {
        match obj.get(key).map(Value::as_f64) {
            None => {}
            Some(Some(n)) => range[slot] = Some(n),
            Some(None) => ctx.error(
                code,
                &path.key(key),
                format!("{key} must be a finite number"),
                format!("set {key} to a number or remove it"),
            ),
        }
    }
    match range {
        [Some(min), Some(max)] if min > max => ctx.error(
            "INVALID_NUMERIC_RANGE",
            path,
            format!("minimum {min} is larger than maximum {max}"),
            "swap the bounds",
        ),
        _ => {}
    }
    range
}

pub(super) fn numeric_bounds(ctx: &mut Ctx, v: Option<&Value>, patch: &Patch) {
    let Some(v) = v else { return };
    let path = patch.cap.path.key("numeric_bounds");
    let Some(map) = v.as_object() else {
        ctx.error(
            "NUMERIC_BOUNDS_NOT_OBJECT",
            &path,
            format!("numeric_bounds must be an object, found {}", kind_of(v)),
            "use {\"<column>\": {\"minimum\": 0, \"maximum\": 10000}}",
        );
        return;
    };
    for (col, bound) in map {
        numeric_bound(ctx, col, bound, &path.key(col), patch);
    }
}

fn numeric_bound(ctx: &mut Ctx, col: &str, bound: &Value, bp: &Path, patch: &Patch) {
    if !is_safe_identifier(col) {
        ctx.error(
            "INVALID_NUMERIC_BOUND_COLUMN",
            bp,
            format!("numeric bound column `{col}` must be a safe identifier"),
            "use the exact name of a patched column",
        );
    } else if !patch.bindings.contains_key(col) {
        ctx.error(
            "NUMERIC_BOUND_PATCH_COLUMN_REQUIRED",
            bp,
            format!("numeric_bounds names `{col}`, which is not a patch column"),
            "bound only columns listed in patch",
        );
    }
    let Some(obj) = bound.as_object() else {
        ctx.error(
            "NUMERIC_BOUND_NOT_OBJECT",
            bp,
            format!(
                "a numeric bound must be an object, found {}",
                kind_of(bound)
            ),
            "use {\"minimum\": 0, \"maximum\": 10000}",
        );
        return;
    };
    ctx.unknown_keys(obj, BOUND_KEYS, bp);
    if !obj.contains_key("minimum") && !obj.contains_key("maximum") {
        ctx.error(
            "NUMERIC_BOUND_EMPTY",
            bp,
            "a numeric bound needs minimum, maximum or both",
            "add \"minimum\" and/or \"maximum\"",
        );
    }
    let [min, max] = numeric_range(ctx, obj, bp);

    match patch.bindings.get(col) {
        Some(Binding::FromArg(a)) => {
            if let Some(t) = patch.arg_type(a).filter(|t| *t != "number") {
                ctx.error(
                    "NUMERIC_BOUND_TYPE_MISMATCH",
                    bp,
                    format!("`{col}` has numeric bounds but takes its value from the {t} argument `{a}`"),
                    format!("make `{a}` a number argument, or remove the bound"),
                );
            }
        }
        Some(Binding::Fixed(x)) => match x.as_f64() {
            None => ctx.error(
                "NUMERIC_BOUND_TYPE_MISMATCH",
                bp,
                format!("`{col}` has numeric bounds but its fixed value is {}", kind_of(x)),
                "use a numeric fixed value, or remove the bound",
            ),
            Some(n) if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) => ctx.error(
                "PATCH_FIXED_OUT_OF_BOUNDS",
                &patch.cap.path.key("patch").key(col).key("fixed"),
                format!("fixed value {n} for `{col}` is outside its numeric bounds, so every proposal would be rejected"),
                "change the fixed value or the bound",
            ),
            Some(_) => {}
        },
        _ => {}
    }
}

pub(super) fn transition_guards(ctx: &mut Ctx, v: Option<&Value>, patch: &Patch) {
    let Some(v) = v else { return };
    let path = patch.cap.path.key("transition_guards");
    let Some(map) = v.as_object() else {
        ctx.error(
            "TRANSITION_GUARDS_NOT_OBJECT",
            &path,
            format!("transition_guards must be an object, found {}", kind_of(v)),
            "use {\"status\": {\"allowed\": {\"open\": [\"closed\"]}}}",
        );
        return;
    };
    for (col, guard) in map {
        transition_guard(ctx, col, guard, &path.key(col), patch);
    }
}

fn transition_guard(ctx: &mut Ctx, col: &str, guard: &Value, gp: &Path, patch: &Patch) {
    if !is_safe_identifier(col) {
        ctx.error(
            "INVALID_TRANSITION_GUARD_COLUMN",
            gp,
            format!("transition guard column `{col}` must be a safe identifier"),
            "use the exact name of a patched column",
        );
    } else if !patch.bindings.contains_key(col) {
        ctx.error(
            "TRANSITION_PATCH_COLUMN_REQUIRED",
            gp,
            format!("transition_guards names `{col}`, which is not a patch column"),
            "guard only columns listed in patch",
        );
    }
    let Some(obj) = guard.as_object() else {
        ctx.error(
            "TRANSITION_GUARD_NOT_OBJECT",
            gp,
            format!(
                "a transition guard must be an object, found {}",
                kind_of(guard)
            ),
            "use {\"allowed\": {\"open\": [\"closed\"]}}",
        );
        return;
    };
    ctx.unknown_keys(obj, GUARD_KEYS, gp);
    match obj.get("from_column").map(Value::as_str) {
        None => {}
        Some(Some(f)) if is_safe_identifier(f) => {
            let read = patch.read_columns.as_ref();
            if read.is_some_and(|r| !r.contains(&f)) {
                ctx.error(
                    "TRANSITION_FROM_COLUMN_NOT_VISIBLE",
                    &gp.key("from_column"),
                    format!("from_column `{f}` is not read by this capability"),
                    format!("add \"{f}\" to visible_columns"),
                );
            }
        }
        Some(_) => ctx.error(
            "INVALID_TRANSITION_FROM_COLUMN",
            &gp.key("from_column"),
            "from_column must be a safe identifier",
            "name the column holding the current state, or remove from_column to use the patched column",
        ),
    }
    transition_allowed(ctx, obj.get("allowed"), &gp.key("allowed"));

    let mismatch = match patch.bindings.get(col) {
        Some(Binding::Fixed(x)) if !x.is_string() => {
            Some(format!("its fixed value is {}", kind_of(x)))
        }
        Some(Binding::FromArg(a)) => patch
            .arg_type(a)
            .filter(|t| *t != "string")
            .map(|t| format!("it takes its value from the {t} argument `{a}`")),
        _ => None,
    };
    if let Some(why) = mismatch {
        ctx.error(
            "TRANSITION_GUARD_TYPE_MISMATCH",
            gp,
            format!("`{col}` has a transition guard, which compares strings, but {why}"),
            "use a string value for a guarded column, or remove the guard",
        );
    }
}

fn transition_allowed(ctx: &mut Ctx, v: Option<&Value>, ap: &Path) {
    let Some(map) = v.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        ctx.error(
            "TRANSITION_ALLOWED_REQUIRED",
            ap,
            "allowed must be a non-empty object mapping each current state to its next states",
            "e.g. {\"open\": [\"pending_review\"], \"pending_review\": [\"resolved\"]}",
        );
        return;
    };
    for (from, tos) in map {
        let fp = ap.key(from);
        if from.is_empty() {
            ctx.error(
                "TRANSITION_FROM_REQUIRED",
                &fp,
                "a current state must be a non-empty string",
                "use the exact current value, e.g. \"open\"",
            );
        }
        let ok = tos
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|t| non_empty_str(Some(t)).is_some()));
        if !ok {
            ctx.error(
                "TRANSITION_TO_VALUES_REQUIRED",
                &fp,
                format!("the next states of `{from}` must be a non-empty array of non-empty strings"),
                "list the states it may move to, e.g. [\"resolved\"]; omit a state that may not move",
            );
        }
    }
}

#[cfg(test)]
mod tests;
