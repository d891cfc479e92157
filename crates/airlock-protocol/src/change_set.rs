//! `synapsor.change-set.v1`: what a proposal would change, captured at proposal time.
//!
//! Field order follows the original so JSON output reads the same. The proposal hash is
//! computed over the canonical JSON of every field except `integrity`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const CHANGE_SET_V1: &str = "synapsor.change-set.v1";

/// A scalar map (column → string/number/boolean/null).
pub type ScalarMap = Map<String, Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub schema_version: String,
    pub proposal_id: String,
    pub proposal_version: u32,
    pub action: String,
    /// `shadow` or `review_required`.
    pub mode: String,
    pub principal: Principal,
    pub scope: Scope,
    pub source: SourceRef,
    pub before: ScalarMap,
    pub patch: ScalarMap,
    pub after: ScalarMap,
    pub guards: Guards,
    pub evidence: EvidenceRef,
    pub approval: ApprovalState,
    pub writeback: WritebackState,
    pub source_database_mutated: bool,
    pub created_at: String,
    pub integrity: Integrity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    pub id: String,
    /// `environment`, `static_dev`, `trusted_session` (verified HTTP claims) or `cloud_session`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub tenant_id: String,
    pub business_object: String,
    pub object_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    /// `external_postgres`, `external_mysql`, or (Airlock extension) `external_sqlite`.
    pub kind: String,
    pub source_id: String,
    pub schema: String,
    pub table: String,
    pub primary_key: ColumnValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnValue {
    pub column: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guards {
    pub tenant: ColumnValue,
    pub allowed_columns: Vec<String>,
    /// A version column and its value, or `__row_hash` and the hash of the row as read.
    pub expected_version: ColumnValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub bundle_id: String,
    pub query_fingerprint: String,
    pub items: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// `pending`, `approved`, `rejected` or `canceled`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WritebackState {
    pub status: String,
    pub mode: String,
    pub executor: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integrity {
    pub proposal_hash: String,
}

/// Column name of the weak guard (hash of the row as read).
pub const ROW_HASH_COLUMN: &str = "__row_hash";
/// Tenant guard column of an acknowledged single-tenant development table.
pub const SINGLE_TENANT_DEV_COLUMN: &str = "__single_tenant_dev";

impl ChangeSet {
    /// The proposal hash: `sha256:` over the canonical JSON of every field but `integrity`.
    pub fn compute_hash(&self) -> String {
        let mut v = serde_json::to_value(self).expect("change set serializes");
        if let Value::Object(map) = &mut v {
            map.remove("integrity");
        }
        crate::hash_json(&v)
    }

    /// Whether `integrity.proposal_hash` matches the content.
    pub fn hash_is_valid(&self) -> bool {
        self.integrity.proposal_hash == self.compute_hash()
    }

    /// Sets `integrity.proposal_hash` from the content.
    pub fn seal(&mut self) {
        self.integrity.proposal_hash = self.compute_hash();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> ChangeSet {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/conformance/fixtures/protocol/change-set.late-fee-waiver.v1.json"
        );
        let text = std::fs::read_to_string(path).expect("conformance fixture present");
        let mut v: Value = serde_json::from_str(&text).unwrap();
        // The fixture predates the executor field Airlock always writes.
        v["writeback"]["executor"] = Value::String("sql_update".into());
        serde_json::from_value(v).expect("fixture parses")
    }

    #[test]
    fn parses_the_conformance_fixture_and_round_trips() {
        let cs = fixture();
        let back: ChangeSet = serde_json::from_value(serde_json::to_value(&cs).unwrap()).unwrap();
        assert_eq!(cs, back);
    }

    #[test]
    fn seal_then_any_edit_breaks_the_hash() {
        let mut cs = fixture();
        cs.seal();
        assert!(cs.hash_is_valid());
        let mut edited = cs.clone();
        edited.patch.insert("late_fee_cents".into(), Value::from(1));
        assert!(!edited.hash_is_valid());
    }

    #[test]
    fn serialized_change_set_validates_against_the_published_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/conformance/schemas/change-set.v1.schema.json"
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let mut cs = fixture();
        cs.seal();
        let v = serde_json::to_value(&cs).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}
