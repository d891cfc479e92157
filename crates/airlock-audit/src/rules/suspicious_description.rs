//! `SUSPICIOUS_DESCRIPTION`: text meant for the model, not for the person reading the list.
//!
//! **Why it is risky.** Tool descriptions go straight into the model's context. Invisible
//! characters (zero-width, bidirectional overrides) hide text from a reviewer, and phrases
//! like "ignore previous instructions" or "do not tell the user" are instructions to the
//! model: a poisoned tool steers every conversation it is listed in.
//!
//! **Found by** invisible or control characters, or instruction phrases, in the name, title,
//! description or any argument description.

use serde_json::Value;

use super::facts::{Facts, words};
use super::{Hit, Rule};
use crate::report::{Evidence, Severity};

pub(crate) const RULE: Rule = Rule {
    id: "SUSPICIOUS_DESCRIPTION",
    severity: Severity::High,
    title: "Hidden characters or instructions to the model in the tool's text",
    fix: "Serve only reviewed text: Airlock's tool names, descriptions and argument descriptions come from the reviewed config file, where a reviewer sees every character.",
};

const PHRASES: &[&[&str]] = &[
    &["ignore", "previous"],
    &["ignore", "all", "previous"],
    &["ignore", "prior"],
    &["disregard", "previous"],
    &["do", "not", "tell"],
    &["don", "t", "tell"],
    &["without", "telling"],
    &["do", "not", "mention"],
    &["system", "prompt"],
    &["you", "must", "always"],
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let mut texts: Vec<(String, &str)> = ["name", "title", "description"]
        .iter()
        .filter_map(|k| {
            f.tool
                .raw
                .get(*k)
                .and_then(Value::as_str)
                .map(|t| (f.tool.at(k), t))
        })
        .collect();
    for arg in &f.args {
        if let Some(d) = arg.schema.get("description").and_then(Value::as_str) {
            texts.push((format!("{}/description", arg.pointer), d));
        }
    }
    let mut evidence = Vec::new();
    for (pointer, text) in texts {
        if let Some(c) = text.chars().find(|c| hidden(*c)) {
            evidence.push(Evidence {
                pointer,
                detail: format!("invisible or control character U+{:04X}", u32::from(c)),
            });
        } else if let Some(p) = instruction(text) {
            evidence.push(Evidence {
                pointer,
                detail: format!("instruction to the model: {p:?}"),
            });
        }
    }
    if evidence.is_empty() {
        return None;
    }
    Some(Hit::new(
        &RULE,
        "The tool's text hides characters or instructs the model; a reviewer reading the list does not see what the model is told.",
        evidence,
    ))
}

fn hidden(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
        || (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn instruction(text: &str) -> Option<String> {
    let w = words(text);
    if text.to_lowercase().contains("<important>") {
        return Some("<IMPORTANT>".to_owned());
    }
    PHRASES.iter().find_map(|p| {
        w.windows(p.len())
            .any(|win| win.iter().zip(p.iter()).all(|(a, b)| a == b))
            .then(|| p.join(" "))
    })
}
