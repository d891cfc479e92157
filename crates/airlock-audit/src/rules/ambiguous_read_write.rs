//! `AMBIGUOUS_READ_WRITE_TOOL`: one tool both reads and writes.
//!
//! **Why it is risky.** A client cannot ask for confirmation on writes only when the same tool
//! does both; annotations cannot describe it honestly either.
//!
//! **Use instead** separate read and proposal tools.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "AMBIGUOUS_READ_WRITE_TOOL",
    severity: Severity::Medium,
    title: "One tool both reads and writes",
    fix: "Split the surface: Airlock serves read capabilities (readOnlyHint true) and proposal tools (which never write) as separate tools with honest annotations.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let write = f.write()?;
    if f.proposal_boundary() || !f.read_like() {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The same tool reads and writes, so a client cannot confirm writes alone.",
        vec![write],
    ))
}
