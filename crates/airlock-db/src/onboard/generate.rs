//! Answers + report → config. See the module docs in `mod.rs`.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::json;

use airlock_config::{
    Approval, Arg, ArgType, Capability, CapabilityKind, Config, ConflictGuard, ContextProvider,
    ContextValues, Engine, Executor, ExecutorAuth, ExecutorKind, HttpMethod, Lookup, Mode,
    NumericBound, Operator, PatchBinding, Source, Storage, Target, TransitionGuard, TrustedContext,
    env_vars, is_capability_name, is_env_name, is_reserved_arg_name, is_safe_identifier,
    is_secret_name,
};

use super::suggest;
use super::{ANSWERS_FORMAT, Answers, ExecutorAnswers, Problem, ProposalAnswers, TableAnswers};
use crate::inspect::{
    ColumnReport, GuardKind, RelationKind, SchemaReport, TableReport, TypeCategory,
};

/// Default variable names of the generated config.
pub const DEFAULT_READ_URL_ENV: &str = "DATABASE_URL";
pub const DEFAULT_WRITE_URL_ENV: &str = env_vars::SYNAPSOR_DATABASE_WRITE_URL;
pub const DEFAULT_HANDLER_URL_ENV: &str = env_vars::SYNAPSOR_APP_WRITEBACK_URL;
pub const DEFAULT_HANDLER_COMMAND_ENV: &str = env_vars::SYNAPSOR_APP_WRITEBACK_COMMAND;
pub const DEFAULT_APPROVAL_ROLE: &str = "local_reviewer";
pub const DEFAULT_LEDGER_PATH: &str = ".airlock/ledger.db";

/// One environment variable the generated config names, for `.env.example`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvVarDoc {
    pub name: String,
    /// What it holds.
    pub purpose: String,
    /// A placeholder, never a real value.
    pub example: String,
}

/// What [`generate`] produces.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub config: Config,
    /// Every variable the config names, in first-use order.
    pub env_vars: Vec<EnvVarDoc>,
    /// Tool names, reads first then proposals, as listed in the config.
    pub tools: Vec<String>,
    /// What was chosen for you and what to review.
    pub notes: Vec<String>,
}

struct Ctx {
    problems: Vec<Problem>,
    notes: Vec<String>,
}

impl Ctx {
    fn problem(&mut self, code: &'static str, path: String, message: String, hint: &str) {
        self.problems.push(Problem::new(code, path, message, hint));
    }
}

/// The table `answers` names, checked against the report.
fn find_table<'r>(
    ctx: &mut Ctx,
    report: Option<&'r SchemaReport>,
    t: &TableAnswers,
    path: &str,
) -> Option<&'r TableReport> {
    let report = report?;
    let matches: Vec<&TableReport> = report
        .tables
        .iter()
        .filter(|r| r.name == t.table && t.schema.as_ref().is_none_or(|s| *s == r.schema))
        .collect();
    match matches.as_slice() {
        [one] => Some(one),
        [] => {
            let known: Vec<String> = report
                .tables
                .iter()
                .take(20)
                .map(|r| format!("{}.{}", r.schema, r.name))
                .collect();
            ctx.problem(
                "ANSWERS_UNKNOWN_TABLE",
                format!("{path}.table"),
                format!(
                    "table `{}` is not in the inspected database{}",
                    t.table,
                    t.schema
                        .as_ref()
                        .map(|s| format!(" (schema `{s}`)"))
                        .unwrap_or_default()
                ),
                &format!("tables found: {}", known.join(", ")),
            );
            None
        }
        many => {
            let schemas: Vec<&str> = many.iter().map(|r| r.schema.as_str()).collect();
            ctx.problem(
                "ANSWERS_AMBIGUOUS_TABLE",
                format!("{path}.table"),
                format!("table `{}` exists in several schemas", t.table),
                &format!("set `schema` to one of: {}", schemas.join(", ")),
            );
            None
        }
    }
}

fn column<'r>(table: Option<&'r TableReport>, name: &str) -> Option<&'r ColumnReport> {
    table?.columns.iter().find(|c| c.name == name)
}

/// Checks a column name: safe identifier and present in the table.
fn check_column(ctx: &mut Ctx, table: Option<&TableReport>, name: &str, path: String) -> bool {
    if !is_safe_identifier(name) {
        ctx.problem(
            "ANSWERS_UNSAFE_IDENTIFIER",
            path,
            format!("`{}` is not a plain identifier", name.escape_default()),
            "Airlock only names columns matching ^[A-Za-z_][A-Za-z0-9_]*$; expose such a column through a view with a plain name",
        );
        return false;
    }
    if let Some(t) = table
        && column(Some(t), name).is_none()
    {
        let known: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        ctx.problem(
            "ANSWERS_UNKNOWN_COLUMN",
            path,
            format!("column `{name}` is not in {}.{}", t.schema, t.name),
            &format!("columns: {}", known.join(", ")),
        );
        return false;
    }
    true
}

fn check_env(ctx: &mut Ctx, name: &str, path: &str) {
    if !is_env_name(name) {
        ctx.problem(
            "ANSWERS_INVALID_ENV_NAME",
            path.to_owned(),
            format!(
                "`{}` is not an environment variable name",
                name.escape_default()
            ),
            "use upper case letters, digits and _, e.g. DATABASE_URL",
        );
    }
}

/// Lower-case identifier made of `s`'s letters and digits (`record` when nothing is left).
fn safe_name(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    match out.chars().next() {
        None => "record".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("record_{out}"),
        Some(_) => out,
    }
}

