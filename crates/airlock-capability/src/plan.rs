//! Scoped read plans and proposal plans: what to select, what to change, and the guards.

use airlock_config::{Capability, Engine, Mode};
use airlock_protocol::{
    ApprovalState, CHANGE_SET_V1, ChangeSet, ColumnValue, EvidenceRef, Guards, Integrity,
    Principal, ROW_HASH_COLUMN, SINGLE_TENANT_DEV_COLUMN, ScalarMap, Scope, SourceRef,
    WritebackState, hash_json,
};
use serde_json::{Map, Value, json};

use crate::{CallCode, CallError};

/// Where tenant and principal came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedScope {
    pub tenant_id: String,
    pub principal: String,
    /// `environment`, `static_dev` or `http_claims`.
    pub provenance: &'static str,
}

impl TrustedScope {
    /// The change-set `principal.source` for this provenance.
    pub fn principal_source(&self) -> &'static str {
        match self.provenance {
            "http_claims" => "trusted_session",
            other => other,
        }
    }
}

/// The one select a call runs. Identifiers come from validated config only.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    pub schema: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub key_column: String,
    /// The lookup argument's value, bound as a parameter.
    pub key_value: Value,
    /// Tenant column and the trusted tenant id; `None` only for single-tenant dev tables.
    pub tenant: Option<(String, String)>,
    /// Rows the caller may see.
    pub max_rows: u32,
    /// Rows to fetch: one more than `max_rows`, to tell when a result was truncated.
    pub fetch_limit: u32,
    /// Identifies the query shape (not the values), for the query audit.
    pub fingerprint: String,
}

pub fn read_plan(
    cap: &Capability,
    args: &Map<String, Value>,
    scope: &TrustedScope,
) -> Result<ReadPlan, CallError> {
    let key_value = args.get(&cap.lookup.id_from_arg).cloned().ok_or_else(|| {
        CallError::new(
            CallCode::ArgumentRequired,
            format!("`{}` is required.", cap.lookup.id_from_arg),
        )
    })?;
    let columns: Vec<String> = cap.read_columns().into_iter().map(str::to_owned).collect();
    let max_rows = cap.max_rows.unwrap_or(1).max(1);
    let tenant = cap
        .target
        .tenant_key
        .as_ref()
        .map(|k| (k.clone(), scope.tenant_id.clone()));
    let fingerprint = hash_json(&json!({
        "source": cap.source,
        "schema": cap.target.schema,
        "table": cap.target.table,
        "columns": columns,
        "key": cap.target.primary_key,
        "tenant_key": cap.target.tenant_key,
        "max_rows": max_rows,
    }));
    Ok(ReadPlan {
        schema: cap.target.schema.clone(),
        table: cap.target.table.clone(),
        columns,
        key_column: cap.target.primary_key.clone(),
        key_value,
        tenant,
        max_rows,
        fetch_limit: max_rows + 1,
        fingerprint,
    })
}

/// The lookup value as text, for audit records and `object_id`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// New values for the patched columns, in config order.
pub fn build_patch(cap: &Capability, args: &Map<String, Value>) -> ScalarMap {
    let mut patch = Map::new();
    for (column, binding) in cap.patch.iter().flatten() {
        let value = match (&binding.from_arg, &binding.fixed) {
            (Some(arg), _) => args.get(arg).cloned().unwrap_or(Value::Null),
            (None, Some(v)) => v.clone(),
            (None, None) => Value::Null,
        };
        patch.insert(column.clone(), value);
    }
    patch
}

/// Checks numeric bounds, then transitions, against the row as read. Nothing is stored
/// before this passes.
pub fn check_guards(
    cap: &Capability,
    before: &ScalarMap,
    patch: &ScalarMap,
) -> Result<(), CallError> {
    for (column, bound) in cap.numeric_bounds.iter().flatten() {
        let Some(value) = patch.get(column) else {
            continue;
        };
        let Some(n) = value.as_f64() else {
            return Err(CallError::new(
                CallCode::PatchNumericBoundTypeInvalid,
                format!("`{column}` must be numeric to use numeric_bounds."),
            ));
        };
        if let Some(min) = bound.minimum.filter(|m| n < *m) {
            return Err(CallError::new(
                CallCode::PatchBelowMinimum,
                format!(
                    "`{column}` must be at least {}.",
                    crate::catalog::number(min)
                ),
            ));
        }
        if let Some(max) = bound.maximum.filter(|m| n > *m) {
            return Err(CallError::new(
                CallCode::PatchAboveMaximum,
                format!(
                    "`{column}` must be at most {}.",
                    crate::catalog::number(max)
                ),
            ));
        }
    }
    for (column, guard) in cap.transition_guards.iter().flatten() {
        let Some(proposed) = patch.get(column) else {
            continue;
        };
        let from_column = guard.from_column.as_deref().unwrap_or(column);
        let current = before.get(from_column).unwrap_or(&Value::Null);
        let (Value::String(current), Value::String(proposed)) = (current, proposed) else {
            return Err(CallError::new(
                CallCode::PatchTransitionTypeInvalid,
                format!("`{column}` transition guard requires text current and proposed values."),
            ));
        };
        let allowed = guard
            .allowed
            .get(current)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !allowed.iter().any(|a| a == proposed) {
            let hint = if allowed.is_empty() {
                format!("no transition is allowed from `{current}`")
            } else {
                format!("allowed from `{current}`: {}", allowed.join(", "))
            };
            return Err(CallError::new(
                CallCode::PatchTransitionNotAllowed,
                format!("`{column}` cannot change from `{current}` to `{proposed}` ({hint})."),
            ));
        }
    }
    Ok(())
}

