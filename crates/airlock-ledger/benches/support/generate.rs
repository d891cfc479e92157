//! A generator of realistic ledgers of any size, for the benches and for measuring by hand
//! (`cargo run --release -p airlock-ledger --example gen_ledger -- --records N --out FILE`).
//!
//! What it writes, through the ledger's own write path (group-committed batches, so every
//! record is chained and hashed exactly as a server records it; no MCP, no source database):
//! - tool calls by three tenants (two principals each) on the four capabilities of the studio
//!   example, 512 at a time: of every 100 calls, 96 reads that found their row (evidence +
//!   query audit), 3 that did not (audit only, `not_found`) and 1 proposal (proposal +
//!   evidence + audit);
//! - after each wave, the stories of the previous wave's proposals, in every state: of every
//!   20, 2 stay `pending_review`, 1 is `approved`, 1 `pending_worker`, 9 `applied`, 4
//!   `rejected`, and one each `conflict`, `failed` and `canceled`, with their approvals,
//!   writeback jobs and receipts.
//!
//! Every record carries the time it was written (the review side stamps its own clock, so the
//! calls are not backdated either): the ledger spans the minutes it took to generate, in chain
//! order. A retention run picks its cutoff from the chain (`created_at` of the event at a
//! fraction of it; see [`cutoff_at`]) instead of a number of days.
//!
//! A "record" is an event of the chain: each covers exactly one row (evidence, audit,
//! proposal, approval, job or receipt), so a ledger of N records holds N events and N rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_ledger::{
    Actor, AttemptEffect, Decision, Ledger, Review, SqliteLedger, StoredProposal,
};
use airlock_protocol::{
    ConflictGuard, EXECUTION_RECEIPT_V1, ExecutionReceipt, JobTarget, Lease, ReceiptStatus,
    RunnerScope, WRITEBACK_JOB_V1, WritebackJob, job_id,
};
use airlock_review_key::ReviewKey;

use crate::support::{Family, Records};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Events (= records) in the finished ledger.
    pub records: u64,
    pub out: PathBuf,
    /// Write the records without the search index (schema 7's triggers-free tables) and build
    /// the index at the end through the schema-8 migration, as an older ledger gets it. Much
    /// faster for big ledgers (the index's triggers about double the cost of each write); the
    /// index names the same rows, in fewer and larger segments than triggers leave.
    pub index_at_end: bool,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Generated {
    pub path: PathBuf,
    pub events: u64,
    pub calls: u64,
    pub proposals: u64,
    /// An applied proposal (a full story: evidence, audit, decision, job, receipt).
    pub applied_proposal: Option<String>,
    pub elapsed: Duration,
}

/// The lifecycle a proposal is given, by its index among proposals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    Open,
    Approved,
    PendingWorker,
    Applied,
    Rejected,
    Conflict,
    Failed,
    Canceled,
}

impl Story {
    fn of(index: u64) -> Story {
        match index % 20 {
            0 | 1 => Story::Open,
            2 => Story::Approved,
            3 => Story::PendingWorker,
            4..=12 => Story::Applied,
            13..=16 => Story::Rejected,
            17 => Story::Conflict,
            18 => Story::Failed,
            _ => Story::Canceled,
        }
    }

    /// Events the story adds after `proposal_created`.
    fn events(self) -> u64 {
        match self {
            Story::Open => 0,
            Story::Approved | Story::Rejected => 1,
            Story::PendingWorker => 2,
            Story::Applied | Story::Conflict | Story::Failed | Story::Canceled => 3,
        }
    }
}

/// One call of the traffic: which kind, by whom.
enum Call {
    Read(usize, u64),
    NotFound(usize, u64),
    Proposal(usize, u64),
}

/// A tiny deterministic generator (xorshift), so two runs write the same traffic.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The `created_at` of the event at `fraction` of the chain (0.9: a prune before it removes
/// about 90 % of the records, less the open proposals it keeps).
pub fn cutoff_at(path: &Path, fraction: f64) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let head: i64 = conn
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .unwrap();
    let seq = ((head as f64 * fraction) as i64).clamp(1, head);
    conn.query_row("SELECT created_at FROM events WHERE seq = ?1", [seq], |r| {
        r.get(0)
    })
    .unwrap()
}

/// Takes a fresh ledger back to schema 7 (see [`airlock_testkit::sqlite_ledger`]), so the next
/// open migrates it.
fn back_to_schema_7(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    airlock_testkit::sqlite_ledger::back_to_schema_7(&conn);
}

