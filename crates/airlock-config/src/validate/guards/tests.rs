use serde_json::{Value, json};

use super::super::fixtures::*;
use super::super::validate;

const P: &str = "$.capabilities[1]";

fn prop(rest: &str) -> String {
    format!("{PROPOSAL}/{rest}")
}

fn path(rest: &str) -> String {
    format!("{P}.{rest}")
}

/// The fixture with one proposal field changed.
fn with(rest: &str, v: Value) -> Value {
    let mut doc = valid();
    set(&mut doc, &prop(rest), v);
    doc
}

#[test]
fn numeric_bounds_not_object() {
    only_error(
        &with("numeric_bounds", json!([])),
        "NUMERIC_BOUNDS_NOT_OBJECT",
        &path("numeric_bounds"),
    );
}

#[test]
fn invalid_numeric_bound_column() {
    only_error(
        &with("numeric_bounds/bad col", json!({"minimum": 0})),
        "INVALID_NUMERIC_BOUND_COLUMN",
        &path("numeric_bounds.bad col"),
    );
}

#[test]
fn numeric_bound_patch_column_required() {
    only_error(
        &with("numeric_bounds/balance_cents", json!({"minimum": 0})),
        "NUMERIC_BOUND_PATCH_COLUMN_REQUIRED",
        &path("numeric_bounds.balance_cents"),
    );
}

#[test]
fn numeric_bound_not_object() {
    only_error(
        &with("numeric_bounds/late_fee_cents", json!(100)),
        "NUMERIC_BOUND_NOT_OBJECT",
        &path("numeric_bounds.late_fee_cents"),
    );
}

#[test]
fn numeric_bound_empty() {
    only_error(
        &with("numeric_bounds/late_fee_cents", json!({})),
        "NUMERIC_BOUND_EMPTY",
        &path("numeric_bounds.late_fee_cents"),
    );
}

#[test]
fn invalid_bound_minimum_maximum_and_range() {
    only_error(
        &with("numeric_bounds/late_fee_cents/minimum", json!("0")),
        "INVALID_MINIMUM",
        &path("numeric_bounds.late_fee_cents.minimum"),
    );
    only_error(
        &with("numeric_bounds/late_fee_cents/maximum", json!([100])),
        "INVALID_MAXIMUM",
        &path("numeric_bounds.late_fee_cents.maximum"),
    );
    only_error(
        &with(
            "numeric_bounds/late_fee_cents",
            json!({"minimum": 10, "maximum": 1}),
        ),
        "INVALID_NUMERIC_RANGE",
        &path("numeric_bounds.late_fee_cents"),
    );
}

#[test]
fn numeric_bound_type_mismatch_from_arg() {
    let r = only_error(
        &with("numeric_bounds/status", json!({"minimum": 0})),
        "NUMERIC_BOUND_TYPE_MISMATCH",
        &path("numeric_bounds.status"),
    );
    assert!(r.errors[0].message.contains("string argument `status`"));
}

#[test]
fn numeric_bound_type_mismatch_fixed() {
    only_error(
        &with("patch/late_fee_cents", json!({"fixed": "0"})),
        "NUMERIC_BOUND_TYPE_MISMATCH",
        &path("numeric_bounds.late_fee_cents"),
    );
}

#[test]
fn patch_fixed_out_of_bounds() {
    only_error(
        &with("patch/late_fee_cents", json!({"fixed": 500})),
        "PATCH_FIXED_OUT_OF_BOUNDS",
        &path("patch.late_fee_cents.fixed"),
    );
    only_error(
        &with("patch/late_fee_cents", json!({"fixed": -1})),
        "PATCH_FIXED_OUT_OF_BOUNDS",
        &path("patch.late_fee_cents.fixed"),
    );
    assert!(validate(&with("patch/late_fee_cents", json!({"fixed": 0}))).ok);
}

#[test]
fn transition_guards_not_object() {
    only_error(
        &with("transition_guards", json!([])),
        "TRANSITION_GUARDS_NOT_OBJECT",
        &path("transition_guards"),
    );
}

#[test]
fn invalid_transition_guard_column() {
    only_error(
        &with(
            "transition_guards/bad col",
            json!({"allowed": {"a": ["b"]}}),
        ),
        "INVALID_TRANSITION_GUARD_COLUMN",
        &path("transition_guards.bad col"),
    );
}

#[test]
fn transition_patch_column_required() {
    only_error(
        &with("transition_guards/plan", json!({"allowed": {"a": ["b"]}})),
        "TRANSITION_PATCH_COLUMN_REQUIRED",
        &path("transition_guards.plan"),
    );
}

#[test]
fn transition_guard_not_object() {
    only_error(
        &with("transition_guards/status", json!(["open"])),
        "TRANSITION_GUARD_NOT_OBJECT",
        &path("transition_guards.status"),
    );
}

#[test]
fn invalid_transition_from_column() {
    only_error(
        &with("transition_guards/status/from_column", json!("state-col")),
        "INVALID_TRANSITION_FROM_COLUMN",
        &path("transition_guards.status.from_column"),
    );
}

#[test]
fn transition_from_column_not_visible() {
    only_error(
        &with(
            "transition_guards/status/from_column",
            json!("workflow_state"),
        ),
        "TRANSITION_FROM_COLUMN_NOT_VISIBLE",
        &path("transition_guards.status.from_column"),
    );
    // The tenant key, primary key and conflict column are read too.
    for c in ["tenant_id", "id", "updated_at"] {
        assert!(validate(&with("transition_guards/status/from_column", json!(c))).ok);
    }
}

#[test]
fn transition_allowed_required() {
    for v in [json!({}), json!(["open"])] {
        only_error(
            &with("transition_guards/status/allowed", v),
            "TRANSITION_ALLOWED_REQUIRED",
            &path("transition_guards.status.allowed"),
        );
    }
}

#[test]
fn transition_from_required() {
    only_error(
        &with("transition_guards/status/allowed", json!({"": ["waived"]})),
        "TRANSITION_FROM_REQUIRED",
        &path("transition_guards.status.allowed."),
    );
}

#[test]
fn transition_to_values_required() {
    for v in [json!([]), json!("waived"), json!([""]), json!([1])] {
        only_error(
            &with("transition_guards/status/allowed/open", v),
            "TRANSITION_TO_VALUES_REQUIRED",
            &path("transition_guards.status.allowed.open"),
        );
    }
}

#[test]
fn transition_guard_type_mismatch() {
    only_error(
        &with("patch/status", json!({"fixed": 1})),
        "TRANSITION_GUARD_TYPE_MISMATCH",
        &path("transition_guards.status"),
    );
    only_error(
        &with("patch/status", json!({"from_arg": "amount"})),
        "TRANSITION_GUARD_TYPE_MISMATCH",
        &path("transition_guards.status"),
    );
    assert!(validate(&with("patch/status", json!({"fixed": "waived"}))).ok);
}
