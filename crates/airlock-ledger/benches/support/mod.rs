//! Shared by the ledger benches: our studio example config, records shaped like the
//! ones `airlock-runtime` writes for it, the cached 100,000-proposal ledger, and a per-call
//! latency pass (criterion reports sample means; this reports per-call percentiles).

#![allow(dead_code, unused_imports, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airlock_capability::catalog::target_label;
use airlock_capability::plan::{self, ProposalInputs, ReadPlan, TrustedScope};
use airlock_config::{Capability, Config};
use airlock_ledger::{EvidenceBundle, Ledger, NewProposal, NewRead, QueryAudit, SqliteLedger};
use airlock_protocol::{ids, now_rfc3339};
use serde_json::{Map, Value, json};

pub use airlock_testkit::bench::{cpu_since, thread_cpu_ns, wants_latency};

/// The example config the targets are stated for.
pub const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/configs/studio-postgres/airlock.json"
);

/// Proposals in the big ledger.
pub const BIG_PROPOSALS: u64 = 100_000;

pub fn example_config() -> Config {
    let text = std::fs::read_to_string(EXAMPLE).expect("studio example present");
    let doc: Value = serde_json::from_str(&text).expect("example is JSON");
    airlock_config::parse(&doc).expect("example is valid").0
}

/// Where bench data is cached across runs: `$AIRLOCK_BENCH_DATA`, else
/// `<cargo target dir>/airlock-bench`.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AIRLOCK_BENCH_DATA") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // <target>/release/deps/<bench>-<hash>
            let exe = std::env::current_exe().ok()?;
            exe.ancestors().nth(3).map(Path::to_path_buf)
        })
        .unwrap_or_else(std::env::temp_dir);
    target.join("airlock-bench")
}

/// Builds records the way the runtime does for `accounts.inspect_membership` and
/// `accounts.propose_fee_reversal` of the example.
pub struct Records {
    config: Config,
    family: Family,
    read_cap: usize,
    proposal_cap: usize,
    scope: TrustedScope,
    read_plan: ReadPlan,
    proposal_plan: ReadPlan,
}

/// Which pair of the example's capabilities a [`Records`] writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `accounts.inspect_membership` and `accounts.propose_fee_reversal`.
    Accounts,
    /// `classes.inspect_booking` and `classes.propose_booking_change`.
    Classes,
}

impl Records {
    /// Accounts records of tenant `harbour-yoga`.
    pub fn new() -> Records {
        Records::with(Family::Accounts, "harbour-yoga", "desk_assistant_4")
    }

