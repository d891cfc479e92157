//! `airlock writeback migration --engine E`: the receipts-table DDL for a DBA to review and run.

use airlock_cli::WritebackEngineArgs;

use crate::output::{self, ExitStatus};

pub fn run(args: &WritebackEngineArgs) -> anyhow::Result<ExitStatus> {
    let engine = airlock_db::EngineKind::from(args.engine);
    let schema = args
        .schema
        .as_deref()
        .map(|s| super::ident("schema", s))
        .transpose()?;
    output::line(&airlock_db::receipts_migration(engine, schema.as_ref()));
    Ok(ExitStatus::Success)
}
