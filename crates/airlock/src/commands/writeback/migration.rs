//! `airlock writeback migration --engine E`: the receipts-table DDL for a DBA to review and run.

use airlock_cli::WritebackEngineArgs;

use crate::output::{self, ExitStatus};

pub fn run(args: &WritebackEngineArgs) -> anyhow::Result<ExitStatus> {
    let engine = airlock_db::EngineKind::from(args.engine);
    if let Some(schema) = args
        .schema
        .as_deref()
        .map(|s| super::ident("schema", s))
        .transpose()?
    {
        // The receipts table lives in the writer connection's default schema.
        match engine {
            airlock_db::EngineKind::Postgres => {
                output::line(&format!("SET search_path TO \"{schema}\";"))
            }
            airlock_db::EngineKind::Mysql => output::line(&format!("USE `{schema}`;")),
            airlock_db::EngineKind::Sqlite => {}
        }
    }
    output::line(&airlock_db::receipts_ddl(engine));
    Ok(ExitStatus::Success)
}
