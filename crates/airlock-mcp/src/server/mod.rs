//! What every transport shares: the runtime, the tool list built once at start, and the
//! rendering of a call's result. [`session`] serves it to one rmcp session.

pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use airlock_capability::plan::TrustedScope;
use airlock_capability::{catalog, envelope};
use airlock_runtime::Runtime;
use rmcp::model::Tool;
use serde_json::{Map, Value};

use crate::trace::{CallSpan, CallTrace};

/// Name and version the server reports in `initialize`.
#[derive(Debug, Clone, Copy)]
pub struct ServerInfo {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for ServerInfo {
    fn default() -> ServerInfo {
        ServerInfo {
            name: "airlock",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The server, cheap to clone (one per session or stateless request).
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    info: ServerInfo,
    /// MCP tool definitions, in catalog order.
    tools: Vec<Tool>,
    /// The same definitions as JSON (for the JSON-RPC bridge).
    tools_json: Vec<Value>,
    by_name: HashMap<String, usize>,
    /// Set once metrics are asked for ([`McpServer::metrics`]); until then calls record nothing.
    metrics: OnceLock<crate::metrics::Metrics>,
}

/// The outcome of a `tools/call` routed to a known tool.
#[derive(Debug, Clone)]
pub struct CallReply {
    /// The rendered envelope (success or error).
    pub envelope: Value,
    pub is_error: bool,
}

impl McpServer {
    /// Builds the tool list from the runtime's catalog. Pure: no database is touched.
    pub fn new(runtime: Runtime) -> McpServer {
        McpServer::with_info(runtime, ServerInfo::default())
    }

    pub fn with_info(runtime: Runtime, info: ServerInfo) -> McpServer {
        let mut tools = Vec::new();
        let mut tools_json = Vec::new();
        let mut by_name = HashMap::new();
        for (tool, value) in runtime
            .catalog()
            .tools
            .iter()
            .zip(runtime.catalog().definitions())
        {
            match serde_json::from_value::<Tool>(value.clone()) {
                Ok(t) => {
                    by_name.insert(tool.name.clone(), tools.len());
                    tools.push(t);
                    tools_json.push(value);
                }
                // Catalog output is built from validated config; this cannot happen short of
                // an rmcp model change, and then the tool is left out rather than served wrong.
                Err(e) => {
                    tracing::error!(tool = %tool.name, error = %e, "tool definition rejected by the MCP model; not listed")
                }
            }
        }
        McpServer {
            inner: Arc::new(Inner {
                runtime,
                info,
                tools,
                tools_json,
                by_name,
                metrics: OnceLock::new(),
            }),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// This server's call metrics, switched on by the first call of this method: from then on
    /// every routed tool call is counted.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        self.inner
            .metrics
            .get_or_init(|| crate::metrics::Metrics::new(&self.inner.runtime))
    }

    pub fn info(&self) -> ServerInfo {
        self.inner.info
    }

    /// MCP tool definitions, as listed.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    /// Tool definitions as JSON objects (`name`, `title`, `description`, `inputSchema`,
    /// `annotations`, `_meta`).
    pub fn tools_json(&self) -> &[Value] {
        &self.inner.tools_json
    }

    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.inner.by_name.get(name).map(|&i| &self.inner.tools[i])
    }

    /// Number of configured capabilities exposed (aliases not counted twice).
    pub fn capability_count(&self) -> usize {
        let mut seen: Vec<usize> = self
            .runtime()
            .catalog()
            .tools
            .iter()
            .map(|t| t.capability)
            .collect();
        seen.dedup();
        seen.len()
    }

    /// Whether `name` routes to a capability: a listed tool, or a proposal tool hidden by
    /// `read_only` mode (which answers with a tool error the model can read).
    fn routes(&self, name: &str) -> bool {
        if self.inner.by_name.contains_key(name) {
            return true;
        }
        catalog::hidden_by_mode(self.runtime().config(), name)
    }

    /// Calls a tool. `None` when no tool has that name (a routing fault the transport
    /// reports as a protocol error). Arguments are passed unchanged: the runtime refuses
    /// undeclared and trusted-context keys with a readable tool error.
    pub async fn call(
        &self,
        name: &str,
        args: &Map<String, Value>,
        claims: Option<&TrustedScope>,
    ) -> Option<CallReply> {
        self.call_traced(name, args, claims, None).await
    }

    /// [`McpServer::call`] with what the transport knows for the call's span (`None` when
    /// traces are off: then nothing is traced).
    pub async fn call_traced(
        &self,
        name: &str,
        args: &Map<String, Value>,
        claims: Option<&TrustedScope>,
        trace: Option<CallTrace>,
    ) -> Option<CallReply> {
        if !self.routes(name) {
            return None;
        }
        let runtime = self.runtime();
        let format = runtime.result_format();
        let started = self.inner.metrics.get().map(|_| Instant::now());
        let span = trace.and_then(|t| {
            let capability = runtime.catalog().get(name).map_or(name, |tool| {
                runtime.config().capabilities[tool.capability].name.as_str()
            });
            CallSpan::start(&t, name, capability)
        });
        // Logs inside a recorded call carry its trace and span ids (JSON logs show them).
        let log_span = span.as_ref().filter(|s| s.is_recording()).map(|s| {
            let ctx = s.context();
            tracing::info_span!(
                "tool_call",
                trace_id = %ctx.trace_id_hex(),
                span_id = %ctx.span_id_hex()
            )
        });
        let result = match (&span, &log_span) {
            (Some(span), Some(log_span)) => {
                airlock_telemetry::scope(
                    span.context().clone(),
                    tracing::Instrument::instrument(
                        runtime.call(name, args, claims),
                        log_span.clone(),
                    ),
                )
                .await
            }
            _ => runtime.call(name, args, claims).await,
        };
        let _in_span = log_span.as_ref().map(tracing::Span::enter);
        if let Some(span) = span {
            span.finish(&result);
        }
        if let (Some(metrics), Some(started)) = (self.inner.metrics.get(), started) {
            let failed = result.as_ref().err().map(|f| f.error.code.as_str());
            metrics.record(name, started.elapsed(), failed);
        }
        Some(match result {
            Ok(outcome) => CallReply {
                envelope: envelope::render(&outcome, format),
                is_error: false,
            },
            Err(failure) => {
                tracing::info!(
                    tool = name,
                    code = failure.error.code.as_str(),
                    "tool call refused"
                );
                CallReply {
                    envelope: failure.render(format),
                    is_error: true,
                }
            }
        })
    }
}

/// Pretty JSON for the text copy of a structured result.
pub(crate) fn text_copy(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A tool name cut to a printable length for error messages.
pub(crate) fn short_name(name: &str) -> String {
    let cut: String = name.chars().filter(|c| !c.is_control()).take(128).collect();
    if cut.len() < name.len() {
        format!("{cut}…")
    } else {
        cut
    }
}
