//! `airlock init`: a config generated from the database. The route (answers file, the
//! original's `--spec`, scripted flags, defaults with `--yes`, the wizard on a terminal)
//! only decides where the answers come from; `airlock_db::onboard::generate` builds the
//! config, `airlock_config::validate` checks it, and [`write()`] puts it on disk with
//! `.env.example` and `NEXT-STEPS.md` beside it, all or nothing.

use std::path::{Path, PathBuf};

use airlock_cli::{InitArgs, InspectArgs};
use airlock_config::ExecutorKind;
use airlock_db::EngineKind;
use airlock_db::inspect::SchemaReport;
use airlock_db::onboard::recipes::{Placement, Recipe};
use airlock_db::onboard::{
    self, Answers, DEFAULT_READ_URL_ENV, Generated, Problem, SuggestOptions, original,
};
use serde_json::{Map, Value, json};

use crate::commands::handler::template;
use crate::output::{self, ExitStatus, hinted};

mod smoke;
mod wizard;
use crate::settings::Settings;

/// Format of the `--json` summary.
pub const SUMMARY_FORMAT: &str = "airlock.init.v1";
const DEFAULT_OUTPUT: &str = "airlock.json";

/// What a run produced, for the summary and for `onboard db`'s checks.
pub struct Outcome {
    pub config_path: PathBuf,
    pub generated: Generated,
    pub warnings: Vec<airlock_config::Issue>,
    pub written: Vec<PathBuf>,
    pub skipped: Vec<String>,
    /// The handler template written beside the config (`--emit-handler`), if any.
    pub handler: Option<PathBuf>,
    /// The first read's arguments (`--smoke-id`), if any.
    pub smoke_input: Option<PathBuf>,
    /// What the first read did (`--smoke-id`).
    pub smoke: Option<smoke::Smoke>,
}

pub async fn run(settings: &Settings, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    match generate_and_write(settings, args, false).await? {
        Some(outcome) => {
            summary(args, &outcome)?;
            Ok(ExitStatus::Success)
        }
        None => Ok(ExitStatus::Success),
    }
}

/// Whether the run must not prompt (the original's "scripted" rule, plus `--json`).
fn scripted(args: &InitArgs) -> bool {
    args.recipe.is_some()
        || args.yes
        || args.starter
        || args.non_interactive
        || args.dry_run
        || args.json
        || args.answers.is_some()
        || args.spec.is_some()
        || args.inspection_json.is_some()
        || !args.tables.is_empty()
}

