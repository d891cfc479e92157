//! The rules: one file per rule, each a pure function of one tool's facts (`facts.rs`). A rule's doc
//! comment says what it finds, why that is risky, and what to expose instead; its `RULE`
//! constant carries the stable id, default severity and the fix printed with each finding.
//!
//! Rules are applied in `ALL` order; a report lists findings in that order per tool.

mod ambiguous_read_write;
mod arbitrary_identifier;
mod commit_or_approval;
mod credential_input;
pub(crate) mod facts;
mod generic_sql;
mod misleading_read_only;
mod missing_annotations;
mod missing_description;
mod missing_fixture;
mod no_conflict_guard;
mod no_idempotency;
mod no_output_schema;
mod open_input_schema;
mod schema_change;
mod sql_argument;
mod suspicious_description;
mod trust_scope;
mod unbounded_results;
mod write_without_proposal;

use facts::Facts;

use crate::report::{Evidence, Severity};
use crate::tool::Tool;

/// A rule's fixed parts.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, also the SARIF `ruleId`.
    pub id: &'static str,
    /// Severity of a finding unless the rule says otherwise for one tool.
    pub severity: Severity,
    /// One line: what the rule finds.
    pub title: &'static str,
    /// What Airlock would expose instead.
    pub fix: &'static str,
}

/// One rule firing on one tool.
#[derive(Debug)]
pub struct Hit {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub message: String,
    pub evidence: Vec<Evidence>,
}

impl Hit {
    fn new(rule: &'static Rule, message: impl Into<String>, evidence: Vec<Evidence>) -> Hit {
        Hit {
            rule,
            severity: rule.severity,
            message: message.into(),
            evidence,
        }
    }

    fn at(mut self, severity: Severity) -> Hit {
        self.severity = severity;
        self
    }
}

type Check = fn(&Facts) -> Option<Hit>;

/// Every tool rule, in report order.
pub(crate) const ALL: &[(&Rule, Check)] = &[
    (&generic_sql::RULE, generic_sql::check),
    (&sql_argument::RULE, sql_argument::check),
    (&schema_change::RULE, schema_change::check),
    (&arbitrary_identifier::RULE, arbitrary_identifier::check),
    (&trust_scope::RULE, trust_scope::check),
    (&credential_input::RULE, credential_input::check),
    (&commit_or_approval::RULE, commit_or_approval::check),
    (&write_without_proposal::RULE, write_without_proposal::check),
    (&misleading_read_only::RULE, misleading_read_only::check),
    (&suspicious_description::RULE, suspicious_description::check),
    (&no_output_schema::RULE, no_output_schema::check),
    (&no_idempotency::RULE, no_idempotency::check),
    (&no_conflict_guard::RULE, no_conflict_guard::check),
    (&ambiguous_read_write::RULE, ambiguous_read_write::check),
    (&unbounded_results::RULE, unbounded_results::check),
    (&missing_annotations::RULE, missing_annotations::check),
    (&open_input_schema::RULE, open_input_schema::check),
    (&missing_description::RULE, missing_description::check),
    (&missing_fixture::RULE, missing_fixture::check),
];

/// A server that lists no tools (not a tool rule: it has no tool to point at).
pub const NO_TOOLS_FOUND: Rule = Rule {
    id: "NO_TOOLS_FOUND",
    severity: Severity::Medium,
    title: "The server listed no tools",
    fix: "Check the target: a server that lists nothing cannot be reviewed. Airlock's own surface is listed by `airlock tools list`.",
};

/// Every rule, tool rules first, for SARIF's `tool.driver.rules` and the docs.
pub fn catalog() -> Vec<&'static Rule> {
    ALL.iter()
        .map(|(r, _)| *r)
        .chain(std::iter::once(&NO_TOOLS_FOUND))
        .collect()
}

/// Applies every rule to one tool.
pub fn check(tool: &Tool) -> Vec<Hit> {
    let facts = Facts::of(tool);
    ALL.iter().filter_map(|(_, check)| check(&facts)).collect()
}

/// A finding about arguments: `message` gets their names (quoted, comma-joined); each of the
/// first eight is evidence, described as `what "name"`.
fn args_hit(
    rule: &'static Rule,
    args: &[&facts::Arg],
    message: impl FnOnce(&str) -> String,
    what: &str,
) -> Option<Hit> {
    if args.is_empty() {
        return None;
    }
    let names = args
        .iter()
        .map(|a| format!("{:?}", a.name))
        .collect::<Vec<_>>()
        .join(", ");
    Some(Hit::new(
        rule,
        message(&names),
        args.iter()
            .take(8)
            .map(|a| a.evidence(format!("{what} {:?}", a.name)))
            .collect(),
    ))
}

#[cfg(test)]
mod tests;
