//! Result shapes given to a model: the flat v1 object and the v2 envelope, for successes and
//! errors. Same content over MCP and the CLI.

use airlock_config::CapabilityKind;
use serde_json::{Map, Value, json};

use crate::plan::TrustedScope;
use crate::{CallError, SafeCode};

/// `result_format` 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFormat {
    #[default]
    V1,
    V2,
}

impl ResultFormat {
    pub fn from_number(n: u8) -> Option<ResultFormat> {
        match n {
            1 => Some(ResultFormat::V1),
            2 => Some(ResultFormat::V2),
            _ => None,
        }
    }
}

/// A successful read.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    pub action: String,
    pub mode: &'static str,
    pub object_type: String,
    pub object_id: String,
    /// At most `max_rows` rows, projected to the read columns.
    pub rows: Vec<Map<String, Value>>,
    pub max_rows: u32,
    /// More rows matched than `max_rows`.
    pub truncated: bool,
    pub scope: TrustedScope,
    pub evidence_bundle_id: String,
}

/// A recorded proposal.
#[derive(Debug, Clone)]
pub struct ProposalOutcome {
    pub action: String,
    /// `review_required` or `shadow_proposal_created`.
    pub status: &'static str,
    pub proposal_id: String,
    pub proposal_version: u32,
    pub proposal_hash: String,
    pub object_type: String,
    pub object_id: String,
    pub diff: Map<String, Value>,
    pub evidence_bundle_id: String,
    pub executor: String,
    /// An identical open proposal existed and is returned instead of a new one.
    pub reused: bool,
    pub scope: TrustedScope,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Read(ReadOutcome),
    Proposal(ProposalOutcome),
}

/// `{"col": {"before": …, "proposed": …}}` for each patched column.
pub fn diff(before: &Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
    patch
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!({"before": before.get(k).cloned().unwrap_or(Value::Null), "proposed": v}),
            )
        })
        .collect()
}

fn evidence_uri(id: &str) -> String {
    format!("synapsor://evidence/{id}")
}

/// The result in the chosen format.
pub fn render(outcome: &Outcome, format: ResultFormat) -> Value {
    match format {
        ResultFormat::V1 => v1(outcome),
        ResultFormat::V2 => v2(outcome),
    }
}

/// The flat v1 result.
pub fn v1(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Read(r) => {
            let mut v = json!({
                "status": "ok",
                "action": r.action,
                "mode": r.mode,
                "business_object": {"type": r.object_type, "id": r.object_id},
                "data": r.rows.first().cloned().unwrap_or_default(),
                "trusted_context": scope_json(&r.scope),
                "evidence_bundle_id": r.evidence_bundle_id,
                "evidence_resource": evidence_uri(&r.evidence_bundle_id),
                "source_database_changed": false,
                "source_database_mutated": false,
            });
            add_rows(&mut v, r);
            v
        }
        Outcome::Proposal(p) => {
            let mut v = json!({
                "status": p.status,
                "action": p.action,
                "proposal_id": p.proposal_id,
                "proposal_version": p.proposal_version,
                "proposal_hash": p.proposal_hash,
                "target": {"type": p.object_type, "id": p.object_id, "tenant_id": p.scope.tenant_id},
                "diff": p.diff,
                "evidence_bundle_id": p.evidence_bundle_id,
                "evidence_resource": evidence_uri(&p.evidence_bundle_id),
                "proposal_resource": format!("synapsor://proposals/{}", p.proposal_id),
                "replay_resource": format!("synapsor://replay/replay_{}", p.proposal_id),
                "approval_required": true,
                "writeback": {"status": "not_applied", "mode": "trusted_worker_required", "executor": p.executor},
                "source_database_changed": false,
                "source_database_mutated": false,
            });
            if p.reused {
                v["reused_open_proposal"] = Value::Bool(true);
            }
            v
        }
    }
}

/// Reads with `max_rows` > 1 also carry every row and whether the list was cut short.
fn add_rows(v: &mut Value, r: &ReadOutcome) {
    if r.max_rows > 1 || r.truncated {
        v["rows"] = Value::Array(r.rows.iter().cloned().map(Value::Object).collect());
        v["truncated"] = Value::Bool(r.truncated);
    }
}

fn scope_json(s: &TrustedScope) -> Value {
    json!({"tenant_id": s.tenant_id, "principal": s.principal, "provenance": s.provenance})
}

const EVIDENCE_NOTE: &str = "audit/replay handle; you do not need to act on it during this turn";

/// The v2 envelope.
pub fn v2(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Read(r) => {
            let mut data = Value::Object(r.rows.first().cloned().unwrap_or_default());
            if r.max_rows > 1 || r.truncated {
                data = json!({"rows": r.rows, "truncated": r.truncated});
            }
            json!({
                "ok": true,
                "summary": format!("Read {} {} through {}. Source database changed: no.", r.object_type, r.object_id, r.action),
                "action": r.action,
                "kind": "read",
                "data": data,
                "proposal": null,
                "error": null,
                "evidence": {"bundle_id": r.evidence_bundle_id, "note": EVIDENCE_NOTE},
                "source_database_changed": false,
                "_meta": {"tenant_id": r.scope.tenant_id, "principal": r.scope.principal, "provenance": r.scope.provenance, "canonical_capability": r.action},
            })
        }
        Outcome::Proposal(p) => {
            let verb = if p.reused {
                "Returned the open proposal"
            } else {
                "Created proposal"
            };
            let mode = if p.executor == "sql_update" {
                "direct_update"
            } else {
                "app_handler"
            };
            json!({
                "ok": true,
                "summary": format!("{verb} {} for {} {}. Source database changed: no.", p.proposal_id, p.object_type, p.object_id),
                "action": p.action,
                "kind": "proposal",
                "data": null,
                "proposal": {
                    "id": p.proposal_id,
                    "state": p.status,
                    "target": format!("{}:{}", p.object_type, p.object_id),
                    "diff": p.diff,
                    "approval_required": true,
                    "reused_open_proposal": p.reused,
                    "writeback": {"mode": mode, "applied": false},
                    "next": "A human must approve outside this model-facing tool surface; nothing is committed yet.",
                },
                "error": null,
                "evidence": {"bundle_id": p.evidence_bundle_id, "note": EVIDENCE_NOTE},
                "source_database_changed": false,
                "_meta": {"tenant_id": p.scope.tenant_id, "principal": p.scope.principal, "provenance": p.scope.provenance, "canonical_capability": p.action},
            })
        }
    }
}

/// The code a model sees: the specific code for input and policy errors, the safe code for
/// everything else.
fn visible_code(e: &CallError) -> &'static str {
    match e.safe_code() {
        SafeCode::InvalidArgument | SafeCode::PolicyViolation => e.code.as_str(),
        other => other.as_str(),
    }
}

/// A failed call in the chosen format.
pub fn render_error(
    action: &str,
    kind: Option<CapabilityKind>,
    e: &CallError,
    format: ResultFormat,
) -> Value {
    match format {
        ResultFormat::V1 => {
            json!({"ok": false, "code": visible_code(e), "error": e.model_message()})
        }
        ResultFormat::V2 => {
            let safe = e.safe_code();
            json!({
                "ok": false,
                "summary": e.model_message(),
                "action": action,
                "kind": kind.map_or("read", CapabilityKind::as_str),
                "data": null,
                "proposal": null,
                "error": {"code": safe.as_str(), "reason": visible_code(e), "message": e.model_message(), "retryable": e.retryable()},
                "evidence": null,
                "source_database_changed": false,
                "_meta": {"canonical_capability": action},
            })
        }
    }
}
