//! Typed view of a version-1 config file (`airlock.json` / `synapsor.runner.json`).
//!
//! These types are the source of the exported JSON Schema (`airlock config schema`). They are
//! only constructed from a document that [`crate::validate()`] accepted, so code downstream can
//! rely on the invariants validation checks (safe identifiers, known references, patch columns
//! inside `allowed_columns`, and so on).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Patterns repeated in the JSON Schema (validation checks the same rules with codes).
const IDENTIFIER: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
const ENV_NAME: &str = "^[A-Z_][A-Z0-9_]*$";
const CAPABILITY_NAME: &str = "^[A-Za-z_][A-Za-z0-9_]*\\.[A-Za-z_][A-Za-z0-9_]*$";

/// A whole config document, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Airlock config (compatible with synapsor.runner.json version 1)")]
pub struct Config {
    /// Config format version. Only `1` exists.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// What the agent may do: `read_only` lists only read tools, `shadow` records proposals that
    /// can never be applied, `review` records proposals for human approval.
    pub mode: Mode,
    /// Reject unknown keys at every level (default true). Airlock always validates strictly
    /// where a key could change behaviour; `false` only relaxes unknown-key errors to warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Result envelope given to the model: `1` (legacy flat object) or `2` (ok/summary/data
    /// envelope). Default 1, as in the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = [1, 2]))]
    pub result_format: Option<u8>,
    /// Where the ledger lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    /// Databases the capabilities read from, by name (safe identifiers).
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}))]
    pub sources: IndexMap<String, Source>,
    /// The default trusted context: where tenant and principal come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_context: Option<TrustedContext>,
    /// Named trusted contexts a capability can select with `context`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contexts: Option<IndexMap<String, TrustedContext>>,
    /// App-owned writeback executors, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executors: Option<IndexMap<String, Executor>>,
    /// The tools the model sees.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Airlock extension: the people who may approve proposals, by name, with their roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operators: Option<IndexMap<String, Operator>>,
    /// Synapsor Cloud delegation block. Accepted for compatibility; Airlock does not run in
    /// cloud mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Value>,
    /// Airlock extension: where ledger events are delivered (`airlock events webhook`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    /// Airlock extension: how reviewers work in `airlock ui`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSettings>,
}

/// `review`: choices about the review UI. Every decision and apply still goes through the same
/// rules as the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSettings {
    /// When an approved proposal is applied from the UI: `separate` (default), a second,
    /// explicit action after the approval; `with_approval`, the approve button approves and
    /// then applies at once.
    #[serde(default)]
    pub apply: ApplyStep,
}

/// Value of `review.apply`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyStep {
    /// Apply is its own action after approval.
    #[default]
    Separate,
    /// Approving in the UI also applies, in one step.
    WithApproval,
}

impl Config {
    /// `review.apply`, or its default.
    pub fn apply_step(&self) -> ApplyStep {
        self.review.as_ref().map(|r| r.apply).unwrap_or_default()
    }
}

/// Runner mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    ReadOnly,
    Shadow,
    Review,
    Cloud,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read_only",
            Mode::Shadow => "shadow",
            Mode::Review => "review",
            Mode::Cloud => "cloud",
        }
    }
}

/// Ledger location.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// Path of the SQLite ledger, relative to the working directory. Required with the SQLite
    /// ledger (the default engine); not allowed when `ledger.engine` is `postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite_path: Option<String>,
    /// Airlock extension: which engine holds the ledger. Absent: the SQLite file at
    /// `sqlite_path`. `{"engine": "postgres"}` shares one ledger between several servers
    /// (docs/fleet.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerStorage>,
    /// How long the ledger keeps records: `airlock ledger prune` without `--older-than`
    /// removes what is older (a whole number and a unit s, m, h or d, e.g. `90d`). Open
    /// proposals are always kept. Nothing is pruned unless a prune runs (e.g. from cron).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
}