/// Generates and writes (or prints, with `--dry-run`: then `None`). `defaults` is
/// `onboard db`'s rule: without answers or tables, `--yes` picks every suitable table.
pub async fn generate_and_write(
    settings: &Settings,
    args: &InitArgs,
    onboarding: bool,
) -> anyhow::Result<Option<Outcome>> {
    let recipe = match &args.recipe {
        Some(name) => Some(super::recipes::load(settings, name)?),
        None => None,
    };
    if args.spec.is_some() && !args.non_interactive && !args.yes {
        return Err(hinted(
            "[INIT_SPEC_NEEDS_NON_INTERACTIVE] init --spec requires --non-interactive, so reviewed selections are explicit",
            "add --non-interactive (or pass the file with --answers)",
        ));
    }
    let guided = !scripted(args) || args.wizard;
    if guided && !output::interactive() {
        return Err(no_terminal(onboarding));
    }
    let prompted_env = if guided && args.url.is_none() && args.url_env.is_none() {
        Some(wizard::env_name(
            "Variable holding the database URL (a read-only credential is enough):",
            DEFAULT_READ_URL_ENV,
        )?)
    } else {
        None
    };
    let report = load_report(settings, args, prompted_env.clone()).await?;
    let (mut answers, skipped) = match (guided, &report, &recipe) {
        (_, _, Some(recipe)) => (recipe_answers(args, recipe, report.as_ref()), Vec::new()),
        (true, Some(r), None) => (
            wizard::ask(r, prompted_env.or_else(|| args.url_env.clone()))?,
            Vec::new(),
        ),
        _ => answers(settings, args, report.as_ref())?,
    };
    fill_source(settings, args, &mut answers, report.as_ref());
    if report.is_none() && !args.starter {
        output::warn(
            "no database to check the answers against (pass --url-env VAR or --inspection-json FILE): table and column names are used as written",
        );
    }
    let mut generated = onboard::generate(&answers, report.as_ref()).map_err(problems)?;
    let schema_file = recipe
        .as_ref()
        .map(|r| recipe_finish(r, &mut generated, report.is_none()));
    let doc = serde_json::to_value(&generated.config)?;
    let checked = airlock_config::validate(&doc);
    if !checked.ok {
        let errors: Vec<String> = checked
            .errors
            .iter()
            .map(|i| format!("{} {}: {}", i.path, i.code, i.message))
            .collect();
        return Err(hinted(
            format!(
                "[INIT_GENERATED_INVALID] the generated config does not validate:\n  {}",
                errors.join("\n  ")
            ),
            "this is a bug in Airlock's generator; please report it with the answers used",
        ));
    }
    let config_path = settings
        .cwd
        .join(args.output.clone().unwrap_or_else(|| DEFAULT_OUTPUT.into()));
    let asked =
        args.emit_handler || args.handler_template.is_some() || args.handler_output.is_some();
    let mut handler = handler_files(settings, args, asked, &config_path, &generated)?;
    if guided
        && !asked
        && !args.no_emit_handler
        && !args.dry_run
        && has_handler_executor(&generated)
        && wizard::confirm_handler()?
    {
        handler = handler_files(settings, args, true, &config_path, &generated)?;
    }
    let mut generated = generated;
    let mut doc = doc;
    if matches!(&handler, Some((ExecutorKind::HttpHandler, _)))
        && sign_http_handlers(&mut generated)
    {
        doc = serde_json::to_value(&generated.config)?;
    }
    if args.dry_run {
        output::json(&doc)?;
        return Ok(None);
    }
    if let Some((kind, files)) = &handler
        && *kind == ExecutorKind::CommandHandler
        && let Some(program) = files.first()
    {
        point_command_env_at(&mut generated, &config_path, &program.path);
    }
    if guided
        && !wizard::confirm_write(
            &generated.tools,
            &format!(
                "{}, .env.example, NEXT-STEPS.md and the MCP snippets in {SNIPPET_DIR}{}",
                config_path.display(),
                if handler.is_some() {
                    " and the handler template"
                } else {
                    ""
                }
            ),
        )?
    {
        return Err(hinted(
            "[INIT_CANCELLED] nothing was written",
            "run it again, or save your choices in an answers file (docs/onboarding.md)",
        ));
    }
    let handler_files = handler.map(|(_, f)| f).unwrap_or_default();
    let mut extra: Vec<(PathBuf, String, bool)> = handler_files
        .iter()
        .map(|f| (f.path.clone(), f.text.to_owned(), f.executable))
        .collect();
    extra.extend(mcp_snippets(settings, &config_path, &generated)?);
    let smoke = match &args.smoke_id {
        Some(id) => Some(smoke_input(&config_path, &generated, id)?),
        None => None,
    };
    extra.extend(smoke.clone());
    if let Some(Some(sql)) = schema_file {
        extra.push((
            config_dir(&config_path).join(RECIPE_SCHEMA_FILE),
            sql.to_owned(),
            false,
        ));
    }
    let written = write(
        &config_path,
        &doc,
        &generated,
        &handler_files,
        extra,
        args.force,
    )?;
    let smoke_result = match &smoke {
        Some((_, text, _)) => {
            let input: Map<String, Value> = serde_json::from_str(text)?;
            let r = smoke::run(settings, &config_path, &input, args.url.as_deref()).await;
            record_smoke(&config_path, &r)?;
            Some(r)
        }
        None => None,
    };
    Ok(Some(Outcome {
        config_path,
        generated,
        warnings: checked.warnings,
        written,
        skipped,
        handler: handler_files.first().map(|f| f.path.clone()),
        smoke_input: smoke.map(|(p, _, _)| p),
        smoke: smoke_result,
    }))
}

/// Adds the first read's outcome to NEXT-STEPS.md.
fn record_smoke(config_path: &Path, r: &smoke::Smoke) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut f = fs_err::OpenOptions::new()
        .append(true)
        .open(config_dir(config_path).join("NEXT-STEPS.md"))?;
    let what = match r.status {
        "passed" => "passed",
        "failed" => "FAILED",
        _ => "not run yet",
    };
    writeln!(
        f,
        "\n## First read (`--smoke-id`)\n\n`{}`: {what}. {}\n",
        r.tool, r.detail
    )?;
    Ok(())
}

/// Where `--smoke-id` saves the first read's arguments, beside the config.
const SMOKE_INPUT: &str = ".airlock/smoke-input.json";

/// `--smoke-id ID`: the first read tool's arguments with the id, typed as its lookup argument
/// declares (a number stays a number), checked against that argument's limits.
fn smoke_input(
    config_path: &Path,
    g: &Generated,
    id: &str,
) -> anyhow::Result<(PathBuf, String, bool)> {
    let read = g
        .config
        .capabilities
        .iter()
        .find(|c| c.kind == airlock_config::CapabilityKind::Read)
        .ok_or_else(|| {
            hinted(
                "[INIT_SMOKE_ID_INVALID] --smoke-id: the config has no read tool to call",
                "drop --smoke-id",
            )
        })?;
    let arg_name = &read.lookup.id_from_arg;
    let bad = |why: String| {
        hinted(
            format!(
                "[INIT_SMOKE_ID_INVALID] --smoke-id for {arg_name} of {}: {why}",
                read.name
            ),
            "pass the id of one real row the read tool should find; nothing was written",
        )
    };
    let id = id.trim();
    if id.is_empty() {
        return Err(bad("empty".into()));
    }
    let arg = read.args.get(arg_name);
    let value = match arg.map(|a| a.kind) {
        Some(airlock_config::ArgType::Number) => id
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| id.parse::<f64>().map(Value::from))
            .map_err(|_| bad(format!("`{id}` is not a number")))?,
        _ => {
            let max = arg.and_then(|a| a.max_length).unwrap_or(128);
            if id.chars().count() as u64 > max {
                return Err(bad(format!("longer than {max} characters")));
            }
            json!(id)
        }
    };
    let mut args = Map::new();
    args.insert(arg_name.clone(), value);
    Ok((
        config_dir(config_path).join(SMOKE_INPUT),
        serde_json::to_string_pretty(&Value::Object(args))? + "\n",
        false,
    ))
}