/// `invoices` → `invoice`, `categories` → `category`, `addresses` → `address`, `status` stays.
fn singular(s: &str) -> String {
    if let Some(stem) = s.strip_suffix("ies") {
        format!("{stem}y")
    } else if s.ends_with("sses") || s.ends_with("xes") || s.ends_with("ches") {
        s[..s.len() - 2].to_owned()
    } else if s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && s.len() > 1 {
        s[..s.len() - 1].to_owned()
    } else {
        s.to_owned()
    }
}

/// An argument name that is not a trusted-context word (`tenant_id` → `tenant_id_value`).
fn arg_name(base: &str) -> String {
    if is_reserved_arg_name(base) {
        format!("{base}_value")
    } else {
        base.to_owned()
    }
}

/// A model argument for a patched column, typed from the column.
fn inferred_arg(
    col: Option<&ColumnReport>,
    bound: Option<&NumericBound>,
    values: Option<&[String]>,
) -> Arg {
    let mut arg = Arg {
        kind: ArgType::String,
        description: None,
        required: Some(true),
        max_length: None,
        minimum: None,
        maximum: None,
        allowed: None,
    };
    let category = col.map(|c| c.category);
    match category {
        Some(TypeCategory::Integer | TypeCategory::Decimal | TypeCategory::Float) => {
            arg.kind = ArgType::Number;
            arg.minimum = bound.and_then(|b| b.minimum);
            arg.maximum = bound.and_then(|b| b.maximum);
        }
        Some(TypeCategory::Boolean) => arg.kind = ArgType::Boolean,
        _ => {
            if let Some(values) = values {
                arg.allowed = Some(values.iter().map(|v| json!(v)).collect());
                arg.max_length = Some(
                    values
                        .iter()
                        .map(|v| v.chars().count() as u64)
                        .max()
                        .unwrap_or(1)
                        .max(1),
                );
            } else {
                arg.max_length = Some(
                    col.and_then(|c| declared_length(&c.data_type))
                        .unwrap_or(500),
                );
            }
        }
    }
    arg
}

/// The `N` of `varchar(N)` / `character varying(N)` / `char(N)`.
fn declared_length(data_type: &str) -> Option<u64> {
    let lower = data_type.to_ascii_lowercase();
    if !lower.contains("char") {
        return None;
    }
    let inner = lower.split_once('(')?.1.split_once(')')?.0;
    inner.trim().parse().ok().filter(|n| *n > 0)
}

