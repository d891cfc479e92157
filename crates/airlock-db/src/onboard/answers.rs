//! Airlock's answers format, `airlock.answers.v1`. Every field but `format` and `tables` is
//! optional; what is left out is taken from the inspection report (see `generate.rs`).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use airlock_config::{
    Arg, ContextProvider, Engine, ExecutorKind, Mode, NumericBound, PatchBinding, TransitionGuard,
};

/// Value of [`Answers::format`].
pub const ANSWERS_FORMAT: &str = "airlock.answers.v1";

/// What to generate: a source, a trusted context, an optional app-owned executor, the
/// operators who approve, and for each chosen table a read tool and proposal tools.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Airlock onboarding answers (airlock init --answers)")]
pub struct Answers {
    /// Always `airlock.answers.v1`.
    #[schemars(extend("const" = "airlock.answers.v1"))]
    pub format: String,
    /// `read_only`, `shadow` or `review`. Default: `review` when a proposal tool is
    /// generated, else `read_only`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Result envelope, 1 or 2 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_format: Option<u8>,
    /// Ledger path written to `storage.sqlite_path` (default `.airlock/ledger.db`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_path: Option<String>,
    #[serde(default)]
    pub source: SourceAnswers,
    #[serde(default)]
    pub trusted_context: ContextAnswers,
    /// How approved proposals are applied (default `sql_update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorAnswers>,
    /// Who may approve: name → roles.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub operators: IndexMap<String, Vec<String>>,
    /// The tables to expose, at least one.
    pub tables: Vec<TableAnswers>,
}

/// The database the tools read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceAnswers {
    /// Source name in the config (default `local_<engine>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Default: the inspected engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Variable holding the read URL (default `DATABASE_URL`; not used with `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_url_env: Option<String>,
    /// Variable holding the write URL used by `sql_update` (default
    /// `SYNAPSOR_DATABASE_WRITE_URL` when a proposal applies through SQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_url_env: Option<String>,
    /// SQLite only: the database file, relative to the config's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_timeout_ms: Option<u64>,
}

/// Where tenant and principal come from at run time (never from the model).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextAnswers {
    /// `environment` (default) or `http_claims` (then `values` holds its settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ContextProvider>,
    /// Default `SYNAPSOR_TENANT_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id_env: Option<String>,
    /// Default `SYNAPSOR_PRINCIPAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_env: Option<String>,
    /// Other provider settings, copied into `trusted_context.values`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub values: IndexMap<String, Value>,
}

/// An app-owned executor for every proposal tool.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutorAnswers {
    #[serde(rename = "type")]
    pub kind: ExecutorKind,
    /// Executor name (default `app_http_handler` / `app_command_handler`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// http_handler: variable holding the URL (default `SYNAPSOR_APP_WRITEBACK_URL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// http_handler: variable holding the bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// http_handler: variable holding the HMAC signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret_env: Option<String>,
    /// command_handler: variable holding the command (default
    /// `SYNAPSOR_APP_WRITEBACK_COMMAND`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_env: Option<String>,
    /// Default 5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// One table: its read tool and its proposal tools.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableAnswers {
    /// Default: the only table of that name in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub table: String,
    /// Default: the table's single-column primary key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    /// Default: the best tenant candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_key: Option<String>,
    /// A table without a tenant column (local development only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single_tenant_dev: bool,
    /// Tool namespace (default: the first word of the table name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Business object name (default: the table name, singular).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
    /// The model's id argument (default `<object>_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_arg: Option<String>,
    /// Default: the report's `visible_columns` (sensitive and binary columns left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_columns: Option<Vec<String>>,
    /// Sensitive columns (per the report) you accept to show or patch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_sensitive: Vec<String>,
    /// Default `<namespace>.inspect_<object>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_returns_hint: Option<String>,
    /// Proposal tools on this table (none: read only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposals: Vec<ProposalAnswers>,
}

/// One proposal tool.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalAnswers {
    /// Default `<namespace>.propose_<object>_update` (numbered when there are several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_hint: Option<String>,
    /// Columns the model sets, each from an argument of the same name (typed from the
    /// column: numbers with bounds, enums with their values, text with its length).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Columns set to a fixed value.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub fixed: IndexMap<String, Value>,
    /// Bindings in the config's own form (column → `{from_arg}` / `{fixed}`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub patch: IndexMap<String, PatchBinding>,
    /// Argument declarations that replace the inferred ones.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub args: IndexMap<String, Arg>,
    /// Default: the patched columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_columns: Option<Vec<String>>,
    /// Default: bounds the table's CHECK constraints enforce. `{}` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric_bounds: Option<IndexMap<String, NumericBound>>,
    /// Default: any move between an enum's (or a `CHECK … IN`'s) values. `{}` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_guards: Option<IndexMap<String, TransitionGuard>>,
    /// Version column (default: the best conflict-guard candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_column: Option<String>,
    /// Accept the weaker whole-row guard when the table has no version column.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub weak_guard_ack: bool,
    /// Role an operator needs to approve (default `local_reviewer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_role: Option<String>,
}