/// `storage.ledger`: the ledger's engine and, for Postgres, where to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerStorage {
    /// `sqlite` (default): one file beside the config, one machine. `postgres`: a shared
    /// ledger every server and CLI of a fleet reads and writes.
    #[serde(default)]
    pub engine: LedgerEngine,
    /// postgres only: name of the environment variable holding the ledger's connection URL
    /// (default `AIRLOCK_LEDGER_URL`). The URL itself never goes into the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub url_env: Option<String>,
    /// postgres only: the schema the ledger's tables live in (default `airlock`; lowercase
    /// letters, digits and `_`), created and migrated on first use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[a-z_][a-z0-9_]*$"), length(max = 63))]
    pub schema: Option<String>,
    /// postgres only: most pooled connections to the ledger per process (1 to 100; default
    /// chosen by the ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_connections: Option<u64>,
}

/// Default of `storage.ledger.schema`.
pub const DEFAULT_LEDGER_SCHEMA: &str = "airlock";

impl LedgerStorage {
    /// The variable holding the Postgres URL: `url_env`, else `AIRLOCK_LEDGER_URL`.
    pub fn url_env(&self) -> &str {
        self.url_env
            .as_deref()
            .unwrap_or(crate::env_vars::LEDGER_URL)
    }

    /// The Postgres schema: `schema`, else `airlock`.
    pub fn schema(&self) -> &str {
        self.schema.as_deref().unwrap_or(DEFAULT_LEDGER_SCHEMA)
    }
}

/// Value of `storage.ledger.engine`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerEngine {
    /// An embedded SQLite file (`storage.sqlite_path`).
    #[default]
    Sqlite,
    /// A shared Postgres database (`storage.ledger.url_env`, `storage.ledger.schema`).
    Postgres,
}

impl LedgerEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerEngine::Sqlite => "sqlite",
            LedgerEngine::Postgres => "postgres",
        }
    }
}

impl Config {
    /// The configured ledger engine (`storage.ledger.engine`, else SQLite).
    pub fn ledger_engine(&self) -> LedgerEngine {
        self.storage
            .as_ref()
            .and_then(|s| s.ledger.as_ref())
            .map(|l| l.engine)
            .unwrap_or_default()
    }
}

/// Database engine of a source.
// The one engine enum: `airlock-db` uses it as `EngineKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Postgres,
    Mysql,
    Sqlite,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Sqlite => "sqlite",
        }
    }
}

/// Longest accepted `connect_timeout_ms` (2 minutes).
pub const MAX_CONNECT_TIMEOUT_MS: u64 = 120_000;
/// Default `connect_timeout_ms`.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Largest accepted `max_connections`.
pub const MAX_POOL_CONNECTIONS: u64 = 100;
/// Accepted `idle_timeout_ms`: one second to one day.
pub const IDLE_TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 1_000..=86_400_000;
/// Default `idle_timeout_ms` (5 minutes: under MySQL's default `wait_timeout` and most
/// managed services' idle limits).
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 300_000;

impl Source {
    /// `connect_timeout_ms`, or its default.
    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.connect_timeout_ms
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS),
        )
    }

    /// `idle_timeout_ms`, or its default.
    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.idle_timeout_ms.unwrap_or(DEFAULT_IDLE_TIMEOUT_MS))
    }
}

/// One database.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub engine: Engine,
    /// Name of the environment variable holding the read connection URL. Required for
    /// postgres and mysql; for sqlite either this or `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub read_url_env: Option<String>,
    /// Name of the environment variable holding the write connection URL (apply only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub write_url_env: Option<String>,
    /// sqlite only (Airlock extension): path of the database file, relative to the working
    /// directory. A file path is not a secret, so it may be stored inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Marks the source as never written by Airlock's direct SQL executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Per-statement timeout for reads, in milliseconds (1 to 600000). Absent: Airlock sets
    /// none and the server's own limit applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600_000))]
    pub statement_timeout_ms: Option<u64>,
    /// Airlock extension: how long opening a connection may take, in milliseconds (1 to
    /// 120000; default 10000). A Postgres URL's own `connect_timeout` takes precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 120_000))]
    pub connect_timeout_ms: Option<u64>,
    /// Airlock extension: most connections pooled per access (reads, writes) of this
    /// source (1 to 100; default 4 for commands and stdio, 16 for the HTTP servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_connections: Option<u64>,
    /// Airlock extension: a pooled connection idle this long, in milliseconds, is closed
    /// instead of reused (1000 to 86400000; default 300000). Keep it under the server's or
    /// proxy's idle limit (MySQL `wait_timeout`, a load balancer's idle timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1000, max = 86_400_000))]
    pub idle_timeout_ms: Option<u64>,
    /// Accepted for compatibility and ignored: TLS options come from the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<Value>,
}

