use serde_json::{Value, json};

use super::super::fixtures::*;
use super::super::{parse, validate};

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
fn patch_required() {
    for v in [json!({}), json!([]), json!("status")] {
        let mut doc = with("patch", v);
        // Bounds and guards name patch columns, so drop them to isolate the code.
        remove(&mut doc, &prop("numeric_bounds"));
        remove(&mut doc, &prop("transition_guards"));
        only_error(&doc, "PATCH_REQUIRED", &path("patch"));
    }
}

#[test]
fn invalid_patch_column() {
    only_error(
        &with("patch/bad col", json!({"fixed": 1})),
        "INVALID_PATCH_COLUMN",
        &path("patch.bad col"),
    );
}

#[test]
fn secret_column_in_patch() {
    let mut doc = with("patch/api_token", json!({"fixed": "x"}));
    set(&mut doc, &prop("allowed_columns/2"), json!("api_token"));
    let r = validate(&doc);
    assert_eq!(
        codes(&r.errors),
        [
            ("SECRET_COLUMN_VISIBLE", path("patch.api_token").as_str()),
            ("PATCH_COLUMN_NOT_VISIBLE", path("patch.api_token").as_str()),
        ]
    );
}

#[test]
fn patch_targets_key_column_in_patch() {
    only_error(
        &with("patch/tenant_id", json!({"fixed": "other_tenant"})),
        "PATCH_TARGETS_KEY_COLUMN",
        &path("patch.tenant_id"),
    );
    only_error(
        &with("patch/id", json!({"from_arg": "invoice_id"})),
        "PATCH_TARGETS_KEY_COLUMN",
        &path("patch.id"),
    );
}

#[test]
fn patch_targets_key_column_in_allowed_columns() {
    only_error(
        &with("allowed_columns/2", json!("id")),
        "PATCH_TARGETS_KEY_COLUMN",
        &path("allowed_columns[2]"),
    );
}

#[test]
fn patch_column_not_allowed() {
    only_error(
        &with("allowed_columns", json!(["late_fee_cents"])),
        "PATCH_COLUMN_NOT_ALLOWED",
        &path("patch.status"),
    );
}

#[test]
fn patch_column_not_visible() {
    only_error(
        &with(
            "visible_columns",
            json!(["id", "late_fee_cents", "updated_at"]),
        ),
        "PATCH_COLUMN_NOT_VISIBLE",
        &path("patch.status"),
    );
}

#[test]
fn patch_binding_not_object() {
    only_error(
        &with("patch/status", json!("waived")),
        "PATCH_BINDING_NOT_OBJECT",
        &path("patch.status"),
    );
}

#[test]
fn invalid_patch_binding() {
    for b in [json!({}), json!({"fixed": "waived", "from_arg": "status"})] {
        only_error(
            &with("patch/status", b),
            "INVALID_PATCH_BINDING",
            &path("patch.status"),
        );
    }
}

#[test]
fn unknown_binding_key() {
    only_error(
        &with(
            "patch/status",
            json!({"from_arg": "status", "default": "open"}),
        ),
        "UNKNOWN_FIELD",
        &path("patch.status.default"),
    );
}

#[test]
fn invalid_patch_arg() {
    only_error(
        &with("patch/status", json!({"from_arg": ""})),
        "INVALID_PATCH_ARG",
        &path("patch.status.from_arg"),
    );
}

#[test]
fn patch_arg_undeclared() {
    only_error(
        &with("patch/status", json!({"from_arg": "new_status"})),
        "PATCH_ARG_UNDECLARED",
        &path("patch.status.from_arg"),
    );
}

#[test]
fn fixed_null_is_a_value() {
    let mut doc = with("patch/note", json!({"fixed": null}));
    set(&mut doc, &prop("allowed_columns/2"), json!("note"));
    set(&mut doc, &prop("visible_columns/4"), json!("note"));
    let r = validate(&doc);
    assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
    let (cfg, _) = parse(&doc).unwrap();
    let patch = cfg.capabilities[1].patch.as_ref().unwrap();
    assert_eq!(patch["note"].fixed, Some(Value::Null));
    assert_eq!(patch["note"].from_arg, None);
}

#[test]
fn allowed_columns_required() {
    let mut doc = valid();
    remove(&mut doc, &prop("allowed_columns"));
    only_error(&doc, "ALLOWED_COLUMNS_REQUIRED", &path("allowed_columns"));
    only_error(
        &with("allowed_columns", json!([])),
        "ALLOWED_COLUMNS_REQUIRED",
        &path("allowed_columns"),
    );
}

#[test]
fn invalid_allowed_column() {
    only_error(
        &with("allowed_columns/2", json!("bad col")),
        "INVALID_ALLOWED_COLUMN",
        &path("allowed_columns[2]"),
    );
}

#[test]
fn duplicate_allowed_column() {
    only_error(
        &with("allowed_columns/2", json!("status")),
        "DUPLICATE_ALLOWED_COLUMN",
        &path("allowed_columns[2]"),
    );
}

#[test]
fn conflict_guard_required() {
    let mut doc = valid();
    remove(&mut doc, &prop("conflict_guard"));
    only_error(&doc, "CONFLICT_GUARD_REQUIRED", &path("conflict_guard"));
}

#[test]
fn conflict_guard_column_required() {
    only_error(
        &with("conflict_guard", json!({})),
        "CONFLICT_GUARD_COLUMN_REQUIRED",
        &path("conflict_guard"),
    );
    only_error(
        &with("conflict_guard", json!({"column": "updated at"})),
        "CONFLICT_GUARD_COLUMN_REQUIRED",
        &path("conflict_guard.column"),
    );
    let r = validate(&with("conflict_guard", json!({"weak_guard_ack": true})));
    assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
}

#[test]
fn invalid_weak_guard_ack() {
    only_error(
        &with(
            "conflict_guard",
            json!({"column": "updated_at", "weak_guard_ack": "yes"}),
        ),
        "INVALID_WEAK_GUARD_ACK",
        &path("conflict_guard.weak_guard_ack"),
    );
}

#[test]
fn bump_is_an_explicit_boolean_on_a_version_column() {
    let r = validate(&with(
        "conflict_guard",
        json!({"column": "updated_at", "bump": true}),
    ));
    assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
    let (config, _) = parse(&with(
        "conflict_guard",
        json!({"column": "updated_at", "bump": true}),
    ))
    .unwrap();
    assert_eq!(config.capabilities[1].bumped_column(), Some("updated_at"));
    let (config, _) = parse(&valid()).unwrap();
    assert_eq!(
        config.capabilities[1].bumped_column(),
        None,
        "off by default"
    );
    only_error(
        &with(
            "conflict_guard",
            json!({"column": "updated_at", "bump": "yes"}),
        ),
        "INVALID_CONFLICT_GUARD_BUMP",
        &path("conflict_guard.bump"),
    );
    only_error(
        &with(
            "conflict_guard",
            json!({"weak_guard_ack": true, "bump": true}),
        ),
        "CONFLICT_GUARD_BUMP_WITHOUT_COLUMN",
        &path("conflict_guard.bump"),
    );
    only_error(
        &with("conflict_guard", json!({"column": "status", "bump": true})),
        "CONFLICT_GUARD_BUMP_PATCHED",
        &path("conflict_guard.bump"),
    );
}
