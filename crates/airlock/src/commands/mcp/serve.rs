//! `airlock mcp serve`: MCP over stdio (or another transport with `--transport`).

use airlock_cli::{McpServeArgs, McpTransportArg};

use crate::output::ExitStatus;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &McpServeArgs) -> anyhow::Result<ExitStatus> {
    match args.transport {
        McpTransportArg::StreamableHttp => {
            return super::serve_streamable_http::run(settings, &args.common, &args.http).await;
        }
        McpTransportArg::Http => {
            return super::serve_jsonrpc_bridge::run(settings, &args.common, &args.http).await;
        }
        McpTransportArg::Stdio => {}
    }
    let settings = super::compat_settings(settings);
    let (server, _loaded, ledger) = super::build(&settings, &args.common, 4).await?;
    let served = airlock_mcp::transport::stdio::serve(server).await;
    ledger.close().await;
    served?;
    Ok(ExitStatus::Success)
}
