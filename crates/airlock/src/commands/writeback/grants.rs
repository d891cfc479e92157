//! `airlock writeback grants --engine E --writer-role R`: the least-privilege grants the
//! config's direct writes need (SELECT and column-scoped UPDATE on the capability tables,
//! SELECT/INSERT on receipts).

use airlock_cli::WritebackGrantsArgs;

use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &WritebackGrantsArgs) -> anyhow::Result<ExitStatus> {
    let loaded = settings.load_config()?;
    let engine = airlock_db::EngineKind::from(args.engine);
    let role = super::ident("writer role", &args.writer_role)?;
    let schema = args
        .schema
        .as_deref()
        .map(|s| super::ident("schema", s))
        .transpose()?;
    let targets = airlock_writeback::grants::write_targets(
        &loaded.config,
        engine,
        schema.as_ref(),
        &args.tables,
    )
    .map_err(|e| hinted(e.to_string(), e.hint()))?;
    output::line(&airlock_db::writer_grants(engine, &role, &targets));
    Ok(ExitStatus::Success)
}
