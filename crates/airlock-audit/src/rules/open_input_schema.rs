//! `OPEN_INPUT_SCHEMA`: the arguments are not closed.
//!
//! **Why it is risky.** Without `inputSchema`, or with an object schema that allows extra
//! properties, the model can send keys nobody reviewed (a `tenant_id` the server happens to
//! honour, an option that switches off a check).
//!
//! **Use instead** closed schemas: `additionalProperties: false`.

use serde_json::Value;

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "OPEN_INPUT_SCHEMA",
    severity: Severity::Low,
    title: "The input schema accepts arguments nobody declared",
    fix: "Close the argument list: every Airlock tool's inputSchema sets `additionalProperties: false`, and an undeclared key is refused at call time (`MODEL_CANNOT_OVERRIDE_BINDING` for trust-like names).",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let Some(schema) = f.tool.input_schema() else {
        return Some(
            Hit::new(
                &RULE,
                "The tool declares no inputSchema: any arguments are accepted.",
                vec![f.tool_evidence("inputSchema", "absent")],
            )
            .at(Severity::Medium),
        );
    };
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The input schema does not set additionalProperties to false: undeclared arguments pass.",
        vec![f.tool_evidence("inputSchema/additionalProperties", "not false")],
    ))
}
