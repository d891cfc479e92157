//! `NO_STRUCTURED_OUTPUT_SCHEMA`: the tool declares no `outputSchema`.
//!
//! **Why it is risky.** Without a declared result shape, neither the client nor a reviewer
//! knows which fields come back; a tool can start returning a secret column and nothing
//! notices.
//!
//! **Use instead** a declared result: Airlock returns fixed result envelopes with only the
//! capability's visible columns.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "NO_STRUCTURED_OUTPUT_SCHEMA",
    severity: Severity::Medium,
    title: "No outputSchema: the result's fields are undeclared",
    fix: "Declare what comes back: an Airlock read capability returns only its configured `visible_columns`, in a fixed result envelope with an evidence handle; secret-looking columns are refused at config validation.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    if f.tool.output_schema().is_some() {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool declares no outputSchema, so the fields it returns are not part of its contract.",
        vec![f.tool_evidence("outputSchema", "absent")],
    ))
}
