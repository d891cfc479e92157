//! `MISSING_TEST_FIXTURE`: no example input anywhere in the tool.
//!
//! **Why it matters.** An example call documents intended use and gives tests something to
//! replay; without one, behaviour is learned from production calls.
//!
//! **Found by** the absence of `examples`/`example`/`input_examples`/`test_fixture` on the
//! tool and of `examples`/`example` in its input schema.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "MISSING_TEST_FIXTURE",
    severity: Severity::Low,
    title: "No example input for the tool",
    fix: "Keep example calls with the surface: `airlock smoke call CAPABILITY --json '{...}'` runs a capability as a model would, and the ledger keeps every call for replay.",
};

const TOOL_KEYS: &[&str] = &[
    "examples",
    "example",
    "input_examples",
    "test_fixture",
    "x_synapsor_test_fixture",
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let on_tool = TOOL_KEYS.iter().any(|k| f.tool.raw.get(*k).is_some());
    let in_schema = f
        .tool
        .input_schema()
        .is_some_and(|s| s.get("examples").is_some() || s.get("example").is_some())
        || f.args.iter().any(|a| a.schema.get("examples").is_some());
    if on_tool || in_schema {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool carries no example input.",
        vec![f.tool_evidence("inputSchema", "no examples")],
    ))
}
