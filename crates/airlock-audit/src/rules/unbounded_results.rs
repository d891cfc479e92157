//! `UNBOUNDED_RESULTS`: a listing or query tool with no bound on how much comes back.
//!
//! **Why it is risky.** An unbounded result can dump a whole table into the model's context
//! (and its transcript), and a large one crowds out everything else the model should read.
//!
//! **Found by** a tool that lists, searches or runs queries and has neither a `limit`-like
//! argument nor an array `outputSchema` with `maxItems` (medium), or has a `limit` argument
//! without a `maximum` (low).
//!
//! **Use instead** single-row reads by key, or bounded lists.

use serde_json::Value;

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "UNBOUNDED_RESULTS",
    severity: Severity::Medium,
    title: "A listing or query tool with no bound on its results",
    fix: "Bound what a call returns: an Airlock read capability returns one row by key, scoped to the trusted tenant, with only its visible columns; numeric arguments carry a configured `maximum`.",
};

const LIST_VERBS: &[&str] = &[
    "list", "search", "find", "query", "select", "export", "dump", "scan", "browse", "all",
];
const LIMIT_ARGS: &[&str] = &[
    "limit",
    "maxresults",
    "maxrows",
    "pagesize",
    "perpage",
    "top",
    "first",
    "max",
    "maxitems",
    "rowlimit",
    "numresults",
    "k",
    "size",
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    if f.name_has(LIST_VERBS).is_none() && f.sql().is_none() {
        return None;
    }
    if f.write().is_some() && f.sql().is_none() {
        return None;
    }
    if let Some(limit) = f.args_named(LIMIT_ARGS).next() {
        if limit.schema.get("maximum").is_some() {
            return None;
        }
        return Some(
            Hit::new(
                &RULE,
                format!(
                    "The argument {:?} bounds the results, but has no maximum.",
                    limit.name
                ),
                vec![limit.evidence("no maximum")],
            )
            .at(Severity::Low),
        );
    }
    let bounded_output = f
        .tool
        .output_schema()
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .is_some_and(|p| p.values().any(|v| v.get("maxItems").is_some()));
    if bounded_output {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool lists or queries with no limit argument and no maxItems: one call can return a whole table.",
        vec![f.tool_evidence("inputSchema", "no limit-like argument")],
    ))
}
