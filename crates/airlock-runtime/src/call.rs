//! One tool call.

use std::time::Instant;

use airlock_capability::envelope::{self, Outcome, ProposalOutcome, ReadOutcome};
use airlock_capability::plan::{self, ProposalInputs, ReadPlan, TrustedScope};
use airlock_capability::{CallCode, CallError, args, catalog};
use airlock_config::{Capability, CapabilityKind, Config};
use airlock_db::{DbError, DbErrorKind, Ident, Param, Row, ScopedSelect};
use airlock_ledger::{
    ApprovalPolicy, EvidenceBundle, LedgerError, NewProposal, NewRead, QueryAudit,
};
use airlock_protocol::{ids, now_rfc3339};
use airlock_telemetry::{SpanKind, names};
use serde_json::{Map, Value, json};

use crate::Runtime;

/// A failed call, with what the error envelope needs.
#[derive(Debug, Clone)]
pub struct CallFailure {
    /// Canonical capability name, or the requested name when unknown.
    pub action: String,
    pub kind: Option<CapabilityKind>,
    pub error: CallError,
}

impl CallFailure {
    /// The error in the runtime's result format.
    pub fn render(&self, format: envelope::ResultFormat) -> Value {
        envelope::render_error(&self.action, self.kind, &self.error, format)
    }
}

/// The refusal of a proposal tool while `read_only` mode is on.
fn proposals_disabled() -> CallError {
    CallError::new(
        CallCode::ProposalsDisabled,
        "This Airlock runs in read_only mode; proposal tools are disabled.",
    )
}

impl Runtime {
    /// Calls a tool by exposed name (canonical or alias). `claims` is the scope an HTTP
    /// transport verified, if any.
    pub async fn call(
        &self,
        name: &str,
        args: &Map<String, Value>,
        claims: Option<&TrustedScope>,
    ) -> Result<Outcome, CallFailure> {
        let config = self.config();
        let Some(tool) = self.catalog().get(name) else {
            // Distinguish a proposal tool hidden by read_only mode from an unknown name.
            let error = if catalog::hidden_by_mode(config, name) {
                proposals_disabled()
            } else {
                CallError::new(
                    CallCode::ToolNotFound,
                    format!(
                        "Unknown tool `{}`.",
                        name.chars().take(128).collect::<String>()
                    ),
                )
            };
            return Err(CallFailure {
                action: name.to_owned(),
                kind: None,
                error,
            });
        };
        let cap = &config.capabilities[tool.capability];
        let fail = |error: CallError| CallFailure {
            action: cap.name.clone(),
            kind: Some(cap.kind),
            error,
        };
        args::check(cap, args).map_err(fail)?;
        let scope = crate::resolve_scope(config, cap, &self.env, claims).map_err(|e| {
            if let Some(d) = &e.detail {
                tracing::warn!(capability = %cap.name, "{d}");
            }
            fail(e)
        })?;
        let plan = plan::read_plan(cap, args, &scope).map_err(fail)?;
        let result = match cap.kind {
            CapabilityKind::Read => self.read(cap, &scope, &plan).await,
            CapabilityKind::Proposal => self.propose(cap, &scope, &plan, args).await,
        };
        result.map_err(|e| {
            if let Some(d) = &e.detail {
                tracing::warn!(capability = %cap.name, code = e.code.as_str(), "{d}");
            }
            fail(e)
        })
    }

    async fn read(
        &self,
        cap: &Capability,
        scope: &TrustedScope,
        plan: &ReadPlan,
    ) -> Result<Outcome, CallError> {
        let fetched = self.select(cap, scope, plan).await?;
        let rows = fetched.rows;
        let truncated = rows.len() > plan.max_rows as usize;
        let rows: Vec<Row> = rows.into_iter().take(plan.max_rows as usize).collect();
        let object_id = object_id(cap, rows.first(), plan);
        let evidence = evidence_bundle(self, cap, scope, plan, &rows, &object_id, None);
        let mut audit = fetched.audit;
        audit.outcome = if truncated { "truncated" } else { "ok" }.into();
        audit.evidence_bundle_id = Some(evidence.evidence_bundle_id.clone());
        let evidence_bundle_id = evidence.evidence_bundle_id.clone();
        let record_span = ledger_span("read");
        self.ledger()
            .record_read(NewRead {
                evidence: Some(evidence),
                audit,
            })
            .await
            .map_err(ledger_error)?;
        drop(record_span);
        Ok(Outcome::Read(ReadOutcome {
            action: cap.name.clone(),
            mode: self.config().mode.as_str(),
            object_type: cap.target.table.clone(),
            object_id,
            rows,
            max_rows: plan.max_rows,
            truncated,
            scope: scope.clone(),
            evidence_bundle_id,
        }))
    }