/// The handler template to write with the config (the original's `--emit-handler` and
/// friends), with the executor kind it serves; `None` when not asked for or suppressed.
fn handler_files(
    settings: &Settings,
    args: &InitArgs,
    asked: bool,
    config_path: &Path,
    g: &Generated,
) -> anyhow::Result<Option<(ExecutorKind, Vec<template::Planned>)>> {
    if !asked || args.no_emit_handler {
        return Ok(None);
    }
    let Some(kind) = g
        .config
        .executors
        .iter()
        .flatten()
        .map(|(_, e)| e.kind)
        .find(|k| *k != ExecutorKind::SqlUpdate)
    else {
        output::warn(
            "no handler written: the config applies with sql_update (pass --writeback http_handler or command_handler for an app-owned handler)",
        );
        return Ok(None);
    };
    let default = match kind {
        ExecutorKind::CommandHandler => "command",
        _ => "node-fastify",
    };
    let t = template::resolve(args.handler_template.as_deref().unwrap_or(default))?;
    let files = match &args.handler_output {
        Some(out) => template::plan(&settings.cwd, t, Some(out)),
        None => template::plan(&config_dir(config_path), t, None),
    };
    Ok(Some((kind, files)))
}

/// Where the MCP client snippets go, beside the config.
const SNIPPET_DIR: &str = ".airlock/mcp";

/// The `airlock mcp client-config` snippets for the common stdio clients, pointing at this
/// binary, the config and its ledger (absolute paths; no URL or credential).
fn mcp_snippets(
    settings: &Settings,
    config_path: &Path,
    g: &Generated,
) -> anyhow::Result<Vec<(PathBuf, String, bool)>> {
    use airlock_mcp::client_config::{Client, Launcher, SnippetInputs, snippet};
    let launcher = Launcher::Binary(std::env::current_exe()?);
    let dir = config_dir(config_path);
    let store = match g
        .config
        .storage
        .as_ref()
        .and_then(|s| s.sqlite_path.as_ref())
    {
        Some(path) => crate::settings::absolute(&dir, Path::new(path)),
        None => crate::settings::absolute(&settings.cwd, Path::new(crate::settings::DEFAULT_STORE)),
    };
    let mut out = Vec::new();
    for (client, file) in [
        (Client::Generic, "generic-stdio.json"),
        (Client::ClaudeDesktop, "claude-desktop.json"),
        (Client::Cursor, "cursor.json"),
        (Client::Vscode, "vscode.json"),
    ] {
        let inputs = SnippetInputs {
            client,
            server_name: "airlock".into(),
            launcher: launcher.clone(),
            config: config_path.to_path_buf(),
            store: Some(store.clone()),
            alias_mode: None,
            host: "127.0.0.1".into(),
            port: 0,
            auth_token_env: String::new(),
            include_instructions: false,
            example_tool: g.tools.first().cloned(),
        };
        out.push((
            dir.join(SNIPPET_DIR).join(file),
            serde_json::to_string_pretty(&snippet(&inputs))? + "\n",
            false,
        ));
    }
    Ok(out)
}

/// An emitted HTTP template refuses to start without a token or signing secret, and doctor
/// fails an http_handler with neither: with a template, every http_handler gets both (under
/// the default variable names when the answers named none). Whether anything changed.
fn sign_http_handlers(g: &mut Generated) -> bool {
    use airlock_config::{ExecutorAuth, env_vars};
    let mut added = Vec::new();
    for (_, e) in g.config.executors.iter_mut().flatten() {
        if e.kind != ExecutorKind::HttpHandler {
            continue;
        }
        if e.auth.is_none() {
            e.auth = Some(ExecutorAuth {
                kind: "bearer_env".into(),
                token_env: env_vars::SYNAPSOR_APP_WRITEBACK_TOKEN.into(),
            });
            added.push((
                env_vars::SYNAPSOR_APP_WRITEBACK_TOKEN,
                "bearer token Airlock sends to the handler; start the emitted handler with AIRLOCK_HANDLER_TOKEN set to the same value",
            ));
        }
        if e.signing_secret_env.is_none() {
            e.signing_secret_env = Some(env_vars::SYNAPSOR_APP_WRITEBACK_SIGNING_SECRET.into());
            added.push((
                env_vars::SYNAPSOR_APP_WRITEBACK_SIGNING_SECRET,
                "HMAC secret the handler checks each request's signature with; start the emitted handler with AIRLOCK_HANDLER_SIGNING_SECRET set to the same value",
            ));
        }
    }
    let changed = !added.is_empty();
    for (name, purpose) in added {
        if !g.env_vars.iter().any(|v| v.name == name) {
            g.env_vars.push(onboard::EnvVarDoc {
                name: name.into(),
                purpose: purpose.into(),
                example: "CHANGE_ME".into(),
            });
        }
    }
    changed
}

