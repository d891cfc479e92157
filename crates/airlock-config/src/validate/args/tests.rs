use serde_json::json;

use super::super::fixtures::*;
use super::super::{parse, validate};

fn at(cap: &str, rest: &str) -> String {
    format!("{cap}/{rest}")
}

#[test]
fn args_required() {
    for v in [json!({}), json!([]), json!(null)] {
        let mut doc = valid();
        set(&mut doc, &at(READ, "args"), v);
        only_error(&doc, "ARGS_REQUIRED", "$.capabilities[0].args");
    }
}

#[test]
fn model_controlled_reserved_arg() {
    for name in [
        "tenant_id",
        "tenantId",
        "principal",
        "schema",
        "columns",
        "tenant",
        "role",
        "roles",
        "actor",
        "approver",
        "approved_by",
        "Tenant_ID",
    ] {
        let mut doc = valid();
        set(
            &mut doc,
            &at(READ, &format!("args/{name}")),
            json!({"type": "string"}),
        );
        let r = only_error(
            &doc,
            "MODEL_CONTROLLED_RESERVED_ARG",
            &format!("$.capabilities[0].args.{name}"),
        );
        assert!(
            r.errors[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("trusted context")
        );
    }
}

/// The whole list the call-time check uses is refused here too, upper-cased as well.
#[test]
fn every_reserved_name_is_refused_in_any_case() {
    for name in crate::RESERVED_ARG_NAMES {
        for spelled in [name.to_string(), name.to_uppercase()] {
            let mut doc = valid();
            set(
                &mut doc,
                &at(READ, &format!("args/{spelled}")),
                json!({"type": "string"}),
            );
            only_error(
                &doc,
                "MODEL_CONTROLLED_RESERVED_ARG",
                &format!("$.capabilities[0].args.{spelled}"),
            );
        }
    }
}

#[test]
fn invalid_arg_name() {
    let mut doc = valid();
    set(
        &mut doc,
        &at(READ, "args/invoice id"),
        json!({"type": "string"}),
    );
    only_error(
        &doc,
        "INVALID_ARG_NAME",
        "$.capabilities[0].args.invoice id",
    );
}

#[test]
fn arg_not_object() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "args/invoice_id"), json!("string"));
    only_error(&doc, "ARG_NOT_OBJECT", "$.capabilities[0].args.invoice_id");
}

#[test]
fn invalid_arg_type() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "args/invoice_id/type"), json!("uuid"));
    only_error(
        &doc,
        "INVALID_ARG_TYPE",
        "$.capabilities[0].args.invoice_id.type",
    );
    remove(&mut doc, &at(READ, "args/invoice_id/type"));
    only_error(
        &doc,
        "INVALID_ARG_TYPE",
        "$.capabilities[0].args.invoice_id.type",
    );
}

#[test]
fn invalid_arg_description() {
    let mut doc = valid();
    set(
        &mut doc,
        &at(READ, "args/invoice_id/description"),
        json!(""),
    );
    only_error(
        &doc,
        "INVALID_ARG_DESCRIPTION",
        "$.capabilities[0].args.invoice_id.description",
    );
}

#[test]
fn invalid_arg_required() {
    let mut doc = valid();
    set(
        &mut doc,
        &at(READ, "args/invoice_id/required"),
        json!("false"),
    );
    only_error(
        &doc,
        "INVALID_ARG_REQUIRED",
        "$.capabilities[0].args.invoice_id.required",
    );
    set(
        &mut doc,
        &at(READ, "args/invoice_id/required"),
        json!(false),
    );
    let (cfg, _) = parse(&doc).unwrap();
    assert!(!cfg.capabilities[0].args["invoice_id"].is_required());
}

#[test]
fn invalid_max_length() {
    for v in [json!(0), json!(-3), json!(2.5), json!("128")] {
        let mut doc = valid();
        set(&mut doc, &at(READ, "args/invoice_id/max_length"), v);
        only_error(
            &doc,
            "INVALID_MAX_LENGTH",
            "$.capabilities[0].args.invoice_id.max_length",
        );
    }
}

#[test]
fn max_length_requires_string() {
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "args/amount/max_length"), json!(10));
    only_error(
        &doc,
        "MAX_LENGTH_REQUIRES_STRING",
        "$.capabilities[1].args.amount.max_length",
    );
}

#[test]
fn numeric_bounds_require_number() {
    let mut doc = valid();
    set(&mut doc, &at(READ, "args/invoice_id/minimum"), json!(1));
    only_error(
        &doc,
        "NUMERIC_BOUNDS_REQUIRE_NUMBER",
        "$.capabilities[0].args.invoice_id.minimum",
    );
}

#[test]
fn invalid_minimum_and_maximum() {
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "args/amount/minimum"), json!("0"));
    only_error(
        &doc,
        "INVALID_MINIMUM",
        "$.capabilities[1].args.amount.minimum",
    );
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "args/amount/maximum"), json!(null));
    only_error(
        &doc,
        "INVALID_MAXIMUM",
        "$.capabilities[1].args.amount.maximum",
    );
}

#[test]
fn invalid_numeric_range_on_arg() {
    let mut doc = valid();
    set(&mut doc, &at(PROPOSAL, "args/amount/minimum"), json!(101));
    only_error(
        &doc,
        "INVALID_NUMERIC_RANGE",
        "$.capabilities[1].args.amount",
    );
}

#[test]
fn invalid_enum() {
    for (arg, v) in [
        ("status", json!([])),
        ("status", json!("waived")),
        ("status", json!(["waived", 1])),
        ("amount", json!([1, "2"])),
        ("amount", json!([50, 500])),
    ] {
        let mut doc = valid();
        set(
            &mut doc,
            &at(PROPOSAL, &format!("args/{arg}/enum")),
            v.clone(),
        );
        only_error(
            &doc,
            "INVALID_ENUM",
            &format!("$.capabilities[1].args.{arg}.enum"),
        );
    }
    let mut doc = valid();
    set(
        &mut doc,
        &at(READ, "args/flag"),
        json!({"type": "boolean", "enum": [true]}),
    );
    assert!(validate(&doc).ok);
    set(
        &mut doc,
        &at(READ, "args/invoice_id/enum"),
        json!(["x".repeat(129)]),
    );
    only_error(
        &doc,
        "INVALID_ENUM",
        "$.capabilities[0].args.invoice_id.enum",
    );
}
