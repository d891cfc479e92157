//! `MISSING_RISK_ANNOTATIONS`: no `readOnlyHint` / `destructiveHint`.
//!
//! **Why it is risky.** Clients decide when to ask a person from these hints. A write tool
//! without them looks like any other tool (medium); a read tool without them is only less
//! clear (low).
//!
//! **Use instead** declared hints on every tool.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "MISSING_RISK_ANNOTATIONS",
    severity: Severity::Low,
    title: "readOnlyHint or destructiveHint is missing",
    fix: "Declare the risk on every tool: Airlock sets readOnlyHint, destructiveHint, idempotentHint and openWorldHint on each tool from its capability kind.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let missing: Vec<&str> = [
        ("readOnlyHint", f.read_only),
        ("destructiveHint", f.destructive),
    ]
    .iter()
    .filter(|(_, v)| v.is_none())
    .map(|(k, _)| *k)
    .collect();
    if missing.is_empty() || (f.read_only == Some(true) && missing == ["destructiveHint"]) {
        return None;
    }
    let severity = if f.write().is_some() || f.sql().is_some() {
        Severity::Medium
    } else {
        Severity::Low
    };
    Some(
        Hit::new(
            &RULE,
            format!("The tool does not declare {}.", missing.join(" or ")),
            missing
                .iter()
                .map(|k| f.hint_evidence(k, "absent"))
                .collect(),
        )
        .at(severity),
    )
}
