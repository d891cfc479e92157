//! Prometheus metrics of one server, served on a listener of their own (`--metrics-listen`),
//! apart from the MCP endpoint and its authentication.
//!
//! Off unless asked for: until [`crate::McpServer::metrics`] is called, a tool call pays one
//! atomic load to find that nothing is recorded. When on, a call adds a few relaxed atomic
//! increments (one lock only when it fails, to count its code). Everything else is read when
//! Prometheus scrapes: proposals per state and receipts per status (two grouped ledger
//! queries), the ledger's write queue and commit latencies, and the read pools' use.
//!
//! Labels only ever carry names from the config (capability, source) or Airlock's own codes:
//! a model cannot add label values (an unknown tool name is not a routed call, and a hidden
//! one is named by the capability it hides).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airlock_ledger::telemetry::{Histogram, HistogramSnapshot};
use airlock_runtime::Runtime;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};

use crate::{McpError, McpServer};

/// The Prometheus text exposition format this module writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Call counters of one server.
pub struct Metrics {
    /// Exposed or canonical tool name → capability index.
    index: HashMap<String, usize>,
    /// One per configured capability, in config order.
    tools: Vec<ToolMetrics>,
    started_unix: f64,
}

struct ToolMetrics {
    capability: String,
    ok: AtomicU64,
    /// Failed calls per error code (rare next to successes, so a lock is fine).
    failed: Mutex<BTreeMap<&'static str, u64>>,
    latency: Histogram,
}

impl Metrics {
    pub(crate) fn new(runtime: &Runtime) -> Metrics {
        let config = runtime.config();
        let mut index: HashMap<String, usize> = config
            .capabilities
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        for tool in &runtime.catalog().tools {
            index.insert(tool.name.clone(), tool.capability);
        }
        let tools = config
            .capabilities
            .iter()
            .map(|c| ToolMetrics {
                capability: c.name.clone(),
                ok: AtomicU64::new(0),
                failed: Mutex::new(BTreeMap::new()),
                latency: Histogram::default(),
            })
            .collect();
        let started_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Metrics {
            index,
            tools,
            started_unix,
        }
    }

    /// Counts one routed call of `name` that took `elapsed`; `failed` is its error code.
    pub(crate) fn record(&self, name: &str, elapsed: Duration, failed: Option<&'static str>) {
        let Some(tool) = self.index.get(name).and_then(|&i| self.tools.get(i)) else {
            return;
        };
        tool.latency.observe(elapsed);
        match failed {
            None => {
                tool.ok.fetch_add(1, Ordering::Relaxed);
            }
            Some(code) => {
                let mut failed = tool.failed.lock().unwrap_or_else(|e| e.into_inner());
                *failed.entry(code).or_default() += 1;
            }
        }
    }

