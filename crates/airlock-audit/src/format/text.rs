//! The terminal form: summary, then findings per server and tool, then the safer shape.

use std::fmt::Write;

use super::{SAFER_SHAPE, server_name, upper};
use crate::report::Report;

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let _ = writeln!(out, "Airlock MCP risk review");
    let _ = writeln!(out, "{}", r.disclaimer);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Servers: {} ({} could not be audited)   Tools inspected: {}",
        s.servers, s.servers_failed, s.tools_inspected
    );
    let _ = writeln!(
        out,
        "Findings: HIGH {} | MEDIUM {} | LOW {}   Overall risk: {}",
        s.high, s.medium, s.low, s.overall_risk
    );
    for server in &r.servers {
        let _ = writeln!(out);
        let name = server_name(&server.target, server.server.as_deref());
        if let Some(e) = &server.error {
            let _ = writeln!(out, "== {name}: NOT AUDITED");
            let _ = writeln!(out, "error[{}]: {}", e.code, e.message);
            let _ = writeln!(out, "hint: {}", e.hint);
            continue;
        }
        let _ = writeln!(out, "== {name}: {} tools", server.tools_inspected);
        let findings = r
            .findings
            .iter()
            .filter(|f| f.target == server.target && f.server == server.server);
        let mut any = false;
        for f in findings {
            any = true;
            let _ = writeln!(
                out,
                "{:<6} {}  {}",
                upper(f.severity),
                f.rule,
                f.tool.as_deref().unwrap_or("(server)")
            );
            let _ = writeln!(out, "       {}", f.message);
            for e in &f.evidence {
                let _ = writeln!(out, "       evidence: {} ({})", e.pointer, e.detail);
            }
            let _ = writeln!(out, "       fix: {}", f.fix);
        }
        if !any {
            let _ = writeln!(out, "No findings.");
        }
    }
    if s.total_findings > 0 {
        let _ = writeln!(out);
        let _ = writeln!(out, "What Airlock exposes instead:");
        for line in SAFER_SHAPE {
            let _ = writeln!(out, "  - {line}");
        }
    }
    out
}