    async fn propose(
        &self,
        cap: &Capability,
        scope: &TrustedScope,
        plan: &ReadPlan,
        args: &Map<String, Value>,
    ) -> Result<Outcome, CallError> {
        let config = self.config();
        if !catalog::is_listed(config, cap) {
            return Err(proposals_disabled());
        }
        let fetched = self.select(cap, scope, plan).await?;
        let mut audit = fetched.audit;
        if fetched.rows.len() != 1 {
            // A proposal changes exactly one row; anything else is refused before recording.
            audit.outcome = "rejected:MULTI_ROW_BLOCKED".into();
            let record_span = ledger_span("read");
            self.ledger()
                .record_read(NewRead {
                    evidence: None,
                    audit,
                })
                .await
                .map_err(ledger_error)?;
            drop(record_span);
            return Err(CallError::new(
                CallCode::PatchMultiRowBlocked,
                "The proposal matched more than one row; a proposal changes exactly one row.",
            ));
        }
        audit.outcome = "ok".into();
        let row = fetched.rows.into_iter().next().expect("one row");
        let patch = plan::build_patch(cap, args);
        if let Err(e) = plan::check_guards(cap, &row, &patch)
            .and_then(|()| plan::expected_version(cap, &row).map(|_| ()))
        {
            // The read happened and is audited; no evidence or proposal is kept.
            audit.outcome = format!("rejected:{}", e.code);
            let record_span = ledger_span("read");
            self.ledger()
                .record_read(NewRead {
                    evidence: None,
                    audit,
                })
                .await
                .map_err(ledger_error)?;
            drop(record_span);
            return Err(e);
        }
        let object_id = object_id(cap, Some(&row), plan);
        let created_at = now_rfc3339();
        let mut evidence = evidence_bundle(
            self,
            cap,
            scope,
            plan,
            std::slice::from_ref(&row),
            &object_id,
            Some(&patch),
        );
        evidence.created_at = created_at.clone();
        let engine = config.sources[&cap.source].engine;
        let change_set = plan::change_set(ProposalInputs {
            cap,
            mode: config.mode,
            engine,
            scope,
            proposal_id: ids::new_id(ids::PROPOSAL),
            before: row.clone(),
            patch: patch.clone(),
            evidence_bundle_id: evidence.evidence_bundle_id.clone(),
            query_fingerprint: plan.fingerprint.clone(),
            created_at,
        })?;
        let dedupe_key = plan::dedupe_key(&cap.name, &scope.tenant_id, &object_id, &row, &patch);
        let evidence_bundle_id = evidence.evidence_bundle_id.clone();
        let record_span = ledger_span("proposal");
        let recorded = self
            .ledger()
            .record_proposal(NewProposal {
                change_set,
                dedupe_key,
                evidence,
                audit,
                approval_policy: approval_policy(config, cap),
            })
            .await
            .map_err(ledger_error)?;
        drop(record_span);
        let stored = recorded.proposal;
        Ok(Outcome::Proposal(ProposalOutcome {
            action: cap.name.clone(),
            status: if stored.change_set.mode == "shadow" {
                "shadow_proposal_created"
            } else {
                "review_required"
            },
            proposal_id: stored.proposal_id,
            proposal_version: stored.proposal_version,
            proposal_hash: stored.proposal_hash,
            object_type: cap.target.table.clone(),
            object_id,
            diff: envelope::diff(&stored.change_set.before, &stored.change_set.patch),
            evidence_bundle_id,
            executor: cap.executor_name().to_owned(),
            reused: !recorded.created,
            scope: scope.clone(),
        }))
    }

