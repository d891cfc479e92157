//! `synapsor.writeback-job.v1` (what to apply) and `synapsor.execution-receipt.v1` (what
//! happened). Field names and order follow the published schemas.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ColumnValue, ScalarMap, hash_json};

pub const WRITEBACK_JOB_V1: &str = "synapsor.writeback-job.v1";
pub const EXECUTION_RECEIPT_V1: &str = "synapsor.execution-receipt.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WritebackJob {
    pub schema_version: String,
    pub writeback_job_id: String,
    pub proposal_id: String,
    pub proposal_version: u32,
    pub proposal_hash: String,
    pub runner_scope: RunnerScope,
    /// `postgres`, `mysql`, or (Airlock extension) `sqlite`.
    pub engine: String,
    pub operation: String,
    pub target: JobTarget,
    pub tenant_guard: ColumnValue,
    pub allowed_columns: Vec<String>,
    pub patch: ScalarMap,
    pub conflict_guard: ConflictGuard,
    pub idempotency_key: String,
    pub lease: Lease,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerScope {
    pub project_id: String,
    pub source_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobTarget {
    pub schema: String,
    pub table: String,
    pub primary_key: ColumnValue,
}

/// How apply detects that the row changed since the proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConflictGuard {
    Column {
        column: String,
        expected_value: Value,
    },
    RowHash {
        expected_hash: String,
    },
    /// Accepted when parsing for compatibility; Airlock never applies a job without a guard.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    pub lease_id: String,
    pub attempt: u32,
    pub expires_at: String,
}

/// Outcome of one apply attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionReceipt {
    pub schema_version: String,
    pub writeback_job_id: String,
    pub proposal_id: String,
    pub runner_id: String,
    pub status: crate::ReceiptStatus,
    pub rows_affected: u64,
    pub idempotency_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_version: Option<Value>,
    pub source_database_mutated: bool,
    pub executed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_error_code: Option<String>,
    pub receipt_hash: String,
}

impl ExecutionReceipt {
    /// `sha256:` over every field but `receipt_hash`.
    pub fn compute_hash(&self) -> String {
        let mut v = serde_json::to_value(self).expect("receipt serializes");
        if let Value::Object(m) = &mut v {
            m.remove("receipt_hash");
        }
        hash_json(&v)
    }

    pub fn seal(&mut self) {
        self.receipt_hash = self.compute_hash();
    }

    pub fn hash_is_valid(&self) -> bool {
        self.receipt_hash == self.compute_hash()
    }
}

/// The idempotency key of a proposal's write: `<proposal_id>:<object_id>`.
pub fn idempotency_key(proposal_id: &str, object_id: &str) -> String {
    format!("{proposal_id}:{object_id}")
}

/// `wbj_<proposal id>` with characters outside `[A-Za-z0-9_:-]` replaced by `_`.
pub fn job_id(proposal_id: &str) -> String {
    let clean: String = proposal_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("wbj_{clean}")
}

/// A stable description of a job's content for comparisons in error messages.
pub fn job_summary(job: &WritebackJob) -> Value {
    json!({"proposal_id": job.proposal_id, "target": job.target.table, "patch": job.patch})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../../../shared/conformance/fixtures/protocol/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn validate(schema: &str, v: &Value) -> Vec<String> {
        let schema = fixture_schema(schema);
        let validator = jsonschema::validator_for(&schema).unwrap();
        validator.iter_errors(v).map(|e| e.to_string()).collect()
    }

    fn fixture_schema(name: &str) -> Value {
        let path = format!(
            "{}/../../../shared/conformance/schemas/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn job_fixture_round_trips_and_validates() {
        let v = fixture("writeback-job.late-fee-waiver.v1.json");
        let job: WritebackJob = serde_json::from_value(v.clone()).unwrap();
        let back = serde_json::to_value(&job).unwrap();
        assert_eq!(back, v);
        assert!(validate("writeback-job.v1.schema.json", &back).is_empty());
    }

    #[test]
    fn receipt_fixtures_round_trip_and_seal() {
        for name in [
            "execution-receipt.applied.v1.json",
            "execution-receipt.conflict.v1.json",
        ] {
            let v = fixture(name);
            let mut r: ExecutionReceipt = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&r).unwrap(), v);
            r.seal();
            assert!(r.hash_is_valid());
            assert!(
                validate(
                    "execution-receipt.v1.schema.json",
                    &serde_json::to_value(&r).unwrap()
                )
                .is_empty()
            );
            r.rows_affected += 1;
            assert!(!r.hash_is_valid());
        }
    }

    #[test]
    fn unknown_job_fields_are_refused() {
        let mut v = fixture("writeback-job.late-fee-waiver.v1.json");
        v["extra_sql"] = json!("DROP TABLE x");
        assert!(serde_json::from_value::<WritebackJob>(v).is_err());
    }

    #[test]
    fn job_ids_are_sanitised() {
        assert_eq!(job_id("wrp_1a"), "wbj_wrp_1a");
        assert_eq!(job_id("wrp/../x y"), "wbj_wrp____x_y");
    }
}
