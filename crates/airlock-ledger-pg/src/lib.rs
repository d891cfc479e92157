//! The Airlock ledger on Postgres: one shared history, review queue and apply log for any
//! number of stateless Airlock servers.
//!
//! [`PostgresLedger`] implements [`Ledger`], [`Review`] and [`Deliveries`] with the SQLite
//! ledger's semantics (the shared rules live in [`airlock_ledger::rules`]), plus shadow mode's
//! human actions as inherent methods.
//!
//! ```no_run
//! # async fn run() -> Result<(), airlock_ledger::LedgerError> {
//! use airlock_ledger_pg::{PgLedgerOptions, PostgresLedger};
//! let url = std::env::var("LEDGER_DATABASE_URL").unwrap();
//! let ledger = PostgresLedger::connect(&url, PgLedgerOptions::default()).await?;
//! // ... serve tool calls ...
//! ledger.close().await?; // a last cross-anchor, and the writer marked closed
//! # Ok(()) }
//! ```
//!
//! - **Schema**: every table lives in its own Postgres schema ([`PgLedgerOptions::schema`],
//!   default `airlock`), created and migrated by [`PostgresLedger::connect`] under an advisory
//!   lock, so replicas can start together.
//! - **Read-only**: [`PostgresLedger::connect_read_only`] (listings, `verify`, `stats`) registers
//!   no writer, creates and migrates nothing, and refuses every write
//!   ([`LedgerError::ReadOnly`]).
//! - **Chains per writer**: each ledger connected for writing registers a writer (its own hash chain) and
//!   appends under an in-process mutex only; nothing on the tool-call path waits for another
//!   server. Writers cross-anchor each other's heads; `verify` walks every chain and checks
//!   every anchor. See ARCHITECTURE.md, "Postgres ledger: chains per writer".
//! - **Exactly once**: lifecycle transitions lock the proposal row (`SELECT … FOR UPDATE`);
//!   an apply attempt carries a lease (the job's `lease.expires_at`) and a fencing token (its
//!   attempt number). `begin_apply` refuses while another attempt's lease is live
//!   ([`LedgerError::LeaseHeld`]) and takes over an expired one; `record_receipt` refuses the
//!   receipt of an attempt that was taken over ([`LedgerError::Fenced`]).
//! - **Feed**: a query resuming after a sequence number reads up to the feed's horizon
//!   (`Ledger::feed_horizon`): the consecutive numbers after the cursor at once, past a hole
//!   only once a later row is older than [`PgLedgerOptions::feed_settle`], so a cursor never
//!   passes an event that commits late.
//! - `Event::seq` is the global sequence number (allocation order across writers), unique and
//!   covered by each event's hash.
//!
//! - **Browsing**: `proposal_page`, `evidence_page`, `query_audit_page`, `receipt_page`,
//!   `proposal_count` and `search` run the SQLite ledger's shapes and keyset rule
//!   (`airlock_ledger::browse::shape`): same filters, order, cursors and hits.
//!
//! Maintenance commands of the SQLite ledger (prune, backup, vacuum, export, import) are
//! inherent to it and have no Postgres counterpart here (use the database's own tools for
//! backup).

mod browse;
mod error;
mod feed;
mod lifecycle;
mod read;
mod record;
mod schema;
mod shadow;
mod stats;
mod tx;
mod verify;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airlock_ledger::{
    Actor, Anchor, ApprovalRecord, AttemptEffect, ChainHead, Decision, Deliveries, DeliveryState,
    Event, EventQuery, EvidenceBundle, EvidenceWithAudit, Hit, HumanAction, HumanActionFilter,
    JobRecord, Ledger, LedgerError, NewHumanAction, NewProposal, NewRead, Page, ProposalRecorded,
    QueryAudit, ReadRecorded, RecordFilter, RecordedReceipt, Replay, Review, ScopedEvent,
    SearchText, Stats, StoredProposal, StoredReceipt, VerifyReport,
};
use airlock_protocol::{ExecutionReceipt, WritebackJob};
use airlock_review_key::ReviewKey;
use deadpool_postgres::{Object, Pool, Runtime};

use crate::error::Pg;
pub use crate::schema::CURRENT as SCHEMA_VERSION;
pub use crate::stats::{FleetStats, WriterStats};
use crate::writer::{Done, Op, Writer};