    /// The whole exposition: call counters plus what is read at scrape time.
    pub async fn render(&self, server: &McpServer) -> String {
        let runtime = server.runtime();
        let mut out = Exposition::default();
        out.header(
            "airlock_build_info",
            "gauge",
            "Version of the running Airlock (always 1).",
        );
        out.sample(
            "airlock_build_info",
            &[("version", server.info().version)],
            1.0,
        );
        out.header(
            "airlock_process_start_time_seconds",
            "gauge",
            "Start time of the server, seconds since the Unix epoch.",
        );
        out.sample("airlock_process_start_time_seconds", &[], self.started_unix);

        out.header(
            "airlock_tool_calls_total",
            "counter",
            "Tool calls routed to a capability, by outcome (ok, or the error code).",
        );
        for tool in &self.tools {
            let name = tool.capability.as_str();
            out.sample(
                "airlock_tool_calls_total",
                &[("tool", name), ("outcome", "ok")],
                tool.ok.load(Ordering::Relaxed) as f64,
            );
            let failed = tool
                .failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            for (code, n) in failed {
                out.sample(
                    "airlock_tool_calls_total",
                    &[("tool", name), ("outcome", code)],
                    n as f64,
                );
            }
        }
        out.header(
            "airlock_tool_call_duration_seconds",
            "histogram",
            "Time to answer a tool call, ledger write included.",
        );
        for tool in &self.tools {
            out.histogram(
                "airlock_tool_call_duration_seconds",
                &[("tool", tool.capability.as_str())],
                &tool.latency.snapshot(),
            );
        }

        match runtime.ledger().state_counts().await {
            Ok(counts) => {
                out.header(
                    "airlock_proposals",
                    "gauge",
                    "Proposals in the ledger, by state.",
                );
                for (state, n) in &counts.proposals {
                    out.sample("airlock_proposals", &[("state", state)], *n as f64);
                }
                out.header(
                    "airlock_receipts",
                    "gauge",
                    "Apply receipts in the ledger, by status (applied, conflict, failed, ...).",
                );
                for (status, n) in &counts.receipts {
                    out.sample("airlock_receipts", &[("status", status)], *n as f64);
                }
                out.scrape_error("ledger", false);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: could not count proposals and receipts");
                out.scrape_error("ledger", true);
            }
        }

        if let Some(w) = runtime.ledger().write_stats() {
            out.header(
                "airlock_ledger_write_queue_depth",
                "gauge",
                "Tool calls waiting for the ledger's group-commit writer.",
            );
            out.sample("airlock_ledger_write_queue_depth", &[], w.queued as f64);
            out.header(
                "airlock_ledger_commits_total",
                "counter",
                "Transactions committed by the tool-call write path.",
            );
            out.sample("airlock_ledger_commits_total", &[], w.commits as f64);
            out.header(
                "airlock_ledger_records_total",
                "counter",
                "Tool-call records (reads and proposals) those transactions carried.",
            );
            out.sample("airlock_ledger_records_total", &[], w.records as f64);
            out.header(
                "airlock_ledger_commit_duration_seconds",
                "histogram",
                "BEGIN to COMMIT of each tool-call write transaction.",
            );
            out.histogram(
                "airlock_ledger_commit_duration_seconds",
                &[],
                &w.commit_seconds,
            );
        }

        let pools = runtime.pool_status();
        out.header(
            "airlock_db_pool_max_connections",
            "gauge",
            "Configured size of each source's read pool.",
        );
        for (source, p) in &pools {
            out.sample(
                "airlock_db_pool_max_connections",
                &[("source", source)],
                p.max as f64,
            );
        }
        out.header(
            "airlock_db_pool_connections",
            "gauge",
            "Read connections of each source by state (open, in_use), where the driver reports them.",
        );
        for (source, p) in &pools {
            for (state, n) in [("open", p.open), ("in_use", p.in_use)] {
                if let Some(n) = n {
                    out.sample(
                        "airlock_db_pool_connections",
                        &[("source", source), ("state", state)],
                        n as f64,
                    );
                }
            }
        }
        out.header(
            "airlock_db_pool_waiting",
            "gauge",
            "Reads waiting for a pooled connection, where the driver reports it.",
        );
        for (source, p) in &pools {
            if let Some(n) = p.waiting {
                out.sample("airlock_db_pool_waiting", &[("source", source)], n as f64);
            }
        }
        if let Some(t) = airlock_telemetry::stats() {
            out.header(
                "airlock_trace_spans_exported_total",
                "counter",
                "Spans the OTLP receiver accepted (present when traces are on).",
            );
            out.sample(
                "airlock_trace_spans_exported_total",
                &[],
                t.exported.load(Ordering::Relaxed) as f64,
            );
            out.header(
                "airlock_trace_export_retries_total",
                "counter",
                "Export requests that failed in a way that may pass (receiver unreachable or slow, HTTP 429/502/503/504) and are retried with backoff.",
            );
            out.sample(
                "airlock_trace_export_retries_total",
                &[],
                t.retries.load(Ordering::Relaxed) as f64,
            );
            out.header(
                "airlock_trace_spans_retrying",
                "gauge",
                "Spans held for a retry of their export.",
            );
            out.sample(
                "airlock_trace_spans_retrying",
                &[],
                t.retrying.load(Ordering::Relaxed) as f64,
            );
            out.header(
                "airlock_trace_spans_dropped_total",
                "counter",
                "Spans dropped: the export queue was full, or their export failed for good (refused by the receiver, retried too long, or pushed out of the retry hold).",
            );
            for (reason, n) in [
                ("queue_full", &t.dropped_queue_full),
                ("export_failed", &t.dropped_export_failed),
            ] {
                out.sample(
                    "airlock_trace_spans_dropped_total",
                    &[("reason", reason)],
                    n.load(Ordering::Relaxed) as f64,
                );
            }
        }
        out.text
    }
}

/// Prometheus text format, written line by line.
#[derive(Default)]
struct Exposition {
    text: String,
    /// Whether the `scrape_error` family's header was written.
    scrape_header: bool,
}

impl Exposition {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", number(value));
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        for (bound, count) in &h.buckets {
            let le = number(*bound);
            let _ = write!(self.text, "{name}_bucket");
            write_labels(&mut self.text, labels, Some(&le));
            let _ = writeln!(self.text, " {count}");
        }
        let _ = write!(self.text, "{name}_sum");
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", number(h.sum_seconds));
        let _ = write!(self.text, "{name}_count");
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", h.count);
    }

    fn scrape_error(&mut self, part: &str, failed: bool) {
        if !self.scrape_header {
            self.header(
                "airlock_metrics_scrape_error",
                "gauge",
                "1 when a part of this scrape could not be read (see the server log).",
            );
            self.scrape_header = true;
        }
        self.sample(
            "airlock_metrics_scrape_error",
            &[("part", part)],
            if failed { 1.0 } else { 0.0 },
        );
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels.iter().copied().chain(le.map(|le| ("le", le))) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// A sample value as Prometheus spells it (`+Inf`, integers without a fraction).
fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else {
        format!("{v}")
    }
}

/// Binds `addr` and serves `GET /metrics` there on a task of its own, for as long as the
/// process runs; switches the server's metrics on. Returns the bound address (port 0 picks one).
pub async fn start(server: McpServer, addr: SocketAddr) -> Result<SocketAddr, McpError> {
    server.metrics();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| McpError::Listen {
            addr: addr.to_string(),
            source: e,
        })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(server);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

async fn scrape(State(server): State<McpServer>) -> Response {
    let body = server.metrics().render(&server).await;
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        write_labels(&mut out, &[("tool", "a\"b\\c\nd")], Some("+Inf"));
        assert_eq!(out, r#"{tool="a\"b\\c\nd",le="+Inf"}"#);
    }

    #[test]
    fn numbers_are_spelled_as_prometheus_reads_them() {
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
    }
}