fn has_handler_executor(g: &Generated) -> bool {
    g.config
        .executors
        .iter()
        .flatten()
        .any(|(_, e)| e.kind != ExecutorKind::SqlUpdate)
}

fn config_dir(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `.env.example` suggests the emitted program as the command_handler's command.
fn point_command_env_at(g: &mut Generated, config_path: &Path, program: &Path) {
    let dir = config_dir(config_path);
    let shown = program.strip_prefix(&dir).map_or_else(
        |_| program.display().to_string(),
        |p| format!("./{}", p.display()),
    );
    let envs: Vec<String> = g
        .config
        .executors
        .iter()
        .flatten()
        .filter_map(|(_, e)| e.command_env.clone())
        .collect();
    for v in &mut g.env_vars {
        if envs.contains(&v.name) {
            v.example = shown.clone();
        }
    }
}

fn no_terminal(onboarding: bool) -> anyhow::Error {
    let verb = if onboarding { "onboard db" } else { "init" };
    hinted(
        format!(
            "[INIT_NOT_A_TERMINAL] `airlock {verb}` asks questions, and stdin/stdout is not a terminal"
        ),
        "run prompt-free: `airlock onboard db --url-env DATABASE_URL --yes` (defaults), `airlock init --answers FILE` (your choices), or `airlock init --table NAME --non-interactive` (flags), or `airlock init --starter` (a skeleton to edit, no database)",
    )
}

fn problems(list: Vec<Problem>) -> anyhow::Error {
    let hint = list.first().map(|p| p.hint.clone()).unwrap_or_default();
    let lines: Vec<String> = list
        .iter()
        .map(|p| format!("[{}] {}: {}", p.code, p.path, p.message))
        .collect();
    for p in list.iter().skip(1) {
        output::warn(&format!("{}: hint: {}", p.code, p.hint));
    }
    hinted(
        format!(
            "[INIT_ANSWERS_INVALID] {} problem(s) with the answers:\n  {}",
            lines.len(),
            lines.join("\n  ")
        ),
        hint,
    )
}

/// The report: a saved one, a live inspection, or none (answers used as written).
async fn load_report(
    settings: &Settings,
    args: &InitArgs,
    prompted_env: Option<String>,
) -> anyhow::Result<Option<SchemaReport>> {
    if args.starter {
        return Ok(None);
    }
    if let Some(file) = &args.inspection_json {
        let path = settings.cwd.join(file);
        let text = fs_err::read_to_string(&path)?;
        let report: SchemaReport = serde_json::from_str(&text).map_err(|e| {
            hinted(
                format!(
                    "[INIT_INSPECTION_INVALID] {} is not an `airlock inspect --json` report: {e}",
                    path.display()
                ),
                "save one with `airlock inspect --url-env VAR --json > inspection.json`",
            )
        })?;
        return Ok(Some(report));
    }
    let from_file = args.answers.is_some() || args.spec.is_some() || args.recipe.is_some();
    let url_env = match (&args.url, &args.url_env) {
        (None, None) if from_file => {
            // The answers may name the variable; use it when it is set.
            None
        }
        _ => prompted_env.or_else(|| args.url_env.clone()),
    };
    if args.url.is_none() && url_env.is_none() {
        if from_file {
            return Ok(None);
        }
        return Err(hinted(
            "[INIT_URL_MISSING] no database to inspect",
            "pass --url-env VAR (the variable holding the URL), --url URL, or --inspection-json FILE",
        ));
    }
    let inspect_args = InspectArgs {
        url: args.url.clone(),
        url_env,
        source: None,
        schema: args.schema.clone(),
        json: false,
    };
    let source = super::inspect::resolve(settings, &inspect_args)?;
    let wanted = match args.engine.as_str() {
        "postgres" => Some(EngineKind::Postgres),
        "mysql" | "mariadb" => Some(EngineKind::Mysql),
        "sqlite" => Some(EngineKind::Sqlite),
        _ => None,
    };
    if let Some(w) = wanted.filter(|w| *w != source.engine) {
        return Err(hinted(
            format!(
                "[INIT_ENGINE_MISMATCH] --engine {} but the URL is {}",
                w.as_str(),
                source.engine.as_str()
            ),
            "drop --engine (auto reads the URL) or fix the URL",
        ));
    }
    if !args.json {
        output::warn("inspecting the database catalog (metadata only, no rows)");
    }
    Ok(Some(
        super::inspect::inspect_source(&source, args.schema.as_deref()).await?,
    ))
}

/// Answers from the file, from the flags of one `--table`, or suggested from the report.
fn answers(
    settings: &Settings,
    args: &InitArgs,
    report: Option<&SchemaReport>,
) -> anyhow::Result<(Answers, Vec<String>)> {
    if let Some(file) = args.answers.as_ref().or(args.spec.as_ref()) {
        let path = settings.cwd.join(file);
        let text = fs_err::read_to_string(&path)?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            hinted(
                format!(
                    "[INIT_ANSWERS_MALFORMED] {} is not JSON: {e}",
                    path.display()
                ),
                "fix the JSON (the line and column are above)",
            )
        })?;
        let mut answers = original::read_answers(&doc).map_err(problems)?;
        apply_flags(args, &mut answers);
        return Ok((answers, Vec::new()));
    }
    if args.starter {
        let mut answers = original::from_flat(&starter(args)).map_err(problems)?;
        apply_flags(args, &mut answers);
        return Ok((answers, Vec::new()));
    }
    let flags = flat_flags(args);
    if args.tables.len() == 1 && !flags.is_empty() || (!args.yes && !args.tables.is_empty()) {
        if args.tables.len() != 1 {
            return Err(hinted(
                "[INIT_ONE_TABLE] table flags apply to exactly one --table",
                "pass one --table with its flags, or use --answers FILE for several tables",
            ));
        }
        let mut flat = flags;
        let (schema, table) = match args.tables[0].split_once('.') {
            Some((s, t)) => (Some(s.to_owned()), t.to_owned()),
            None => (args.schema.clone(), args.tables[0].clone()),
        };
        flat.insert("table".into(), json!(table));
        if let Some(s) = schema {
            flat.insert("schema".into(), json!(s));
        }
        if args.single_tenant_dev {
            flat.insert("single_tenant_dev".into(), json!(true));
        }
        let mut answers = original::from_flat(&Value::Object(flat)).map_err(problems)?;
        apply_flags(args, &mut answers);
        return Ok((answers, Vec::new()));
    }
    let Some(report) = report else {
        return Err(hinted(
            "[INIT_URL_MISSING] no database to suggest tables from",
            "pass --url-env VAR or --inspection-json FILE",
        ));
    };
    let (mut answers, skipped) = onboard::suggested(
        report,
        &SuggestOptions {
            tables: args.tables.clone(),
            single_tenant_dev: args.single_tenant_dev,
            proposals: !args.read_only_tools && args.mode.as_deref() != Some("read_only"),
        },
    );
    for s in &skipped {
        output::warn(&format!("skipped {s}"));
    }
    if answers.tables.is_empty() {
        return Err(hinted(
            "[INIT_NO_TABLES] no table qualifies for a tool",
            "each needs a plain name, a one-column primary key and a tenant column; name one with --table NAME (and --tenant-column COL or --single-tenant-dev)",
        ));
    }
    apply_flags(args, &mut answers);
    Ok((answers, skipped))
}

