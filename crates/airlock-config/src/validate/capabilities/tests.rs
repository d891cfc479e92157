use serde_json::json;

use super::super::fixtures::*;
use super::super::{parse, validate};

fn at(cap: &str, rest: &str) -> String {
    format!("{cap}/{rest}")
}

#[test]
fn capabilities_required() {
    for v in [json!([]), json!({}), json!(null)] {
        let mut doc = valid();
        set(&mut doc, "/capabilities", v);
        only_error(&doc, "CAPABILITIES_REQUIRED", "$.capabilities");
    }
    let mut doc = valid();
    remove(&mut doc, "/capabilities");
    only_error(&doc, "CAPABILITIES_REQUIRED", "$.capabilities");
}

#[test]
fn capability_not_object() {
    let mut doc = valid();
    set(&mut doc, "/capabilities/2", json!("billing.x"));
    only_error(&doc, "CAPABILITY_NOT_OBJECT", "$.capabilities[2]");
}

#[test]
fn unknown_capability_field() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "visible_column"), json!(["id"]));
    let r = only_error(&doc, "UNKNOWN_FIELD", "$.capabilities[0].visible_column");
    assert!(
        r.errors[0]
            .hint
            .as_deref()
            .unwrap()
            .starts_with("did you mean `visible_columns`?")
    );
}

#[test]
fn invalid_capability_name() {
    for name in [json!("inspect_invoice"), json!("a.b.c"), json!(1)] {
        let mut doc = valid();
        set(&mut doc, &at(READ, "name"), name);
        only_error(&doc, "INVALID_CAPABILITY_NAME", "$.capabilities[0].name");
    }
}

#[test]
fn duplicate_capability_name() {
    let mut doc = valid();
    let name = doc["capabilities"][0]["name"].clone();
    set(&mut doc, &at(PROPOSAL, "name"), name);
    only_error(&doc, "DUPLICATE_CAPABILITY_NAME", "$.capabilities[1].name");
}

#[test]
fn invalid_capability_kind() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "kind"), json!("write"));
    only_error(&doc, "INVALID_CAPABILITY_KIND", "$.capabilities[0].kind");
}

#[test]
fn invalid_capability_description() {
    for d in [json!(""), json!(" "), json!(5), json!("x".repeat(2001))] {
        let mut doc = valid();
        set(&mut doc, &at(READ, "description"), d);
        only_error(
            &doc,
            "INVALID_CAPABILITY_DESCRIPTION",
            "$.capabilities[0].description",
        );
    }
    let mut doc = valid();
    set(&mut doc, &at(READ, "description"), json!("é".repeat(2000)));
    assert!(validate(&doc).ok);
}

#[test]
fn invalid_returns_hint() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "returns_hint"), json!(""));
    only_error(
        &doc,
        "INVALID_RETURNS_HINT",
        "$.capabilities[0].returns_hint",
    );
}

#[test]
fn unknown_source() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "source"), json!("warehouse"));
    let r = only_error(&doc, "UNKNOWN_SOURCE", "$.capabilities[0].source");
    assert!(r.errors[0].hint.as_deref().unwrap().contains("app"));
    remove(&mut doc, &at(READ, "source"));
    only_error(&doc, "UNKNOWN_SOURCE", "$.capabilities[0].source");
}

#[test]
fn unknown_context() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "context"), json!("local_operator"));
    only_error(&doc, "UNKNOWN_CONTEXT", "$.capabilities[0].context");
}

#[test]
fn invalid_executor_reference() {
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "executor"), json!(""));
    only_error(
        &doc,
        "INVALID_EXECUTOR_REFERENCE",
        "$.capabilities[1].executor",
    );
}

#[test]
fn unknown_executor() {
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "executor"), json!("billing_app"));
    only_error(&doc, "UNKNOWN_EXECUTOR", "$.capabilities[1].executor");
    set(&mut doc, &at(PROPOSAL, "executor"), json!("sql_update"));
    assert!(validate(&doc).ok);
}

#[test]
fn target_required() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "target"), json!("invoices"));
    only_error(&doc, "TARGET_REQUIRED", "$.capabilities[0].target");
}

#[test]
fn invalid_target_identifier() {
    for (key, v) in [
        ("schema", json!("public;drop")),
        ("table", json!("inv oices")),
        ("primary_key", json!(1)),
        ("tenant_key", json!("tenant-id")),
    ] {
        let mut doc = valid();
        set(&mut doc, &at(READ, &format!("target/{key}")), v);
        only_error(
            &doc,
            "INVALID_TARGET_IDENTIFIER",
            &format!("$.capabilities[0].target.{key}"),
        );
    }
    let mut doc = valid();
    remove(&mut doc, &at(READ, "target/table"));
    only_error(
        &doc,
        "INVALID_TARGET_IDENTIFIER",
        "$.capabilities[0].target.table",
    );
}

