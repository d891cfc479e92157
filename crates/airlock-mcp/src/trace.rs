//! The server span of a tool call, following the OpenTelemetry semantic conventions for MCP:
//! kind SERVER, named `tools/call {gen_ai.tool.name}`, with `mcp.method.name`,
//! `gen_ai.tool.name`, `gen_ai.operation.name`, `jsonrpc.request.id`, `mcp.session.id`,
//! `mcp.protocol.version`, `network.transport` and, on failure, `error.type`.
//!
//! The parent is the W3C context in the request's `params._meta` (`traceparent`,
//! `tracestate`); without one, the HTTP request's `traceparent` header. When both are there,
//! `_meta` is the parent and the header's context is linked, as the conventions ask. A
//! malformed `traceparent` is ignored (the call starts a trace of its own); an oversize or
//! malformed `tracestate` is dropped alone.
//!
//! Argument values, results and rows are never recorded.

use airlock_capability::envelope::Outcome;
use airlock_runtime::CallFailure;
use airlock_telemetry::{SpanContext, SpanKind, names};

/// The transport a call came over (`network.transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// stdio: `pipe`.
    Pipe,
    /// Streamable HTTP or the JSON-RPC bridge: `tcp`, protocol `http`.
    Http,
}

/// What a transport knows about a call, for its span. Built only when traces are on.
#[derive(Debug, Clone)]
pub struct CallTrace {
    /// `params._meta.traceparent` / `tracestate`.
    pub meta_parent: Option<(String, Option<String>)>,
    /// The HTTP request's `traceparent` / `tracestate` headers.
    pub header_parent: Option<(String, Option<String>)>,
    pub request_id: Option<String>,
    pub session_id: Option<String>,
    pub protocol_version: Option<String>,
    pub network: Network,
}

impl CallTrace {
    pub fn new(network: Network) -> CallTrace {
        CallTrace {
            meta_parent: None,
            header_parent: None,
            request_id: None,
            session_id: None,
            protocol_version: None,
            network,
        }
    }

    /// Reads `traceparent`/`tracestate` from a `_meta` object (strings only).
    pub fn with_meta(mut self, meta: Option<&serde_json::Map<String, serde_json::Value>>) -> Self {
        if let Some(tp) = meta
            .and_then(|m| m.get("traceparent"))
            .and_then(|v| v.as_str())
        {
            let ts = meta
                .and_then(|m| m.get("tracestate"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            self.meta_parent = Some((tp.to_owned(), ts));
        }
        self
    }

    /// Reads the trace context and the MCP session headers of an HTTP request.
    pub fn with_headers(mut self, headers: &http::HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if let Some(tp) = text("traceparent") {
            self.header_parent = Some((tp, text("tracestate")));
        }
        self.session_id = text("mcp-session-id").filter(|s| s.len() <= 128);
        if self.protocol_version.is_none() {
            self.protocol_version = text("mcp-protocol-version").filter(|s| s.len() <= 32);
        }
        self
    }

    /// The parent span context, and the context to link when both sources gave one.
    fn parents(&self) -> (Option<SpanContext>, Option<SpanContext>) {
        let parse = |p: &Option<(String, Option<String>)>| {
            p.as_ref()
                .and_then(|(tp, ts)| SpanContext::from_w3c(tp, ts.as_deref()))
        };
        let meta = parse(&self.meta_parent);
        let header = parse(&self.header_parent);
        match (meta, header) {
            (Some(m), h) => (Some(m), h),
            (None, h) => (h, None),
        }
    }
}

/// The span of one routed tool call, when traces are on.
pub(crate) struct CallSpan {
    span: airlock_telemetry::Span,
}

impl CallSpan {
    pub(crate) fn start(trace: &CallTrace, tool: &str, capability: &str) -> Option<CallSpan> {
        let tracer = airlock_telemetry::tracer()?;
        let (parent, link) = trace.parents();
        let mut span = tracer.start(
            format!("tools/call {tool}"),
            SpanKind::Server,
            parent.as_ref(),
        );
        if span.is_recording() {
            span.set("mcp.method.name", "tools/call");
            span.set("gen_ai.tool.name", tool.to_owned());
            span.set("gen_ai.operation.name", "execute_tool");
            span.set(names::CAPABILITY, capability.to_owned());
            if let Some(id) = &trace.request_id {
                span.set("jsonrpc.request.id", id.clone());
            }
            if let Some(id) = &trace.session_id {
                span.set("mcp.session.id", id.clone());
            }
            if let Some(v) = &trace.protocol_version {
                span.set("mcp.protocol.version", v.clone());
            }
            match trace.network {
                Network::Pipe => span.set("network.transport", "pipe"),
                Network::Http => {
                    span.set("network.transport", "tcp");
                    span.set("network.protocol.name", "http");
                }
            }
            if let Some(link) = link {
                span.link(link, vec![("airlock.link", "http.traceparent".into())]);
            }
        }
        Some(CallSpan { span })
    }

    pub(crate) fn context(&self) -> &SpanContext {
        self.span.context()
    }

    pub(crate) fn is_recording(&self) -> bool {
        self.span.is_recording()
    }

    /// Records the outcome and ends the span. A new proposal also records the root of its
    /// lifecycle trace, linked both ways with this span.
    pub(crate) fn finish(mut self, result: &Result<Outcome, CallFailure>) {
        match result {
            Err(failure) => {
                // A tool error: `error.type` is `tool_error` (the conventions' word for a
                // result with isError), Airlock's code beside it.
                let code = failure.error.code.as_str();
                self.span.set("airlock.error.code", code);
                self.span.fail("tool_error", code);
            }
            Ok(Outcome::Proposal(p)) => {
                let root = airlock_telemetry::proposal_context(&p.proposal_id);
                self.span.set(names::PROPOSAL_ID, p.proposal_id.clone());
                self.span.set("airlock.proposal.reused", p.reused);
                self.span.link(
                    root.clone(),
                    vec![("airlock.link", "proposal.lifecycle".into())],
                );
                if !p.reused
                    && let Some(tracer) = airlock_telemetry::tracer()
                {
                    let mut lifecycle =
                        tracer.start_as(names::PROPOSAL, SpanKind::Internal, root, None);
                    lifecycle.set(names::PROPOSAL_ID, p.proposal_id.clone());
                    lifecycle.set(names::CAPABILITY, p.action.clone());
                    lifecycle.link(
                        self.span.context().clone(),
                        vec![("airlock.link", "proposed_by".into())],
                    );
                }
            }
            Ok(Outcome::Read(_)) => {}
        }
    }
}