/// Removes a ledger and its side files.
pub fn remove(path: &Path) {
    for f in airlock_ledger::ledger_files(path) {
        let _ = std::fs::remove_file(f);
    }
}

/// Writes a ledger of `spec.records` events at `spec.out` (which must not exist).
pub fn generate(spec: &Spec) -> Generated {
    assert!(
        !spec.out.exists(),
        "{} exists; remove it first",
        spec.out.display()
    );
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tenants = [
        ("harbour-yoga", ["desk_assistant_4", "desk_assistant_7"]),
        ("north-shore-pilates", ["front_desk_bot", "night_shift_bot"]),
        ("lakeside-climbing", ["gym_assistant", "billing_assistant"]),
    ];
    let mut writers = Vec::new();
    for (tenant, principals) in tenants {
        for principal in principals {
            for family in [Family::Accounts, Family::Classes] {
                writers.push(Records::with(family, tenant, principal));
            }
        }
    }
    let writers = Arc::new(writers);
    // Plan the traffic: calls until the events (with each proposal's later story) reach the
    // target.
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let mut plan = Vec::new();
    let (mut events, mut proposals) = (0u64, 0u64);
    while events < spec.records {
        let who = (dice.next() % writers.len() as u64) as usize;
        let n = plan.len() as u64;
        let call = match dice.next() % 100 {
            0 if spec.records - events >= 3 + Story::of(proposals).events() => {
                events += 3 + Story::of(proposals).events();
                proposals += 1;
                Call::Proposal(who, n)
            }
            1..=3 => {
                events += 1;
                Call::NotFound(who, n)
            }
            _ if spec.records - events >= 2 => {
                events += 2;
                Call::Read(who, n)
            }
            _ => {
                events += 1;
                Call::NotFound(who, n)
            }
        };
        plan.push(call);
    }
    let calls = plan.len() as u64;
    let ledger = Arc::new(SqliteLedger::open(&spec.out).unwrap());
    if spec.index_at_end {
        back_to_schema_7(&spec.out);
    }
    let mut made: Vec<StoredProposal> = Vec::with_capacity(proposals as usize);
    rt.block_on(async {
        // Many callers at once, as a busy server records them: the batch writer groups them
        // into shared commits, each record still chained in order.
        const WAVE: usize = 512;
        let key = ReviewKey::issue();
        let mut told = 0usize;
        let mut next_report = 1_000_000u64;
        let mut written = 0u64;
        for chunk in plan.chunks(WAVE) {
            let mut tasks = Vec::with_capacity(chunk.len());
            for call in chunk {
                let ledger = ledger.clone();
                let writers = writers.clone();
                let (who, n, kind) = match *call {
                    Call::Read(w, n) => (w, n, 0),
                    Call::NotFound(w, n) => (w, n, 1),
                    Call::Proposal(w, n) => (w, n, 2),
                };
                tasks.push(tokio::spawn(async move {
                    let records = &writers[who];
                    match kind {
                        2 => {
                            let done = ledger.record_proposal(records.proposal(n)).await.unwrap();
                            assert!(done.created, "every generated proposal is new");
                            Some(done.proposal)
                        }
                        1 => {
                            ledger.record_read(records.read_not_found(n)).await.unwrap();
                            None
                        }
                        _ => {
                            ledger.record_read(records.read(n)).await.unwrap();
                            None
                        }
                    }
                }));
            }
            // The previous wave's proposals get their decisions, jobs and receipts while this
            // wave is recorded.
            let waiting = made.len();
            for (i, p) in made.iter().enumerate().take(waiting).skip(told) {
                tell(&ledger, &key, p, Story::of(i as u64)).await;
            }
            told = waiting;
            for t in tasks {
                if let Some(p) = t.await.unwrap() {
                    made.push(p);
                }
            }
            written += chunk.len() as u64;
            if written >= next_report {
                eprintln!("  {written} of {calls} calls, {:.1?}", started.elapsed());
                next_report += 1_000_000;
            }
        }
        for (i, p) in made.iter().enumerate().skip(told) {
            tell(&ledger, &key, p, Story::of(i as u64)).await;
        }
    });
    let applied_proposal = made
        .iter()
        .enumerate()
        .find(|(i, _)| Story::of(*i as u64) == Story::Applied)
        .map(|(_, p)| p.proposal_id.clone());
    let events = rt
        .block_on(ledger.chain_head())
        .unwrap()
        .map_or(0, |h| h.seq as u64);
    // Dropping the last handle stops the writer threads and checkpoints the WAL.
    drop(ledger);
    if spec.index_at_end {
        let indexing = Instant::now();
        eprintln!("  building the search index (migration 8) …");
        drop(SqliteLedger::open(&spec.out).unwrap());
        eprintln!("  search index built in {:.1?}", indexing.elapsed());
    }
    Generated {
        path: spec.out.clone(),
        events,
        calls,
        proposals,
        applied_proposal,
        elapsed: started.elapsed(),
    }
}