/// How a [`PostgresLedger`] connects and writes.
#[derive(Debug, Clone)]
pub struct PgLedgerOptions {
    /// The Postgres schema holding the ledger's tables (a plain lowercase identifier).
    pub schema: String,
    /// This process's writer id (its own hash chain). Default: `<host>-<pid>-<random>`, new
    /// for every process. Two live processes must never share one.
    pub writer_id: Option<String>,
    /// Most connections in the pool.
    pub max_connections: usize,
    /// Most hash chains this process appends to at once (see ARCHITECTURE.md, "Postgres
    /// ledger: chains per writer"). It starts with one; a write that finds every chain busy
    /// adds the next, registered as writer `<writer_id>.<k>`, so concurrent applies commit
    /// together instead of one after another. 1 keeps a single chain.
    pub max_lanes: usize,
    /// A cross-anchor after every this many events of this writer (and at `close`).
    pub anchor_every: u64,
    /// How old an event past a hole in the sequence numbers must be before a feed that
    /// resumes after a sequence number (`EventQuery::after_seq`) reads past the hole (see
    /// `feed.rs`): writers commit out of sequence order, and this keeps a cursor from passing
    /// an event that commits late. Events right after the cursor with no hole are read at once.
    pub feed_settle: Duration,
    /// An append-only file to record this writer's head in after every decision, apply and
    /// close (the same `<seq> <hash> <time>` lines as the SQLite ledger's anchor file);
    /// `verify` checks the ledger against it when set. Keep a copy where the database's
    /// administrators cannot rewrite it.
    pub anchor_file: Option<PathBuf>,
}

impl Default for PgLedgerOptions {
    fn default() -> Self {
        PgLedgerOptions {
            schema: "airlock".into(),
            writer_id: None,
            max_connections: 16,
            max_lanes: 8,
            anchor_every: 256,
            feed_settle: Duration::from_secs(2),
            anchor_file: None,
        }
    }
}

/// A ledger in a Postgres schema, shared by every server connected to it.
#[derive(Debug)]
pub struct PostgresLedger {
    pool: Pool,
    schema: String,
    /// This process's chain; `None` when opened read-only.
    writer: Option<Arc<Writer>>,
    begun: lifecycle::Begun,
    feed_settle: Duration,
    anchor_file: Option<PathBuf>,
}

impl PostgresLedger {
    /// Connects to the ledger database at `url` (`postgres://…`; `sslmode`/`sslrootcert` as
    /// for sources), creates or migrates the schema (under an advisory lock: replicas may
    /// start together) and registers this process as a writer.
    pub async fn connect(url: &str, options: PgLedgerOptions) -> Result<Self, LedgerError> {
        let pool = pool(url, &options, false)?;
        {
            let mut client = pool.get().await.pg()?;
            schema::migrate(&mut client, &options.schema).await?;
        }
        let writer_id = options
            .writer_id
            .clone()
            .unwrap_or_else(writer::default_writer_id);
        let writer = Writer::join(
            &pool,
            writer_id,
            options.max_lanes,
            options.anchor_every,
            schema::lock_key("join", &options.schema),
        )
        .await?;
        Ok(PostgresLedger::new(pool, options, Some(writer)))
    }

    /// Connects for reading only: no schema is created or migrated, no writer registers (no
    /// `writers` row, no `writer_joined` event), and every session is read-only in Postgres
    /// too. Fails when the schema holds no ledger, or one of another version. Every write
    /// through it is refused with [`LedgerError::ReadOnly`]; `close` does nothing.
    pub async fn connect_read_only(
        url: &str,
        options: PgLedgerOptions,
    ) -> Result<Self, LedgerError> {
        let pool = pool(url, &options, true)?;
        {
            let client = pool.get().await.pg()?;
            schema::check_current(&client, &options.schema).await?;
        }
        Ok(PostgresLedger::new(pool, options, None))
    }

    fn new(pool: Pool, options: PgLedgerOptions, writer: Option<Writer>) -> PostgresLedger {
        PostgresLedger {
            pool,
            schema: options.schema,
            writer: writer.map(Arc::new),
            begun: Default::default(),
            feed_settle: options.feed_settle,
            anchor_file: options.anchor_file,
        }
    }

