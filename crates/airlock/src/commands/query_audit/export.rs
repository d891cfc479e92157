//! `airlock query-audit export ID --output FILE`: one audit record as JSON.

use airlock_cli::QueryAuditExportArgs;

use crate::output::{self, ExitStatus};
use crate::settings::{Settings, absolute};

pub async fn run(settings: &Settings, args: &QueryAuditExportArgs) -> anyhow::Result<ExitStatus> {
    let id = args.id.or(args.id_flag).unwrap_or_default();
    let ledger = settings.open_ledger_read_only().await?;
    let record = ledger.query_audit_record(id).await?;
    let path = absolute(&settings.cwd, &args.output);
    crate::commands::write_json_file(&path, &record)?;
    output::line(&format!("exported query audit {id} to {}", path.display()));
    Ok(ExitStatus::Success)
}
