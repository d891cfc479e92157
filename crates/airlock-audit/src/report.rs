//! The audit report: per-server outcomes, findings, and a summary. This is the JSON contract
//! (`airlock.audit.v1`, docs/audit.md); the other formats are views of it.

use serde::Serialize;

use crate::discover::Discovered;
use crate::error::DiscoveryError;
use crate::rules;

/// The JSON report's `schema_version`.
pub const SCHEMA_VERSION: &str = "airlock.audit.v1";

/// What the report does not claim.
pub const DISCLAIMER: &str = "A static review of the tools a server lists, not proof that it is safe: it reads names, descriptions, schemas and annotations, and never calls a tool.";

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// Where a finding comes from: a JSON pointer into the audited tool list, and what is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub pointer: String,
    pub detail: String,
}

/// One problem with one tool (or with a server that lists none).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable rule id (`GENERIC_SQL_TOOL`, ...).
    pub rule: &'static str,
    pub severity: Severity,
    /// The target as given (`stdio:…`, a URL, a file).
    pub target: String,
    /// The server's name in an MCP client config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The tool's name; absent for a server-level finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// What Airlock would expose instead.
    pub fix: &'static str,
}

/// One audited server: how many tools it listed, or why it could not be audited.
#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The file the tool list came from (saved list, client config), for SARIF locations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub tools_inspected: usize,
    pub tools: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// A discovery error in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    pub code: &'static str,
    pub message: String,
    pub hint: String,
}

impl From<&DiscoveryError> for ErrorReport {
    fn from(e: &DiscoveryError) -> Self {
        ErrorReport {
            code: e.code.as_str(),
            message: e.message.clone(),
            hint: e.hint.clone(),
        }
    }
}

/// Counts over the whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub servers: usize,
    pub servers_failed: usize,
    pub tools_inspected: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub total_findings: usize,
    /// The highest severity found, or `none`.
    pub overall_risk: &'static str,
}

/// The whole audit.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub disclaimer: &'static str,
    pub generated_at: String,
    pub summary: Summary,
    pub servers: Vec<ServerReport>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Applies every rule to every discovered tool.
    pub fn build(discovered: Vec<Discovered>) -> Report {
        let mut servers = Vec::new();
        let mut findings = Vec::new();
        for d in discovered {
            let mut server = ServerReport {
                target: d.target.clone(),
                server: d.server.clone(),
                file: d.file.clone(),
                tools_inspected: 0,
                tools: Vec::new(),
                error: None,
            };
            match &d.outcome {
                Err(e) => server.error = Some(e.into()),
                Ok(tools) => {
                    server.tools_inspected = tools.len();
                    server.tools = tools.iter().map(|t| t.name.clone()).collect();
                    for tool in tools {
                        for hit in rules::check(tool) {
                            findings.push(Finding {
                                rule: hit.rule.id,
                                severity: hit.severity,
                                target: d.target.clone(),
                                server: d.server.clone(),
                                tool: Some(tool.name.clone()),
                                message: hit.message,
                                evidence: hit.evidence,
                                fix: hit.rule.fix,
                            });
                        }
                    }
                    if tools.is_empty() {
                        findings.push(Finding {
                            rule: rules::NO_TOOLS_FOUND.id,
                            severity: rules::NO_TOOLS_FOUND.severity,
                            target: d.target.clone(),
                            server: d.server.clone(),
                            tool: None,
                            message: "The server listed no tools, so there was nothing to review."
                                .to_owned(),
                            evidence: vec![Evidence {
                                pointer: String::new(),
                                detail: "tools/list returned an empty list".to_owned(),
                            }],
                            fix: rules::NO_TOOLS_FOUND.fix,
                        });
                    }
                }
            }
            servers.push(server);
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let summary = Summary {
            servers: servers.len(),
            servers_failed: servers.iter().filter(|s| s.error.is_some()).count(),
            tools_inspected: servers.iter().map(|s| s.tools_inspected).sum(),
            high: count(Severity::High),
            medium: count(Severity::Medium),
            low: count(Severity::Low),
            total_findings: findings.len(),
            overall_risk: findings
                .iter()
                .map(|f| f.severity)
                .max()
                .map_or("none", Severity::as_str),
        };
        Report {
            schema_version: SCHEMA_VERSION,
            disclaimer: DISCLAIMER,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            summary,
            servers,
            findings,
        }
    }

    /// Whether any finding is at or above `threshold` (`--fail-on`).
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    /// Whether any server could not be audited.
    pub fn has_errors(&self) -> bool {
        self.summary.servers_failed > 0
    }
}
