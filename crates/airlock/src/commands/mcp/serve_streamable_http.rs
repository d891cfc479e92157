//! `airlock mcp serve-streamable-http`: MCP Streamable HTTP on /mcp.

use airlock_cli::{McpCommonArgs, McpHttpFlags};

use crate::output::ExitStatus;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    common: &McpCommonArgs,
    flags: &McpHttpFlags,
) -> anyhow::Result<ExitStatus> {
    let settings = super::compat_settings(settings);
    let (server, loaded, ledger) = super::build(&settings, common, 16).await?;
    let opts = super::http_options(&settings, &loaded, flags, 8766)?;
    super::start_metrics(&server, flags).await?;
    let shown = opts.clone();
    let served = airlock_mcp::transport::http::serve(server, opts, |addr| {
        super::banner(
            "Streamable HTTP MCP",
            &format!("http://{addr}/mcp"),
            &shown,
            &settings,
            &loaded,
        );
    })
    .await;
    ledger.close().await;
    served?;
    Ok(ExitStatus::Success)
}
