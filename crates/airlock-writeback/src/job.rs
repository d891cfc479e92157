//! Writeback jobs: built from a stored proposal and the current config, and cross-checked
//! field by field when a job file is handed to `apply --job`.

use airlock_config::{Capability, Config};
use airlock_ledger::StoredProposal;
use airlock_protocol::{
    ConflictGuard, JobTarget, Lease, ROW_HASH_COLUMN, RunnerScope, WRITEBACK_JOB_V1, WritebackJob,
    idempotency_key, job_id,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// Longest lease a job may carry.
pub const MAX_LEASE_SECONDS: i64 = 3600;

/// Why a job or proposal cannot be applied under the current config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error(
        "job field `{field}` does not match the stored proposal (expected {expected}, found {found})"
    )]
    Mismatch {
        field: &'static str,
        expected: String,
        found: String,
    },
    #[error(
        "proposal {proposal} does not match any proposal capability in the current config: {reason}"
    )]
    CapabilityMismatch { proposal: String, reason: String },
    #[error("the job's lease expired at {expires_at}")]
    LeaseExpired { expires_at: String },
    #[error("the job's lease ends at {expires_at}, more than {MAX_LEASE_SECONDS} s from now")]
    LeaseTooLong { expires_at: String },
    #[error("the job's lease expiry `{expires_at}` is not an RFC 3339 time")]
    LeaseInvalid { expires_at: String },
    #[error("the job has no conflict guard; Airlock never applies an unguarded write")]
    NoGuard,
}

/// The engine name of the proposal's source in the current config.
fn engine_of(config: &Config, p: &StoredProposal) -> Result<&'static str, JobError> {
    config
        .sources
        .get(&p.source_id)
        .map(|s| s.engine.as_str())
        .ok_or_else(|| JobError::CapabilityMismatch {
            proposal: p.proposal_id.clone(),
            reason: format!("source `{}` is not configured", p.source_id),
        })
}

/// Checks that today's config still authorizes this proposal's write: same capability,
/// source, table, keys, and every patched column allowed.
pub fn reviewed_capability<'a>(
    config: &'a Config,
    p: &StoredProposal,
) -> Result<&'a Capability, JobError> {
    let fail = |reason: String| JobError::CapabilityMismatch {
        proposal: p.proposal_id.clone(),
        reason,
    };
    let cap = config
        .capabilities
        .iter()
        .find(|c| c.name == p.action && c.kind == airlock_config::CapabilityKind::Proposal)
        .ok_or_else(|| fail(format!("no proposal capability named `{}`", p.action)))?;
    let cs = &p.change_set;
    if cap.source != p.source_id {
        return Err(fail(format!(
            "the capability now reads source `{}`, the proposal was made on `{}`",
            cap.source, p.source_id
        )));
    }
    if cap.target.table != cs.source.table
        || cap
            .target
            .schema
            .as_deref()
            .is_some_and(|s| s != cs.source.schema)
    {
        return Err(fail("the capability's target table changed".into()));
    }
    if cap.target.primary_key != cs.source.primary_key.column {
        return Err(fail("the capability's primary key changed".into()));
    }
    match &cap.target.tenant_key {
        Some(k) if *k == cs.guards.tenant.column => {}
        Some(_) => return Err(fail("the capability's tenant key changed".into())),
        None => return Err(fail(
            "the capability has no tenant key; single-tenant development tables cannot be applied"
                .into(),
        )),
    }
    if cs.guards.tenant.value != Value::String(p.tenant_id.clone()) {
        return Err(fail(
            "the tenant guard does not match the proposal's tenant".into(),
        ));
    }
    let allowed = cap.allowed_columns.as_deref().unwrap_or_default();
    for column in cs.patch.keys().chain(cs.guards.allowed_columns.iter()) {
        if !allowed.contains(column) {
            return Err(fail(format!(
                "column `{column}` is not in the capability's allowed_columns"
            )));
        }
        if *column == cap.target.primary_key || Some(column) == cap.target.tenant_key.as_ref() {
            return Err(fail(format!("column `{column}` is a key column")));
        }
    }
    let guard_column = &cs.guards.expected_version.column;
    match cap.conflict_guard.as_ref().and_then(|g| g.column.as_ref()) {
        Some(c) if c != guard_column && guard_column != ROW_HASH_COLUMN => {
            return Err(fail(format!(
                "the conflict guard column changed from `{guard_column}` to `{c}`"
            )));
        }
        Some(c) if guard_column == ROW_HASH_COLUMN => {
            return Err(fail(format!(
                "the capability now requires version column `{c}`, the proposal only captured a row hash"
            )));
        }
        _ => {}
    }
    Ok(cap)
}