fn operator(name: &str) -> Actor {
    Actor {
        name: name.into(),
        source: "flag".into(),
    }
}

fn decision(p: &StoredProposal, reason: &str) -> Decision {
    Decision {
        proposal_id: p.proposal_id.clone(),
        actor: operator("dana"),
        role: p.change_set.approval.required_role.clone(),
        role_verified: Some(true),
        reason: Some(reason.into()),
        proposal_hash: p.proposal_hash.clone(),
    }
}

/// The job an apply of `p` records (the shape `airlock-writeback` builds).
fn job(p: &StoredProposal) -> WritebackJob {
    let cs = &p.change_set;
    let id = job_id(&p.proposal_id);
    WritebackJob {
        schema_version: WRITEBACK_JOB_V1.into(),
        writeback_job_id: id.clone(),
        proposal_id: p.proposal_id.clone(),
        proposal_version: p.proposal_version,
        proposal_hash: p.proposal_hash.clone(),
        runner_scope: RunnerScope {
            project_id: "studio".into(),
            source_id: p.source_id.clone(),
        },
        engine: "postgres".into(),
        operation: "single_row_update".into(),
        target: JobTarget {
            schema: cs.source.schema.clone(),
            table: cs.source.table.clone(),
            primary_key: cs.source.primary_key.clone(),
        },
        tenant_guard: cs.guards.tenant.clone(),
        allowed_columns: cs.guards.allowed_columns.clone(),
        patch: cs.patch.clone(),
        conflict_guard: ConflictGuard::Column {
            column: cs.guards.expected_version.column.clone(),
            expected_value: cs.guards.expected_version.value.clone(),
        },
        idempotency_key: airlock_protocol::idempotency_key(&p.proposal_id, &cs.scope.object_id),
        lease: Lease {
            lease_id: format!("lease_{}", &id[4..]),
            attempt: 1,
            expires_at: (chrono::Utc::now() + chrono::Duration::hours(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
    }
}

fn receipt(p: &StoredProposal, status: ReceiptStatus) -> ExecutionReceipt {
    let applied = status == ReceiptStatus::Applied;
    let mut r = ExecutionReceipt {
        schema_version: EXECUTION_RECEIPT_V1.into(),
        writeback_job_id: job_id(&p.proposal_id),
        proposal_id: p.proposal_id.clone(),
        runner_id: "airlock-gen".into(),
        status,
        rows_affected: u64::from(applied),
        idempotency_key: airlock_protocol::idempotency_key(
            &p.proposal_id,
            &p.change_set.scope.object_id,
        ),
        previous_version: None,
        new_version: None,
        source_database_mutated: applied,
        executed_at: airlock_protocol::now_rfc3339(),
        safe_error_code: match status {
            ReceiptStatus::Conflict => Some("WRITEBACK_CONFLICT".into()),
            ReceiptStatus::Failed => Some("WRITEBACK_FAILED".into()),
            _ => None,
        },
        receipt_hash: String::new(),
    };
    r.seal();
    r
}

/// Takes `p` through `story` with the review side's own calls.
async fn tell(ledger: &SqliteLedger, key: &ReviewKey, p: &StoredProposal, story: Story) {
    match story {
        Story::Open => return,
        Story::Rejected => {
            ledger
                .reject(key, decision(p, "not this one"))
                .await
                .unwrap();
            return;
        }
        _ => {}
    }
    ledger
        .approve(key, decision(p, "checked the row"))
        .await
        .unwrap();
    if story == Story::Approved {
        return;
    }
    ledger
        .begin_apply(key, &job(p), &operator("dana"))
        .await
        .unwrap();
    let status = match story {
        Story::Applied => ReceiptStatus::Applied,
        Story::Conflict => ReceiptStatus::Conflict,
        Story::Failed => ReceiptStatus::Failed,
        Story::Canceled => ReceiptStatus::Canceled,
        _ => return,
    };
    ledger
        .record_receipt(key, &receipt(p, status), AttemptEffect::Settled, "dana")
        .await
        .unwrap();
}
