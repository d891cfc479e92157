//! `airlock mcp serve-http`: the JSON-RPC bridge on POST /rpc.

use airlock_cli::{McpCommonArgs, McpHttpFlags};

use crate::output::ExitStatus;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    common: &McpCommonArgs,
    flags: &McpHttpFlags,
) -> anyhow::Result<ExitStatus> {
    eprintln!("Note: mcp serve-http is a JSON-RPC bridge, not spec MCP Streamable HTTP.");
    eprintln!("For MCP clients use: airlock mcp serve --transport streamable-http");
    let settings = super::compat_settings(settings);
    let (server, loaded, ledger) = super::build(&settings, common, 16).await?;
    let opts = super::http_options(&settings, &loaded, flags, 8765)?;
    super::start_metrics(&server, flags).await?;
    let shown = opts.clone();
    let served = airlock_mcp::transport::jsonrpc_bridge::serve(server, opts, |addr| {
        super::banner(
            "JSON-RPC bridge",
            &format!("http://{addr}/rpc"),
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
