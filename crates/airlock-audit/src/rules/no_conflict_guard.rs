//! `NO_CONFLICT_GUARD`: a direct write with no check against what was read.
//!
//! **Why it is risky.** Between the model's read and its write, a person or another job may
//! have changed the row. Without an expected version the write silently overwrites them.
//!
//! **Use instead** a proposal: Airlock captures a conflict guard when the proposal is made and
//! checks it at apply.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "NO_CONFLICT_GUARD",
    severity: Severity::Medium,
    title: "A direct write without a conflict guard",
    fix: "Use a proposal tool: Airlock records the row's version (or a row hash) when the proposal is made, and `airlock apply` refuses with a `conflict` receipt if the row changed since.",
};

const CONFLICT_ARGS: &[&str] = &[
    "expectedversion",
    "rowversion",
    "updatedat",
    "etag",
    "ifmatch",
    "conflictguard",
    "previousversion",
    "version",
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let write = f.write()?;
    if f.proposal_boundary() || f.args_named(CONFLICT_ARGS).next().is_some() {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool writes without an expected version: it can overwrite a change made since the model read the row.",
        vec![
            write,
            f.tool_evidence(
                "inputSchema",
                "no expected_version, etag or updated_at argument",
            ),
        ],
    ))
}
