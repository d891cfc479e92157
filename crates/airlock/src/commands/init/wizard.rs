//! The guided questions of `airlock init` / `airlock onboard db` on a terminal (`inquire`
//! prompts on stderr). They only fill [`Answers`]; the generator and the checks are the
//! prompt-free path's, so both produce the same config for the same choices.

use inquire::{Confirm, MultiSelect, Select, Text};

use airlock_config::{ExecutorKind, env_vars, is_env_name};
use airlock_db::inspect::{SchemaReport, TableReport};
use airlock_db::onboard::{
    self, Answers, ExecutorAnswers, ProposalAnswers, SuggestOptions, TableAnswers,
};

use crate::output::hinted;

const NO_TENANT: &str = "(none: single-tenant development database)";

fn cancelled(e: inquire::InquireError) -> anyhow::Error {
    match e {
        inquire::InquireError::OperationCanceled | inquire::InquireError::OperationInterrupted => {
            hinted(
                "[INIT_CANCELLED] init cancelled; nothing was written",
                "run it again when ready",
            )
        }
        other => anyhow::anyhow!("the terminal prompt failed: {other}"),
    }
}

/// Asks for an environment variable name (upper case, digits, _).
pub fn env_name(question: &str, default: &str) -> anyhow::Result<String> {
    Text::new(question)
        .with_default(default)
        .with_validator(|s: &str| {
            Ok(if is_env_name(s) {
                inquire::validator::Validation::Valid
            } else {
                inquire::validator::Validation::Invalid(
                    "upper case letters, digits and _ only".into(),
                )
            })
        })
        .prompt()
        .map_err(cancelled)
}

fn label(t: &TableReport) -> String {
    format!("{}.{}", t.schema, t.name)
}

/// The questions, with the `--yes` suggestions as defaults.
pub fn ask(report: &SchemaReport, read_url_env: Option<String>) -> anyhow::Result<Answers> {
    let (suggested, _) = onboard::suggested(
        report,
        &SuggestOptions {
            tables: Vec::new(),
            single_tenant_dev: false,
            proposals: true,
        },
    );
    let usable: Vec<&TableReport> = report
        .tables
        .iter()
        .filter(|t| airlock_config::is_safe_identifier(&t.name) && t.primary_key.len() == 1)
        .collect();
    if usable.is_empty() {
        return Err(hinted(
            "[INIT_NO_TABLES] no table has a plain name and a one-column primary key",
            "add a key, or expose the data through a view and pass --answers with its primary_key",
        ));
    }
    let names: Vec<String> = usable.iter().map(|t| label(t)).collect();
    let defaults: Vec<usize> = usable
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            suggested
                .tables
                .iter()
                .any(|s| s.table == t.name && s.schema.as_deref() == Some(t.schema.as_str()))
        })
        .map(|(i, _)| i)
        .collect();
    let chosen = MultiSelect::new(
        "Tables the agent may use (space toggles, enter confirms):",
        names.clone(),
    )
    .with_default(&defaults)
    .with_validator(|v: &[inquire::list_option::ListOption<&String>]| {
        Ok(if v.is_empty() {
            inquire::validator::Validation::Invalid("choose at least one table".into())
        } else {
            inquire::validator::Validation::Valid
        })
    })
    .prompt()
    .map_err(cancelled)?;

    let mut tables = Vec::new();
    for name in &chosen {
        let t = usable[names.iter().position(|n| n == name).unwrap_or_default()];
        tables.push(ask_table(
            t,
            suggested.tables.iter().find(|s| s.table == t.name),
        )?);
    }

    let tenant_id_env = env_name(
        "Variable holding the trusted tenant id:",
        env_vars::SYNAPSOR_TENANT_ID,
    )?;
    let principal_env = env_name(
        "Variable holding the agent's principal:",
        env_vars::SYNAPSOR_PRINCIPAL,
    )?;
    let has_proposals = tables.iter().any(|t| !t.proposals.is_empty());
    let mut answers = Answers {
        format: onboard::ANSWERS_FORMAT.to_owned(),
        tables,
        ..Default::default()
    };
    answers.source.read_url_env = read_url_env;
    answers.trusted_context.tenant_id_env = Some(tenant_id_env);
    answers.trusted_context.principal_env = Some(principal_env);
    if has_proposals {
        let executor = Select::new(
            "How approved proposals are applied:",
            vec![
                "sql_update (Airlock's guarded one-row UPDATE)",
                "http_handler (your app's endpoint)",
                "command_handler (your program)",
            ],
        )
        .prompt()
        .map_err(cancelled)?;
        if executor.starts_with("http") {
            answers.executor = Some(ExecutorAnswers {
                kind: ExecutorKind::HttpHandler,
                name: None,
                url_env: Some(env_name(
                    "Variable holding the handler URL:",
                    env_vars::SYNAPSOR_APP_WRITEBACK_URL,
                )?),
                token_env: Some(env_name(
                    "Variable holding the handler's bearer token:",
                    env_vars::SYNAPSOR_APP_WRITEBACK_TOKEN,
                )?),
                signing_secret_env: Some(env_name(
                    "Variable holding the signing secret:",
                    env_vars::SYNAPSOR_APP_WRITEBACK_SIGNING_SECRET,
                )?),
                command_env: None,
                timeout_ms: None,
            });
        } else if executor.starts_with("command") {
            answers.executor = Some(ExecutorAnswers {
                kind: ExecutorKind::CommandHandler,
                name: None,
                url_env: None,
                token_env: None,
                signing_secret_env: None,
                command_env: Some(env_name(
                    "Variable holding the handler command:",
                    env_vars::SYNAPSOR_APP_WRITEBACK_COMMAND,
                )?),
                timeout_ms: None,
            });
        }
        let role = Text::new("Role an operator needs to approve:")
            .with_default("local_reviewer")
            .prompt()
            .map_err(cancelled)?;
        for t in &mut answers.tables {
            for p in &mut t.proposals {
                p.approval_role = Some(role.clone());
            }
        }
        let operators =
            Text::new("Operators who hold that role (comma-separated, empty for none):")
                .with_default("")
                .prompt()
                .map_err(cancelled)?;
        for op in operators
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            answers.operators.insert(op.to_owned(), vec![role.clone()]);
        }
    }
    Ok(answers)
}