    /// Whether this ledger was opened with [`PostgresLedger::connect_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.writer.is_none()
    }

    /// This process's chain, or [`LedgerError::ReadOnly`] naming `what` was attempted.
    fn writer(&self, what: &'static str) -> Result<&Arc<Writer>, LedgerError> {
        self.writer.as_ref().ok_or_else(|| LedgerError::ReadOnly {
            what,
            location: format!("Postgres schema {}", self.schema),
        })
    }

    /// The schema holding the ledger.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// This process's writer id; `None` when opened read-only.
    pub fn writer_id(&self) -> Option<&str> {
        self.writer.as_ref().map(|w| w.id.as_str())
    }

    /// The head of every writer's chain, by writer id (record them elsewhere to anchor the
    /// whole ledger by hand).
    pub async fn chain_heads(&self) -> Result<Vec<(String, ChainHead)>, LedgerError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT w.writer_id, e.seq, e.hash FROM writers w
                 CROSS JOIN LATERAL (SELECT seq, hash FROM events
                     WHERE events.writer_id = w.writer_id ORDER BY writer_seq DESC LIMIT 1) e
                 ORDER BY w.writer_id",
                &[],
            )
            .await
            .pg()?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    ChainHead {
                        seq: r.get(1),
                        hash: r.get(2),
                    },
                )
            })
            .collect())
    }

    /// Every writer's chain and head, the oldest and newest event, and the schema's and
    /// database's size, for `ledger stats`.
    pub async fn fleet_stats(&self) -> Result<FleetStats, LedgerError> {
        stats::fleet_stats(&**self.client().await?, &self.schema).await
    }

    /// Writes a last cross-anchor naming every other writer's head, marks this writer closed
    /// and records its head in the anchor file (when one is set). Call before the process
    /// exits; a ledger dropped without it is still consistent, its tail just stays unanchored
    /// until another writer's next anchor.
    /// A read-only ledger has no chain: nothing to close.
    pub async fn close(&self) -> Result<(), LedgerError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        writer.anchor_all(&self.pool).await?;
        let c = self.client().await?;
        c.execute(
            "UPDATE writers SET closed_at = $2 WHERE writer_id = ANY($1)",
            &[&writer.lane_ids(), &airlock_protocol::now_rfc3339()],
        )
        .await
        .pg()?;
        self.anchor_head().await;
        Ok(())
    }

    /// Records what a person actually did for one object (shadow mode).
    pub async fn record_human_action(
        &self,
        action: &NewHumanAction,
    ) -> Result<HumanAction, LedgerError> {
        let action = action.clone();
        let done = self
            .writer("recording a human action")?
            .write(&self.pool, false, move |tx, events| {
                Box::pin(async move { shadow::record(tx, &action, events).await })
            })
            .await?;
        self.anchor_head().await;
        Ok(done)
    }

    /// Recorded human actions, oldest first.
    pub async fn human_actions(
        &self,
        filter: &HumanActionFilter,
    ) -> Result<Vec<HumanAction>, LedgerError> {
        shadow::list(&**self.client().await?, filter).await
    }

    async fn client(&self) -> Result<Object, LedgerError> {
        self.pool.get().await.pg()
    }

    async fn record(&self, op: Op) -> Result<Done, LedgerError> {
        let what = match &op {
            Op::Read(_) => "recording a tool call's read",
            Op::Proposal(_) => "recording a proposal",
        };
        self.writer(what)?.submit(&self.pool, op).await
    }

    /// Appends this writer's head to the anchor file, if one is set. A failure is logged: the
    /// records it follows are committed.
    async fn anchor_head(&self) {
        let (Some(path), Some(writer)) = (&self.anchor_file, &self.writer) else {
            return;
        };
        let heads = match writer.heads(&self.pool).await {
            Ok(heads) => heads,
            Err(e) => {
                tracing::warn!(anchor = %path.display(), "could not read this writer's heads for the anchor file: {e}");
                return;
            }
        };
        for (_, head) in heads.iter().filter(|(_, h)| h.seq != 0) {
            if let Err(e) = airlock_ledger::anchor::append(path, head.seq, &head.hash) {
                tracing::warn!(anchor = %path.display(), "could not append to the anchor file: {e}");
                return;
            }
        }
    }
}

