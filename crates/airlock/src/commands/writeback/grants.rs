//! `airlock writeback grants --engine E --writer-role R`: least-privilege grants for the role
//! Airlock applies as (SELECT/UPDATE on the capability tables, SELECT/INSERT on receipts).

use airlock_cli::WritebackGrantsArgs;
use airlock_config::CapabilityKind;

use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &WritebackGrantsArgs) -> anyhow::Result<ExitStatus> {
    let tables: Vec<String> = if args.tables.is_empty() {
        let loaded = settings.load_config()?;
        let mut t: Vec<String> = loaded
            .config
            .capabilities
            .iter()
            .filter(|c| c.kind == CapabilityKind::Proposal)
            .map(|c| c.target.table.clone())
            .collect();
        t.dedup();
        t
    } else {
        args.tables.clone()
    };
    if tables.is_empty() {
        return Err(hinted(
            "no tables to grant on",
            "pass --tables a,b or add proposal capabilities to the config",
        ));
    }
    let role = super::ident("writer role", &args.writer_role)?;
    let schema = args
        .schema
        .as_deref()
        .map(|s| super::ident("schema", s))
        .transpose()?;
    let tables = tables
        .iter()
        .map(|t| super::ident("table", t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    output::line(&airlock_db::receipts_grants(
        super::engine(args.engine),
        &role,
        schema.as_ref(),
        &tables,
    ));
    Ok(ExitStatus::Success)
}