/// Where tenant and principal come from. Never from the model.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustedContext {
    pub provider: ContextProvider,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<ContextValues>,
}

/// Trusted-context provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContextProvider {
    /// Literal values or env bindings in the config. Local demos only.
    StaticDev,
    /// Tenant and principal from environment variables of the Airlock process.
    Environment,
    /// Tenant and principal from verified claims of the HTTP bearer token.
    HttpClaims,
    /// Synapsor Cloud session (not supported by Airlock).
    CloudSession,
}

impl ContextProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            ContextProvider::StaticDev => "static_dev",
            ContextProvider::Environment => "environment",
            ContextProvider::HttpClaims => "http_claims",
            ContextProvider::CloudSession => "cloud_session",
        }
    }
}

/// Provider settings. Which keys matter depends on the provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ContextValues {
    /// static_dev: literal tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// static_dev: literal principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Env var holding the tenant id (default `SYNAPSOR_TENANT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub tenant_id_env: Option<String>,
    /// Env var holding the principal (default `SYNAPSOR_PRINCIPAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub principal_env: Option<String>,
    /// Any other provider-specific setting (kept for compatibility; the original did not
    /// validate `values`).
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

/// An app-owned executor.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Executor {
    #[serde(rename = "type")]
    pub kind: ExecutorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub url_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ExecutorAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub signing_secret_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub command_env: Option<String>,
    /// Airlock extension (http_handler): allow a plain `http://` URL to a host that is not
    /// loopback. Off by default: requests carry a bearer token and approved changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_insecure_http: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorKind {
    SqlUpdate,
    HttpHandler,
    CommandHandler,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HttpMethod {
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "PATCH")]
    Patch,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutorAuth {
    /// Only `bearer_env` exists.
    #[serde(rename = "type")]
    pub kind: String,
    #[schemars(regex(pattern = ENV_NAME))]
    pub token_env: String,
}

/// Kind of capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityKind {
    Read,
    Proposal,
}

impl CapabilityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CapabilityKind::Read => "read",
            CapabilityKind::Proposal => "proposal",
        }
    }
}

/// One model-facing tool.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capability {
    /// `namespace.name`, exactly one dot.
    #[schemars(regex(pattern = CAPABILITY_NAME))]
    pub name: String,
    pub kind: CapabilityKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_hint: Option<String>,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
    pub target: Target,
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}), length(min = 1))]
    pub args: IndexMap<String, Arg>,
    pub lookup: Lookup,
    pub visible_columns: Vec<String>,
    /// Accepted for compatibility (`"required"`); evidence is always recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<IndexMap<String, PatchBinding>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_columns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric_bounds: Option<IndexMap<String, NumericBound>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_guards: Option<IndexMap<String, TransitionGuard>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_guard: Option<ConflictGuard>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Accepted for compatibility; see `target.single_tenant_dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_tenant_dev_ack: Option<Value>,
}

/// The one table a capability touches.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Schema (Postgres), database (MySQL) or attached database name (SQLite, usually `main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = IDENTIFIER))]
    pub schema: Option<String>,
    #[schemars(regex(pattern = IDENTIFIER))]
    pub table: String,
    #[schemars(regex(pattern = IDENTIFIER))]
    pub primary_key: String,
    /// Column holding the tenant id. Required unless `single_tenant_dev` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = IDENTIFIER))]
    pub tenant_key: Option<String>,
    /// Acknowledges a table without a tenant column. Local development only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_tenant_dev: Option<bool>,
}

/// Argument type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArgType {
    String,
    Number,
    Boolean,
}

impl ArgType {
    pub fn as_str(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Number => "number",
            ArgType::Boolean => "boolean",
        }
    }
}