/// The connection pool of a ledger: `search_path` set to its schema and, for a read-only
/// ledger, every session read-only (`default_transaction_read_only`), so the database itself
/// refuses a write that slipped past [`PostgresLedger`]'s own checks.
fn pool(url: &str, options: &PgLedgerOptions, read_only: bool) -> Result<Pool, LedgerError> {
    let schema = &options.schema;
    if !schema::valid_schema(schema) {
        return Err(LedgerError::Postgres {
            detail: format!(
                "the ledger schema name {schema:?} is not a plain lowercase identifier (letters, digits, _)"
            ),
        });
    }
    let manager = airlock_db::postgres_pool_manager(url, |config| {
        let existing = config.get_options().unwrap_or_default().to_owned();
        let read_only = if read_only {
            " -c default_transaction_read_only=on"
        } else {
            ""
        };
        // Hot statements are prepared once per connection (`read::prepared`) and, after five
        // runs, Postgres keeps one generic plan for each, so a lifecycle step plans nothing.
        // A generic plan chosen while a table was still nearly empty (a fresh ledger's
        // receipts) would scan the whole table until an analyze replaced it; with sequential
        // scans priced out, every plan that can use an index does. Nothing else changes: a
        // query with no index to use (verify's whole-table reads) still scans.
        config.options(
            format!("{existing} -c search_path={schema} -c enable_seqscan=off{read_only}").trim(),
        );
        if config.get_application_name().is_none() {
            config.application_name("airlock-ledger");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
    })
    .map_err(|e| LedgerError::Postgres {
        detail: format!("the ledger URL cannot be used: {e}"),
    })?;
    Pool::builder(manager)
        .max_size(options.max_connections.max(2))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(15)))
        .build()
        .map_err(|e| LedgerError::Postgres {
            detail: format!("could not build the ledger's connection pool: {e}"),
        })
}

#[async_trait::async_trait]
impl Ledger for PostgresLedger {
    async fn record_read(&self, read: NewRead) -> Result<ReadRecorded, LedgerError> {
        match self.record(Op::Read(read)).await? {
            Done::Read(r) => Ok(r),
            Done::Proposal(_) => unreachable!("a read is answered as a read"),
        }
    }

    async fn record_proposal(&self, p: NewProposal) -> Result<ProposalRecorded, LedgerError> {
        match self.record(Op::Proposal(p)).await? {
            Done::Proposal(r) => Ok(r),
            Done::Read(_) => unreachable!("a proposal is answered as a proposal"),
        }
    }

    async fn proposal(&self, id: &str) -> Result<StoredProposal, LedgerError> {
        read::proposal(&self.client().await?, id).await
    }

    async fn proposal_count(&self, filter: &RecordFilter) -> Result<u64, LedgerError> {
        browse::proposal_count(&**self.client().await?, filter).await
    }

    async fn search_proposals(
        &self,
        text: &str,
        limit: u32,
        offset: u32,
    ) -> Result<(u64, Vec<StoredProposal>), LedgerError> {
        read::search_proposals(&self.client().await?, text, limit, offset).await
    }

    async fn chain_head(&self) -> Result<Option<ChainHead>, LedgerError> {
        read::chain_head(&self.client().await?).await
    }

    async fn proposal_events(&self, proposal_id: &str) -> Result<Vec<Event>, LedgerError> {
        read::proposal_events(&self.client().await?, proposal_id).await
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<ScopedEvent>, LedgerError> {
        feed::events(&**self.client().await?, query, self.feed_settle).await
    }

    async fn feed_horizon(&self, after: i64) -> Result<i64, LedgerError> {
        feed::horizon(&**self.client().await?, after, self.feed_settle).await
    }

    async fn evidence(&self, id: &str) -> Result<EvidenceWithAudit, LedgerError> {
        read::evidence(&self.client().await?, id).await
    }

    async fn verify(&self) -> Result<VerifyReport, LedgerError> {
        let anchors = match &self.anchor_file {
            Some(path) if path.exists() => airlock_ledger::read_anchors(path)?,
            _ => Vec::new(),
        };
        self.verify_against(&anchors).await
    }

    async fn verify_against(&self, anchors: &[Anchor]) -> Result<VerifyReport, LedgerError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .pg()?;
        let report = verify::verify(&tx, anchors).await;
        tx.rollback().await.pg()?;
        report
    }

