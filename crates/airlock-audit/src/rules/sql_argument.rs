//! `WRITE_TOOL_ACCEPTS_ARBITRARY_SQL`: an argument carries SQL text and nothing declares the
//! tool read-only.
//!
//! **Why it is risky.** Without `readOnlyHint: true` a client cannot assume the statement is a
//! read; an `UPDATE`, `DELETE` or `DROP` written by the model runs with the server's
//! credentials, unreviewed. (A read-only hint is still only a hint: `GENERIC_SQL_TOOL` fires
//! either way.)
//!
//! **Use instead** a proposal tool: the model proposes one typed change; a person approves it
//! outside MCP; a guarded executor applies it.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "WRITE_TOOL_ACCEPTS_ARBITRARY_SQL",
    severity: Severity::High,
    title: "An argument carries SQL text and the tool is not declared read-only",
    fix: "Expose a proposal tool instead (`billing.propose_late_fee_waiver` taking `invoice_id` and a bounded `amount_cents`): the model records a typed change, a person approves it outside MCP, and a guarded executor applies exactly that change with a conflict check and a receipt.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    if f.read_only == Some(true) {
        return None;
    }
    let args: Vec<_> = f.sql_args().collect();
    let first = args.first()?;
    Some(Hit::new(
        &RULE,
        format!(
            "The argument {:?} takes SQL text and no readOnlyHint says the statement must be a read: the model can write, delete or change the schema.",
            first.name
        ),
        vec![
            first.evidence("SQL text argument"),
            f.hint_evidence("readOnlyHint", "not true"),
        ],
    ))
}