/// Where `--recipe` writes its table's DDL when no database was inspected.
const RECIPE_SCHEMA_FILE: &str = "schema.sql";

/// `--recipe`: the recipe's answers, placed on the engine and table of this run, with the
/// flags that apply to any answers. Operators named without roles get the recipe's roles.
fn recipe_answers(args: &InitArgs, recipe: &Recipe, report: Option<&SchemaReport>) -> Answers {
    let engine = match (report, args.engine.as_str()) {
        (Some(_), _) => None,
        (None, "mysql" | "mariadb") => Some(airlock_config::Engine::Mysql),
        (None, "sqlite") => Some(airlock_config::Engine::Sqlite),
        (None, _) => Some(airlock_config::Engine::Postgres),
    };
    let sqlite_file = engine == Some(airlock_config::Engine::Sqlite) && args.url.is_none();
    let placement = Placement {
        engine,
        mode: args
            .mode
            .as_deref()
            .and_then(|m| serde_json::from_value(json!(m)).ok()),
        table: args.tables.first().map(|t| {
            t.split_once('.')
                .map_or(t.clone(), |(_, name)| name.to_owned())
        }),
        schema: args
            .tables
            .first()
            .and_then(|t| t.split_once('.').map(|(s, _)| s.to_owned()))
            .or_else(|| args.schema.clone()),
        sqlite_path: sqlite_file.then(|| "app.db".to_owned()),
    };
    let mut answers = recipe.answers(&placement);
    apply_flags(args, &mut answers);
    if args.table_flags.approval_role.is_none() {
        for op in args.operators.iter().filter(|o| !o.contains('=')) {
            answers
                .operators
                .insert(op.trim().to_owned(), recipe.roles());
        }
    }
    answers
}

