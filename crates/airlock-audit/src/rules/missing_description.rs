//! `MISSING_BUSINESS_DESCRIPTION`: the tool has no description.
//!
//! **Why it is risky.** The model picks tools by their descriptions, and a reviewer reads them
//! to know what a tool is for. An undescribed tool is used by guesswork.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "MISSING_BUSINESS_DESCRIPTION",
    severity: Severity::Low,
    title: "The tool has no description",
    fix: "Describe the business action: every Airlock tool carries the capability's reviewed description (or one generated from its table and kind).",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    if !f.tool.text("description").trim().is_empty() {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool has no description: the model and the reviewer must guess what it does.",
        vec![f.tool_evidence("description", "absent or blank")],
    ))
}
