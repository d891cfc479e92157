//! `MODEL_CALLABLE_COMMIT_OR_APPROVAL`: the model can approve, commit, apply or execute.
//!
//! **Why it is risky.** Review exists so that a person decides. A tool that approves a
//! refund, commits a transaction or applies a change lets the model skip that person,
//! including approving its own proposals.
//!
//! **Found by** a name with a decision verb (`approve`, `commit`, `apply`, `settle`, `merge`,
//! `execute`, `confirm`, `finalize`, `authorize`), SQL tools aside (`GENERIC_SQL_TOOL` covers
//! `execute_sql`); or a description with such a verb when the tool is not a proposal.
//!
//! **Use instead** approval outside MCP: the CLI or the review UI.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "MODEL_CALLABLE_COMMIT_OR_APPROVAL",
    severity: Severity::High,
    title: "The model can approve, commit, apply or execute a change",
    fix: "Move decisions out of the model's reach: an Airlock proposal tool only records the change; a person approves it with `airlock proposals approve` or the review UI (`airlock ui`), and `airlock apply` runs the guarded executor. The MCP server has no code that can approve or apply.",
};

const DECISION_VERBS: &[&str] = &[
    "approve",
    "commit",
    "apply",
    "settle",
    "merge",
    "execute",
    "exec",
    "confirm",
    "finalize",
    "authorize",
    "authorise",
];
const DECISION_VERBS_IN_TEXT: &[&str] = &[
    "approve",
    "approves",
    "commit",
    "commits",
    "apply",
    "applies",
    "settle",
    "settles",
    "merge",
    "merges",
    "finalize",
    "finalizes",
    "authorize",
    "authorizes",
];
const SQL_WORDS: &[&str] = &["sql", "query", "statement", "script", "queries"];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let evidence = if let Some(verb) = f.name_has(DECISION_VERBS) {
        if f.name_has(SQL_WORDS).is_some() {
            return None;
        }
        f.name_evidence(format!("the name contains the decision verb {verb:?}"))
    } else if f.read_only != Some(true) && !f.proposal_boundary() {
        let verb = f.text_has(DECISION_VERBS_IN_TEXT)?;
        f.description_evidence(format!("the description says {verb:?}"))
    } else {
        return None;
    };
    Some(Hit::new(
        &RULE,
        "The model can make a decision that should be a person's: approve, commit, apply or execute.",
        vec![evidence],
    ))
}