    /// Runs the scoped select. Zero rows and database errors are audited here and returned as
    /// errors; rows come back with an audit record the caller completes.
    async fn select(
        &self,
        cap: &Capability,
        scope: &TrustedScope,
        plan: &ReadPlan,
    ) -> Result<Fetched, CallError> {
        let engine = self.engines.get(&cap.source, &self.env).await?;
        let query = scoped_select(plan)?;
        let statement = engine.render_select(&query);
        let mut db_span = airlock_telemetry::child(names::DB_READ, SpanKind::Client);
        if let Some(span) = &mut db_span {
            let engine = self.config().sources[&cap.source].engine;
            span.set("db.system.name", db_system(engine));
            span.set("db.operation.name", "SELECT");
            span.set("db.collection.name", cap.target.table.clone());
            span.set("airlock.source", cap.source.clone());
        }
        let started = Instant::now();
        let result = engine.select(&query).await;
        let duration_us = started.elapsed().as_micros() as u64;
        if let Some(mut span) = db_span {
            match &result {
                Ok(rows) => span.set("db.response.returned_rows", rows.len() as i64),
                Err(e) => span.fail(e.kind.as_str(), "the read failed"),
            }
        }
        let mut audit = QueryAudit {
            audit_id: 0,
            proposal_id: None,
            evidence_bundle_id: None,
            tenant_id: scope.tenant_id.clone(),
            principal: scope.principal.clone(),
            capability: cap.name.clone(),
            business_object: cap.target.table.clone(),
            object_id: plan::value_text(&plan.key_value),
            source_id: cap.source.clone(),
            query_fingerprint: plan.fingerprint.clone(),
            table_name: airlock_capability::catalog::target_label(cap),
            row_count: 0,
            duration_us,
            outcome: String::new(),
            payload: json!({
                "capability": cap.name,
                "columns": plan.columns,
                "tenant_bound": plan.tenant.is_some(),
                "statement_template": statement,
                "parameters_redacted": true,
            }),
            created_at: now_rfc3339(),
        };
        // Keep audit ids short: a megabyte lookup value is cut for the record.
        if audit.object_id.len() > 256 {
            let cut: String = audit.object_id.chars().take(256).collect();
            audit.object_id = format!("{cut}…");
        }
        let rows = match result {
            Ok(rows) => rows,
            Err(e) if e.kind == DbErrorKind::InvalidValue => Vec::new(),
            Err(e) => {
                audit.outcome = format!("error:{}", e.kind.as_str());
                let record_span = ledger_span("read");
                self.ledger()
                    .record_read(NewRead {
                        evidence: None,
                        audit,
                    })
                    .await
                    .map_err(ledger_error)?;
                drop(record_span);
                return Err(db_error(e));
            }
        };
        audit.row_count = rows.len() as u64;
        if rows.is_empty() {
            audit.outcome = "not_found".into();
            let record_span = ledger_span("read");
            self.ledger()
                .record_read(NewRead {
                    evidence: None,
                    audit,
                })
                .await
                .map_err(ledger_error)?;
            drop(record_span);
            return Err(CallError::new(
                CallCode::RowNotFound,
                "No authorized row was found in the trusted tenant scope.",
            ));
        }
        Ok(Fetched { rows, audit })
    }
}

/// `db.system.name` of the semantic conventions.
fn db_system(engine: airlock_config::Engine) -> &'static str {
    match engine {
        airlock_config::Engine::Postgres => "postgresql",
        airlock_config::Engine::Mysql => "mysql",
        airlock_config::Engine::Sqlite => "sqlite",
    }
}

/// The span of one ledger record of a tool call, when the call is traced.
fn ledger_span(record: &'static str) -> Option<airlock_telemetry::Span> {
    let mut span = airlock_telemetry::child(names::LEDGER_WRITE, SpanKind::Internal)?;
    span.set("airlock.ledger.record", record);
    Some(span)
}

struct Fetched {
    rows: Vec<Row>,
    audit: QueryAudit,
}

fn ident(s: &str) -> Result<Ident, CallError> {
    // Validated config only holds safe identifiers; this is a second line of defence.
    Ident::new(s).ok_or_else(|| {
        CallError::new(
            CallCode::UnsafeIdentifier,
            "The capability configuration is invalid.",
        )
    })
}

fn scoped_select(plan: &ReadPlan) -> Result<ScopedSelect, CallError> {
    let key_value = Param::from_json(&plan.key_value).ok_or_else(|| {
        CallError::new(
            CallCode::ArgumentTypeInvalid,
            "The lookup argument must be a scalar.",
        )
    })?;
    Ok(ScopedSelect {
        schema: plan.schema.as_deref().map(ident).transpose()?,
        table: ident(&plan.table)?,
        columns: plan
            .columns
            .iter()
            .map(|c| ident(c))
            .collect::<Result<_, _>>()?,
        key_column: ident(&plan.key_column)?,
        key_value,
        tenant: match &plan.tenant {
            Some((col, tenant)) => Some((ident(col)?, Param::Text(tenant.clone()))),
            None => None,
        },
        limit: plan.fetch_limit,
    })
}

fn object_id(cap: &Capability, row: Option<&Row>, plan: &ReadPlan) -> String {
    row.and_then(|r| r.get(&cap.target.primary_key))
        .map(plan::value_text)
        .unwrap_or_else(|| plan::value_text(&plan.key_value))
}