#[test]
fn tenant_guard_required_on_read_and_proposal() {
    for (cap, path) in [(READ, "$.capabilities[0]"), (PROPOSAL, "$.capabilities[1]")] {
        let mut doc = valid();
        remove(&mut doc, &at(cap, "target/tenant_key"));
        let r = only_error(
            &doc,
            "TENANT_GUARD_REQUIRED",
            &format!("{path}.target.tenant_key"),
        );
        assert!(
            r.errors[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("single_tenant_dev")
        );
    }
}

#[test]
fn single_tenant_dev_exception_warns_on_read_and_proposal() {
    for (cap, path) in [(READ, "$.capabilities[0]"), (PROPOSAL, "$.capabilities[1]")] {
        let mut doc = valid();
        remove(&mut doc, &at(cap, "target/tenant_key"));
        set(&mut doc, &at(cap, "target/single_tenant_dev"), json!(true));
        only_warning(
            &doc,
            "SINGLE_TENANT_DEV_EXCEPTION",
            &format!("{path}.target.single_tenant_dev"),
        );
    }
    // It warns even when tenant_key is also set, and false is no exception.
    let mut doc = valid();
    set(&mut doc, &at(READ, "target/single_tenant_dev"), json!(true));
    only_warning(
        &doc,
        "SINGLE_TENANT_DEV_EXCEPTION",
        "$.capabilities[0].target.single_tenant_dev",
    );
    set(
        &mut doc,
        &at(READ, "target/single_tenant_dev"),
        json!(false),
    );
    let r = validate(&doc);
    assert!(r.ok && r.warnings.is_empty());
}

#[test]
fn invalid_single_tenant_dev() {
    let mut doc = valid();
    set(
        &mut doc,
        &at(READ, "target/single_tenant_dev"),
        json!("true"),
    );
    only_error(
        &doc,
        "INVALID_SINGLE_TENANT_DEV",
        "$.capabilities[0].target.single_tenant_dev",
    );
}

#[test]
fn lookup_required() {
    let mut doc = valid();
    remove(&mut doc, &at(READ, "lookup"));
    only_error(&doc, "LOOKUP_REQUIRED", "$.capabilities[0].lookup");
}

#[test]
fn lookup_arg_required() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "lookup/id_from_arg"), json!(""));
    only_error(
        &doc,
        "LOOKUP_ARG_REQUIRED",
        "$.capabilities[0].lookup.id_from_arg",
    );
}

#[test]
fn lookup_arg_undeclared() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "lookup/id_from_arg"), json!("id"));
    only_error(
        &doc,
        "LOOKUP_ARG_UNDECLARED",
        "$.capabilities[0].lookup.id_from_arg",
    );
}

#[test]
fn visible_columns_required() {
    for v in [json!([]), json!("id"), json!(null)] {
        let mut doc = valid();
        set(&mut doc, &at(READ, "visible_columns"), v);
        only_error(
            &doc,
            "VISIBLE_COLUMNS_REQUIRED",
            "$.capabilities[0].visible_columns",
        );
    }
}

#[test]
fn invalid_visible_column() {
    let mut doc = valid();
    set(
        &mut doc,
        &at(READ, "visible_columns/1"),
        json!("status, password"),
    );
    only_error(
        &doc,
        "INVALID_VISIBLE_COLUMN",
        "$.capabilities[0].visible_columns[1]",
    );
}

#[test]
fn secret_column_visible() {
    for col in [
        "password_hash",
        "API_KEY",
        "stripe_secret",
        "session_cookies",
        "refresh_token",
    ] {
        let mut doc = valid();
        set(&mut doc, &at(READ, "visible_columns/3"), json!(col));
        let r = only_error(
            &doc,
            "SECRET_COLUMN_VISIBLE",
            "$.capabilities[0].visible_columns[3]",
        );
        assert!(r.errors[0].message.contains(col));
    }
}

#[test]
fn invalid_max_rows() {
    for v in [json!(0), json!(1001), json!(1.5), json!("1")] {
        let mut doc = valid();
        set(&mut doc, &at(READ, "max_rows"), v);
        only_error(&doc, "INVALID_MAX_ROWS", "$.capabilities[0].max_rows");
    }
    let mut doc = valid();
    set(&mut doc, &at(READ, "max_rows"), json!(1000));
    assert!(validate(&doc).ok);
}

#[test]
fn proposal_field_on_read_is_warned_and_stripped() {
    let mut doc = valid();
    set(
        &mut doc,
        &at(READ, "patch"),
        json!({"status": "not even a binding"}),
    );
    only_warning(&doc, "PROPOSAL_FIELD_ON_READ", "$.capabilities[0].patch");
    let (cfg, _) = parse(&doc).unwrap();
    assert!(cfg.capabilities[0].patch.is_none());
}

#[test]
fn approval_not_object() {
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "approval"), json!("human"));
    only_error(&doc, "APPROVAL_NOT_OBJECT", "$.capabilities[1].approval");
}

#[test]
fn invalid_approval_mode_and_role() {
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "approval/mode"), json!(1));
    only_error(
        &doc,
        "INVALID_APPROVAL_MODE",
        "$.capabilities[1].approval.mode",
    );
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "approval/required_role"), json!(""));
    only_error(
        &doc,
        "INVALID_APPROVAL_ROLE",
        "$.capabilities[1].approval.required_role",
    );
}
