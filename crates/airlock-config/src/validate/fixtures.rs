//! Shared test fixtures: a minimal valid config and helpers to mutate and check it.

use serde_json::{Value, json};

use super::{Issue, Report, validate};

/// A minimal config that validates with no errors and no warnings: review mode, one source
/// with a write URL, an environment trusted context, one read and one proposal capability.
pub(crate) fn valid() -> Value {
    json!({
        "version": 1,
        "mode": "review",
        "sources": {
            "app": {
                "engine": "postgres",
                "read_url_env": "APP_READ_URL",
                "write_url_env": "APP_WRITE_URL"
            }
        },
        "trusted_context": {
            "provider": "environment",
            "values": {"tenant_id_env": "APP_TENANT_ID", "principal_env": "APP_PRINCIPAL"}
        },
        "operators": {"dana": {"roles": ["billing_lead"]}},
        "capabilities": [
            {
                "name": "billing.inspect_invoice",
                "kind": "read",
                "source": "app",
                "target": {"schema": "public", "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
                "args": {"invoice_id": {"type": "string", "max_length": 128}},
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "status", "late_fee_cents"]
            },
            {
                "name": "billing.propose_waiver",
                "kind": "proposal",
                "source": "app",
                "target": {"schema": "public", "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
                "args": {
                    "invoice_id": {"type": "string", "max_length": 128},
                    "amount": {"type": "number", "minimum": 0, "maximum": 100},
                    "status": {"type": "string", "enum": ["waived", "open"]}
                },
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "status", "late_fee_cents", "updated_at"],
                "patch": {
                    "late_fee_cents": {"from_arg": "amount"},
                    "status": {"from_arg": "status"}
                },
                "allowed_columns": ["late_fee_cents", "status"],
                "numeric_bounds": {"late_fee_cents": {"minimum": 0, "maximum": 100}},
                "transition_guards": {"status": {"allowed": {"open": ["waived"]}}},
                "conflict_guard": {"column": "updated_at"},
                "approval": {"mode": "human", "required_role": "billing_lead"}
            }
        ]
    })
}

/// The read capability of [`valid`] is at index 0, the proposal at index 1.
pub(crate) const READ: &str = "/capabilities/0";
pub(crate) const PROPOSAL: &str = "/capabilities/1";

/// Sets the value at a JSON pointer, creating the last key if needed.
pub(crate) fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a /");
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no parent for {pointer}"));
    match parent {
        Value::Object(m) => {
            m.insert(key.to_owned(), value);
        }
        Value::Array(a) => {
            let i: usize = key.parse().expect("array index");
            if i == a.len() {
                a.push(value);
            } else {
                a[i] = value;
            }
        }
        other => panic!("cannot set {pointer} inside {other}"),
    }
}

/// Removes the key at a JSON pointer (which must exist).
pub(crate) fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a /");
    let removed = doc
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|m| m.shift_remove(key));
    assert!(removed.is_some(), "nothing to remove at {pointer}");
}

pub(crate) fn codes(issues: &[Issue]) -> Vec<(&'static str, &str)> {
    issues.iter().map(|i| (i.code, i.path.as_str())).collect()
}

/// Messages are lowercase fragments without a trailing period; every issue has a hint.
#[track_caller]
pub(crate) fn assert_style(r: &Report) {
    for i in r.errors.iter().chain(&r.warnings) {
        let hint = i.hint.as_deref().unwrap_or_default();
        assert!(!hint.is_empty(), "{}: no hint", i.code);
        assert!(!i.message.ends_with('.') && !hint.ends_with('.'), "{i:?}");
        assert!(
            !i.message.starts_with(|c: char| c.is_ascii_uppercase()),
            "{i:?}"
        );
        assert!(i.path.starts_with('$'), "{i:?}");
    }
}

/// Asserts the document has exactly one error, `code` at `path`, and no warnings.
#[track_caller]
pub(crate) fn only_error(doc: &Value, code: &str, path: &str) -> Report {
    let r = validate(doc);
    assert_style(&r);
    assert_eq!(codes(&r.errors), [(code, path)], "errors: {:#?}", r.errors);
    assert!(r.warnings.is_empty(), "warnings: {:#?}", r.warnings);
    assert!(!r.ok);
    assert!(r.errors[0].hint.is_some());
    r
}

/// Asserts the document has no errors and exactly one warning, `code` at `path`, and still
/// parses into a `Config`.
#[track_caller]
pub(crate) fn only_warning(doc: &Value, code: &str, path: &str) -> Report {
    let r = validate(doc);
    assert_style(&r);
    assert!(r.ok, "errors: {:#?}", r.errors);
    assert_eq!(
        codes(&r.warnings),
        [(code, path)],
        "warnings: {:#?}",
        r.warnings
    );
    assert!(r.warnings[0].hint.is_some());
    super::parse(doc).expect("a config with only warnings parses");
    r
}