fn ask_table(t: &TableReport, suggested: Option<&TableAnswers>) -> anyhow::Result<TableAnswers> {
    let l = label(t);
    let mut tenant_options: Vec<String> = t
        .candidates
        .tenant
        .iter()
        .map(|c| c.column.clone())
        .collect();
    for c in &t.columns {
        if !tenant_options.contains(&c.name) && !t.primary_key.contains(&c.name) {
            tenant_options.push(c.name.clone());
        }
    }
    tenant_options.push(NO_TENANT.to_owned());
    let tenant = Select::new(&format!("{l}: column holding the tenant:"), tenant_options)
        .prompt()
        .map_err(cancelled)?;
    let tenant_key = (tenant != NO_TENANT).then_some(tenant);

    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|c| match c.sensitive {
            Some(k) => format!("{} (sensitive: {})", c.name, k.as_str()),
            None => c.name.clone(),
        })
        .collect();
    let visible_default: Vec<usize> = t
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| t.visible_columns.contains(&c.name))
        .map(|(i, _)| i)
        .collect();
    let visible = MultiSelect::new(&format!("{l}: columns the model may see:"), columns.clone())
        .with_default(&visible_default)
        .prompt()
        .map_err(cancelled)?;
    let base = |s: &String| s.split(' ').next().unwrap_or_default().to_owned();
    let visible: Vec<String> = visible.iter().map(base).collect();
    let mut include_sensitive = Vec::new();
    for c in t
        .columns
        .iter()
        .filter(|c| c.sensitive.is_some() && visible.contains(&c.name))
    {
        let yes = Confirm::new(&format!(
            "{l}: {} looks sensitive; show it to the model anyway?",
            c.name
        ))
        .with_default(false)
        .prompt()
        .map_err(cancelled)?;
        if yes {
            include_sensitive.push(c.name.clone());
        }
    }
    let visible: Vec<String> = visible
        .into_iter()
        .filter(|c| {
            include_sensitive.contains(c)
                || !t
                    .columns
                    .iter()
                    .any(|x| x.name == *c && x.sensitive.is_some())
        })
        .collect();

    let patchable: Vec<String> = t
        .columns
        .iter()
        .filter(|c| {
            !t.primary_key.contains(&c.name)
                && Some(&c.name) != tenant_key.as_ref()
                && !c.generated
                && !c.auto_increment
                && c.sensitive.is_none()
        })
        .map(|c| c.name.clone())
        .collect();
    let suggested_cols: Vec<String> = suggested
        .and_then(|s| s.proposals.first())
        .map(|p| p.columns.clone())
        .unwrap_or_default();
    let patch_default: Vec<usize> = patchable
        .iter()
        .enumerate()
        .filter(|(_, c)| suggested_cols.contains(c))
        .map(|(i, _)| i)
        .collect();
    let patch = if patchable.is_empty() {
        Vec::new()
    } else {
        MultiSelect::new(
            &format!("{l}: columns a proposal may change (none: read only):"),
            patchable,
        )
        .with_default(&patch_default)
        .prompt()
        .map_err(cancelled)?
    };
    let proposals = if patch.is_empty() {
        Vec::new()
    } else {
        vec![ProposalAnswers {
            columns: patch,
            weak_guard_ack: t.candidates.conflict_guard.is_empty(),
            ..Default::default()
        }]
    };
    Ok(TableAnswers {
        schema: Some(t.schema.clone()),
        table: t.name.clone(),
        single_tenant_dev: tenant_key.is_none(),
        tenant_key,
        visible_columns: Some(visible),
        include_sensitive,
        proposals,
        ..Default::default()
    })
}

/// With an app-owned handler: write a starting one too?
pub fn confirm_handler() -> anyhow::Result<bool> {
    Confirm::new("Also write a starting handler beside the config (`airlock handler template`)?")
        .with_default(true)
        .prompt()
        .map_err(cancelled)
}

/// The last question: write these files?
pub fn confirm_write(tools: &[String], files: &str) -> anyhow::Result<bool> {
    eprintln!("tools: {}", tools.join(", "));
    Confirm::new(&format!("Write {files}?"))
        .with_default(true)
        .prompt()
        .map_err(cancelled)
}
