//! `NO_IDEMPOTENCY_FIELD`: a direct write with no idempotency key.
//!
//! **Why it is risky.** Models and clients retry. A retried refund without an idempotency key
//! is a second refund.
//!
//! **Use instead** a proposal: Airlock dedupes identical open proposals and applies each
//! approved change once under its idempotency key.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "NO_IDEMPOTENCY_FIELD",
    severity: Severity::Medium,
    title: "A direct write without an idempotency key",
    fix: "Use a proposal tool: Airlock returns the open proposal for an identical repeat call, and `airlock apply` writes an approved change once under its idempotency key (a retry finds the receipt).",
};

const IDEMPOTENCY_ARGS: &[&str] = &[
    "idempotencykey",
    "requestid",
    "requestkey",
    "dedupekey",
    "dedupkey",
    "clienttoken",
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let write = f.write()?;
    if f.proposal_boundary() || f.args_named(IDEMPOTENCY_ARGS).next().is_some() {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool writes and takes no idempotency key: a retried call can apply twice.",
        vec![
            write,
            f.tool_evidence("inputSchema", "no idempotency_key or request_id argument"),
        ],
    ))
}
