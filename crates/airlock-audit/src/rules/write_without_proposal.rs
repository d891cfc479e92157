//! `WRITE_WITHOUT_PROPOSAL_BOUNDARY`: the tool changes data directly.
//!
//! **Why it is risky.** A write the model makes directly has no reviewer, no conflict check
//! against what was read, and no receipt. A wrong or injected call is already applied.
//!
//! **Found by** a write verb in the name (`update_customer`, `deleteOrder`), `destructiveHint:
//! true`, `readOnlyHint: false`, or a write verb in the description of a tool not declared
//! read-only; unless the tool says it only records a proposal for review.
//!
//! **Use instead** a proposal tool.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "WRITE_WITHOUT_PROPOSAL_BOUNDARY",
    severity: Severity::High,
    title: "The tool changes data with no proposal and review step",
    fix: "Expose a proposal tool instead: it reads the row, checks the patch against the capability's bounds and allowed transitions, and records a proposal (change set, evidence, conflict guard); nothing changes until a person approves and `airlock apply` writes it once, with a receipt.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let evidence = f.write()?;
    if f.proposal_boundary() {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool changes data directly: no person reviews the change before it happens.",
        vec![evidence],
    ))
}
