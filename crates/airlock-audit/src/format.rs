//! The report's four forms. JSON is the contract; text, Markdown and SARIF are views of it.

mod markdown;
mod sarif;
mod text;

use crate::report::{Report, Severity};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Sarif,
}

/// The report in `format`, ending with a newline.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text::render(report),
        Format::Json => pretty(&serde_json::to_value(report).expect("the report serializes")),
        Format::Markdown => markdown::render(report),
        Format::Sarif => pretty(&sarif::log(report)),
    }
}

/// The SARIF 2.1.0 log of a report, as JSON.
pub fn sarif_log(report: &Report) -> serde_json::Value {
    sarif::log(report)
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON serializes") + "\n"
}

/// What Airlock exposes instead, in one list shared by the text and Markdown forms.
const SAFER_SHAPE: &[&str] = &[
    "Typed read capabilities: one reviewed question per tool, identifiers fixed in config, values bound, one tenant-scoped row back.",
    "Proposal tools: the model records a typed, bounded change; it never writes.",
    "Tenant and principal from trusted context (config, environment, verified token claims), never from arguments.",
    "Approval outside MCP (`airlock proposals approve`, `airlock ui`), then a guarded apply with a conflict check and a receipt.",
    "A hash-chained ledger of every read, proposal, decision and write (`airlock replay`).",
];

fn upper(s: Severity) -> &'static str {
    match s {
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
    }
}

/// Display name of a server: its config name, else its target.
fn server_name(target: &str, server: Option<&str>) -> String {
    match server {
        Some(name) => format!("{name} ({target})"),
        None => target.to_owned(),
    }
}