    async fn stats(&self) -> Result<Stats, LedgerError> {
        read::stats(&self.client().await?).await
    }

    async fn applied_receipt(
        &self,
        proposal_id: &str,
    ) -> Result<Option<StoredReceipt>, LedgerError> {
        read::applied_receipt(&self.client().await?, proposal_id).await
    }

    async fn proposal_for_apply(
        &self,
        id: &str,
    ) -> Result<(StoredProposal, Option<StoredReceipt>), LedgerError> {
        read::proposal_for_apply(&self.client().await?, id).await
    }

    async fn receipt(&self, id: i64) -> Result<StoredReceipt, LedgerError> {
        read::receipt_by_id(&self.client().await?, id)
            .await?
            .ok_or_else(|| LedgerError::NotFound {
                kind: "receipt",
                id: id.to_string(),
            })
    }

    async fn approvals(&self, proposal_id: &str) -> Result<Vec<ApprovalRecord>, LedgerError> {
        read::approvals(&self.client().await?, proposal_id).await
    }

    async fn replay(&self, proposal_id: &str) -> Result<Replay, LedgerError> {
        read::replay(&self.client().await?, proposal_id).await
    }

    async fn state_counts(&self) -> Result<airlock_ledger::telemetry::StateCounts, LedgerError> {
        read::state_counts(&self.client().await?).await
    }

    async fn proposal_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<StoredProposal>, LedgerError> {
        browse::proposals(&**self.client().await?, filter).await
    }

    async fn evidence_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<EvidenceBundle>, LedgerError> {
        browse::evidence(&**self.client().await?, filter).await
    }

    async fn query_audit_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<QueryAudit>, LedgerError> {
        browse::query_audit(&**self.client().await?, filter).await
    }

    async fn receipt_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<StoredReceipt>, LedgerError> {
        browse::receipts(&**self.client().await?, filter).await
    }

    async fn search(
        &self,
        text: Option<&SearchText>,
        filter: &RecordFilter,
    ) -> Result<Page<Hit>, LedgerError> {
        browse::search(&**self.client().await?, text, filter).await
    }

    async fn query_audit_record(&self, id: i64) -> Result<QueryAudit, LedgerError> {
        read::audit_by_id(&self.client().await?, id)
            .await?
            .ok_or_else(|| LedgerError::NotFound {
                kind: "query-audit record",
                id: id.to_string(),
            })
    }
}

#[async_trait::async_trait]
impl Review for PostgresLedger {
    async fn approve(&self, _key: &ReviewKey, d: Decision) -> Result<StoredProposal, LedgerError> {
        let done = self
            .writer("approving a proposal")?
            .write(&self.pool, false, move |tx, events| {
                Box::pin(lifecycle::decide(tx, d, true, events))
            })
            .await?;
        self.anchor_head().await;
        Ok(done)
    }

    async fn reject(&self, _key: &ReviewKey, d: Decision) -> Result<StoredProposal, LedgerError> {
        let done = self
            .writer("rejecting a proposal")?
            .write(&self.pool, false, move |tx, events| {
                Box::pin(lifecycle::decide(tx, d, false, events))
            })
            .await?;
        self.anchor_head().await;
        Ok(done)
    }

    async fn begin_apply(
        &self,
        _key: &ReviewKey,
        job: &WritebackJob,
        actor: &Actor,
    ) -> Result<JobRecord, LedgerError> {
        let job = job.clone();
        let actor = actor.clone();
        let record = self
            .writer("starting an apply")?
            .write(&self.pool, false, move |tx, events| {
                Box::pin(async move { lifecycle::begin_apply(tx, &job, &actor, events).await })
            })
            .await?;
        self.begun
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.writeback_job_id.clone(), record.attempt);
        self.anchor_head().await;
        Ok(record)
    }

    async fn record_receipt(
        &self,
        _key: &ReviewKey,
        receipt: &ExecutionReceipt,
        effect: AttemptEffect,
        actor: &str,
    ) -> Result<RecordedReceipt, LedgerError> {
        let writer = self.writer("recording a receipt")?;
        let begun = self
            .begun
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&receipt.writeback_job_id)
            .copied();
        let receipt = receipt.clone();
        let actor = actor.to_owned();
        let recorded = writer
            .write(&self.pool, false, move |tx, events| {
                Box::pin(async move {
                    lifecycle::record_receipt(tx, &receipt, effect, &actor, begun, events).await
                })
            })
            .await?;
        {
            let mut begun_map = self.begun.lock().unwrap_or_else(|p| p.into_inner());
            if begun_map.get(&recorded.receipt.writeback_job_id) == begun.as_ref() {
                begun_map.remove(&recorded.receipt.writeback_job_id);
            }
        }
        self.anchor_head().await;
        Ok(recorded)
    }
}

