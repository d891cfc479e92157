//! Spans of a proposal's lifecycle after it was made: each decision and each apply is a
//! child of the proposal's lifecycle root ([`airlock_telemetry::proposal_context`]), in
//! whichever process runs it (CLI, review UI).

use airlock_telemetry::{Span, SpanKind, names};

/// A child of `proposal_id`'s lifecycle root, when traces are on.
pub(crate) fn lifecycle_span(name: &'static str, proposal_id: &str) -> Option<Span> {
    let tracer = airlock_telemetry::tracer()?;
    let root = airlock_telemetry::proposal_context(proposal_id);
    let mut span = tracer.start(name, SpanKind::Internal, Some(&root));
    span.set(names::PROPOSAL_ID, proposal_id.to_owned());
    Some(span)
}