    /// Records of one capability family for one tenant and principal.
    pub fn with(family: Family, tenant: &str, principal: &str) -> Records {
        let config = example_config();
        let find = |name: &str| {
            config
                .capabilities
                .iter()
                .position(|c| c.name == name)
                .expect("capability in example")
        };
        let (read_cap, proposal_cap) = match family {
            Family::Accounts => (
                find("accounts.inspect_membership"),
                find("accounts.propose_fee_reversal"),
            ),
            Family::Classes => (
                find("classes.inspect_booking"),
                find("classes.propose_booking_change"),
            ),
        };
        let scope = TrustedScope {
            tenant_id: tenant.into(),
            principal: principal.into(),
            provenance: "environment",
        };
        let args = family.args("X-0117", 0);
        let read_plan = plan::read_plan(&config.capabilities[read_cap], &args, &scope).unwrap();
        let proposal_plan =
            plan::read_plan(&config.capabilities[proposal_cap], &args, &scope).unwrap();
        Records {
            config,
            family,
            read_cap,
            proposal_cap,
            scope,
            read_plan,
            proposal_plan,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn tenant(&self) -> &str {
        &self.scope.tenant_id
    }

    /// The object id of the `n`th call (1,000 objects per family).
    fn object(&self, n: u64) -> String {
        let prefix = match self.family {
            Family::Accounts => "MB",
            Family::Classes => "BK",
        };
        format!("{prefix}-{}", 3000 + n % 1000)
    }

    fn row(&self, object: &str) -> Map<String, Value> {
        let row = match self.family {
            Family::Accounts => json!({
                "id": object,
                "studio_id": self.scope.tenant_id,
                "member_name": "Priya Natarajan",
                "tier": "unlimited",
                "balance_cents": 8900,
                "late_fee_cents": 1500,
                "fee_note": null,
                "updated_at": "2026-09-03T08:15:42+00:00",
            }),
            Family::Classes => json!({
                "id": object,
                "studio_id": self.scope.tenant_id,
                "member_id": "MB-3117",
                "class_name": "Morning flow",
                "state": "waitlisted",
                "staff_note": null,
                "updated_at": "2026-09-04T07:02:10+00:00",
            }),
        };
        row.as_object().cloned().unwrap()
    }

    fn audit(&self, cap: &Capability, plan: &ReadPlan, object: &str) -> QueryAudit {
        QueryAudit {
            audit_id: 0,
            proposal_id: None,
            evidence_bundle_id: None,
            tenant_id: self.scope.tenant_id.clone(),
            principal: self.scope.principal.clone(),
            capability: cap.name.clone(),
            business_object: cap.target.table.clone(),
            object_id: object.into(),
            source_id: cap.source.clone(),
            query_fingerprint: plan.fingerprint.clone(),
            table_name: target_label(cap),
            row_count: 1,
            duration_us: 180,
            outcome: "ok".into(),
            payload: json!({
                "capability": cap.name,
                "columns": plan.columns,
                "tenant_bound": true,
                "statement_template": "SELECT \"id\", \"studio_id\", \"member_name\", \"tier\", \"balance_cents\", \"late_fee_cents\", \"fee_note\", \"updated_at\" FROM \"public\".\"memberships\" WHERE \"id\" = $1 AND \"studio_id\" = $2 LIMIT 2",
                "parameters_redacted": true,
            }),
            created_at: now_rfc3339(),
        }
    }

    fn evidence(
        &self,
        cap: &Capability,
        plan: &ReadPlan,
        row: &Map<String, Value>,
        patch: Option<&Map<String, Value>>,
    ) -> EvidenceBundle {
        let table = target_label(cap);
        let object = plan::value_text(&row["id"]);
        let mut items = vec![json!({
            "kind": "external_row",
            "source_id": cap.source,
            "table": table,
            "primary_key": {"column": cap.target.primary_key, "value": row["id"]},
            "visible_row": row,
            "tenant": {"column": "studio_id", "value": self.scope.tenant_id},
        })];
        if let Some(patch) = patch {
            let mut after = row.clone();
            after.extend(patch.clone());
            items.push(
                json!({"kind": "proposal_evidence", "before": row, "patch": patch, "after": after}),
            );
        }
        EvidenceBundle {
            evidence_bundle_id: ids::new_id(ids::EVIDENCE),
            proposal_id: None,
            tenant_id: self.scope.tenant_id.clone(),
            principal: self.scope.principal.clone(),
            capability: cap.name.clone(),
            source_id: cap.source.clone(),
            source_table: table.clone(),
            business_object: cap.target.table.clone(),
            object_id: object,
            query_fingerprint: plan.fingerprint.clone(),
            payload: json!({
                "capability": cap.name,
                "source_id": cap.source,
                "target": table,
                "principal": self.scope.principal,
                "tenant_id": self.scope.tenant_id,
                "binding_provenance": self.scope.provenance,
                "mode": "review",
                "source_database_changed": false,
            }),
            items,
            created_at: now_rfc3339(),
        }
    }

    /// A read with evidence, as `accounts.inspect_membership` records it.
    pub fn read(&self, n: u64) -> NewRead {
        let cap = &self.config.capabilities[self.read_cap];
        let object = self.object(n);
        let row = self.row(&object);
        let evidence = self.evidence(cap, &self.read_plan, &row, None);
        let mut audit = self.audit(cap, &self.read_plan, &object);
        audit.evidence_bundle_id = Some(evidence.evidence_bundle_id.clone());
        NewRead {
            evidence: Some(evidence),
            audit,
        }
    }

    /// A proposal as `accounts.propose_fee_reversal` records it. Every `n` gives a different
    /// reason, hence a different dedupe key: each one creates a proposal.
    pub fn proposal(&self, n: u64) -> NewProposal {
        let cap = &self.config.capabilities[self.proposal_cap];
        let object = self.object(n);
        let row = self.row(&object);
        let patch = plan::build_patch(cap, &self.family.args(&object, n));
        let created_at = now_rfc3339();
        let mut evidence = self.evidence(cap, &self.proposal_plan, &row, Some(&patch));
        evidence.created_at = created_at.clone();
        let change_set = plan::change_set(ProposalInputs {
            cap,
            mode: self.config.mode,
            engine: self.config.sources[&cap.source].engine,
            scope: &self.scope,
            proposal_id: ids::new_id(ids::PROPOSAL),
            before: row.clone(),
            patch: patch.clone(),
            evidence_bundle_id: evidence.evidence_bundle_id.clone(),
            query_fingerprint: self.proposal_plan.fingerprint.clone(),
            created_at,
        })
        .unwrap();
        let dedupe_key = plan::dedupe_key(&cap.name, &self.scope.tenant_id, &object, &row, &patch);
        NewProposal {
            change_set,
            dedupe_key,
            audit: self.audit(cap, &self.proposal_plan, &object),
            evidence,
            approval_policy: Default::default(),
        }
    }
}

impl Records {
    /// A read that found no row, as the runtime records it: query audit only, no evidence.
    pub fn read_not_found(&self, n: u64) -> NewRead {
        let cap = &self.config.capabilities[self.read_cap];
        let mut audit = self.audit(cap, &self.read_plan, &format!("{}-gone", self.object(n)));
        audit.row_count = 0;
        audit.outcome = "not_found".into();
        NewRead {
            evidence: None,
            audit,
        }
    }
}

impl Family {
    /// The call's arguments; `n` makes the free-text one (and so the dedupe key) unique.
    fn args(self, object: &str, n: u64) -> Map<String, Value> {
        let args = match self {
            Family::Accounts => {
                json!({"membership_id": object, "reason": format!("member asked for a review #{n}")})
            }
            Family::Classes => json!({
                "booking_id": object,
                "state": "confirmed",
                "note": format!("confirmed from the waitlist, request #{n}"),
            }),
        };
        args.as_object().cloned().unwrap()
    }
}

/// The ledger with [`BIG_PROPOSALS`] proposals (each with its evidence, query audit and three
/// events), built once through the public API and reused while it is intact and current.
pub fn big_ledger(rt: &tokio::runtime::Runtime) -> PathBuf {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("ledger-{BIG_PROPOSALS}.db"));
    if path.exists() {
        let usable = SqliteLedger::open_read_only(&path)
            .ok()
            .and_then(|l| rt.block_on(l.stats()).ok())
            .is_some_and(|s| {
                s.proposals == BIG_PROPOSALS as i64 && s.events == 3 * BIG_PROPOSALS as i64
            });
        if usable {
            eprintln!("using cached ledger {}", path.display());
            return path;
        }
        eprintln!(
            "cached ledger {} is stale or incomplete; rebuilding",
            path.display()
        );
    }
    let building = dir.join(format!("ledger-{BIG_PROPOSALS}.building.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    eprintln!(
        "building a ledger with {BIG_PROPOSALS} proposals at {} (once; cached) …",
        building.display()
    );
    let started = Instant::now();
    {
        let ledger = SqliteLedger::open(&building).unwrap();
        let records = Records::new();
        rt.block_on(async {
            for n in 0..BIG_PROPOSALS {
                let r = ledger.record_proposal(records.proposal(n)).await.unwrap();
                assert!(r.created);
                if (n + 1) % 10_000 == 0 {
                    eprintln!("  {} proposals, {:.1?}", n + 1, started.elapsed());
                }
            }
        });
    } // Closing the last connection checkpoints the WAL into the file.
    std::fs::rename(&building, &path).unwrap();
    eprintln!("built in {:.1?}", started.elapsed());
    path
}

/// Runs `f` `n` times, timing each call, and prints median, p95 and p99 of single calls plus
/// the process CPU time per call. Criterion's own figures are means of batches; this shows
/// the tail, and the CPU figure is what the median tends to on an idle machine.
pub fn latency_pass(name: &str, n: usize, mut f: impl FnMut() -> Duration) {
    let cpu_before = thread_cpu_ns();
    let mut times: Vec<Duration> = (0..n).map(|_| f()).collect();
    let cpu = cpu_since(&cpu_before)
        .map(|ns| format!(" cpu/call={:.1}µs", ns as f64 / n as f64 / 1e3))
        .unwrap_or_default();
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let line = format!(
        "latency {name}: n={n} p50={:.1}µs p95={:.1}µs p99={:.1}µs{cpu}",
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.95).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
    );
    println!("{line}");
    let dir = data_dir().join("latency");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join(format!("{}.txt", name.replace('/', "_"))),
        line + "\n",
    );
}

/// Times `f` per iteration, dropping what it returns outside the timed region (closing a WAL
/// ledger checkpoints it, which a starting process does not pay).
pub fn timed_without_drop<T>(iters: u64, mut f: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let started = Instant::now();
        let out = std::hint::black_box(f());
        total += started.elapsed();
        drop(out);
    }
    total
}

/// Records about 1,000 reads a second into `ledger` until `stop` is set (a busy server, not a
/// flood that outgrows a prune), timing each call; returns the times.
pub fn steady_reads(
    rt: &tokio::runtime::Runtime,
    ledger: std::sync::Arc<SqliteLedger>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<Duration>> {
    let records = Records::new();
    rt.spawn(async move {
        let mut times = Vec::new();
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let r = records.read(n);
            let started = Instant::now();
            ledger.record_read(r).await.unwrap();
            times.push(started.elapsed());
            n += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times
    })
}
