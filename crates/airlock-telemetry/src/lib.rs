//! OpenTelemetry traces for Airlock, off unless [`install`]ed.
//!
//! - [`context`]: W3C `traceparent` / `tracestate`, parsed strictly (bad input is ignored).
//! - [`span`]: spans, attributes, links, the sampler.
//! - [`export`]: a bounded queue and a thread that batches spans to an OTLP/HTTP receiver.
//! - [`otlp`]: the protobuf encoding of the export request.
//!
//! When nothing is installed, [`tracer`] is one atomic load returning `None` and no span is
//! made. Spans carry names from config, Airlock's codes, ids and counts: never argument
//! values, row values, SQL parameters or secrets.
//!
//! A proposal's lifecycle is one trace of its own whose ids derive from the proposal id
//! ([`proposal_context`]): the proposing tool call records its root, and approve and apply
//! (CLI, review UI, any process, any time later) start children of that root without reading
//! anything back from the ledger. The root and the tool call's span link to each other.

pub mod context;
pub mod export;
pub mod otlp;
pub mod span;

use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use context::SpanContext;
pub use export::{ExportSettings, ExportStats};
pub use span::{AttrValue, RootSampler, Sampler, Span, SpanKind, Status, Tracer};

static TRACER: OnceLock<Tracer> = OnceLock::new();

/// The process's tracer, when traces were switched on.
#[inline]
pub fn tracer() -> Option<&'static Tracer> {
    TRACER.get()
}

/// Switches traces on for this process: starts the export thread. A second call keeps the
/// first tracer.
pub fn install(settings: ExportSettings, sampler: Sampler) -> std::io::Result<&'static Tracer> {
    if let Some(t) = TRACER.get() {
        return Ok(t);
    }
    let exporter = export::Exporter::start(settings)?;
    Ok(TRACER.get_or_init(|| Tracer {
        sampler,
        exporter: std::sync::Arc::new(exporter),
    }))
}

/// Sends the spans still queued, waiting at most `timeout`. Call before the process exits.
pub fn flush(timeout: Duration) -> bool {
    match TRACER.get() {
        Some(t) => t.exporter.flush(timeout),
        None => true,
    }
}

/// Export counts, when traces are on.
pub fn stats() -> Option<&'static ExportStats> {
    TRACER.get().map(|t| &*t.exporter.stats)
}

tokio::task_local! {
    static CURRENT: SpanContext;
}

/// Runs `f` with `context` as the parent of the spans its code starts through [`child`].
pub async fn scope<F: Future>(context: SpanContext, f: F) -> F::Output {
    CURRENT.scope(context, f).await
}

/// The span the running task is inside, if any.
pub fn current() -> Option<SpanContext> {
    CURRENT.try_with(Clone::clone).ok()
}

/// A child of the task's current span, when traces are on and that span is recorded.
pub fn child(name: &'static str, kind: SpanKind) -> Option<Span> {
    let tracer = tracer()?;
    let parent = CURRENT
        .try_with(|c| c.sampled.then(|| c.clone()))
        .ok()
        .flatten()?;
    Some(tracer.start(name, kind, Some(&parent)))
}

/// The root of `proposal_id`'s lifecycle trace: the same ids in every process, so approve and
/// apply find their parent without storing it. Sampled as a root of that trace id.
pub fn proposal_context(proposal_id: &str) -> SpanContext {
    let digest = Sha256::new()
        .chain_update(b"airlock.proposal.trace\0")
        .chain_update(proposal_id.as_bytes())
        .finalize();
    let mut trace_id = [0u8; 16];
    trace_id.copy_from_slice(&digest[..16]);
    let mut span_id = [0u8; 8];
    span_id.copy_from_slice(&digest[16..24]);
    // An all-zero id is invalid; a hash yields one with negligible odds, but be exact.
    if trace_id == [0; 16] {
        trace_id[15] = 1;
    }
    if span_id == [0; 8] {
        span_id[7] = 1;
    }
    let sampled = tracer().is_some_and(|t| t.samples_root(&trace_id));
    SpanContext {
        trace_id,
        span_id,
        sampled,
        trace_state: None,
    }
}

/// Span names and attribute keys Airlock writes, beyond the semantic conventions' own.
pub mod names {
    /// The root span of a proposal's lifecycle trace.
    pub const PROPOSAL: &str = "airlock.proposal";
    /// A decision on a proposal (child of [`PROPOSAL`]).
    pub const DECIDE: &str = "airlock.proposal.decide";
    /// An apply of a proposal (child of [`PROPOSAL`]).
    pub const APPLY: &str = "airlock.proposal.apply";
    /// The executor's write inside an apply.
    pub const EXECUTE: &str = "airlock.writeback.execute";
    /// The scoped read of a tool call.
    pub const DB_READ: &str = "airlock.db.select";
    /// The ledger record of a tool call.
    pub const LEDGER_WRITE: &str = "airlock.ledger.write";

    pub const PROPOSAL_ID: &str = "airlock.proposal.id";
    pub const CAPABILITY: &str = "airlock.capability";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proposals_trace_is_the_same_everywhere_and_differs_between_proposals() {
        let a = proposal_context("wrp_0123456789abcdef0123");
        let b = proposal_context("wrp_0123456789abcdef0123");
        let c = proposal_context("wrp_0123456789abcdef0124");
        assert_eq!((a.trace_id, a.span_id), (b.trace_id, b.span_id));
        assert_ne!(a.trace_id, c.trace_id);
    }

    #[test]
    fn without_a_tracer_nothing_is_made() {
        assert!(tracer().is_none());
        assert!(child(names::DB_READ, SpanKind::Client).is_none());
        assert!(!proposal_context("wrp_x").sampled);
    }
}
