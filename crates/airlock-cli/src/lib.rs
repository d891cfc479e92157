//! The command line of `airlock`. Types only: each doc comment is the help text users read.

// The doc comments below are written for the terminal (`--help`, man pages), where
// `<placeholder>` and `[default: ...]` are plain text, not HTML or intra-doc links.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use airlock_config::env_vars;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Airlock: reviewed business actions for AI agents, instead of execute_sql.
///
/// An MCP server between an agent and your database. The agent sees typed read and proposal
/// tools from a config file; reads are tenant-scoped and audited; proposals wait for a person.
/// Compatible with Synapsor Runner configs (synapsor.runner.json version 1).
#[derive(Debug, Parser)]
#[command(
    name = "airlock",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BUILD_GIT_COMMIT"), ")"),
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: ./airlock.json, else ./synapsor.runner.json; for approve, reject,
    /// writeback-job and apply, else the config the ledger remembers]
    #[arg(long, global = true, env = env_vars::CONFIG, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ledger file (also from SYNAPSOR_LOCAL_STORE) [default: the config's storage.sqlite_path,
    /// else ./.airlock/ledger.db]
    #[arg(long, global = true, env = env_vars::STORE, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate, show or describe the config file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show exactly the tools a model would see.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Call a capability as a model would, from the command line.
    #[command(subcommand)]
    Smoke(SmokeCommand),
    /// Create a proposal with a proposal capability, as a model would.
    Propose(CallArgs),
    /// Inspect proposals in the ledger.
    #[command(subcommand)]
    Proposals(ProposalsCommand),
    /// Inspect evidence bundles.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Inspect the query audit.
    #[command(name = "query-audit", subcommand)]
    QueryAudit(QueryAuditCommand),
    /// Check, measure, back up, prune and reset the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The original's name for `ledger stats|vacuum|prune|reset`.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Apply an approved proposal with its executor, under every guard it captured.
    Apply(ApplyArgs),
    /// Replay what the agent saw, proposed, and what was applied or blocked.
    Replay(ReplayArgs),
    /// Inspect writeback receipts.
    #[command(subcommand)]
    Receipts(ReceiptsCommand),
    /// Search every record kind at once (proposals, evidence, query audit, receipts, events).
    #[command(subcommand)]
    Activity(ActivityCommand),
    /// Print the receipts-table DDL and least-privilege grants for a DBA.
    #[command(subcommand)]
    Writeback(WritebackCommand),
    /// Run the whole story on an embedded SQLite app: no services needed.
    Demo(DemoArgs),
    /// Serve the review UI on this machine: queue, proposal pages with diff, evidence and
    /// replay, history, ledger status; approve, reject, dry-run and apply from the browser.
    ///
    /// Binds 127.0.0.1 on a free port unless told otherwise and prints a URL carrying this
    /// run's session token. When the config declares operators, each signs in with the secret
    /// in AIRLOCK_UI_SECRET_<NAME> (the name upper-cased, other characters than letters and
    /// digits as `_`); decisions follow the same rules as `airlock proposals approve`.
    Ui(UiArgs),
    /// Serve the tools to MCP clients (stdio, Streamable HTTP, JSON-RPC bridge).
    #[command(subcommand)]
    Mcp(McpCommand),
    /// App-owned writeback handlers: write a starting handler for your app.
    #[command(subcommand)]
    Handler(HandlerCommand),
    /// Check the setup without changing anything: config, variables, connections, that the
    /// read credential cannot write, every table and column the config names, the ledger
    /// (with --check-writeback: receipts table and writer grants; --check-handlers: handlers).
    /// Each finding has a stable code; exit 1 on any failure.
    Doctor(DoctorArgs),
    /// The one command to run every morning: doctor, then the review-mode checklist (what the
    /// model sees, how to approve), then with --serve the Streamable HTTP MCP server. Stops
    /// with the failures when doctor fails.
    Up(UpArgs),
    /// Describe a database's tables for writing a config: columns, keys, constraints,
    /// indexes, row estimates, and suggested tenant, principal, conflict-guard and sensitive
    /// columns. Reads the catalog only, never a row; a read-only credential is enough.
    Inspect(InspectArgs),
    /// Generate a config from your database: a guided wizard on a terminal, or prompt-free
    /// with --answers FILE (or the original's --spec with --non-interactive, or --table and
    /// friends). Writes the config, .env.example and NEXT-STEPS.md next to it; never
    /// overwrites without --force, never writes a secret.
    Init(InitArgs),
    /// Own-database onboarding: `onboard db` generates the config like `init` (prompt-free
    /// with --yes: every table with a key and a tenant column gets a read tool, and columns
    /// the database constrains get a guarded proposal tool), then validates it and lists the
    /// tools.
    #[command(subcommand)]
    Onboard(OnboardCommand),
    /// Reviewed starting capabilities for common jobs (late-fee waiver, ticket status, plan
    /// credit): list them, show one, or write its config, .env.example, NEXT-STEPS.md and
    /// table DDL.
    #[command(subcommand)]
    Recipes(RecipesCommand),
    /// Shadow mode: record what people actually did, and compare it, field by field, with
    /// what the agent proposed.
    #[command(subcommand)]
    Shadow(ShadowCommand),
    /// Measurements: `benchmark mcp-efficiency` compares the tool surface and round trips of
    /// reviewed tools with a raw-SQL MCP surface on one task.
    #[command(subcommand)]
    Benchmark(BenchmarkCommand),
    /// Review another MCP server's tools for risk: raw SQL, writes without review, model-chosen
    /// identifiers, tenants or credentials, model-callable approval, missing hints, unbounded
    /// results. Lists tools only (initialize + tools/list); never calls one.
    ///
    /// Exit 0: no finding at or above --fail-on (or no --fail-on); 1: findings at or above
    /// --fail-on; 2: bad usage, or a server that could not be audited.
    Audit(AuditArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Example: `airlock completions bash > ~/.local/share/bash-completion/completions/airlock`.
    Completions(CompletionsArgs),
    /// Print the man page, or write one page per command into a folder.
    Man(ManArgs),
    /// The ledger's event chain for people and machines: `tail` prints it (and follows it),
    /// `webhook` delivers it to a URL, signed and retried, `status` shows each destination's
    /// delivery state.
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print the newest events of the chain, one line each (time, sequence, kind, proposal,
    /// capability, tenant, actor); with --follow keep printing events as any process sharing
    /// the ledger commits them, until Ctrl-C.
    ///
    /// Example: `airlock events tail --follow --kind proposal_created,proposal_approved`.
    Tail(EventsTailArgs),
    /// Deliver events to a webhook: each event is POSTed, HMAC-signed like handler requests,
    /// in chain order, retried with exponential backoff until the receiver answers 2xx. The
    /// cursor and retry state are kept in the ledger, so a restart resumes where the receiver
    /// last acknowledged. Runs in the foreground until Ctrl-C (or --once).
    ///
    /// Without a URL, every destination of the config's `notifications.webhooks` is served.
    /// Example: `airlock events webhook --url-env TEAM_SLACK_URL --format slack`.
    #[command(visible_alias = "push")]
    Webhook(EventsWebhookArgs),
    /// Each webhook destination's delivery state: cursor, events delivered, the event being
    /// retried, attempts and the last error.
    Status(EventsStatusArgs),
}

#[derive(Debug, Args)]
pub struct EventsTailArgs {
    /// Keep printing new events until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// One JSON object per line (docs/notifications.md describes the fields).
    #[arg(long)]
    pub json: bool,
    /// Only events from this time on: a duration back from now (90s, 15m, 2h, 7d) or an RFC
    /// 3339 time. With --since, every such event is printed unless --limit says otherwise.
    #[arg(long, visible_alias = "from", value_name = "WHEN")]
    pub since: Option<String>,
    /// Only events up to this time (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    /// Print at most this many (the newest); default 20, or all with --since.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub limit: Option<u32>,
    /// Only these kinds: repeat or comma-separate (proposal_created, query_audited, …).
    #[arg(long = "kind", visible_alias = "kinds", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Only events of this proposal.
    #[arg(long)]
    pub proposal: Option<String>,
    /// Only events by this actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only events whose record belongs to this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// How often --follow looks for new events, in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub interval_ms: u64,
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WebhookFormatArg {
    /// The signed `airlock.event-delivery.v1` JSON body.
    Json,
    /// `{"text": "proposal waiting: …"}` for a Slack-compatible incoming webhook.
    Slack,
}

#[derive(Debug, Args)]
pub struct EventsWebhookArgs {
    /// The receiver's URL. Prefer --url-env: a Slack webhook URL is itself a secret and a
    /// command line is visible to other users of the machine.
    #[arg(value_name = "URL", conflicts_with_all = ["url_flag", "url_env"])]
    pub url: Option<String>,
    /// The receiver's URL (the original's form).
    #[arg(long = "url", value_name = "URL", conflicts_with = "url_env")]
    pub url_flag: Option<String>,
    /// Environment variable holding the receiver's URL.
    #[arg(long, value_name = "VAR")]
    pub url_env: Option<String>,
    /// Environment variable holding the HMAC signing secret (signed like handler requests:
    /// X-Airlock-Signature and X-Synapsor-Signature).
    #[arg(long, value_name = "VAR", visible_alias = "signing-secret-env")]
    pub secret_env: Option<String>,
    /// Environment variable holding a bearer token, sent as `Authorization: Bearer …`.
    #[arg(long, value_name = "VAR", visible_alias = "token-env")]
    pub auth_token_env: Option<String>,
    /// The body: the signed JSON event, or a Slack-compatible message.
    #[arg(long, value_enum, default_value = "json")]
    pub format: WebhookFormatArg,
    /// Only these kinds (repeat or comma-separate; `*` for every event). Default: proposal
    /// created, approved, rejected, and apply outcomes.
    #[arg(long = "kinds", visible_alias = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Only events of this tenant (repeatable).
    #[arg(long = "tenant", value_name = "TENANT")]
    pub tenants: Vec<String>,
    /// The name delivery state is kept under (default: derived from the URL).
    #[arg(long)]
    pub name: Option<String>,
    /// Where a new destination starts: after this event sequence number (0: the whole
    /// chain). Default: events committed from now on. A destination with saved state resumes
    /// from its cursor instead.
    #[arg(long, value_name = "SEQ")]
    pub since_event_id: Option<i64>,
    /// Base URL of the review UI, for links in messages (default: the config's
    /// notifications.review_url).
    #[arg(long, value_name = "URL")]
    pub review_url: Option<String>,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(250..=60_000))]
    pub timeout_ms: u64,
    /// How often to look for new events, in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub interval_ms: u64,
    /// First retry delay in milliseconds; each further failure doubles it (with jitter).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub retry_initial_ms: u64,
    /// Longest retry delay in milliseconds.
    #[arg(long, default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub retry_max_ms: u64,
    /// Deliver what is pending now and exit; a failed attempt is recorded (the next run
    /// retries it) and exits 1.
    #[arg(long)]
    pub once: bool,
    /// Print the bodies that would be sent; send nothing and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accepted for the original's form: delivery always follows unless --once.
    #[arg(long, hide = true)]
    pub follow: bool,
    /// One JSON object per line for each delivery, retry and resumed state.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EventsStatusArgs {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `airlock.1` and one `airlock-<command>.1` page per command into this folder
    /// (created if missing) instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the config and report every problem at once (exit 0 valid, 2 invalid).
    Validate(JsonFlag),
    /// Print the config.
    Show {
        /// Replace secret values (URLs with credentials, tokens) with <redacted>.
        #[arg(long)]
        redacted: bool,
    },
    /// Print the JSON Schema of the config file.
    Schema,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ToolsCommand {
    /// List the tools a model would see, and what it would never see.
    #[command(visible_alias = "preview")]
    List(ToolsListArgs),
}

#[derive(Debug, Args)]
pub struct ToolsListArgs {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// Tool naming: canonical (billing.inspect_invoice), openai (billing__inspect_invoice) or both.
    #[arg(long, value_enum, visible_alias = "tool-name-style")]
    pub alias_mode: Option<AliasModeArg>,
    /// Synapsor Runner's spelling of `--alias-mode openai`.
    #[arg(long)]
    pub openai_tool_aliases: bool,
    /// Show both canonical names and function-safe aliases (same as --alias-mode both).
    #[arg(long)]
    pub aliases: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AliasModeArg {
    Canonical,
    Openai,
    Both,
}

#[derive(Debug, Subcommand)]
pub enum SmokeCommand {
    /// Call one capability (read or proposal) with the given arguments.
    Call(CallArgs),
}

/// Arguments of a call from the command line.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Canonical capability name, e.g. billing.inspect_invoice.
    pub capability: String,
    /// Arguments as a JSON object; also switches output to JSON.
    #[arg(long, value_name = "OBJECT", conflicts_with_all = ["input", "sample"])]
    pub json: Option<String>,
    /// Read the arguments from a JSON file.
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    pub input: Option<PathBuf>,
    /// Use sample arguments built from the capability's declarations.
    #[arg(long)]
    pub sample: bool,
    /// Output format [default: json with --json, text otherwise].
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Result envelope: 1 (flat) or 2 (ok/summary/data). Overrides the config.
    #[arg(long, value_parser = ["1", "2", "v1", "v2"])]
    pub result_format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ProposalsCommand {
    /// List proposals, newest first.
    List(ProposalListArgs),
    /// Show one proposal (or `latest`) with its diff, guards and history.
    Show(ShowArgs),
    /// Show the newest proposal (same as `show latest`).
    Latest(JsonFlag),
    /// Approve a proposal for guarded writeback, after showing its diff, evidence and guards.
    Approve(DecisionArgs),
    /// Reject a proposal.
    Reject(DecisionArgs),
    /// Write the writeback-job v1 document of an approved proposal.
    #[command(name = "writeback-job")]
    WritebackJob(WritebackJobArgs),
}

#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// Proposal id, or `latest`.
    pub id: String,
    /// Who decides [default: $AIRLOCK_ACTOR, else $USER, else local_operator]. When the config
    /// declares operators and the capability requires a role, an operator holding it.
    #[arg(long)]
    pub actor: Option<String>,
    /// Why (required to reject).
    #[arg(long)]
    pub reason: Option<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WritebackJobArgs {
    /// Proposal id, or `latest`.
    pub id: String,
    /// Write the job to this file instead of stdout.
    #[arg(long, alias = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Project recorded in runner_scope.
    #[arg(long, default_value = "local")]
    pub project: String,
    /// Lease length in seconds (15-3600).
    #[arg(long, default_value_t = 300)]
    pub lease_seconds: i64,
    /// Accepted for Synapsor Runner scripts; receipts name the runner given to `apply`.
    #[arg(long, hide = true)]
    pub runner: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Proposal id or `latest` (same as --proposal).
    #[arg(conflicts_with_all = ["proposal", "job"])]
    pub id: Option<String>,
    /// Proposal id or `latest`: build the job from the ledger.
    #[arg(long, conflicts_with = "job")]
    pub proposal: Option<String>,
    /// A writeback-job v1 file; every field is cross-checked against the ledger and config.
    #[arg(long, value_name = "FILE")]
    pub job: Option<PathBuf>,
    /// Rehearse inside a rolled-back transaction; change nothing anywhere.
    #[arg(long, env = env_vars::DRY_RUN)]
    pub dry_run: bool,
    /// Who applies [default: $AIRLOCK_ACTOR, else $USER, else local_operator].
    #[arg(long)]
    pub actor: Option<String>,
    /// Runner id written on receipts.
    #[arg(long, env = env_vars::RUNNER_ID, default_value = "airlock-local")]
    pub runner: String,
    /// Project recorded in the job's runner_scope.
    #[arg(long, default_value = "local")]
    pub project: String,
    /// Accepted for Synapsor Runner scripts and not used: apply runs the job it builds at once.
    #[arg(long, hide = true, value_name = "SECONDS")]
    pub lease_seconds: Option<i64>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `airlock replay show ID`, `airlock replay list`, … or `airlock replay ID` (same as show).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReplayArgs {
    #[command(subcommand)]
    pub command: Option<ReplayCommand>,
    #[command(flatten)]
    pub show: ReplayShowArgs,
}

#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Show the story of one proposal: evidence, proposal, decisions, attempts, receipts.
    Show(ReplayShowArgs),
    /// List replays (one per proposal), newest first.
    List(ProposalListArgs),
    /// Write the full replay of one proposal as JSON.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ReplayShowArgs {
    /// Proposal id, replay id (`replay_<proposal id>`) or `latest`.
    #[arg(required_unless_present_any = ["proposal", "replay", "evidence"])]
    pub id: Option<String>,
    /// Proposal id or `latest` (same as the positional id).
    #[arg(long, conflicts_with_all = ["id", "replay", "evidence"])]
    pub proposal: Option<String>,
    /// Replay id (`replay_<proposal id>`).
    #[arg(long, conflicts_with_all = ["id", "evidence"])]
    pub replay: Option<String>,
    /// Evidence bundle id: replay the proposal it belongs to.
    #[arg(long, conflicts_with = "id")]
    pub evidence: Option<String>,
    /// Include evidence rows, query audit and event hashes.
    #[arg(long, alias = "debug")]
    pub details: bool,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Id, or `latest` where it applies.
    #[arg(required_unless_present = "id_flag")]
    pub id: Option<String>,
    /// The id as a flag (Synapsor Runner's `--proposal`, `--evidence` or `--replay`).
    #[arg(long = "proposal", aliases = ["evidence", "replay"], value_name = "ID", conflicts_with = "id")]
    pub id_flag: Option<String>,
    /// File to write.
    #[arg(long, alias = "out", value_name = "FILE")]
    pub output: PathBuf,
    /// Output format: json, or markdown (replay export only: the replay as a page for an
    /// incident review, with its hash-chained events).
    #[arg(long, value_parser = ["json", "markdown"], default_value = "json")]
    pub format: String,
}

#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// List receipts, newest first.
    List(ReceiptListArgs),
    /// Show one receipt.
    Show(ReceiptShowArgs),
}

#[derive(Debug, Args)]
pub struct ReceiptListArgs {
    /// Only receipts of this proposal.
    #[arg(long)]
    pub proposal: Option<String>,
    /// Only this status (applied, already_applied, conflict, failed).
    #[arg(long)]
    pub status: Option<String>,
    /// Only receipts with this idempotency key.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Only receipts of this writeback job.
    #[arg(long, value_name = "JOB_ID")]
    pub writeback_job: Option<String>,
    #[command(flatten)]
    pub browse: Box<BrowseArgs>,
}

/// The filters, page and output flags every list command shares (docs/ledger-operations.md,
/// "Browsing and searching").
#[derive(Debug, Clone, Default, Args)]
pub struct BrowseArgs {
    /// Only records created within this long before now: a whole number and a unit, s, m, h
    /// or d (30m, 2h, 7d).
    #[arg(long, value_name = "DURATION", conflicts_with = "from")]
    pub since: Option<String>,
    /// Only records created at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only records created at or before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this principal.
    #[arg(long)]
    pub principal: Option<String>,
    /// Only this capability.
    #[arg(long, alias = "action")]
    pub capability: Option<String>,
    /// Only this object id (the value a read looked up).
    #[arg(long)]
    pub object_id: Option<String>,
    /// Only this business object type (e.g. invoice).
    #[arg(long)]
    pub object_type: Option<String>,
    /// Only this object, as TYPE:ID (e.g. invoice:INV-3001).
    #[arg(long, value_name = "TYPE:ID", conflicts_with_all = ["object_id", "object_type"])]
    pub object: Option<String>,
    /// Only this configured source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only this table: schema.table, or a bare name in any schema.
    #[arg(long)]
    pub table: Option<String>,
    /// At most this many per page (1-1000).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Continue after the page that printed this token (`next_cursor` in --json, the last
    /// line otherwise). Use it with the same filters.
    #[arg(long, alias = "after", value_name = "TOKEN")]
    pub cursor: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ActivityCommand {
    /// Find records containing TEXT (ASCII letters without case, every other character
    /// literal) in proposals, evidence, query audit, receipts and proposal events, newest
    /// first, with the fields it was found in and the replay each belongs to. Without TEXT,
    /// lists every record the filters select.
    Search(ActivitySearchArgs),
}

#[derive(Debug, Args)]
pub struct ActivitySearchArgs {
    /// The text to find (at most 256 bytes).
    pub text: Option<String>,
    /// Only records of this proposal.
    #[arg(long)]
    pub proposal: Option<String>,
    /// Only records of this evidence bundle (and its proposal).
    #[arg(long)]
    pub evidence: Option<String>,
    /// Only this outcome: a proposal state, a query-audit outcome or a receipt status (kinds
    /// without one are left out).
    #[arg(long, aliases = ["state", "status"])]
    pub outcome: Option<String>,
    /// Only records of this replay's proposal (`replay_<proposal id>`).
    #[arg(long, value_name = "REPLAY_ID")]
    pub replay: Option<String>,
    /// Only this receipt and the records of its proposal (its number as listed, 3 or rct_000003).
    #[arg(long, value_name = "RECEIPT")]
    pub receipt: Option<String>,
    /// Only reads of the query with this fingerprint (`sha256:…`, as shown by `query-audit show`).
    #[arg(long, value_name = "FINGERPRINT")]
    pub query_fingerprint: Option<String>,
    #[command(flatten)]
    pub browse: Box<BrowseArgs>,
}

#[derive(Debug, Args)]
pub struct ReceiptShowArgs {
    /// Receipt number (as listed), e.g. 3 or rct_000003.
    pub id: String,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum WritebackCommand {
    /// Print the DDL of the receipts table Airlock writes in the same transaction as each update.
    Migration(WritebackEngineArgs),
    /// Print the least-privilege grants the config's direct writes need (column-scoped UPDATE).
    Grants(WritebackGrantsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Postgres,
    Mysql,
    Sqlite,
}

/// The flag's value as the engine enum every other crate uses.
impl From<EngineArg> for airlock_config::Engine {
    fn from(e: EngineArg) -> airlock_config::Engine {
        match e {
            EngineArg::Postgres => airlock_config::Engine::Postgres,
            EngineArg::Mysql => airlock_config::Engine::Mysql,
            EngineArg::Sqlite => airlock_config::Engine::Sqlite,
        }
    }
}

#[derive(Debug, Args)]
pub struct WritebackEngineArgs {
    #[arg(long, value_enum)]
    pub engine: EngineArg,
    /// Schema (Postgres) or database (MySQL) holding the receipts table.
    #[arg(long)]
    pub schema: Option<String>,
}

#[derive(Debug, Args)]
pub struct WritebackGrantsArgs {
    #[arg(long, value_enum)]
    pub engine: EngineArg,
    /// The database role (Postgres) or user (MySQL) Airlock writes as.
    #[arg(long)]
    pub writer_role: String,
    /// Schema (Postgres) or database (MySQL) of capabilities whose target names none.
    #[arg(long)]
    pub schema: Option<String>,
    /// Only these tables [default: every table a sql_update proposal capability writes].
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ProposalListArgs {
    /// Only this state (pending_review, approved, applied, …).
    #[arg(long, alias = "status")]
    pub state: Option<String>,
    /// Only this proposal.
    #[arg(long)]
    pub proposal: Option<String>,
    /// Only the proposal this evidence bundle belongs to.
    #[arg(long)]
    pub evidence: Option<String>,
    /// Only this replay's proposal (`replay_<proposal id>`).
    #[arg(long, value_name = "REPLAY_ID")]
    pub replay: Option<String>,
    /// Only this receipt's proposal (its number as listed, 3 or rct_000003).
    #[arg(long, value_name = "RECEIPT")]
    pub receipt: Option<String>,
    #[command(flatten)]
    pub browse: Box<BrowseArgs>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Id, or `latest`.
    pub id: String,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// Accepted for Synapsor Runner scripts; the view already shows every detail.
    #[arg(long, alias = "debug", hide = true)]
    pub details: bool,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// List evidence bundles (what reads returned), newest first.
    List(EvidenceListArgs),
    /// Show one evidence bundle with the audit of the reads behind it.
    Show(ShowArgs),
    /// Write one evidence bundle (with its query audit) as JSON.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct EvidenceListArgs {
    /// Only bundles of this proposal.
    #[arg(long)]
    pub proposal: Option<String>,
    /// Only reads of the query with this fingerprint (`sha256:…`, as shown by `query-audit show`).
    #[arg(long, value_name = "FINGERPRINT")]
    pub query_fingerprint: Option<String>,
    #[command(flatten)]
    pub browse: Box<BrowseArgs>,
}

#[derive(Debug, Subcommand)]
pub enum QueryAuditCommand {
    /// List query-audit records, newest first.
    List(QueryAuditListArgs),
    /// Show one query-audit record.
    Show(QueryAuditShowArgs),
    /// Write one query-audit record as JSON.
    Export(QueryAuditExportArgs),
}

#[derive(Debug, Args)]
pub struct QueryAuditShowArgs {
    /// Audit record number, as listed.
    pub id: i64,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// Accepted for Synapsor Runner scripts; the view already shows every detail.
    #[arg(long, alias = "debug", hide = true)]
    pub details: bool,
}

#[derive(Debug, Args)]
pub struct QueryAuditExportArgs {
    /// Audit record number, as listed.
    #[arg(required_unless_present = "id_flag")]
    pub id: Option<i64>,
    /// The number as a flag (Synapsor Runner's `--audit`).
    #[arg(long = "audit", value_name = "ID", conflicts_with = "id")]
    pub id_flag: Option<i64>,
    /// File to write.
    #[arg(long, alias = "out", value_name = "FILE")]
    pub output: PathBuf,
    /// Output format (json only, as in the original).
    #[arg(long, value_parser = ["json"], default_value = "json")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct QueryAuditListArgs {
    /// Only records of this evidence bundle.
    #[arg(long)]
    pub evidence: Option<String>,
    /// Only records of this proposal.
    #[arg(long)]
    pub proposal: Option<String>,
    /// Only this outcome (ok, not_found, truncated, error:timeout, rejected:<code>, …).
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only reads of the query with this fingerprint (`sha256:…`, as shown by `query-audit show`).
    #[arg(long, value_name = "FINGERPRINT")]
    pub query_fingerprint: Option<String>,
    #[command(flatten)]
    pub browse: Box<BrowseArgs>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Walk the hash chain, re-hash every record, rebuild each proposal's state from its events
    /// and check the chain against the anchor file; report the first broken link.
    ///
    /// Without an anchor, verify proves every remaining record is as written and chained, but
    /// not that none were removed from the end. With one, it also proves that no event up to
    /// the last anchored one was removed or rewritten.
    Verify(VerifyArgs),
    /// Counts per record kind and proposal state, size on disk (file, WAL, anchor, free
    /// pages), oldest and newest event, chain head and the latest prune's checkpoint.
    Stats(JsonFlag),
    /// Copy the ledger to a new file while servers keep writing (SQLite's online backup
    /// API): the copy is consistent as of one instant and passes `ledger verify` on its own.
    /// The anchor lines it covers are copied beside it.
    Backup(BackupArgs),
    /// Rebuild the ledger file to give the space of removed records back to the file system.
    /// Blocks writers while it runs; prune first.
    Vacuum(JsonFlag),
    /// Remove records older than a duration, keeping proof: a checkpoint of the chain at the
    /// cut is written first, so `ledger verify` still proves what remains. Open proposals
    /// (anything not applied or rejected) keep every record and event. Removes in small
    /// batches, so tool calls recorded meanwhile wait at most one batch.
    Prune(PruneArgs),
    /// Write a range of the chain as JSON lines, each event with the record it covers, so
    /// `airlock ledger verify --file EXPORT` can check it on another machine (no database, no
    /// config).
    Export(LedgerExportArgs),
    /// Delete the ledger, its WAL and anchor files (for disposable setups). Asks on a
    /// terminal; scripts must pass --yes.
    Reset(ResetArgs),
    /// Apply the ledger's pending schema migrations now, with progress on stderr for long
    /// steps (building the search index of a big ledger takes minutes), instead of silently
    /// when a server or command next opens it. One write transaction, as on open: servers
    /// using the ledger wait for it, and on any error the file is left as it was.
    Migrate(MigrateArgs),
    /// Migrate a Synapsor Runner store (given with --store) into Airlock's ledger, in place:
    /// a backup is written beside it first (`<file>.synapsor-backup-<unix secs>`), then every
    /// record is copied and chained in one transaction. The original's tables are kept as
    /// `synapsor_*`. On any error nothing changes.
    Import(JsonFlag),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// List the pending schema versions and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file to write (never overwritten).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LedgerExportArgs {
    /// Only events created within this long before now: 2h, 7d, 30m, 45s.
    #[arg(long, value_name = "DURATION", conflicts_with = "from")]
    pub since: Option<String>,
    /// Only events created at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Output format (JSON lines: a header, then one event with its record per line).
    #[arg(long, value_enum, default_value_t = LedgerExportFormat::Jsonl)]
    pub format: LedgerExportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LedgerExportFormat {
    Jsonl,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove records created more than this long ago: a whole number and a unit, s, m, h
    /// or d (90d, 12h, 30m; 0d is everything until now).
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Show what would be removed and change nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Confirm the prune. `ledger prune` prunes without it; the original's `store prune` is
    /// a dry run unless it is given.
    #[arg(long)]
    pub yes: bool,
    /// Accepted for the original's `store prune --force` (Airlock holds no lease to override).
    #[arg(long, hide = true)]
    pub force: bool,
    /// Events removed per write transaction: a tool call waits at most one batch.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch: u32,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Delete without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Accepted for the original's `store reset --force` (Airlock holds no lease to override).
    #[arg(long, hide = true)]
    pub force: bool,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// The original's `store` commands, kept for scripts written for it.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Same as `ledger stats`.
    Stats(JsonFlag),
    /// Same as `ledger vacuum`.
    Vacuum(JsonFlag),
    /// Like `ledger prune`, but a dry run unless --yes is given (as in the original).
    Prune(PruneArgs),
    /// Same as `ledger reset`.
    Reset(ResetArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Anchor file to check the chain against: a copy kept away from the ledger's host is
    /// what protects against someone who can rewrite both [default: <store>.anchor beside
    /// the ledger, when present]
    #[arg(long, value_name = "FILE")]
    pub anchor: Option<PathBuf>,
    /// Verify an export written by `airlock ledger export` instead of a ledger: needs no
    /// database and no config.
    #[arg(long, value_name = "EXPORT", conflicts_with = "anchor")]
    pub file: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UiArgs {
    /// Address to bind: 127.0.0.1, localhost or ::1 unless --allow-remote-bind.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub host: String,
    /// Port to bind [default: a free port].
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Open the URL in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Allow binding a non-loopback address. Needs declared operators with sign-in secrets;
    /// every page then asks for an operator to sign in. Traffic is plain HTTP: put it behind
    /// a TLS proxy on anything but a trusted network.
    #[arg(long)]
    pub allow_remote_bind: bool,
    /// Runner id written on receipts of applies made from the UI.
    #[arg(long, env = env_vars::RUNNER_ID, default_value = "airlock-ui")]
    pub runner: String,
    /// Project recorded in the job's runner_scope.
    #[arg(long, default_value = "local")]
    pub project: String,
    /// Accepted for Synapsor Runner scripts; the proposal page tells the story on its own.
    #[arg(long, hide = true)]
    pub tour: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to create the demo app, config and ledger in.
    #[arg(long, default_value = "airlock-demo", value_name = "DIR")]
    pub dir: PathBuf,
    /// Do not pause between steps, even on a terminal.
    #[arg(long)]
    pub no_pause: bool,
    /// Print a JSON summary of each step.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Serve MCP over stdio (default) for a client that launches airlock as a subprocess.
    ///
    /// Nothing but protocol frames goes to stdout; logs go to stderr. Config also from
    /// SYNAPSOR_MCP_CONFIG and store from SYNAPSOR_LOCAL_STORE when neither the flags nor
    /// AIRLOCK_CONFIG / AIRLOCK_STORE are set.
    Serve(McpServeArgs),
    /// Serve MCP Streamable HTTP on /mcp (sessions for 2024-11-05…2025-11-25, stateless
    /// 2026-07-28), with /healthz and /readyz.
    #[command(name = "serve-streamable-http")]
    ServeStreamableHttp(McpHttpArgs),
    /// Serve a small authenticated JSON-RPC bridge (POST /rpc: tools/list, tools/call,
    /// resources/read). Not spec MCP; use serve-streamable-http for MCP clients.
    #[command(name = "serve-http")]
    ServeHttp(McpHttpArgs),
    /// Print a ready MCP client config snippet with absolute paths of this binary, config and
    /// store.
    #[command(name = "client-config", visible_alias = "configure")]
    ClientConfig(McpClientConfigArgs),
    /// Same as client-config, with the client as a word (Synapsor Runner's form):
    /// `mcp config cursor`. Without a client: claude-desktop.
    Config(McpConfigArgs),
    /// Same as `airlock audit` (Synapsor Runner's form).
    Audit(AuditArgs),
}

#[derive(Debug, Args)]
pub struct McpConfigArgs {
    /// Which client the snippet is for [default: --client, else claude-desktop].
    #[arg(value_enum, value_name = "CLIENT")]
    pub client_name: Option<McpClientArg>,
    #[command(flatten)]
    pub rest: McpClientConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum McpTransportArg {
    #[default]
    Stdio,
    #[value(name = "streamable-http")]
    StreamableHttp,
    #[value(name = "http", alias = "json-rpc-http", alias = "jsonrpc-http")]
    Http,
}

/// Flags every MCP server takes.
#[derive(Debug, Args)]
pub struct McpCommonArgs {
    /// Tool naming: canonical (billing.inspect_invoice), openai (billing__inspect_invoice) or both.
    #[arg(long, value_enum, visible_alias = "tool-name-style")]
    pub alias_mode: Option<AliasModeArg>,
    /// Result envelope: 1 (flat) or 2 (ok/summary/data). Overrides the config.
    #[arg(long, value_parser = ["1", "2", "v1", "v2"])]
    pub result_format: Option<String>,
    /// Force read_only mode: proposal tools are not served.
    #[arg(long)]
    pub read_only: bool,
    /// Synapsor Runner's spelling of `--alias-mode openai`.
    #[arg(long)]
    pub openai_tool_aliases: bool,
    /// Accepted for Synapsor Runner scripts: Airlock always serves locally.
    #[arg(long, hide = true)]
    pub local: bool,
    /// Accepted for Synapsor Runner compatibility and not needed: the ledger is safe for
    /// several servers and commands at once (WAL, one transaction per record).
    #[arg(long)]
    pub allow_concurrent_store: bool,
    /// Send OpenTelemetry traces to this OTLP/HTTP receiver (e.g. http://127.0.0.1:4318;
    /// spans go to /v1/traces). Off by default; OTEL_EXPORTER_OTLP_ENDPOINT does the same.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Stderr log format: text, or json (one object per line). Also AIRLOCK_LOG_FORMAT.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,
}

/// Format of the logs on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct McpServeArgs {
    /// stdio, streamable-http, or http (the JSON-RPC bridge).
    #[arg(long, value_enum, default_value_t = McpTransportArg::Stdio)]
    pub transport: McpTransportArg,
    #[command(flatten)]
    pub common: McpCommonArgs,
    #[command(flatten)]
    pub http: McpHttpFlags,
}

#[derive(Debug, Args)]
pub struct McpHttpArgs {
    #[command(flatten)]
    pub common: McpCommonArgs,
    #[command(flatten)]
    pub http: McpHttpFlags,
}

/// Flags of the HTTP servers.
#[derive(Debug, Args)]
pub struct McpHttpFlags {
    /// Address to listen on. Non-loopback addresses require authentication.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port [default: 8766 for Streamable HTTP, 8765 for the JSON-RPC bridge].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Environment variable holding the static bearer token [default:
    /// SYNAPSOR_RUNNER_HTTP_TOKEN, unless the config verifies JWTs with http_claims].
    #[arg(long, value_name = "NAME")]
    pub auth_token_env: Option<String>,
    /// No authentication (loopback addresses only; for local development).
    #[arg(long)]
    pub dev_no_auth: bool,
    /// Also accept this browser Origin (scheme://host[:port], :* for any port). Loopback
    /// origins are always accepted; requests without Origin pass.
    #[arg(long, value_name = "ORIGIN")]
    pub allowed_origin: Vec<String>,
    /// Synapsor Runner's flag: accepted as --allowed-origin. Airlock sends no CORS headers
    /// (see docs/compatibility.md).
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,
    /// Also accept this Host header (name or name:port), e.g. behind a proxy.
    #[arg(long, value_name = "HOST")]
    pub allowed_host: Vec<String>,
    /// Most open MCP sessions; a new one beyond closes the least recently used.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sessions: u64,
    /// Most open MCP sessions of one credential; a new one beyond closes that credential's
    /// least recently used.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sessions_per_credential: u64,
    /// Close a session after this many seconds without requests.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub session_idle_secs: u64,
    /// Most requests handled at once (after their body arrived); more get 503.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_in_flight: u64,
    /// Most requests one credential may have in progress, body upload included; more get 429.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_in_flight_per_credential: u64,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1_048_576, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Seconds a client may take to send its whole request body; slower ones get 408.
    #[arg(long, default_value_t = 5, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464), a listener of
    /// its own without authentication. Off by default. A non-loopback address also needs
    /// --metrics-allow-remote.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Allow --metrics-listen on a non-loopback address (anyone who reaches it reads tool
    /// names, call counts and proposal counts).
    #[arg(long, requires = "metrics_listen")]
    pub metrics_allow_remote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum McpClientArg {
    #[value(name = "claude-desktop", alias = "claude")]
    ClaudeDesktop,
    #[value(name = "claude-code")]
    ClaudeCode,
    Cursor,
    #[value(name = "vscode", alias = "vs-code")]
    Vscode,
    Windsurf,
    #[value(name = "openai-agents")]
    OpenaiAgents,
    #[value(name = "generic", alias = "generic-stdio")]
    Generic,
}

/// How an MCP client starts Airlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LauncherArg {
    /// This binary, by its absolute path.
    #[default]
    Binary,
    /// `uvx airlock-mcp@VERSION`: the PyPI package (needs uv).
    Uvx,
    /// `npx -y airlock-mcp@VERSION`: the npm package (needs Node.js).
    Npx,
}

#[derive(Debug, Args)]
pub struct McpClientConfigArgs {
    /// Which client the snippet is for (required by client-config and configure).
    #[arg(long, value_enum)]
    pub client: Option<McpClientArg>,
    /// Add recommended agent instructions to the snippet.
    #[arg(long)]
    pub include_instructions: bool,
    /// Tool naming the server will use [default: openai for openai-agents, else canonical].
    #[arg(long, value_enum)]
    pub alias_mode: Option<AliasModeArg>,
    /// Synapsor Runner's spelling of `--alias-mode openai`.
    #[arg(long)]
    pub openai_tool_aliases: bool,
    /// Streamable HTTP host (openai-agents).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Streamable HTTP port (openai-agents).
    #[arg(long, default_value_t = 8766)]
    pub port: u16,
    /// Environment variable holding the bearer token (openai-agents).
    #[arg(
        long,
        default_value = env_vars::SYNAPSOR_RUNNER_HTTP_TOKEN,
        value_name = "NAME"
    )]
    pub auth_token_env: String,
    /// Merge the server entry into the client's config file (its standard path, or --path),
    /// keeping a timestamped backup and every other server and key.
    #[arg(long)]
    pub write: bool,
    /// The client config file to write instead of the standard one (`--destination` is
    /// Synapsor Runner's spelling).
    #[arg(long, alias = "destination", value_name = "FILE", requires = "write")]
    pub path: Option<PathBuf>,
    /// Accepted for Synapsor Runner's `--write --yes`: writing never prompts.
    #[arg(long, hide = true)]
    pub yes: bool,
    /// Replace an existing server entry of the same name.
    #[arg(long, requires = "write")]
    pub force: bool,
    /// The server's name in the client's config.
    #[arg(long, default_value = "airlock", value_name = "NAME")]
    pub name: String,
    /// How the client starts Airlock; uvx and npx pin this binary's version.
    #[arg(long, value_enum, default_value_t = LauncherArg::Binary)]
    pub launcher: LauncherArg,
    /// Print machine-readable JSON (the snippet, or with --write what was written).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum HandlerCommand {
    /// Write a starting handler that accepts the signed requests Airlock sends and marks where
    /// your transaction goes (node-fastify, python-fastapi, command, rust-axum).
    Template(HandlerTemplateArgs),
}

#[derive(Debug, Args)]
pub struct HandlerTemplateArgs {
    /// node-fastify (node, fastify), python-fastapi (python, fastapi), command (script,
    /// local-command) or rust-axum (rust, axum).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// Where to write it (a folder for rust-axum) [default: the template's own file name].
    #[arg(long, alias = "out", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Print the template to stdout instead of writing it.
    #[arg(long, conflicts_with = "output")]
    pub stdout: bool,
    /// List the templates.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also probe every configured http_handler (one OPTIONS request, nothing applied) and
    /// command_handler (the program exists and is executable; it is not run).
    #[arg(long)]
    pub check_handlers: bool,
    /// Also check direct SQL writeback on the writer credential: the receipts table exists
    /// with every column, and the writer holds the grants `airlock writeback grants` prints.
    /// Reads the catalog only: nothing is created or written.
    #[arg(long, visible_alias = "check-db")]
    pub check_writeback: bool,
    /// Report read and write URLs that share one credential as a warning instead of a failure
    /// (local development only).
    #[arg(long)]
    pub allow_shared_credential: bool,
    /// A new user's checklist: also the ledger's folder is writable and MCP client configs
    /// hold no URL or token. Works without a config (it says how to make one).
    #[arg(long)]
    pub first_run: bool,
    /// With --first-run: an MCP client config file to scan for secrets (repeatable) [default:
    /// .airlock/mcp/*.json].
    #[arg(long, value_name = "PATH")]
    pub client_config: Vec<PathBuf>,
    /// Print machine-readable JSON (format airlock.doctor.v1, documented in docs/doctor.md).
    #[arg(long)]
    pub json: bool,
    /// Write the findings as a Markdown report (see --output) instead of printing them.
    #[arg(long)]
    pub report: bool,
    /// Report file for --report [default: airlock-doctor.md].
    #[arg(long, visible_alias = "out", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Accepted for Synapsor Runner scripts: doctor output never holds a secret value.
    #[arg(long)]
    pub redact: bool,
}

/// `airlock up`: doctor, then the review-mode checklist, then (with --serve) the server.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Start the Streamable HTTP MCP server after the checklist (stdio servers are started by
    /// the MCP client: see `airlock mcp config`).
    #[arg(long)]
    pub serve: bool,
    /// stdio or streamable-http [default: streamable-http with --serve, else stdio].
    #[arg(long, value_enum)]
    pub transport: Option<UpTransportArg>,
    /// Run doctor and print the checklist, but start nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also probe app-owned handlers in the doctor step (same as doctor --check-handlers).
    #[arg(long, visible_alias = "handler-check")]
    pub with_handler: bool,
    /// Also check the receipts table and the writer's grants (doctor --check-writeback).
    #[arg(long, visible_alias = "check-db")]
    pub check_writeback: bool,
    /// Let read and write URLs share a credential (a warning instead of a failure).
    #[arg(long)]
    pub allow_shared_credential: bool,
    /// Accepted for Synapsor Runner scripts: the next commands are always printed.
    #[arg(long)]
    pub print_next: bool,
    /// Accepted for Synapsor Runner scripts: Airlock has no web review UI; the checklist shows
    /// the review commands.
    #[arg(long)]
    pub open_ui: bool,
    #[command(flatten)]
    pub common: McpCommonArgs,
    #[command(flatten)]
    pub http: McpHttpFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpTransportArg {
    Stdio,
    #[value(name = "streamable-http")]
    StreamableHttp,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Database URL: postgres://, postgresql://, mysql://, mariadb://, or a SQLite file path
    /// (sqlite://, file:). Visible to other local users while the command runs; prefer
    /// --url-env.
    #[arg(long, value_name = "URL", conflicts_with_all = ["url_env", "source"])]
    pub url: Option<String>,
    /// Environment variable holding the database URL.
    #[arg(long, value_name = "VAR", conflicts_with = "source")]
    pub url_env: Option<String>,
    /// Inspect this source of the config file (--config), through its read_url_env or path
    /// [default without --url/--url-env: the config's only source].
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Only this schema (Postgres schema, MySQL database, SQLite attached database) [default:
    /// Postgres every non-system schema, MySQL the URL's database, SQLite main].
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    /// Print the report as JSON (format airlock.inspect.v1, documented in docs/onboarding.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OnboardCommand {
    /// Generate, validate and list the tools of a config for your database.
    Db(InitArgs),
}

/// Flags of `airlock init` and `airlock onboard db` (Synapsor Runner's names kept as aliases).
#[derive(Debug, Args, Default)]
pub struct InitArgs {
    /// Database URL (postgres://, mysql://, mariadb://, or a SQLite file). Used for inspection
    /// only: the config names a variable, never the URL. Prefer --url-env.
    #[arg(
        long,
        visible_alias = "from",
        value_name = "URL",
        conflicts_with = "url_env"
    )]
    pub url: Option<String>,
    /// Environment variable holding the database URL; also the config's read_url_env.
    #[arg(long, visible_aliases = ["from-env", "database-url-env"], value_name = "VAR")]
    pub url_env: Option<String>,
    /// Engine check: auto (from the URL), postgres, mysql or sqlite.
    #[arg(long, value_name = "ENGINE", default_value = "auto", value_parser = ["auto", "postgres", "mysql", "mariadb", "sqlite"])]
    pub engine: String,
    /// A saved `airlock inspect --json` report to generate from, without connecting.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "url_env"])]
    pub inspection_json: Option<PathBuf>,
    /// Only this schema (Postgres schema, MySQL database).
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    /// Answers file: airlock.answers.v1, or Synapsor Runner's answers or onboarding-selection
    /// v1 document. Prompt-free.
    #[arg(long, value_name = "FILE", conflicts_with = "spec")]
    pub answers: Option<PathBuf>,
    /// Synapsor Runner's onboarding-selection v1 file (needs --non-interactive).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Never prompt: defaults for everything not given.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Same as --yes (the original's spelling).
    #[arg(long)]
    pub non_interactive: bool,
    /// Ask on the terminal even when other flags would make the run prompt-free.
    #[arg(long, conflicts_with_all = ["yes", "non_interactive", "answers", "spec"])]
    pub wizard: bool,
    /// Print the generated config instead of writing files.
    #[arg(long)]
    pub dry_run: bool,
    /// Config file to write [default: airlock.json]. .env.example and NEXT-STEPS.md go beside it.
    #[arg(long, visible_alias = "out", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary (files written, tools, variables, notes).
    #[arg(long)]
    pub json: bool,
    /// Table to expose (name or schema.name); repeat for several.
    #[arg(long = "table", value_name = "NAME")]
    pub tables: Vec<String>,
    /// Accept tables without a tenant column (local development only).
    #[arg(long)]
    pub single_tenant_dev: bool,
    /// read_only, shadow or review [default: review when a proposal tool is generated].
    #[arg(long, value_parser = ["read_only", "shadow", "review"])]
    pub mode: Option<String>,
    /// With --yes: read tools only, no proposal tools.
    #[arg(long)]
    pub read_only_tools: bool,
    /// Operator who may approve, as NAME or NAME=ROLE[,ROLE] (repeatable) [default role:
    /// the approval role].
    #[arg(long = "operator", value_name = "NAME[=ROLES]")]
    pub operators: Vec<String>,
    /// When the executor is an http_handler or command_handler, also write a starting
    /// handler beside the config (`airlock handler template`), all or nothing with the rest.
    #[arg(long)]
    pub emit_handler: bool,
    /// Handler template to write (implies --emit-handler): node-fastify, python-fastapi,
    /// command or rust-axum, or an alias [default: command for command_handler, else
    /// node-fastify].
    #[arg(long, value_name = "NAME")]
    pub handler_template: Option<String>,
    /// Where to write the handler (implies --emit-handler) [default: the template's file name
    /// beside the config].
    #[arg(long, visible_alias = "handler-template-output", value_name = "PATH")]
    pub handler_output: Option<PathBuf>,
    /// A real id for a first read: saved as the read tool's arguments in
    /// .airlock/smoke-input.json beside the config, for the smoke call NEXT-STEPS.md shows.
    #[arg(long, value_name = "ID")]
    pub smoke_id: Option<String>,
    /// No database: write a starter config for a placeholder `records` table (edit the names,
    /// set the variables). --engine picks postgres (default), mysql or sqlite.
    #[arg(long, conflicts_with_all = ["url", "url_env", "inspection_json", "answers", "spec", "tables", "wizard"])]
    pub starter: bool,
    /// Start from a recipe (`airlock recipes list`) instead of your own choices: prompt-free.
    /// With --url-env (or --inspection-json) its table and columns are checked against your
    /// database; --table NAME maps it onto your table. Without a database, the table's DDL is
    /// written beside the config too.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["answers", "spec", "starter", "wizard"])]
    pub recipe: Option<String>,
    /// Write no handler, whatever the other handler flags say.
    #[arg(long, visible_alias = "skip-handler-template")]
    pub no_emit_handler: bool,
    #[command(flatten)]
    pub table_flags: InitTableFlags,
}

/// Per-table choices for a single `--table` (the original's scripted flags, same meaning).
#[derive(Debug, Args, Default)]
pub struct InitTableFlags {
    #[arg(long, value_name = "COL")]
    pub primary_key: Option<String>,
    #[arg(long, visible_alias = "tenant-key", value_name = "COL")]
    pub tenant_column: Option<String>,
    #[arg(long, value_name = "COL")]
    pub conflict_column: Option<String>,
    /// Comma-separated.
    #[arg(long, value_name = "COLS")]
    pub visible_columns: Option<String>,
    /// col=fixed:VALUE or col=arg:NAME, comma-separated, repeatable.
    #[arg(long, value_name = "BINDINGS")]
    pub patch: Vec<String>,
    /// col=VALUE (older form of --patch col=fixed:VALUE).
    #[arg(long, value_name = "COL=VALUE")]
    pub patch_fixed: Vec<String>,
    /// col=ARG (older form of --patch col=arg:ARG).
    #[arg(long, value_name = "COL=ARG")]
    pub patch_from_arg: Vec<String>,
    /// col=MIN:MAX, comma-separated, repeatable.
    #[arg(long, visible_alias = "patch-bounds", value_name = "BOUNDS")]
    pub numeric_bound: Vec<String>,
    /// col=FROM:TO|TO;FROM:TO, comma-separated, repeatable.
    #[arg(long, visible_alias = "status-guards", value_name = "GUARDS")]
    pub transition_guard: Vec<String>,
    /// Comma-separated [default: the patched columns].
    #[arg(long, value_name = "COLS")]
    pub allowed_columns: Option<String>,
    /// sql_update, http_handler or command_handler.
    #[arg(long, value_parser = ["sql_update", "http_handler", "command_handler"])]
    pub writeback: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub executor_name: Option<String>,
    #[arg(long, value_name = "VAR")]
    pub handler_url_env: Option<String>,
    #[arg(long, value_name = "VAR")]
    pub handler_token_env: Option<String>,
    #[arg(long, value_name = "VAR")]
    pub handler_signing_secret_env: Option<String>,
    #[arg(long, value_name = "VAR")]
    pub handler_command_env: Option<String>,
    #[arg(long, value_name = "MS")]
    pub handler_timeout_ms: Option<u64>,
    #[arg(long, value_name = "VAR")]
    pub write_url_env: Option<String>,
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub object_name: Option<String>,
    #[arg(long, visible_alias = "inspect-tool-name", value_name = "NAME")]
    pub read_tool: Option<String>,
    #[arg(long, visible_alias = "proposal-tool-name", value_name = "NAME")]
    pub proposal_tool: Option<String>,
    #[arg(long, visible_alias = "lookup-arg", value_name = "ARG")]
    pub id_arg: Option<String>,
    #[arg(long, visible_alias = "inspect-description", value_name = "TEXT")]
    pub read_description: Option<String>,
    #[arg(long, visible_alias = "inspect-returns-hint", value_name = "TEXT")]
    pub read_returns_hint: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub proposal_description: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub proposal_returns_hint: Option<String>,
    /// v1, 1, v2 or 2.
    #[arg(long, value_parser = ["1", "2", "v1", "v2"])]
    pub result_format: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub source_name: Option<String>,
    #[arg(long, value_name = "VAR")]
    pub tenant_env: Option<String>,
    #[arg(long, value_name = "VAR")]
    pub principal_env: Option<String>,
    #[arg(long, value_name = "ROLE")]
    pub approval_role: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RecipesCommand {
    /// The built-in recipes: id, summary and tools.
    List(RecipesListArgs),
    /// One recipe: its table, columns, tools, guards, approval role and notes.
    Show(RecipeShowArgs),
    /// Write a recipe's config with .env.example, NEXT-STEPS.md, the MCP snippets and the
    /// table's DDL (schema.sql), all or nothing; never overwrites without --force.
    Init(RecipeInitArgs),
}

#[derive(Debug, Args)]
pub struct RecipesListArgs {
    /// Print JSON (`airlock.recipes.v1`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RecipeShowArgs {
    /// A built-in recipe id, or a recipe file (a path ending in .json or containing a /).
    pub name: String,
    /// Engine the shown config and DDL are for: postgres, mysql or sqlite.
    #[arg(long, default_value = "postgres", value_parser = ["postgres", "mysql", "mariadb", "sqlite"])]
    pub engine: String,
    /// Print JSON: the recipe, the config it generates and the DDL.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RecipeInitArgs {
    /// A built-in recipe id, or a recipe file (a path ending in .json or containing a /).
    pub name: String,
    /// postgres, mysql or sqlite (sqlite: the config reads ./app.db beside it).
    #[arg(long, default_value = "postgres", value_parser = ["postgres", "mysql", "mariadb", "sqlite"])]
    pub engine: String,
    /// read_only (read tool only), shadow or review [default: review].
    #[arg(long, value_parser = ["read_only", "shadow", "review"])]
    pub mode: Option<String>,
    /// Config file to write, or a folder to write airlock.json into [default: ./airlock.json].
    /// The other files go beside it.
    #[arg(long, visible_alias = "out", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Operator who may approve, as NAME or NAME=ROLE[,ROLE] (repeatable) [default role: the
    /// recipe's approval role].
    #[arg(long = "operator", value_name = "NAME[=ROLES]")]
    pub operators: Vec<String>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary (`airlock.init.v1`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ShadowCommand {
    /// Shadow-mode proposals (made by a config with mode shadow), newest first.
    List(ShadowListArgs),
    /// Record what a person actually did for one object: from a shadow proposal's id with
    /// --patch FILE (the original's form), from --capability, --tenant, --object-id and --set
    /// flags, or from a human-action file (--file, `airlock.human-action.v1`).
    RecordHumanAction(RecordHumanActionArgs),
    /// Compare one shadow proposal with the latest human action for its object, field by
    /// field.
    Compare(ShadowCompareArgs),
    /// How often the agent's shadow proposals matched what people did: overall, per
    /// capability and per field, with examples of mismatches.
    Report(ShadowReportArgs),
}

#[derive(Debug, Args)]
pub struct ShadowListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Most proposals to list.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct RecordHumanActionArgs {
    /// A shadow proposal's id (or `latest`): the action is recorded for its capability, tenant
    /// and object.
    pub proposal: Option<String>,
    /// JSON object of the columns the person changed and their new values (column → value).
    #[arg(long, value_name = "FILE")]
    pub patch: Option<PathBuf>,
    /// A human-action file (`airlock.human-action.v1`): capability, tenant_id, object_id,
    /// patch, and optionally proposal_id, actor and notes.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["proposal", "patch"])]
    pub file: Option<PathBuf>,
    /// The proposal capability the action corresponds to (without a proposal id).
    #[arg(long, value_name = "NAME")]
    pub capability: Option<String>,
    /// The tenant the object belongs to (without a proposal id).
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// The object's id (the capability's lookup value; without a proposal id).
    #[arg(long, value_name = "ID")]
    pub object_id: Option<String>,
    /// A changed column as COLUMN=VALUE (repeatable); VALUE is read as JSON when it parses
    /// (42, null, true, "text"), else as text.
    #[arg(long = "set", value_name = "COLUMN=VALUE")]
    pub set: Vec<String>,
    /// Who did it [default: $AIRLOCK_ACTOR, else $USER, else local_operator].
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    /// Free-text note kept with the action.
    #[arg(long, value_name = "TEXT")]
    pub notes: Option<String>,
    /// Print the recorded action as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShadowCompareArgs {
    /// A shadow proposal's id, or `latest`.
    pub proposal: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShadowReportArgs {
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    /// text, json or markdown.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "markdown"])]
    pub format: String,
    /// Only this capability.
    #[arg(long, value_name = "NAME")]
    pub capability: Option<String>,
    /// Only this tenant.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Examples of mismatches to show per capability.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
}

#[derive(Debug, Subcommand)]
pub enum BenchmarkCommand {
    /// Tools, schema tokens and round trips of one task (waive an invoice's late fee) done
    /// through reviewed tools versus a raw-SQL MCP surface. Deterministic; no database or
    /// network. Method: docs/mcp-efficiency.md.
    McpEfficiency(McpEfficiencyArgs),
}

#[derive(Debug, Args)]
pub struct McpEfficiencyArgs {
    /// Print JSON (`airlock.mcp-efficiency.v1`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("what")
        .args(["target", "example", "stdio", "url", "mcp_config", "tools_json"])
        .required(true)
))]
pub struct AuditArgs {
    /// What to audit: a saved tools/list JSON, an MCP client config, an Airlock (or Synapsor
    /// Runner) config (the tools it would serve), an http(s) URL, `stdio:CMD ARGS` or
    /// `example:NAME`.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// Audit a built-in example instead of a server [default when given without a value:
    /// dangerous-db-mcp].
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "dangerous-db-mcp")]
    pub example: Option<String>,
    /// Start this MCP stdio server and list its tools: the command line as one argument,
    /// split like a shell would (quotes, backslashes) but not run by a shell.
    #[arg(long, value_name = "\"CMD ARGS\"")]
    pub stdio: Option<String>,
    /// List the tools of this Streamable HTTP MCP endpoint.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Variable holding a bearer token for --url [default: AIRLOCK_AUDIT_BEARER, else
    /// SYNAPSOR_MCP_AUDIT_BEARER, when set]. The token is never printed.
    #[arg(long, value_name = "VAR")]
    pub bearer_env: Option<String>,
    /// Audit every server in an MCP client config (Claude Desktop, Cursor, Windsurf, Claude
    /// Code: mcpServers; VS Code: servers). Starts each stdio server as the client would.
    #[arg(long, value_name = "FILE")]
    pub mcp_config: Option<PathBuf>,
    /// Audit a saved tools/list answer (a JSON-RPC response, its result, or a bare array).
    #[arg(long, value_name = "FILE")]
    pub tools_json: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: AuditFormatArg,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a finding is at or above this severity (for CI).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<AuditSeverityArg>,
    /// Time allowed for one server to start and list its tools.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormatArg {
    Text,
    Json,
    Markdown,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditSeverityArg {
    High,
    Medium,
    Low,
}
