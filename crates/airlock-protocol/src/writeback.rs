//! `synapsor.writeback-job.v1` (what to apply) and `synapsor.execution-receipt.v1` (what
//! happened). Field names and order follow the published schemas.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ColumnValue, ScalarMap, hash_json};

pub const WRITEBACK_JOB_V1: &str = "synapsor.writeback-job.v1";
pub const EXECUTION_RECEIPT_V1: &str = "synapsor.execution-receipt.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunnerScope {
    pub project_id: String,
    pub source_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct JobTarget {
    pub schema: String,
    pub table: String,
    pub primary_key: ColumnValue,
}

/// How apply detects that the row changed since the proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Lease {
    pub lease_id: String,
    pub attempt: u32,
    pub expires_at: String,
}

/// Outcome of one apply attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    use crate::fixtures::{errors, own, own_schema};

    const JOB: &str = "writeback-job.fee-reversal.v1.json";
    const RECEIPTS: [&str; 2] = [
        "execution-receipt.applied.v1.json",
        "execution-receipt.conflict.v1.json",
    ];

    #[test]
    fn job_fixture_round_trips_and_validates() {
        let v = own(JOB);
        let job: WritebackJob = serde_json::from_value(v.clone()).unwrap();
        let back = serde_json::to_value(&job).unwrap();
        assert_eq!(back, v);
        let schema = own_schema("writeback-job.v1.schema.json");
        assert_eq!(errors(&schema, &back), Vec::<String>::new());
        let mut bad = back.clone();
        bad["conflict_guard"] = json!({"kind": "column", "column": "updated_at"});
        assert!(!errors(&schema, &bad).is_empty());
        let mut bad = back;
        bad["lease"]["attempt"] = json!("first");
        assert!(!errors(&schema, &bad).is_empty());
    }

    #[test]
    fn receipt_fixtures_round_trip_and_seal() {
        let schema = own_schema("execution-receipt.v1.schema.json");
        for name in RECEIPTS {
            let v = own(name);
            let mut r: ExecutionReceipt = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&r).unwrap(), v);
            assert!(r.hash_is_valid(), "{name}");
            r.seal();
            assert_eq!(
                errors(&schema, &serde_json::to_value(&r).unwrap()),
                Vec::<String>::new()
            );
            r.rows_affected += 1;
            assert!(!r.hash_is_valid());
        }
        let mut bad = own(RECEIPTS[0]);
        bad["rows_affected"] = json!(-1);
        assert!(!errors(&schema, &bad).is_empty());
    }

    #[test]
    fn unknown_job_fields_are_refused() {
        let mut v = own(JOB);
        v["extra_sql"] = json!("DROP TABLE x");
        assert!(serde_json::from_value::<WritebackJob>(v).is_err());
    }

    #[test]
    fn job_ids_are_sanitised() {
        assert_eq!(job_id("wrp_1a"), "wbj_wrp_1a");
        assert_eq!(job_id("wrp/../x y"), "wbj_wrp____x_y");
    }

    /// Compatibility tier: the original's job and receipts round trip, and they and ours
    /// validate against the original's published schemas.
    #[test]
    fn compat_original_job_and_receipts() {
        let Some(dir) = airlock_testkit::shared_conformance("job and receipts vs the original")
        else {
            return;
        };
        let original =
            |name: &str| airlock_testkit::read_json(&dir, &format!("fixtures/protocol/{name}"));
        let job_schema = airlock_testkit::read_json(&dir, "schemas/writeback-job.v1.schema.json");
        for v in [original("writeback-job.late-fee-waiver.v1.json"), own(JOB)] {
            let job: WritebackJob = serde_json::from_value(v.clone()).unwrap();
            let back = serde_json::to_value(&job).unwrap();
            assert_eq!(back, v);
            assert_eq!(errors(&job_schema, &back), Vec::<String>::new());
        }
        let receipt_schema =
            airlock_testkit::read_json(&dir, "schemas/execution-receipt.v1.schema.json");
        let originals = [
            "execution-receipt.applied.v1.json",
            "execution-receipt.conflict.v1.json",
        ]
        .map(original);
        for v in originals.into_iter().chain(RECEIPTS.map(own)) {
            let mut r: ExecutionReceipt = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&r).unwrap(), v);
            r.seal();
            let sealed = serde_json::to_value(&r).unwrap();
            assert_eq!(errors(&receipt_schema, &sealed), Vec::<String>::new());
        }
    }
}