fn evidence_bundle(
    rt: &Runtime,
    cap: &Capability,
    scope: &TrustedScope,
    plan: &ReadPlan,
    rows: &[Row],
    object_id: &str,
    patch: Option<&Map<String, Value>>,
) -> EvidenceBundle {
    let table = airlock_capability::catalog::target_label(cap);
    let mut items: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut item = json!({
                "kind": "external_row",
                "source_id": cap.source,
                "table": table,
                "primary_key": {"column": cap.target.primary_key, "value": row.get(&cap.target.primary_key).cloned().unwrap_or(Value::Null)},
                "visible_row": row,
            });
            if let Some((col, tenant)) = &plan.tenant {
                item["tenant"] = json!({"column": col, "value": tenant});
            }
            item
        })
        .collect();
    if let (Some(patch), Some(before)) = (patch, rows.first()) {
        let mut after = before.clone();
        after.extend(patch.clone());
        items.push(
            json!({"kind": "proposal_evidence", "before": before, "patch": patch, "after": after}),
        );
    }
    EvidenceBundle {
        evidence_bundle_id: ids::new_id(ids::EVIDENCE),
        proposal_id: None,
        tenant_id: scope.tenant_id.clone(),
        principal: scope.principal.clone(),
        capability: cap.name.clone(),
        source_id: cap.source.clone(),
        source_table: table.clone(),
        business_object: cap.target.table.clone(),
        object_id: object_id.to_owned(),
        query_fingerprint: plan.fingerprint.clone(),
        payload: json!({
            "capability": cap.name,
            "source_id": cap.source,
            "target": table,
            "principal": scope.principal,
            "tenant_id": scope.tenant_id,
            "binding_provenance": scope.provenance,
            "mode": rt.config().mode.as_str(),
            "source_database_changed": false,
        }),
        items,
        created_at: now_rfc3339(),
    }
}

/// Maps a classified database error to a call error. Driver text stays in `detail`.
pub(crate) fn db_error(e: DbError) -> CallError {
    let (code, message) = match e.kind {
        DbErrorKind::Connection if e.is_connection_lost() => (
            CallCode::SourceConnectionLost,
            "The database closed the connection (restart, failover or idle limit); the next call reconnects.",
        ),
        DbErrorKind::Connection if e.code.as_deref() == Some(airlock_db::CONNECT_TIMEOUT_CODE) => (
            CallCode::SourceConnectTimeout,
            "The database did not accept a connection within the connect timeout.",
        ),
        DbErrorKind::Timeout => (
            CallCode::SourceTimeout,
            "The database did not answer within the statement timeout.",
        ),
        DbErrorKind::Connection => (
            CallCode::SourceUnavailable,
            "The database is temporarily unavailable.",
        ),
        DbErrorKind::Conflict => (
            CallCode::SourceUnavailable,
            "The database is busy; retry later.",
        ),
        DbErrorKind::Permission => (
            CallCode::SourcePermissionDenied,
            "The database refused the read.",
        ),
        DbErrorKind::NotFound => (
            CallCode::SourceSchemaMismatch,
            "The capability's table or columns do not exist in the database.",
        ),
        DbErrorKind::InvalidValue => (
            CallCode::RowNotFound,
            "No authorized row was found in the trusted tenant scope.",
        ),
        DbErrorKind::Other => (CallCode::SourceQueryFailed, "The database query failed."),
    };
    CallError::new(code, message).with_detail(e.to_string())
}

fn ledger_error(e: LedgerError) -> CallError {
    CallError::new(
        CallCode::LedgerUnavailable,
        "The Airlock ledger could not record this call.",
    )
    .with_detail(e.to_string())
}

/// What approving a proposal of `cap` requires under this config, recorded with the proposal
/// so a later config cannot weaken it.
fn approval_policy(config: &Config, cap: &Capability) -> ApprovalPolicy {
    ApprovalPolicy {
        roles_enforced: config.operators.is_some(),
        self_approval_allowed: cap.approval.as_ref().and_then(|a| a.allow_self_approval)
            == Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_keep_their_own_codes() {
        let lost = DbError::new(DbErrorKind::Connection, "terminating connection")
            .with_code("57P01")
            .lost_if_connection();
        let dial = DbError::connect_timeout(std::time::Duration::from_secs(2));
        let down = DbError::new(DbErrorKind::Connection, "connection refused");
        for (e, code) in [
            (lost, CallCode::SourceConnectionLost),
            (dial, CallCode::SourceConnectTimeout),
            (down, CallCode::SourceUnavailable),
            (
                DbError::new(DbErrorKind::Timeout, "canceling statement"),
                CallCode::SourceTimeout,
            ),
        ] {
            let got = db_error(e);
            assert_eq!(got.code, code);
            assert!(code.retryable(), "{code}");
        }
    }
}
