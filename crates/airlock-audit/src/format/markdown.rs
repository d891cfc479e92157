//! The Markdown form, for pull-request comments and docs: a summary table, one findings table
//! per server, and each fired rule's fix once.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{SAFER_SHAPE, server_name, upper};
use crate::report::Report;
use crate::rules;

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let _ = writeln!(out, "# Airlock MCP risk review\n");
    let _ = writeln!(out, "> {}\n", r.disclaimer);
    let _ = writeln!(
        out,
        "| servers | not audited | tools | high | medium | low | overall risk |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |",
        s.servers, s.servers_failed, s.tools_inspected, s.high, s.medium, s.low, s.overall_risk
    );
    for server in &r.servers {
        let name = server_name(&server.target, server.server.as_deref());
        let _ = writeln!(out, "\n## {}\n", cell(&name));
        if let Some(e) = &server.error {
            let _ = writeln!(
                out,
                "Not audited: `{}` {}\n\nHint: {}",
                e.code,
                cell(&e.message),
                cell(&e.hint)
            );
            continue;
        }
        let _ = writeln!(out, "{} tools inspected.\n", server.tools_inspected);
        let findings: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.target == server.target && f.server == server.server)
            .collect();
        if findings.is_empty() {
            let _ = writeln!(out, "No findings.");
            continue;
        }
        let _ = writeln!(out, "| severity | rule | tool | finding | evidence |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for f in findings {
            let evidence = f
                .evidence
                .iter()
                .map(|e| format!("`{}` {}", cell(&e.pointer), cell(&e.detail)))
                .collect::<Vec<_>>()
                .join("<br>");
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | {} | {} |",
                upper(f.severity),
                f.rule,
                cell(f.tool.as_deref().unwrap_or("(server)")),
                cell(&f.message),
                evidence
            );
        }
    }
    let fired: BTreeSet<&str> = r.findings.iter().map(|f| f.rule).collect();
    if !fired.is_empty() {
        let _ = writeln!(out, "\n## Fixes\n");
        for rule in rules::catalog()
            .into_iter()
            .filter(|r| fired.contains(r.id))
        {
            let _ = writeln!(out, "- **`{}`** ({}): {}", rule.id, rule.title, rule.fix);
        }
        let _ = writeln!(out, "\n## What Airlock exposes instead\n");
        for line in SAFER_SHAPE {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
