//! [`SessionServer`], the hand-written rmcp `ServerHandler`: tools and resources come from
//! config and ledger. (rmcp calls this trait a handler; in Airlock "handler" means the app's
//! writeback handler, so the MCP side is called a server.)
//!
//! One per session (or per stateless request). It remembers whether its session was
//! initialized, so a second `initialize` on the same session is refused.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

use airlock_capability::plan::TrustedScope;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest,
    CustomResult, ErrorCode, Implementation, InitializeRequestParams, InitializeResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::{McpServer, short_name, text_copy};
use crate::auth::Caller;
use crate::resources::{self, ResourceError};
use crate::trace::{CallTrace, Network};

/// Protocol revisions served: four with `initialize` and sessions, and the stateless
/// 2026-07-28 revision.
pub const PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2024_11_05,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

const INSTRUCTIONS: &str = "Airlock exposes reviewed business capabilities. Read tools return tenant-scoped rows with an evidence handle; proposal tools create proposals that a person approves outside this tool surface, so nothing is committed by a tool call. Tenant and principal come from trusted context, never from tool arguments.";

/// The MCP server of one session.
pub struct SessionServer {
    server: McpServer,
    initialized: AtomicBool,
}

impl SessionServer {
    pub fn new(server: McpServer) -> SessionServer {
        SessionServer {
            server,
            initialized: AtomicBool::new(false),
        }
    }
}

/// The verified HTTP caller of a request, if the transport put one there.
fn caller_scope(context: &RequestContext<RoleServer>) -> Option<TrustedScope> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>())
        .and_then(|c| c.scope.clone())
}

/// What the request says for the call's span: `_meta` trace context (rmcp moves a request's
/// `_meta` into the context), HTTP headers when the transport is HTTP.
fn call_trace(request: &CallToolRequestParams, context: &RequestContext<RoleServer>) -> CallTrace {
    let parts = context.extensions.get::<http::request::Parts>();
    let network = if parts.is_some() {
        Network::Http
    } else {
        Network::Pipe
    };
    let meta = if context.meta.0.0.contains_key("traceparent") {
        Some(&context.meta.0.0)
    } else {
        request.meta.as_ref().map(|m| &m.0.0)
    };
    let mut trace = CallTrace::new(network).with_meta(meta);
    trace.request_id = Some(context.id.to_string());
    trace.protocol_version = context
        .meta
        .protocol_version()
        .or_else(|| context.peer.peer_info().map(|i| i.protocol_version.clone()))
        .map(|v| v.to_string());
    if let Some(parts) = parts {
        trace = trace.with_headers(&parts.headers);
    }
    trace
}

/// The `tools/call` result: structured envelope plus a text copy; `isError` for failures.
pub(crate) fn tool_result(envelope: serde_json::Value, is_error: bool) -> CallToolResult {
    let text = text_copy(&envelope);
    let mut result = if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    result.structured_content = Some(envelope);
    result
}

pub(crate) fn resource_error(e: ResourceError) -> ErrorData {
    match e {
        ResourceError::NotFound { .. } => ErrorData::resource_not_found(e.to_string(), None),
        ResourceError::NoTrustedScope(_) => ErrorData::invalid_request(e.to_string(), None),
        ResourceError::LedgerUnavailable => ErrorData::internal_error(e.to_string(), None),
    }
}

pub(crate) fn resource_templates() -> Vec<ResourceTemplate> {
    resources::TEMPLATES
        .iter()
        .map(|(name, uri, title, description)| {
            ResourceTemplate::new(*uri, *name)
                .with_title(*title)
                .with_description(*description)
                .with_mime_type("application/json")
        })
        .collect()
}

/// Methods this server answers. rmcp turns a request whose params do not fit the method's
/// type (say `resources/read` without a string `uri`) into a custom request; for these
/// methods that is a params problem (`-32602`), not an unknown method (`-32601`).
const SERVED_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

impl ServerHandler for SessionServer {
    fn get_info(&self) -> ServerConfig {
        let info = self.server.info();
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new(info.name, info.version))
        .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(PROTOCOL_VERSIONS)
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        if self.initialized.swap(true, Ordering::SeqCst) {
            return Err(ErrorData::invalid_request(
                "This session is already initialized; a second initialize is refused. Start a new session instead.",
                None,
            ));
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.server.tools().to_vec(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.server.tool(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let claims = caller_scope(&context);
        let trace = airlock_telemetry::tracer().map(|_| call_trace(&request, &context));
        let args = request.arguments.unwrap_or_default();
        match self
            .server
            .call_traced(&request.name, &args, claims.as_ref(), trace)
            .await
        {
            Some(reply) => Ok(tool_result(reply.envelope, reply.is_error).into()),
            None => Err(ErrorData::invalid_params(
                format!("Unknown tool: {}", short_name(&request.name)),
                None,
            )),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(Vec::new()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resource_templates(),
        ))
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let method = short_name(&request.method);
        if SERVED_METHODS.contains(&request.method.as_str()) {
            let hint = match request.method.as_str() {
                "resources/read" => " params.uri must be a string.",
                "tools/call" => " params.name must be a string, params.arguments an object.",
                _ => "",
            };
            return Err(ErrorData::invalid_params(
                format!(
                    "Invalid params for {method}: they do not match the method's schema.{hint}"
                ),
                None,
            ));
        }
        Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
            None,
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let claims = caller_scope(&context);
        let payload = resources::read(&self.server, &request.uri, claims.as_ref())
            .await
            .map_err(resource_error)?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text_copy(&payload), request.uri)
                .with_mime_type("application/json"),
        ])
        .into())
    }
}
