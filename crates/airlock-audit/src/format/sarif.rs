//! SARIF 2.1.0 as GitHub code scanning reads it: every rule in `tool.driver.rules` (with a
//! `security-severity` for GitHub's severity column), one result per finding with `ruleId`,
//! `ruleIndex`, `level`, a message, a physical location (the audited file, or the target as a
//! URI) and a logical location naming the tool, and a stable `partialFingerprints` entry.
//! Servers that could not be audited become tool execution notifications.

use serde_json::{Value, json};

use crate::report::{Report, Severity};
use crate::rules;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub(super) fn log(r: &Report) -> Value {
    let catalog = rules::catalog();
    let rules: Vec<Value> = catalog
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": pascal(rule.id),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.title},
                "help": {"text": rule.fix, "markdown": rule.fix},
                "defaultConfiguration": {"level": level(rule.severity)},
                "properties": {
                    "tags": ["security", "mcp"],
                    "security-severity": security_severity(rule.severity),
                },
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let index = catalog.iter().position(|c| c.id == f.rule).unwrap_or(0);
            let file = r
                .servers
                .iter()
                .find(|s| s.target == f.target && s.server == f.server)
                .and_then(|s| s.file.clone());
            let uri = file.unwrap_or_else(|| encode_uri(&f.target));
            let tool = f.tool.as_deref().unwrap_or("(server)");
            let qualified = match &f.server {
                Some(s) => format!("{s}/{tool}"),
                None => tool.to_owned(),
            };
            let evidence = f
                .evidence
                .iter()
                .map(|e| format!("{} ({})", e.pointer, e.detail))
                .collect::<Vec<_>>()
                .join("; ");
            json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": format!("{tool}: {} Evidence: {evidence}. Fix: {}", f.message, f.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": 1},
                    },
                    "logicalLocations": [{
                        "name": tool,
                        "fullyQualifiedName": qualified,
                        "kind": "function",
                    }],
                }],
                "partialFingerprints": {
                    "airlockAudit/v1": fingerprint(&[f.rule, &f.target, &qualified]),
                },
                "properties": {
                    "severity": f.severity.as_str(),
                    "evidence": f.evidence,
                },
            })
        })
        .collect();
    let notifications: Vec<Value> = r
        .servers
        .iter()
        .filter_map(|s| {
            let e = s.error.as_ref()?;
            Some(json!({
                "level": "error",
                "message": {"text": format!("{}: {} ({}). Hint: {}", s.server.as_deref().unwrap_or(&s.target), e.message, e.code, e.hint)},
                "descriptor": {"id": e.code},
            }))
        })
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "airlock-audit",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub maps 7.0–8.9 to high, 4.0–6.9 to medium, 0.1–3.9 to low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

/// `GENERIC_SQL_TOOL` → `GenericSqlTool`.
fn pascal(id: &str) -> String {
    id.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_string() + &c.as_str().to_lowercase())
                .unwrap_or_default()
        })
        .collect()
}

/// The target as a URI reference: characters outside the unreserved set and `:/@.` are
/// percent-encoded (a stdio command line has spaces).
fn encode_uri(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// FNV-1a 64 over the parts: stable across runs and versions, so code scanning matches a
/// finding to the same alert.
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
