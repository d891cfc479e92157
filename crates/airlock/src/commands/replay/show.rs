//! `airlock replay show ID|latest`: what the agent saw, what it proposed, who decided, and what
//! was applied or blocked. Reading never writes.

use airlock_cli::ReplayShowArgs;
use airlock_ledger::{Ledger, Replay};

use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ReplayShowArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let id = resolve(&*ledger, args).await?;
    let replay = ledger.replay(&id).await?;
    if args.json {
        output::json(&replay)?;
    } else {
        print(&replay, args.details);
    }
    Ok(ExitStatus::Success)
}

/// The proposal a replay is asked for: the id (proposal, `replay_…`, `latest` or an evidence
/// bundle id), `--proposal`, `--replay` or `--evidence`.
async fn resolve(ledger: &dyn Ledger, args: &ReplayShowArgs) -> anyhow::Result<String> {
    let given = [&args.id, &args.proposal, &args.replay]
        .into_iter()
        .flatten()
        .next();
    let evidence = match (given, &args.evidence) {
        (_, Some(ev)) => ev,
        (Some(id), None) if id.starts_with(EVIDENCE_PREFIX) => id,
        (Some(id), None) => return Ok(proposal_id(id).to_owned()),
        (None, None) => {
            return Err(hinted(
                "no replay asked for",
                "pass a proposal id (or `latest`), --proposal ID, --replay replay_ID or --evidence ev_ID",
            ));
        }
    };
    let bundle = ledger.evidence(evidence).await?;
    bundle
        .bundle
        .proposal_id
        .clone()
        .or_else(|| bundle.query_audit.iter().find_map(|a| a.proposal_id.clone()))
        .ok_or_else(|| {
            hinted(
                format!("evidence bundle {evidence} belongs to a read, not to a proposal; there is no replay of it"),
                format!("see the read with `airlock evidence show {evidence}`"),
            )
        })
}

const EVIDENCE_PREFIX: &str = "ev_";

/// Accepts `replay_<proposal id>` as well as the proposal id.
pub fn proposal_id(id: &str) -> &str {
    id.strip_prefix("replay_").unwrap_or(id)
}

fn print(r: &Replay, details: bool) {
    for line in lines(r, details) {
        output::line(&line);
    }
}

/// The replay as text lines: a title, numbered sections, indented entries (`replay export
/// --format markdown` turns the same lines into Markdown).
pub fn lines(r: &Replay, details: bool) -> Vec<String> {
    let mut out = Vec::new();
    let p = &r.proposal;
    let cs = &p.change_set;
    out.push(format!("Replay {}  ({})", r.replay_id, p.state));
    out.push(format!(
        "{} on {}.{} {} in tenant {}",
        p.action, cs.source.schema, cs.source.table, cs.scope.object_id, p.tenant_id
    ));
    out.push(String::from(""));
    out.push(String::from("1. What the agent saw"));
    for e in &r.evidence {
        for item in &e.bundle.items {
            if item["kind"] == "external_row" {
                out.push(format!(
                    "   {} read by {} at {}: {}",
                    e.bundle.evidence_bundle_id,
                    e.bundle.principal,
                    e.bundle.created_at,
                    item["visible_row"]
                ));
            }
        }
        if details {
            for a in &e.query_audit {
                out.push(format!(
                    "     query #{}: {} rows in {} µs, {}",
                    a.audit_id,
                    a.row_count,
                    a.duration_us,
                    a.payload["statement_template"].as_str().unwrap_or("")
                ));
            }
        }
    }
    out.push(String::from("2. What it proposed"));
    for (column, value) in &cs.patch {
        out.push(format!(
            "   {column}: {} -> {value}",
            cs.before.get(column).cloned().unwrap_or_default()
        ));
    }
    out.push(format!(
        "   guard: {} = {}",
        cs.guards.expected_version.column, cs.guards.expected_version.value
    ));
    out.push(String::from("3. Who decided"));
    if r.approvals.is_empty() {
        out.push(String::from("   nobody yet"));
    }
    for a in &r.approvals {
        let role = match (a.role.as_deref(), a.role_verified) {
            (Some(r), Some(false)) => format!(" as {r} (role not verified)"),
            (Some(r), _) => format!(" as {r}"),
            (None, _) => String::new(),
        };
        let source = a
            .actor_source
            .as_deref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        let reason = a
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        out.push(format!(
            "   {} {}{source}{role} at {}{reason}",
            a.status, a.approver, a.created_at
        ));
    }
    out.push(String::from("4. What happened"));
    if r.receipts.is_empty() {
        out.push(String::from("   nothing applied"));
    }
    for rc in &r.receipts {
        let code = rc
            .receipt
            .safe_error_code
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        out.push(format!(
            "   rct_{:06} {}{code}: {} row(s), source changed: {}, at {}",
            rc.receipt_id,
            rc.status,
            rc.receipt.rows_affected,
            if rc.source_database_mutated {
                "yes"
            } else {
                "no"
            },
            rc.receipt.executed_at
        ));
    }
    if details {
        out.push(String::from("Events (hash chain):"));
        for e in &r.events {
            out.push(format!(
                "   #{:<6} {:<24} by {:<20} {}",
                e.seq, e.kind, e.actor, e.hash
            ));
        }
    }
    out
}
