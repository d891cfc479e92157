//! `MISLEADING_READ_ONLY_HINT`: `readOnlyHint: true` on a tool whose name says it writes.
//!
//! **Why it is risky.** Clients use `readOnlyHint` to skip confirmation prompts. A write tool
//! that claims to be read-only gets auto-approved.
//!
//! **Use instead** honest annotations; in Airlock they are derived from the capability kind.

use super::facts::{Facts, WRITE_VERBS};
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "MISLEADING_READ_ONLY_HINT",
    severity: Severity::High,
    title: "readOnlyHint is true on a tool whose name says it writes",
    fix: "Make annotations follow what the tool does: Airlock derives `readOnlyHint` from the capability kind (true for reads, false for proposals) and never writes from a tool call.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    if f.read_only != Some(true) {
        return None;
    }
    let verb = f.name_has(WRITE_VERBS)?;
    Some(Hit::new(
        &RULE,
        format!(
            "The tool claims to be read-only, but its name says {verb:?}: clients may run it without asking."
        ),
        vec![
            f.hint_evidence("readOnlyHint", "readOnlyHint is true"),
            f.name_evidence(format!("the name contains the write verb {verb:?}")),
        ],
    ))
}