/// The job Airlock would run for a stored proposal.
pub fn build(
    config: &Config,
    p: &StoredProposal,
    project_id: &str,
    lease_seconds: i64,
    now: DateTime<Utc>,
) -> Result<WritebackJob, JobError> {
    let cs = &p.change_set;
    let guard = &cs.guards.expected_version;
    let conflict_guard = if guard.column == ROW_HASH_COLUMN {
        ConflictGuard::RowHash {
            expected_hash: guard.value.as_str().unwrap_or_default().to_owned(),
        }
    } else {
        ConflictGuard::Column {
            column: guard.column.clone(),
            expected_value: guard.value.clone(),
        }
    };
    let lease_seconds = lease_seconds.clamp(15, MAX_LEASE_SECONDS);
    Ok(WritebackJob {
        schema_version: WRITEBACK_JOB_V1.into(),
        writeback_job_id: job_id(&p.proposal_id),
        proposal_id: p.proposal_id.clone(),
        proposal_version: p.proposal_version,
        proposal_hash: p.proposal_hash.clone(),
        runner_scope: RunnerScope {
            project_id: project_id.into(),
            source_id: p.source_id.clone(),
        },
        engine: engine_of(config, p)?.into(),
        operation: "single_row_update".into(),
        target: JobTarget {
            schema: cs.source.schema.clone(),
            table: cs.source.table.clone(),
            primary_key: cs.source.primary_key.clone(),
        },
        tenant_guard: cs.guards.tenant.clone(),
        allowed_columns: cs.guards.allowed_columns.clone(),
        patch: cs.patch.clone(),
        conflict_guard,
        idempotency_key: idempotency_key(&p.proposal_id, &cs.scope.object_id),
        lease: Lease {
            lease_id: format!("lease_{}", &job_id(&p.proposal_id)[4..]),
            attempt: 1,
            expires_at: (now + Duration::seconds(lease_seconds))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
    })
}

/// Compares a job file with the job built from the ledger. Every field must match, except the
/// lease expiry, which must be a valid time in the future within [`MAX_LEASE_SECONDS`].
pub fn cross_check(
    file: &WritebackJob,
    expected: &WritebackJob,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    fn same<T: PartialEq + serde::Serialize>(
        field: &'static str,
        a: &T,
        b: &T,
    ) -> Result<(), JobError> {
        if a == b {
            Ok(())
        } else {
            let show = |v: &T| serde_json::to_string(v).unwrap_or_default();
            Err(JobError::Mismatch {
                field,
                expected: show(b),
                found: show(a),
            })
        }
    }
    same(
        "schema_version",
        &file.schema_version,
        &expected.schema_version,
    )?;
    same(
        "writeback_job_id",
        &file.writeback_job_id,
        &expected.writeback_job_id,
    )?;
    same("proposal_id", &file.proposal_id, &expected.proposal_id)?;
    same(
        "proposal_version",
        &file.proposal_version,
        &expected.proposal_version,
    )?;
    same(
        "proposal_hash",
        &file.proposal_hash,
        &expected.proposal_hash,
    )?;
    same(
        "runner_scope.source_id",
        &file.runner_scope.source_id,
        &expected.runner_scope.source_id,
    )?;
    same(
        "runner_scope.project_id",
        &file.runner_scope.project_id,
        &expected.runner_scope.project_id,
    )?;
    same("engine", &file.engine, &expected.engine)?;
    same("operation", &file.operation, &expected.operation)?;
    same("target", &file.target, &expected.target)?;
    same("tenant_guard", &file.tenant_guard, &expected.tenant_guard)?;
    same(
        "allowed_columns",
        &file.allowed_columns,
        &expected.allowed_columns,
    )?;
    same("patch", &file.patch, &expected.patch)?;
    if file.conflict_guard == ConflictGuard::None {
        return Err(JobError::NoGuard);
    }
    same(
        "conflict_guard",
        &file.conflict_guard,
        &expected.conflict_guard,
    )?;
    same(
        "idempotency_key",
        &file.idempotency_key,
        &expected.idempotency_key,
    )?;
    same(
        "lease.lease_id",
        &file.lease.lease_id,
        &expected.lease.lease_id,
    )?;
    same(
        "lease.attempt",
        &file.lease.attempt,
        &expected.lease.attempt,
    )?;
    check_lease(&file.lease, now)
}

/// The lease must be a valid, unexpired time no further than [`MAX_LEASE_SECONDS`] ahead.
pub fn check_lease(lease: &Lease, now: DateTime<Utc>) -> Result<(), JobError> {
    let at = DateTime::parse_from_rfc3339(&lease.expires_at)
        .map_err(|_| JobError::LeaseInvalid {
            expires_at: lease.expires_at.clone(),
        })?
        .with_timezone(&Utc);
    if at <= now {
        return Err(JobError::LeaseExpired {
            expires_at: lease.expires_at.clone(),
        });
    }
    if at > now + Duration::seconds(MAX_LEASE_SECONDS + 5) {
        return Err(JobError::LeaseTooLong {
            expires_at: lease.expires_at.clone(),
        });
    }
    Ok(())
}