/// The conflict guard captured at proposal time.
pub fn expected_version(cap: &Capability, before: &ScalarMap) -> Result<ColumnValue, CallError> {
    let guard = cap.conflict_guard.as_ref();
    if let Some(column) = guard.and_then(|g| g.column.as_ref())
        && let Some(value) = before.get(column)
    {
        return Ok(ColumnValue {
            column: column.clone(),
            value: value.clone(),
        });
    }
    if guard.and_then(|g| g.weak_guard_ack) == Some(true) {
        return Ok(ColumnValue {
            column: ROW_HASH_COLUMN.into(),
            value: Value::String(row_hash(before)),
        });
    }
    Err(CallError::new(
        CallCode::ConflictGuardMissing,
        "The proposal could not capture its configured conflict guard column.",
    ))
}

/// Hash of a row as read (the weak conflict guard).
pub fn row_hash(row: &ScalarMap) -> String {
    hash_json(&Value::Object(row.clone()))
}

/// Identifies "the same change" for deduplication of open proposals.
pub fn dedupe_key(
    action: &str,
    tenant: &str,
    object_id: &str,
    before: &ScalarMap,
    patch: &ScalarMap,
) -> String {
    hash_json(
        &json!({"action": action, "tenant": tenant, "object": object_id, "before": before, "patch": patch}),
    )
}

/// `source.kind` of a change set. `external_sqlite` is an Airlock extension.
pub fn source_kind(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "external_postgres",
        Engine::Mysql => "external_mysql",
        Engine::Sqlite => "external_sqlite",
    }
}

/// Schema recorded in a change set when the config leaves the table unqualified.
fn default_schema(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "main",
        Engine::Postgres | Engine::Mysql => "public",
    }
}

/// Everything a change set is built from.
#[derive(Debug, Clone)]
pub struct ProposalInputs<'a> {
    pub cap: &'a Capability,
    pub mode: Mode,
    pub engine: Engine,
    pub scope: &'a TrustedScope,
    pub proposal_id: String,
    pub before: ScalarMap,
    pub patch: ScalarMap,
    pub evidence_bundle_id: String,
    pub query_fingerprint: String,
    pub created_at: String,
}

/// Builds and seals a `synapsor.change-set.v1`. Guards must already have passed.
pub fn change_set(p: ProposalInputs<'_>) -> Result<ChangeSet, CallError> {
    let cap = p.cap;
    let expected_version = expected_version(cap, &p.before)?;
    let key_value = p
        .before
        .get(&cap.target.primary_key)
        .cloned()
        .unwrap_or(Value::Null);
    let object_id = value_text(&key_value);
    let mut after = p.before.clone();
    for (k, v) in &p.patch {
        after.insert(k.clone(), v.clone());
    }
    let tenant = match &cap.target.tenant_key {
        Some(k) => ColumnValue {
            column: k.clone(),
            value: Value::String(p.scope.tenant_id.clone()),
        },
        None => ColumnValue {
            column: SINGLE_TENANT_DEV_COLUMN.into(),
            value: Value::String("single_tenant_dev".into()),
        },
    };
    let allowed_columns = cap
        .allowed_columns
        .clone()
        .unwrap_or_else(|| p.patch.keys().cloned().collect());
    let mut cs = ChangeSet {
        schema_version: CHANGE_SET_V1.into(),
        proposal_id: p.proposal_id,
        proposal_version: 1,
        action: cap.name.clone(),
        mode: if p.mode == Mode::Shadow {
            "shadow"
        } else {
            "review_required"
        }
        .into(),
        principal: Principal {
            id: p.scope.principal.clone(),
            source: p.scope.principal_source().into(),
        },
        scope: Scope {
            tenant_id: p.scope.tenant_id.clone(),
            business_object: cap.target.table.clone(),
            object_id,
        },
        source: SourceRef {
            kind: source_kind(p.engine).into(),
            source_id: cap.source.clone(),
            schema: cap
                .target
                .schema
                .clone()
                .unwrap_or_else(|| default_schema(p.engine).into()),
            table: cap.target.table.clone(),
            primary_key: ColumnValue {
                column: cap.target.primary_key.clone(),
                value: key_value,
            },
        },
        before: p.before,
        patch: p.patch,
        after,
        guards: Guards {
            tenant,
            allowed_columns,
            expected_version,
        },
        evidence: EvidenceRef {
            bundle_id: p.evidence_bundle_id,
            query_fingerprint: p.query_fingerprint,
            items: vec![],
        },
        approval: ApprovalState {
            status: "pending".into(),
            required_role: cap.approval.as_ref().and_then(|a| a.required_role.clone()),
        },
        writeback: WritebackState {
            status: "not_applied".into(),
            mode: "trusted_worker_required".into(),
            executor: cap.executor_name().into(),
        },
        source_database_mutated: false,
        created_at: p.created_at,
        integrity: Integrity {
            proposal_hash: String::new(),
        },
    };
    cs.seal();
    Ok(cs)
}