/// What the generator cannot know from the answers (the recipe's version column is
/// Airlock's to advance), the recipe's notes, and the DDL to write when no database was
/// inspected.
fn recipe_finish(recipe: &Recipe, g: &mut Generated, no_database: bool) -> Option<&'static str> {
    recipe.finish(&mut g.config);
    g.notes.extend(recipe.notes.iter().cloned());
    let engine = g.config.sources.values().next().map(|s| s.engine)?;
    let sql = recipe.schema_sql(engine).filter(|_| no_database)?;
    let how = match engine {
        airlock_config::Engine::Postgres => "psql \"$DATABASE_URL\" -f schema.sql",
        airlock_config::Engine::Mysql => "mysql DATABASE < schema.sql",
        airlock_config::Engine::Sqlite => "sqlite3 app.db < schema.sql",
    };
    g.notes.push(format!(
        "{RECIPE_SCHEMA_FILE} creates the table the recipe expects, with example rows, for a disposable database (`{how}`); on your own database, map the recipe onto your table with `airlock init --recipe {} --table NAME --url-env DATABASE_URL`",
        recipe.id
    ));
    Some(sql)
}

/// `--starter`: the original's skeleton, a read tool on a placeholder `records` table, as
/// flat answers (the same generator and checks as every other route).
fn starter(args: &InitArgs) -> Value {
    let (engine, schema) = match args.engine.as_str() {
        "mysql" | "mariadb" => ("mysql", "app"),
        "sqlite" => ("sqlite", "main"),
        _ => ("postgres", "public"),
    };
    let mut flat = flat_flags(args);
    for (k, v) in [
        ("engine", json!(engine)),
        ("schema", json!(schema)),
        ("table", json!("records")),
        ("primary_key", json!("id")),
        ("tenant_key", json!("tenant_id")),
        ("visible_columns", json!("id,tenant_id,updated_at")),
        ("lookup_arg", json!("record_id")),
    ] {
        flat.entry(k).or_insert(v);
    }
    Value::Object(flat)
}

/// The scripted per-table flags as the original's flat answers keys.
fn flat_flags(args: &InitArgs) -> Map<String, Value> {
    let f = &args.table_flags;
    let mut m = Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    put("primary_key", &f.primary_key);
    put("tenant_key", &f.tenant_column);
    put("conflict_column", &f.conflict_column);
    put("visible_columns", &f.visible_columns);
    put("allowed_columns", &f.allowed_columns);
    put("writeback", &f.writeback);
    put("executor_name", &f.executor_name);
    put("handler_url_env", &f.handler_url_env);
    put("handler_token_env", &f.handler_token_env);
    put("handler_signing_secret_env", &f.handler_signing_secret_env);
    put("handler_command_env", &f.handler_command_env);
    put("namespace", &f.namespace);
    put("object_name", &f.object_name);
    put("read_tool", &f.read_tool);
    put("proposal_tool", &f.proposal_tool);
    put("lookup_arg", &f.id_arg);
    put("read_description", &f.read_description);
    put("read_returns_hint", &f.read_returns_hint);
    put("proposal_description", &f.proposal_description);
    put("proposal_returns_hint", &f.proposal_returns_hint);
    let mut patch: Vec<String> = f
        .patch
        .iter()
        .flat_map(|p| p.split(',').map(str::to_owned))
        .collect();
    patch.extend(
        f.patch_fixed
            .iter()
            .filter_map(|p| p.split_once('=').map(|(c, v)| format!("{c}=fixed:{v}"))),
    );
    patch.extend(
        f.patch_from_arg
            .iter()
            .filter_map(|p| p.split_once('=').map(|(c, a)| format!("{c}=arg:{a}"))),
    );
    if !patch.is_empty() {
        m.insert("patch".into(), json!(patch));
    }
    let split = |v: &[String]| -> Vec<String> {
        v.iter()
            .flat_map(|p| p.split(',').map(str::to_owned))
            .collect()
    };
    if !f.numeric_bound.is_empty() {
        m.insert("numeric_bounds".into(), json!(split(&f.numeric_bound)));
    }
    if !f.transition_guard.is_empty() {
        m.insert(
            "transition_guards".into(),
            json!(split(&f.transition_guard)),
        );
    }
    if let Some(ms) = f.handler_timeout_ms {
        m.insert("timeout_ms".into(), json!(ms));
    }
    m
}