/// Builds the config. Returns every problem found when the answers cannot produce a valid one.
pub fn generate(
    answers: &Answers,
    report: Option<&SchemaReport>,
) -> Result<Generated, Vec<Problem>> {
    let mut ctx = Ctx {
        problems: Vec::new(),
        notes: Vec::new(),
    };
    if answers.format != ANSWERS_FORMAT {
        ctx.problem(
            "ANSWERS_FORMAT",
            "format".into(),
            format!(
                "unknown answers format `{}`",
                answers.format.escape_default()
            ),
            "use \"airlock.answers.v1\", or a Synapsor Runner answers or onboarding-selection file",
        );
    }
    if answers.tables.is_empty() {
        ctx.problem(
            "ANSWERS_NO_TABLES",
            "tables".into(),
            "no table chosen".into(),
            "list at least one table under `tables`",
        );
    }
    let engine = answers
        .source
        .engine
        .or_else(|| {
            report.map(|r| match r.engine.as_str() {
                "mysql" => Engine::Mysql,
                "sqlite" => Engine::Sqlite,
                _ => Engine::Postgres,
            })
        })
        .unwrap_or(Engine::Postgres);
    if let (Some(r), Some(e)) = (report, answers.source.engine)
        && r.engine != e.as_str()
    {
        ctx.problem(
            "ANSWERS_ENGINE_MISMATCH",
            "source.engine".into(),
            format!(
                "answers say {} but the database is {}",
                e.as_str(),
                r.engine
            ),
            "remove `engine` from the answers or point --url at the right database",
        );
    }
    let source_name = answers
        .source
        .name
        .clone()
        .unwrap_or_else(|| format!("local_{}", engine.as_str()));
    if !is_safe_identifier(&source_name) {
        ctx.problem(
            "ANSWERS_UNSAFE_IDENTIFIER",
            "source.name".into(),
            format!(
                "`{}` is not a plain identifier",
                source_name.escape_default()
            ),
            "use letters, digits and _",
        );
    }
    let mut env_vars: Vec<EnvVarDoc> = Vec::new();
    let mut add_env = |ctx: &mut Ctx, name: &str, path: &str, purpose: &str, example: &str| {
        check_env(ctx, name, path);
        if !env_vars.iter().any(|e| e.name == name) {
            env_vars.push(EnvVarDoc {
                name: name.to_owned(),
                purpose: purpose.to_owned(),
                example: example.to_owned(),
            });
        }
    };
    let url_example = match engine {
        Engine::Postgres => "postgres://airlock_reader:CHANGE_ME@db.example:5432/app",
        Engine::Mysql => "mysql://airlock_reader:CHANGE_ME@db.example:3306/app",
        Engine::Sqlite => "./app.db",
    };
    let sqlite_path = answers
        .source
        .path
        .clone()
        .filter(|_| engine == Engine::Sqlite);
    let read_url_env = if sqlite_path.is_some() {
        None
    } else {
        let name = answers
            .source
            .read_url_env
            .clone()
            .unwrap_or_else(|| DEFAULT_READ_URL_ENV.to_owned());
        add_env(
            &mut ctx,
            &name,
            "source.read_url_env",
            "read connection URL (a read-only credential is enough)",
            url_example,
        );
        Some(name)
    };

    // Trusted context.
    let provider = answers
        .trusted_context
        .provider
        .unwrap_or(ContextProvider::Environment);
    let mut values = ContextValues::default();
    if provider == ContextProvider::Environment {
        let tenant = answers
            .trusted_context
            .tenant_id_env
            .clone()
            .unwrap_or_else(|| env_vars::SYNAPSOR_TENANT_ID.to_owned());
        let principal = answers
            .trusted_context
            .principal_env
            .clone()
            .unwrap_or_else(|| env_vars::SYNAPSOR_PRINCIPAL.to_owned());
        add_env(
            &mut ctx,
            &tenant,
            "trusted_context.tenant_id_env",
            "the tenant every tool call is scoped to",
            "acme",
        );
        add_env(
            &mut ctx,
            &principal,
            "trusted_context.principal_env",
            "who the agent acts as (recorded with every call)",
            "support_agent",
        );
        values.tenant_id_env = Some(tenant);
        values.principal_env = Some(principal);
    } else {
        values.tenant_id_env = answers.trusted_context.tenant_id_env.clone();
        values.principal_env = answers.trusted_context.principal_env.clone();
    }
    values.extra = answers.trusted_context.values.clone();
    let trusted_context = TrustedContext {
        provider,
        values: Some(values),
    };

    // Executor.
    let mut executors: IndexMap<String, Executor> = IndexMap::new();
    let executor_name = answers
        .executor
        .as_ref()
        .and_then(|e| executor(&mut ctx, e, &mut executors, &mut add_env));

    // Tables.
    let mut capabilities: Vec<Capability> = Vec::new();
    let mut any_sql_proposal = false;
    for (i, t) in answers.tables.iter().enumerate() {
        let path = format!("tables[{i}]");
        let tr = find_table(&mut ctx, report, t, &path);
        if report.is_some() && tr.is_none() {
            continue;
        }
        table_tools(
            &mut ctx,
            t,
            tr,
            &path,
            &source_name,
            executor_name.as_deref(),
            &mut capabilities,
        );
        if executor_name.is_none() && !t.proposals.is_empty() {
            any_sql_proposal = true;
        }
        if let Some(tr) = tr
            && tr.kind != RelationKind::Table
            && !t.proposals.is_empty()
        {
            ctx.notes.push(format!(
                    "{}.{} is a {}: proposals on it apply only if the database lets the writer update it",
                    tr.schema,
                    tr.name,
                    tr.kind.as_str()
                ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for c in &capabilities {
        if !seen.insert(c.name.clone()) {
            ctx.problem(
                "ANSWERS_DUPLICATE_TOOL",
                "tables".into(),
                format!("two tools would be named `{}`", c.name),
                "set `read_tool`, a proposal's `name`, or `namespace`/`object_name` to tell them apart",
            );
        }
    }
    let has_proposals = capabilities
        .iter()
        .any(|c| c.kind == CapabilityKind::Proposal);
    let mode = answers.mode.unwrap_or(if has_proposals {
        Mode::Review
    } else {
        Mode::ReadOnly
    });
    if mode == Mode::Cloud {
        ctx.problem(
            "ANSWERS_INVALID_MODE",
            "mode".into(),
            "cloud mode is not generated".into(),
            "use read_only, shadow or review",
        );
    }
    if mode == Mode::ReadOnly && has_proposals {
        ctx.notes.push("mode read_only: the proposal tools are in the config but not listed to the model until the mode is shadow or review".into());
    }
    let write_url_env = if mode == Mode::Review && any_sql_proposal && sqlite_path.is_none() {
        let name = answers
            .source
            .write_url_env
            .clone()
            .unwrap_or_else(|| DEFAULT_WRITE_URL_ENV.to_owned());
        add_env(
            &mut ctx,
            &name,
            "source.write_url_env",
            "write connection URL used only by `airlock apply` (a different, least-privilege credential: see `airlock writeback grants`)",
            &url_example.replace("airlock_reader", "airlock_writer"),
        );
        Some(name)
    } else {
        answers.source.write_url_env.clone()
    };

    let operators = if answers.operators.is_empty() {
        if has_proposals {
            ctx.notes.push("no operators declared: approvals will warn that the approver's role was not verified; add `operators` (name → roles) to the config".into());
        }
        None
    } else {
        Some(
            answers
                .operators
                .iter()
                .map(|(name, roles)| {
                    (
                        name.clone(),
                        Operator {
                            roles: roles.clone(),
                        },
                    )
                })
                .collect(),
        )
    };
    if let Some(rf) = answers.result_format
        && rf != 1
        && rf != 2
    {
        ctx.problem(
            "ANSWERS_INVALID_RESULT_FORMAT",
            "result_format".into(),
            format!("result_format {rf}"),
            "use 1 or 2",
        );
    }

    if !ctx.problems.is_empty() {
        return Err(ctx.problems);
    }
    let mut sources = IndexMap::new();
    sources.insert(
        source_name,
        Source {
            engine,
            read_url_env,
            write_url_env,
            path: sqlite_path,
            read_only: None,
            statement_timeout_ms: Some(answers.source.statement_timeout_ms.unwrap_or(5000)),
            ssl: None,
            // The documented defaults (README, database connections).
            connect_timeout_ms: None,
            max_connections: None,
            idle_timeout_ms: None,
        },
    );
    let tools = capabilities.iter().map(|c| c.name.clone()).collect();
    let config = Config {
        version: 1,
        mode,
        strict: None,
        result_format: Some(answers.result_format.unwrap_or(2)),
        storage: Some(Storage {
            sqlite_path: Some(
                answers
                    .storage_path
                    .clone()
                    .unwrap_or_else(|| DEFAULT_LEDGER_PATH.to_owned()),
            ),
            ledger: None,
            // Nothing is pruned unless the team chooses a retention (docs/ledger-operations.md).
            retention: None,
        }),
        sources,
        trusted_context: Some(trusted_context),
        contexts: None,
        executors: (!executors.is_empty()).then_some(executors),
        capabilities,
        operators,
        cloud: None,
        notifications: None,
        review: None,
    };
    Ok(Generated {
        config,
        env_vars,
        tools,
        notes: ctx.notes,
    })
}

type AddEnv<'a> = dyn FnMut(&mut Ctx, &str, &str, &str, &str) + 'a;

fn executor(
    ctx: &mut Ctx,
    e: &ExecutorAnswers,
    executors: &mut IndexMap<String, Executor>,
    add_env: &mut AddEnv<'_>,
) -> Option<String> {
    let timeout_ms = Some(e.timeout_ms.unwrap_or(5000));
    let (name, ex) = match e.kind {
        ExecutorKind::SqlUpdate => return None,
        ExecutorKind::HttpHandler => {
            let url_env = e
                .url_env
                .clone()
                .unwrap_or_else(|| DEFAULT_HANDLER_URL_ENV.to_owned());
            add_env(
                ctx,
                &url_env,
                "executor.url_env",
                "URL of your app's writeback handler",
                "http://127.0.0.1:8787/airlock/writeback",
            );
            if let Some(t) = &e.token_env {
                add_env(
                    ctx,
                    t,
                    "executor.token_env",
                    "bearer token Airlock sends to the handler",
                    "CHANGE_ME",
                );
            }
            if let Some(s) = &e.signing_secret_env {
                add_env(
                    ctx,
                    s,
                    "executor.signing_secret_env",
                    "HMAC secret the handler checks each request's signature with",
                    "CHANGE_ME",
                );
            }
            (
                e.name
                    .clone()
                    .unwrap_or_else(|| "app_http_handler".to_owned()),
                Executor {
                    kind: ExecutorKind::HttpHandler,
                    url_env: Some(url_env),
                    method: Some(HttpMethod::Post),
                    auth: e.token_env.clone().map(|token_env| ExecutorAuth {
                        kind: "bearer_env".into(),
                        token_env,
                    }),
                    signing_secret_env: e.signing_secret_env.clone(),
                    timeout_ms,
                    command_env: None,
                    allow_insecure_http: None,
                },
            )
        }
        ExecutorKind::CommandHandler => {
            let command_env = e
                .command_env
                .clone()
                .unwrap_or_else(|| DEFAULT_HANDLER_COMMAND_ENV.to_owned());
            add_env(
                ctx,
                &command_env,
                "executor.command_env",
                "command that applies an approved change (reads the request on stdin)",
                "./writeback-handler",
            );
            (
                e.name
                    .clone()
                    .unwrap_or_else(|| "app_command_handler".to_owned()),
                Executor {
                    kind: ExecutorKind::CommandHandler,
                    url_env: None,
                    method: None,
                    auth: None,
                    signing_secret_env: None,
                    timeout_ms,
                    command_env: Some(command_env),
                    allow_insecure_http: None,
                },
            )
        }
    };
    if !is_safe_identifier(&name) {
        ctx.problem(
            "ANSWERS_UNSAFE_IDENTIFIER",
            "executor.name".into(),
            format!("`{}` is not a plain identifier", name.escape_default()),
            "use letters, digits and _",
        );
    }
    executors.insert(name.clone(), ex);
    Some(name)
}

fn is_sensitive(table: Option<&TableReport>, t: &TableAnswers, name: &str) -> bool {
    let flagged =
        column(table, name).is_some_and(|c| c.sensitive.is_some()) || is_secret_name(name);
    flagged && !t.include_sensitive.iter().any(|c| c == name)
}

#[allow(clippy::too_many_arguments)]
fn table_tools(
    ctx: &mut Ctx,
    t: &TableAnswers,
    tr: Option<&TableReport>,
    path: &str,
    source: &str,
    executor: Option<&str>,
    out: &mut Vec<Capability>,
) {
    if !is_safe_identifier(&t.table) {
        ctx.problem("ANSWERS_UNSAFE_IDENTIFIER", format!("{path}.table"), format!("table `{}` is not a plain identifier", t.table.escape_default()), "Airlock only names tables matching ^[A-Za-z_][A-Za-z0-9_]*$; expose it through a view with a plain name");
        return;
    }
    let schema = t.schema.clone().or_else(|| tr.map(|r| r.schema.clone()));
    if let Some(s) = &schema
        && !is_safe_identifier(s)
    {
        ctx.problem(
            "ANSWERS_UNSAFE_IDENTIFIER",
            format!("{path}.schema"),
            format!("schema `{}` is not a plain identifier", s.escape_default()),
            "use a schema whose name matches ^[A-Za-z_][A-Za-z0-9_]*$",
        );
        return;
    }
    let label = format!("{}.{}", schema.as_deref().unwrap_or("?"), t.table);

    // Key.
    let primary_key = match (&t.primary_key, tr) {
        (Some(pk), _) => pk.clone(),
        (None, Some(r)) if r.primary_key.len() == 1 => r.primary_key[0].clone(),
        (None, Some(r)) => {
            let why = if r.primary_key.is_empty() {
                "has no primary key".to_owned()
            } else {
                format!("has a composite primary key ({})", r.primary_key.join(", "))
            };
            let uniques: Vec<String> = r
                .unique_constraints
                .iter()
                .filter(|u| u.columns.len() == 1)
                .map(|u| u.columns[0].clone())
                .collect();
            ctx.problem(
                "ANSWERS_PRIMARY_KEY_REQUIRED",
                format!("{path}.primary_key"),
                format!("{label} {why}"),
                &if uniques.is_empty() {
                    "set `primary_key` to a column that identifies one row within a tenant"
                        .to_owned()
                } else {
                    format!(
                        "set `primary_key` to a unique column: {}",
                        uniques.join(", ")
                    )
                },
            );
            return;
        }
        (None, None) => {
            ctx.problem(
                "ANSWERS_PRIMARY_KEY_REQUIRED",
                format!("{path}.primary_key"),
                format!("no primary key for {label}"),
                "set `primary_key`",
            );
            return;
        }
    };
    let mut ok = check_column(ctx, tr, &primary_key, format!("{path}.primary_key"));
    if let Some(r) = tr
        && !r.primary_key.is_empty()
        && r.primary_key != [primary_key.clone()]
        && !r
            .unique_constraints
            .iter()
            .any(|u| u.columns == [primary_key.clone()])
    {
        ctx.notes.push(format!("{label}: `{primary_key}` is neither the primary key nor unique; check that it identifies one row within a tenant"));
    }

    // Tenant.
    let tenant_key = match (&t.tenant_key, tr) {
        (Some(k), _) => Some(k.clone()),
        (None, _) if t.single_tenant_dev => None,
        (None, Some(r)) => match r.candidates.tenant.first() {
            Some(c) => {
                ctx.notes.push(format!(
                    "{label}: tenant column `{}` ({} confidence: {})",
                    c.column,
                    c.confidence.as_str(),
                    c.reason
                ));
                Some(c.column.clone())
            }
            None => {
                ctx.problem("ANSWERS_TENANT_REQUIRED", format!("{path}.tenant_key"), format!("{label} has no tenant-like column"), "set `tenant_key` to the column that scopes rows to a customer, or `single_tenant_dev: true` for a local single-tenant database");
                return;
            }
        },
        (None, None) => {
            ctx.problem(
                "ANSWERS_TENANT_REQUIRED",
                format!("{path}.tenant_key"),
                format!("no tenant column for {label}"),
                "set `tenant_key` or `single_tenant_dev: true`",
            );
            return;
        }
    };
    if let Some(k) = &tenant_key {
        ok &= check_column(ctx, tr, k, format!("{path}.tenant_key"));
    }

    // Visible columns.
    let visible: Vec<String> = match &t.visible_columns {
        Some(v) => {
            for (j, c) in v.iter().enumerate() {
                let p = format!("{path}.visible_columns[{j}]");
                if !check_column(ctx, tr, c, p.clone()) {
                    continue;
                }
                if is_secret_name(c) {
                    ctx.problem("ANSWERS_SECRET_VISIBLE", p, format!("`{c}` is named like a credential and is never shown to a model"), "remove it from visible_columns (config validation refuses it: SECRET_COLUMN_VISIBLE)");
                } else if is_sensitive(tr, t, c) {
                    let kind = column(tr, c)
                        .and_then(|c| c.sensitive)
                        .map(|k| k.as_str())
                        .unwrap_or("credential");
                    ctx.problem("ANSWERS_SENSITIVE_VISIBLE", p, format!("`{c}` looks sensitive ({kind}) and would be shown to the model"), "remove it from visible_columns, or list it under include_sensitive to show it on purpose");
                }
            }
            if v.is_empty() {
                ctx.problem(
                    "ANSWERS_VISIBLE_REQUIRED",
                    format!("{path}.visible_columns"),
                    "no visible column".into(),
                    "list the columns the model may see",
                );
            }
            v.clone()
        }
        None => match tr {
            Some(r) => {
                let mut v: Vec<String> = r
                    .visible_columns
                    .iter()
                    .filter(|c| is_safe_identifier(c) && !is_secret_name(c))
                    .cloned()
                    .collect();
                for c in &t.include_sensitive {
                    if !v.contains(c)
                        && check_column(ctx, tr, c, format!("{path}.include_sensitive"))
                    {
                        v.push(c.clone());
                    }
                }
                let hidden: Vec<&str> = r
                    .columns
                    .iter()
                    .filter(|c| !v.contains(&c.name))
                    .map(|c| c.name.as_str())
                    .collect();
                if !hidden.is_empty() {
                    ctx.notes.push(format!(
                        "{label}: not visible to the model: {}",
                        hidden.join(", ")
                    ));
                }
                v
            }
            None => {
                ctx.problem(
                    "ANSWERS_VISIBLE_REQUIRED",
                    format!("{path}.visible_columns"),
                    "no visible columns and no inspection to suggest them".into(),
                    "list visible_columns, or give a database (--url-env) or --inspection-json",
                );
                return;
            }
        },
    };
    if !ok {
        return;
    }
    let mut visible_columns = vec![primary_key.clone()];
    for c in visible {
        if !visible_columns.contains(&c) {
            visible_columns.push(c);
        }
    }

    // Names.
    let object = t
        .object_name
        .clone()
        .unwrap_or_else(|| singular(&safe_name(&t.table)));
    let namespace = t
        .namespace
        .clone()
        .unwrap_or_else(|| object.split('_').next().unwrap_or("app").to_owned());
    let lookup = t
        .lookup_arg
        .clone()
        .unwrap_or_else(|| arg_name(&format!("{object}_id")));
    let object_label = object.replace('_', " ");
    for (what, v) in [
        ("namespace", &namespace),
        ("object_name", &object),
        ("lookup_arg", &lookup),
    ] {
        if !is_safe_identifier(v) {
            ctx.problem(
                "ANSWERS_UNSAFE_IDENTIFIER",
                format!("{path}.{what}"),
                format!("`{}` is not a plain identifier", v.escape_default()),
                "use letters, digits and _",
            );
            return;
        }
    }
    if is_reserved_arg_name(&lookup) {
        ctx.problem(
            "ANSWERS_RESERVED_ARG",
            format!("{path}.lookup_arg"),
            format!("`{lookup}` names trusted context and cannot be a model argument"),
            "choose another lookup_arg, e.g. record_id",
        );
        return;
    }
    let read_name = t
        .read_tool
        .clone()
        .unwrap_or_else(|| format!("{namespace}.inspect_{object}"));
    if !is_capability_name(&read_name) {
        ctx.problem(
            "ANSWERS_INVALID_TOOL_NAME",
            format!("{path}.read_tool"),
            format!("`{}` is not namespace.name", read_name.escape_default()),
            "e.g. billing.inspect_invoice",
        );
    }
    let target = Target {
        schema: schema.clone(),
        table: t.table.clone(),
        primary_key: primary_key.clone(),
        tenant_key: tenant_key.clone(),
        single_tenant_dev: t.single_tenant_dev.then_some(true),
    };
    let id_arg = Arg {
        kind: ArgType::String,
        description: Some(format!(
            "Id of the {object_label}, from the user's request."
        )),
        required: Some(true),
        max_length: Some(128),
        minimum: None,
        maximum: None,
        allowed: None,
    };
    let mut args = IndexMap::new();
    args.insert(lookup.clone(), id_arg.clone());
    out.push(Capability {
        name: read_name,
        kind: CapabilityKind::Read,
        description: Some(
            t.read_description
                .clone()
                .unwrap_or_else(|| format!("Show one {object_label} of the current tenant.")),
        ),
        returns_hint: Some(t.read_returns_hint.clone().unwrap_or_else(|| {
            format!("The {object_label}'s reviewed fields and an evidence handle; changes nothing.")
        })),
        source: source.to_owned(),
        context: None,
        executor: None,
        target: target.clone(),
        args,
        lookup: Lookup {
            id_from_arg: lookup.clone(),
        },
        visible_columns: visible_columns.clone(),
        evidence: Some(json!("required")),
        max_rows: Some(1),
        patch: None,
        allowed_columns: None,
        numeric_bounds: None,
        transition_guards: None,
        conflict_guard: None,
        approval: None,
        single_tenant_dev_ack: None,
    });

    let several = t.proposals.len() > 1;
    for (k, p) in t.proposals.iter().enumerate() {
        let pp = format!("{path}.proposals[{k}]");
        let default_name = if several {
            format!("{namespace}.propose_{object}_update_{}", k + 1)
        } else {
            format!("{namespace}.propose_{object}_update")
        };
        let keys = Keys {
            primary_key: &primary_key,
            tenant_key: tenant_key.as_deref(),
            label: &label,
        };
        if let Some(cap) = proposal(ctx, t, tr, p, &pp, &keys, default_name, &object_label) {
            let mut cap = cap;
            cap.source = source.to_owned();
            cap.executor = executor.map(str::to_owned);
            cap.target = target.clone();
            cap.lookup = Lookup {
                id_from_arg: lookup.clone(),
            };
            cap.args.shift_insert(0, lookup.clone(), id_arg.clone());
            let mut vis = visible_columns.clone();
            for c in cap.patch.iter().flat_map(|p| p.keys()) {
                if !vis.contains(c) {
                    vis.push(c.clone());
                }
            }
            cap.visible_columns = vis;
            out.push(cap);
        }
    }
}

struct Keys<'a> {
    primary_key: &'a str,
    tenant_key: Option<&'a str>,
    label: &'a str,
}

#[allow(clippy::too_many_arguments)]
fn proposal(
    ctx: &mut Ctx,
    t: &TableAnswers,
    tr: Option<&TableReport>,
    p: &ProposalAnswers,
    path: &str,
    keys: &Keys<'_>,
    default_name: String,
    object_label: &str,
) -> Option<Capability> {
    let name = p.name.clone().unwrap_or(default_name);
    if !is_capability_name(&name) {
        ctx.problem(
            "ANSWERS_INVALID_TOOL_NAME",
            format!("{path}.name"),
            format!("`{}` is not namespace.name", name.escape_default()),
            "e.g. billing.propose_invoice_update",
        );
        return None;
    }
    let before = ctx.problems.len();
    let mut patch: IndexMap<String, PatchBinding> = IndexMap::new();
    for c in &p.columns {
        patch.insert(
            c.clone(),
            PatchBinding {
                fixed: None,
                from_arg: Some(arg_name(c)),
            },
        );
    }
    for (c, v) in &p.fixed {
        patch.insert(
            c.clone(),
            PatchBinding {
                fixed: Some(v.clone()),
                from_arg: None,
            },
        );
    }
    for (c, b) in &p.patch {
        patch.insert(c.clone(), b.clone());
    }
    if patch.is_empty() {
        ctx.problem(
            "ANSWERS_EMPTY_PATCH",
            path.to_owned(),
            "a proposal tool that changes no column".into(),
            "list `columns` the model may set (or `fixed` values)",
        );
        return None;
    }
    let conflict = match &p.conflict_column {
        Some(c) => Some(c.clone()),
        None => tr
            .and_then(|r| r.candidates.conflict_guard.first())
            .map(|g| g.column.clone()),
    };
    for c in patch.keys() {
        let cp = format!("{path}.columns.{c}");
        if !check_column(ctx, tr, c, cp.clone()) {
            continue;
        }
        let col = column(tr, c);
        let refused = if c == keys.primary_key || Some(c.as_str()) == keys.tenant_key {
            Some("is the row's key or tenant column")
        } else if col.is_some_and(|c| c.generated) {
            Some("is generated by the database")
        } else if col.is_some_and(|c| c.auto_increment) {
            Some("is filled by the database")
        } else if Some(c) == conflict.as_ref() {
            Some("is the conflict-guard column")
        } else if col.is_some_and(|c| {
            matches!(
                c.category,
                TypeCategory::Binary | TypeCategory::Json | TypeCategory::Other
            )
        }) {
            Some("has a type a tool argument cannot carry (binary, JSON or other)")
        } else {
            None
        };
        if let Some(why) = refused {
            ctx.problem(
                "ANSWERS_COLUMN_NOT_PATCHABLE",
                cp,
                format!("`{c}` {why}"),
                "patch only business columns",
            );
        } else if is_sensitive(tr, t, c) {
            ctx.problem(
                "ANSWERS_SENSITIVE_PATCH",
                cp,
                format!("`{c}` looks sensitive; a model would write it"),
                "list it under include_sensitive to allow it on purpose",
            );
        }
    }
    let allowed_columns: Vec<String> = p
        .allowed_columns
        .clone()
        .unwrap_or_else(|| patch.keys().cloned().collect());
    for c in patch.keys() {
        if !allowed_columns.contains(c) {
            ctx.problem(
                "ANSWERS_PATCH_NOT_ALLOWED",
                format!("{path}.allowed_columns"),
                format!("patched column `{c}` is not in allowed_columns"),
                "add it to allowed_columns or leave allowed_columns out",
            );
        }
    }
    for (j, c) in allowed_columns.iter().enumerate() {
        check_column(ctx, tr, c, format!("{path}.allowed_columns[{j}]"));
    }
    // Guards: given, else suggested from the database's own constraints.
    let numeric_bounds: IndexMap<String, NumericBound> = match &p.numeric_bounds {
        Some(b) => b.clone(),
        None => patch
            .keys()
            .filter_map(|c| Some((c.clone(), suggest::numeric_bound(tr?, column(tr, c)?)?)))
            .collect(),
    };
    for (c, b) in &numeric_bounds {
        if !patch.contains_key(c) {
            ctx.problem(
                "ANSWERS_GUARD_NOT_PATCHED",
                format!("{path}.numeric_bounds.{c}"),
                format!("`{c}` is bounded but not patched"),
                "bound only patched columns",
            );
        }
        if let (Some(a), Some(z)) = (b.minimum, b.maximum)
            && a > z
        {
            ctx.problem(
                "ANSWERS_INVALID_BOUND",
                format!("{path}.numeric_bounds.{c}"),
                format!("minimum {a} above maximum {z}"),
                "swap them",
            );
        }
    }
    let transition_guards: IndexMap<String, TransitionGuard> = match &p.transition_guards {
        Some(g) => g.clone(),
        None => patch
            .iter()
            .filter(|(_, b)| b.from_arg.is_some())
            .filter_map(|(c, _)| {
                let values = suggest::allowed_values(tr?, column(tr, c)?)?;
                Some((c.clone(), suggest::transition_guard(&values)))
            })
            .collect(),
    };
    for c in transition_guards.keys() {
        if !patch.contains_key(c) {
            ctx.problem(
                "ANSWERS_GUARD_NOT_PATCHED",
                format!("{path}.transition_guards.{c}"),
                format!("`{c}` has a transition guard but is not patched"),
                "guard only patched columns",
            );
        }
    }
    // Arguments: inferred from the column, unless declared.
    let mut args: IndexMap<String, Arg> = IndexMap::new();
    for (c, b) in &patch {
        let Some(a) = &b.from_arg else { continue };
        if is_reserved_arg_name(a) {
            ctx.problem(
                "ANSWERS_RESERVED_ARG",
                format!("{path}.patch.{c}"),
                format!("argument `{a}` names trusted context"),
                "use another argument name",
            );
            continue;
        }
        let values: Option<Vec<String>> = transition_guards.get(c).map(|g| {
            let mut v: Vec<String> = Vec::new();
            for t in g.allowed.values().flatten() {
                if !v.contains(t) {
                    v.push(t.clone());
                }
            }
            v
        });
        let arg = p.args.get(a).cloned().unwrap_or_else(|| {
            inferred_arg(column(tr, c), numeric_bounds.get(c), values.as_deref())
        });
        args.insert(a.clone(), arg);
    }
    let conflict_guard = match conflict {
        Some(c) => {
            if !check_column(ctx, tr, &c, format!("{path}.conflict_column")) {
                return None;
            }
            let guard = tr.and_then(|r| r.candidates.conflict_guard.iter().find(|g| g.column == c));
            let bump =
                guard.is_some_and(|g| g.kind == GuardKind::Version && g.maintained_by.is_none());
            if guard.is_none() && tr.is_some() {
                ctx.notes.push(format!("{}: conflict column `{c}` is not a suggested version or timestamp column; make sure every write changes it", keys.label));
            }
            ConflictGuard {
                column: Some(c),
                weak_guard_ack: None,
                bump: bump.then_some(true),
            }
        }
        None => {
            if !p.weak_guard_ack {
                ctx.notes.push(format!("{}: no version or updated-at column, so {name} uses the weaker whole-row guard (set weak_guard_ack or a conflict_column to silence this)", keys.label));
            }
            ConflictGuard {
                column: None,
                weak_guard_ack: Some(true),
                bump: None,
            }
        }
    };
    if ctx.problems.len() > before {
        return None;
    }
    Some(Capability {
        name,
        kind: CapabilityKind::Proposal,
        description: Some(p.description.clone().unwrap_or_else(|| format!("Propose a change to one {object_label} of the current tenant for a person to review. Changes nothing until approved."))),
        returns_hint: Some(p.returns_hint.clone().unwrap_or_else(|| "A proposal id, the exact before/after diff, and its approval status.".to_owned())),
        source: String::new(),
        context: None,
        executor: None,
        target: Target { schema: None, table: String::new(), primary_key: String::new(), tenant_key: None, single_tenant_dev: None },
        args,
        lookup: Lookup { id_from_arg: String::new() },
        visible_columns: Vec::new(),
        evidence: Some(json!("required")),
        max_rows: Some(1),
        patch: Some(patch),
        allowed_columns: Some(allowed_columns),
        numeric_bounds: (!numeric_bounds.is_empty()).then_some(numeric_bounds),
        transition_guards: (!transition_guards.is_empty()).then_some(transition_guards),
        conflict_guard: Some(conflict_guard),
        approval: Some(Approval {
            mode: Some("human".into()),
            required_role: Some(p.approval_role.clone().unwrap_or_else(|| DEFAULT_APPROVAL_ROLE.to_owned())),
            allow_self_approval: None,
        }),
        single_tenant_dev_ack: None,
    })
}

/// Options of [`suggested`].
#[derive(Debug, Clone, Default)]
pub struct SuggestOptions {
    /// Only these tables (`name` or `schema.name`); empty: every table that qualifies.
    pub tables: Vec<String>,
    /// Accept tables without a tenant column.
    pub single_tenant_dev: bool,
    /// Generate proposal tools for columns the database constrains (enums, CHECKs).
    pub proposals: bool,
}

/// Answers from the report alone, for `onboard db --yes`: each table with a plain name, a
/// one-column key and a tenant column (or every table, with `single_tenant_dev`) gets a read
/// tool; with `proposals`, a proposal tool over the columns whose values the database
/// constrains (enums, `CHECK … IN`, numeric CHECK bounds), so every suggested change has a
/// guard. Tables left out are listed in the second value with the reason.
pub fn suggested(report: &SchemaReport, opts: &SuggestOptions) -> (Answers, Vec<String>) {
    let mut skipped = Vec::new();
    let mut tables = Vec::new();
    for r in &report.tables {
        let full = format!("{}.{}", r.schema, r.name);
        let named = opts.tables.iter().any(|t| *t == r.name || *t == full);
        // Airlock's own receipts table is never a business table.
        if !named && (!opts.tables.is_empty() || r.name == crate::writer::RECEIPTS_TABLE) {
            continue;
        }
        let reason = if !is_safe_identifier(&r.name) || !is_safe_identifier(&r.schema) {
            Some("its name is not a plain identifier")
        } else if r.primary_key.len() != 1 {
            Some("no single-column primary key")
        } else if r.candidates.tenant.is_empty() && !opts.single_tenant_dev {
            Some("no tenant-like column (pass --single-tenant-dev for a single-tenant database)")
        } else if !r.readable {
            Some("not readable by this credential")
        } else {
            None
        };
        if let Some(why) = reason {
            skipped.push(format!("{full}: {why}"));
            continue;
        }
        let tenant = r.candidates.tenant.first().map(|c| c.column.clone());
        let mut t = TableAnswers {
            schema: Some(r.schema.clone()),
            table: r.name.clone(),
            single_tenant_dev: tenant.is_none(),
            ..Default::default()
        };
        if opts.proposals && r.kind == RelationKind::Table {
            let guard = r
                .candidates
                .conflict_guard
                .first()
                .map(|g| g.column.as_str());
            let columns: Vec<String> = r
                .columns
                .iter()
                .filter(|c| {
                    !r.primary_key.contains(&c.name)
                        && Some(&c.name) != tenant.as_ref()
                        && Some(c.name.as_str()) != guard
                        && !c.generated
                        && !c.auto_increment
                        && c.sensitive.is_none()
                        && is_safe_identifier(&c.name)
                        && !is_secret_name(&c.name)
                        && !is_reserved_arg_name(&c.name)
                        && !r.foreign_keys.iter().any(|f| f.columns.contains(&c.name))
                        && (suggest::allowed_values(r, c).is_some()
                            || suggest::numeric_bound(r, c).is_some())
                })
                .map(|c| c.name.clone())
                .collect();
            if !columns.is_empty() {
                t.proposals.push(ProposalAnswers {
                    columns,
                    weak_guard_ack: guard.is_none(),
                    ..Default::default()
                });
            }
        }
        tables.push(t);
    }
    for wanted in &opts.tables {
        if !report
            .tables
            .iter()
            .any(|r| r.name == *wanted || format!("{}.{}", r.schema, r.name) == *wanted)
        {
            skipped.push(format!("{wanted}: not in the inspected database"));
        }
    }
    let answers = Answers {
        format: ANSWERS_FORMAT.to_owned(),
        tables,
        ..Default::default()
    };
    (answers, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(singular("invoices"), "invoice");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("status"), "status");
        assert_eq!(safe_name("Order Items"), "order_items");
        assert_eq!(safe_name("2fa"), "record_2fa");
        assert_eq!(arg_name("tenant_id"), "tenant_id_value");
        assert_eq!(declared_length("character varying(80)"), Some(80));
        assert_eq!(declared_length("integer"), None);
    }
}