#[async_trait::async_trait]
impl Deliveries for PostgresLedger {
    async fn register_destination(
        &self,
        destination: &str,
        target: &str,
        start_after: i64,
    ) -> Result<DeliveryState, LedgerError> {
        self.writer("registering a delivery destination")?;
        feed::register(&**self.client().await?, destination, target, start_after).await
    }

    async fn delivery_states(&self) -> Result<Vec<DeliveryState>, LedgerError> {
        feed::states(&**self.client().await?).await
    }

    async fn record_delivered(&self, destination: &str, seq: i64) -> Result<(), LedgerError> {
        self.writer("recording a delivery")?;
        feed::delivered(&**self.client().await?, destination, seq).await
    }

    async fn advance_cursor(&self, destination: &str, seq: i64) -> Result<(), LedgerError> {
        self.writer("moving a delivery cursor")?;
        feed::advance(&**self.client().await?, destination, seq).await
    }

    async fn record_failed_attempt(
        &self,
        destination: &str,
        seq: i64,
        attempts: u32,
        error: &str,
        next_attempt_at: &str,
    ) -> Result<(), LedgerError> {
        self.writer("recording a failed delivery")?;
        feed::failed(
            &**self.client().await?,
            destination,
            seq,
            attempts,
            error,
            next_attempt_at,
        )
        .await
    }
}

#[cfg(test)]
mod plan_tests {
    use super::{PgLedgerOptions, PostgresLedger};

    /// The apply path's look-up of a job's latest attempt, prepared on a fresh ledger and run
    /// until Postgres keeps one generic plan for it, still checks for a receipt through the
    /// index once the tables have grown. Without sequential scans priced out of the ledger's
    /// sessions the kept plan reads every receipt on every call (a subplan hashing the table).
    #[tokio::test]
    async fn a_plan_kept_from_empty_tables_still_uses_the_index() {
        let Some(db) = airlock_testkit::fresh_postgres().await else {
            return;
        };
        let ledger = PostgresLedger::connect(&db.url, PgLedgerOptions::default())
            .await
            .expect("ledger");
        let client = ledger.client().await.expect("pooled session");
        client
            .batch_execute(
                "PREPARE latest(text) AS SELECT j.attempt, EXISTS (SELECT 1 FROM receipts r
                     WHERE r.writeback_job_id = j.writeback_job_id AND r.attempt = j.attempt)
                 FROM writeback_jobs j WHERE j.writeback_job_id = $1
                 ORDER BY j.attempt DESC LIMIT 1",
            )
            .await
            .expect("prepare");
        for _ in 0..6 {
            client
                .batch_execute("EXECUTE latest('job-1')")
                .await
                .expect("execute");
        }
        client
            .batch_execute(
                "INSERT INTO writeback_jobs (writeback_job_id, attempt, proposal_id,
                     proposal_hash, actor, job_json, created_at)
                 SELECT 'job-' || g, 1, 'p-' || g, 'h', 'dana', '{}', 'now'
                 FROM generate_series(1, 20000) g;
                 INSERT INTO receipts (writeback_job_id, attempt, proposal_id, status,
                     idempotency_key, source_database_mutated, receipt_json, created_at)
                 SELECT 'job-' || g, 1, 'p-' || g, 'applied', 'k-' || g, true, '{}', 'now'
                 FROM generate_series(1, 20000) g",
            )
            .await
            .expect("rows");
        let plan: Vec<String> = client
            .query("EXPLAIN EXECUTE latest('job-7')", &[])
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains("Index Only Scan using receipts_job"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{plan}");
        drop(client);
        ledger.close().await.expect("close");
    }
}
