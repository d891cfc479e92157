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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Principal {
    pub id: String,
    /// `environment`, `static_dev`, `trusted_session` (verified HTTP claims) or `cloud_session`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Scope {
    pub tenant_id: String,
    pub business_object: String,
    pub object_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SourceRef {
    /// `external_postgres`, `external_mysql`, or (Airlock extension) `external_sqlite`.
    pub kind: String,
    pub source_id: String,
    pub schema: String,
    pub table: String,
    pub primary_key: ColumnValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ColumnValue {
    pub column: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Guards {
    pub tenant: ColumnValue,
    pub allowed_columns: Vec<String>,
    /// A version column and its value, or `__row_hash` and the hash of the row as read.
    pub expected_version: ColumnValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EvidenceRef {
    pub bundle_id: String,
    pub query_fingerprint: String,
    pub items: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApprovalState {
    /// `pending`, `approved`, `rejected` or `canceled`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WritebackState {
    pub status: String,
    pub mode: String,
    pub executor: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    use crate::fixtures::{errors, own, own_schema};

    const OURS: &str = "change-set.fee-reversal.v1.json";

    fn fixture() -> ChangeSet {
        serde_json::from_value(own(OURS)).expect("fixture parses")
    }

    #[test]
    fn parses_our_fixture_round_trips_and_its_hash_holds() {
        let cs = fixture();
        assert_eq!(serde_json::to_value(&cs).unwrap(), own(OURS));
        assert!(cs.hash_is_valid());
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
    fn serialized_change_set_validates_against_our_schema() {
        let schema = own_schema("change-set.v1.schema.json");
        let v = serde_json::to_value(fixture()).unwrap();
        assert_eq!(errors(&schema, &v), Vec::<String>::new());
        for (field, bad) in [
            ("schema_version", Value::from("synapsor.change-set.v2")),
            ("proposal_version", Value::from(-1)),
            ("scope", Value::from("harbour-yoga")),
            ("source_database_mutated", Value::from("no")),
        ] {
            let mut doc = v.clone();
            doc[field] = bad;
            assert!(!errors(&schema, &doc).is_empty(), "{field}");
        }
        let mut doc = v.clone();
        doc.as_object_mut().unwrap().remove("guards");
        assert!(!errors(&schema, &doc).is_empty());
    }

    /// Compatibility tier: the original's fixture parses, and what we write validates against
    /// the original's published schema.
    #[test]
    fn compat_original_fixture_and_schema() {
        let Some(dir) = airlock_testkit::shared_conformance("change set vs the original") else {
            return;
        };
        let mut v = airlock_testkit::read_json(
            &dir,
            "fixtures/protocol/change-set.late-fee-waiver.v1.json",
        );
        // The fixture predates the executor field Airlock always writes.
        v["writeback"]["executor"] = Value::String("sql_update".into());
        let mut original: ChangeSet = serde_json::from_value(v).expect("fixture parses");
        let back: ChangeSet =
            serde_json::from_value(serde_json::to_value(&original).unwrap()).unwrap();
        assert_eq!(original, back);
        original.seal();
        let schema = airlock_testkit::read_json(&dir, "schemas/change-set.v1.schema.json");
        for cs in [original, fixture()] {
            let v = serde_json::to_value(&cs).unwrap();
            assert_eq!(errors(&schema, &v), Vec::<String>::new());
        }
    }
}