/// A model-facing argument.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arg {
    #[serde(rename = "type")]
    pub kind: ArgType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Required unless literally `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Maximum length of a string, in Unicode scalar values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
}

impl Arg {
    pub fn is_required(&self) -> bool {
        self.required != Some(false)
    }
}

/// How the primary-key value is found.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub id_from_arg: String,
}

/// Where a patched column's new value comes from: exactly one of `fixed` or `from_arg`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["fixed"]}, {"required": ["from_arg"]}]))]
pub struct PatchBinding {
    /// A literal value (`null` included).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed: Option<Value>,
    /// The name of a declared argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_arg: Option<String>,
}

/// Deserializes a present field (including `null`) as `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Inclusive bounds on a patched numeric column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NumericBound {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
}

/// Allowed state transitions of a patched column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionGuard {
    /// Column whose current value is the "from" state (default: the patched column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_column: Option<String>,
    /// from state → allowed target states.
    pub allowed: IndexMap<String, Vec<String>>,
}

/// How a proposal detects that the row changed before apply.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictGuard {
    /// A version column (e.g. `updated_at`, `version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Acknowledges the weaker guard: a hash of the whole visible row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weak_guard_ack: Option<bool>,
    /// Airlock extension: advance `column` with every write (an integer by one, a timestamp to
    /// the current time). Default false: Airlock writes only the patched columns and leaves the
    /// version to the application (e.g. a trigger). When true, the writer role also needs
    /// UPDATE on this column (`airlock writeback grants` includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bump: Option<bool>,
}

/// Approval policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Role an operator needs to approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_role: Option<String>,
    /// Whether the principal that proposed may also approve (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_self_approval: Option<bool>,
}

/// Where ledger events are delivered (Airlock extension; docs/notifications.md). Secrets and
/// URLs are given by environment variable name only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Base URL of the review UI (`airlock ui`) as reviewers reach it, e.g.
    /// `http://127.0.0.1:8700`; messages link to `<review_url>/proposals/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_url: Option<String>,
    /// Webhook destinations, by name (safe identifiers).
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_.-]*$"}))]
    pub webhooks: IndexMap<String, Webhook>,
}

/// One webhook destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Environment variable holding the URL (a Slack incoming-webhook URL is a secret).
    #[schemars(regex(pattern = ENV_NAME))]
    pub url_env: String,
    /// `json` (the signed `airlock.event-delivery.v1` body, default) or `slack`
    /// (`{"text": …}` for a Slack-compatible incoming webhook).
    #[serde(default)]
    pub format: WebhookFormat,
    /// Environment variable holding the HMAC signing secret (signed like handler requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub signing_secret_env: Option<String>,
    /// Environment variable holding a bearer token sent as `Authorization: Bearer …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ENV_NAME))]
    pub token_env: Option<String>,
    /// Event kinds to deliver; default the review kinds (proposal created, decided, applied),
    /// `["*"]` for every event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Only events of these tenants (default all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Per-request timeout (default 5000, at most 60000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    #[default]
    Json,
    Slack,
}

/// An operator who may approve proposals (Airlock extension).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// Approval roles this operator holds.
    pub roles: Vec<String>,
}

impl Capability {
    /// Columns read from the row: visible columns, then primary key, tenant key and conflict
    /// column when not already present. Order is stable.
    pub fn read_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(self.visible_columns.len() + 3);
        for c in &self.visible_columns {
            if !out.contains(&c.as_str()) {
                out.push(c);
            }
        }
        for c in [
            Some(self.target.primary_key.as_str()),
            self.target.tenant_key.as_deref(),
        ]
        .into_iter()
        .flatten()
        .chain(
            self.conflict_guard
                .as_ref()
                .and_then(|g| g.column.as_deref()),
        ) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// The version column Airlock advances itself (`conflict_guard.bump: true`), if any.
    pub fn bumped_column(&self) -> Option<&str> {
        self.conflict_guard
            .as_ref()
            .filter(|g| g.bump == Some(true))
            .and_then(|g| g.column.as_deref())
    }

    /// The executor name (`sql_update` when omitted).
    pub fn executor_name(&self) -> &str {
        self.executor.as_deref().unwrap_or("sql_update")
    }
}