/// Flags that apply whatever the answers' source (they win over the file).
fn apply_flags(args: &InitArgs, a: &mut Answers) {
    let f = &args.table_flags;
    if let Some(m) = &args.mode {
        a.mode = serde_json::from_value(json!(m)).ok();
    }
    if let Some(rf) = &f.result_format {
        a.result_format = Some(if rf.ends_with('1') { 1 } else { 2 });
    }
    if let Some(n) = &f.source_name {
        a.source.name = Some(n.clone());
    }
    if let Some(w) = &f.write_url_env {
        a.source.write_url_env = Some(w.clone());
    }
    if let Some(t) = &f.tenant_env {
        a.trusted_context.tenant_id_env = Some(t.clone());
    }
    if let Some(p) = &f.principal_env {
        a.trusted_context.principal_env = Some(p.clone());
    }
    if a.executor.is_none() && f.writeback.as_deref().is_some_and(|w| w != "sql_update") {
        // Only reached with --yes defaults: the flat path carries the executor itself.
        if let Ok(flat) = original::from_flat(&Value::Object({
            let mut m = flat_flags(args);
            m.insert("table".into(), json!("_"));
            m
        })) {
            a.executor = flat.executor;
        }
    }
    for t in &mut a.tables {
        for p in &mut t.proposals {
            if let Some(r) = &f.approval_role {
                p.approval_role = Some(r.clone());
            }
        }
    }
    let default_role = f
        .approval_role
        .clone()
        .unwrap_or_else(|| "local_reviewer".to_owned());
    for op in &args.operators {
        let (name, roles) = match op.split_once('=') {
            Some((n, r)) => (
                n.trim(),
                r.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
            None => (op.trim(), vec![default_role.clone()]),
        };
        a.operators.insert(name.to_owned(), roles);
    }
}

/// Where the config reads the database: the variable given, or the SQLite file.
fn fill_source(
    settings: &Settings,
    args: &InitArgs,
    a: &mut Answers,
    report: Option<&SchemaReport>,
) {
    if a.source.read_url_env.is_none() {
        a.source.read_url_env = args.url_env.clone();
    }
    let sqlite = report.is_some_and(|r| r.engine == "sqlite");
    if sqlite
        && a.source.path.is_none()
        && args.url_env.is_none()
        && let Some(url) = &args.url
    {
        let file = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("file:"))
            .unwrap_or(url);
        let file = file.split('?').next().unwrap_or(file);
        let abs = settings.cwd.join(file);
        let config_dir = settings
            .cwd
            .join(args.output.clone().unwrap_or_else(|| DEFAULT_OUTPUT.into()))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let shown = abs
            .strip_prefix(&config_dir)
            .map(Path::to_path_buf)
            .unwrap_or(abs);
        a.source.path = Some(shown.to_string_lossy().into_owned());
    }
    if !sqlite && a.source.read_url_env.is_none() && args.url.is_some() {
        output::warn(&format!(
            "the URL given with --url is used for inspection only; the config reads it from ${DEFAULT_READ_URL_ENV}"
        ));
    }
}

/// Writes the config, `.env.example` and `NEXT-STEPS.md`; refuses before writing anything
/// when one exists and `force` is off.
fn write(
    config_path: &Path,
    doc: &Value,
    g: &Generated,
    handler: &[template::Planned],
    extra: Vec<(PathBuf, String, bool)>,
    force: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let dir = config_dir(config_path);
    let mut files = vec![
        (
            config_path.to_path_buf(),
            serde_json::to_string_pretty(doc)? + "\n",
            false,
        ),
        (dir.join(".env.example"), env_example(g), false),
        (
            dir.join("NEXT-STEPS.md"),
            next_steps(
                config_path,
                g,
                handler.first().map(|f| f.path.as_path()),
                extra.iter().any(|(p, _, _)| p.ends_with(SMOKE_INPUT)),
            ),
            false,
        ),
    ];
    files.extend(extra);
    let mut seen = std::collections::HashSet::new();
    if let Some((clash, _, _)) = files.iter().find(|(p, _, _)| !seen.insert(p.clone())) {
        return Err(hinted(
            format!(
                "[INIT_FILE_CLASH] two of the files to write are {}",
                clash.display()
            ),
            "give --handler-output (or --output) a path of its own; nothing was written",
        ));
    }
    if !force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(p, _, _)| p.exists())
            .map(|(p, _, _)| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(hinted(
                format!("[INIT_FILE_EXISTS] would overwrite {}", existing.join(", ")),
                "pass --force to replace them, or --output PATH to write elsewhere; nothing was written",
            ));
        }
    }
    // Every file is first written beside its target; only when all are there are they renamed
    // into place, so a failure (disk full, a folder that cannot be created) writes nothing.
    let mut staged = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for (path, text, executable) in &files {
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent)?;
            }
            let tmp = path.with_extension("airlock-tmp");
            staged.push(tmp.clone());
            fs_err::write(&tmp, text)?;
            if *executable {
                template::mark_executable(&tmp)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        for tmp in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    let mut written = Vec::new();
    for ((path, _, _), tmp) in files.into_iter().zip(staged) {
        fs_err::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}

fn env_example(g: &Generated) -> String {
    let mut out = String::from(
        "# Variables the generated Airlock config reads. Copy to .env (never commit real values)\n# and replace each placeholder.\n",
    );
    for v in &g.env_vars {
        out.push_str(&format!(
            "\n# {}\n{}=\"{}\"\n",
            v.purpose, v.name, v.example
        ));
    }
    out
}

fn next_steps(config_path: &Path, g: &Generated, handler: Option<&Path>, smoke: bool) -> String {
    let name = config_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cfg = if name == DEFAULT_OUTPUT {
        String::new()
    } else {
        format!(" --config {name}")
    };
    let read = g.tools.first().cloned().unwrap_or_default();
    let smoke_args = if smoke {
        format!("--input {SMOKE_INPUT}")
    } else {
        "--sample".to_owned()
    };
    let vars: Vec<&str> = g.env_vars.iter().map(|v| v.name.as_str()).collect();
    let mut out = format!(
        "# Next steps\n\n1. Review `{name}`: the visible columns, proposal columns, guards and approval roles\n   were suggested from the schema.\n2. Set the variables listed in `.env.example` ({}).\n3. `airlock config validate{cfg}` and `airlock tools list{cfg}` (what a model will see).\n4. `airlock doctor{cfg}` checks the setup against the database.\n5. Try a read: `airlock smoke call{cfg} {read} {smoke_args}`.\n6. Serve: `airlock mcp serve{cfg}` (stdio) or `airlock mcp client-config --client claude-desktop{cfg}`.\n7. Review proposals with `airlock proposals list`, approve outside MCP, then `airlock apply ID`.\n   `airlock writeback grants --engine ENGINE --writer-role airlock_writer` prints the write grants.\n",
        if vars.is_empty() {
            "none".to_owned()
        } else {
            vars.join(", ")
        }
    );
    if let Some(h) = handler {
        let shown = h
            .strip_prefix(config_dir(config_path))
            .unwrap_or(h)
            .display()
            .to_string();
        out.push_str(&format!(
            "\n## Your handler\n\n`{shown}` is a starting point, not a finished handler: put your write where it says\nYOUR TRANSACTION GOES HERE, keep the idempotency, tenant and version checks in that one\ntransaction, run it, then `airlock doctor --check-handlers{cfg}`.\n"
        ));
    }
    if !g.notes.is_empty() {
        out.push_str("\n## Review these\n\n");
        for n in &g.notes {
            out.push_str(&format!("- {n}\n"));
        }
    }
    out
}

/// The run's summary: human lines or the `airlock.init.v1` JSON.
pub fn summary(args: &InitArgs, o: &Outcome) -> anyhow::Result<()> {
    if args.json {
        return output::json(&summary_json(o));
    }
    let snippets = o.config_path.parent().map(|d| d.join(SNIPPET_DIR));
    for p in &o.written {
        if snippets.as_ref().is_some_and(|d| p.starts_with(d)) {
            continue;
        }
        output::line(&format!("created {}", p.display()));
    }
    if let Some(d) = &snippets {
        output::line(&format!(
            "created MCP client snippets under {} (or merge one into a client: `airlock mcp config CLIENT --write`)",
            d.display()
        ));
    }
    output::line(&format!("tools: {}", o.generated.tools.join(", ")));
    for n in &o.generated.notes {
        output::line(&format!("note: {n}"));
    }
    if o.handler.is_some() {
        output::line(template::WARNING);
    }
    if let (Some(input), Some(read)) = (&o.smoke_input, o.generated.tools.first()) {
        let again = format!(
            "airlock smoke call --config {} {read} --input {}",
            o.config_path.display(),
            input.display()
        );
        match &o.smoke {
            Some(s) if s.status == "passed" => {
                output::line(&format!("first read: passed ({}): {}", s.tool, s.detail));
            }
            Some(s) if s.status == "failed" => {
                output::line(&format!("first read: FAILED ({}): {}", s.tool, s.detail));
                output::line(&format!("  fix the config or the id, then: {again}"));
            }
            Some(s) => {
                output::line(&format!("first read: not run yet: {}", s.detail));
                output::line(&format!("  then: {again}"));
            }
            None => output::line(&format!("first read: {again}")),
        }
    }
    for w in &o.warnings {
        output::warn(&format!("{} {}: {}", w.path, w.code, w.message));
    }
    output::line(
        "next: set the variables in .env.example, then `airlock doctor` and `airlock tools list` (NEXT-STEPS.md)",
    );
    Ok(())
}

pub fn summary_json(o: &Outcome) -> Value {
    json!({
        "format": SUMMARY_FORMAT,
        "config": o.config_path,
        "files": o.written,
        "mode": o.generated.config.mode.as_str(),
        "tools": o.generated.tools,
        "env_vars": o.generated.env_vars.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        "notes": o.generated.notes,
        "skipped_tables": o.skipped,
        "handler": o.handler,
        "smoke_input": o.smoke_input,
        "smoke": o.smoke,
        "warnings": o.warnings.iter().map(|w| json!({"code": w.code, "path": w.path, "message": w.message})).collect::<Vec<_>>(),
    })
}
