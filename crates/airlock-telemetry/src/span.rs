//! Spans: started with a parent (or as a root), given attributes, links and a status, and
//! handed to the exporter when dropped. A span that is not sampled records nothing and costs
//! an id and a clock read.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::context::SpanContext;
use crate::export::Exporter;

/// What side of an exchange a span describes (OTLP `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal = 1,
    Server = 2,
    Client = 3,
}

/// An attribute value. Only names from config, Airlock's own codes, ids and counts are ever
/// recorded: never argument values, row values, SQL parameters or secrets.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(Cow<'static, str>),
    Int(i64),
    Bool(bool),
}

impl From<&'static str> for AttrValue {
    fn from(s: &'static str) -> AttrValue {
        AttrValue::Str(Cow::Borrowed(s))
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> AttrValue {
        AttrValue::Str(Cow::Owned(s))
    }
}

impl From<i64> for AttrValue {
    fn from(n: i64) -> AttrValue {
        AttrValue::Int(n)
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> AttrValue {
        AttrValue::Bool(b)
    }
}

/// A link to another span (OTLP `Span.Link`).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub context: SpanContext,
    pub attributes: Vec<(&'static str, AttrValue)>,
}

/// How a span ended (OTLP `Status`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Status {
    #[default]
    Unset,
    Ok,
    Error(String),
}

/// A finished span as the exporter encodes it.
#[derive(Debug, Clone)]
pub struct SpanData {
    pub context: SpanContext,
    pub parent_span_id: Option<[u8; 8]>,
    pub name: Cow<'static, str>,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attributes: Vec<(&'static str, AttrValue)>,
    pub links: Vec<Link>,
    pub status: Status,
}

/// Which spans are recorded (`OTEL_TRACES_SAMPLER`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    /// Keep a fraction of traces, decided from the trace id so every process agrees.
    Ratio(f64),
    /// Follow the parent's `sampled` flag; decide roots with the inner rule.
    ParentBased(RootSampler),
}

/// The rule a parent-based sampler applies to roots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootSampler {
    AlwaysOn,
    AlwaysOff,
    Ratio(f64),
}

impl Default for Sampler {
    fn default() -> Sampler {
        Sampler::ParentBased(RootSampler::AlwaysOn)
    }
}

fn ratio_keeps(ratio: f64, trace_id: &[u8; 16]) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    // The low 8 bytes of the trace id as a number, compared with the ratio of its range.
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace_id[8..]);
    let n = u64::from_be_bytes(low) >> 11;
    (n as f64) < ratio * (1u64 << 53) as f64
}

impl Sampler {
    /// Whether a span of `trace_id` under `parent` is recorded.
    pub fn keeps(&self, trace_id: &[u8; 16], parent: Option<&SpanContext>) -> bool {
        match self {
            Sampler::AlwaysOn => true,
            Sampler::AlwaysOff => false,
            Sampler::Ratio(r) => ratio_keeps(*r, trace_id),
            Sampler::ParentBased(root) => match parent {
                Some(p) => p.sampled,
                None => match root {
                    RootSampler::AlwaysOn => true,
                    RootSampler::AlwaysOff => false,
                    RootSampler::Ratio(r) => ratio_keeps(*r, trace_id),
                },
            },
        }
    }
}

pub(crate) fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn random_span_id() -> [u8; 8] {
    loop {
        let id: [u8; 8] = rand::random();
        if id != [0; 8] {
            return id;
        }
    }
}

fn random_trace_id() -> [u8; 16] {
    loop {
        let id: [u8; 16] = rand::random();
        if id != [0; 16] {
            return id;
        }
    }
}

/// The tracer of one process: its sampler and the exporter's queue.
pub struct Tracer {
    pub(crate) sampler: Sampler,
    pub(crate) exporter: Arc<Exporter>,
}

impl Tracer {
    /// Starts a span under `parent`, or a new trace when there is none.
    pub fn start(
        &'static self,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        parent: Option<&SpanContext>,
    ) -> Span {
        let trace_id = parent.map_or_else(random_trace_id, |p| p.trace_id);
        let sampled = self.sampler.keeps(&trace_id, parent);
        let context = SpanContext {
            trace_id,
            span_id: random_span_id(),
            sampled,
            trace_state: parent.and_then(|p| p.trace_state.clone()),
        };
        self.start_as(name, kind, context, parent.map(|p| p.span_id))
    }

    /// Starts a span with a given identity (the deterministic root of a proposal's trace).
    pub fn start_as(
        &'static self,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        context: SpanContext,
        parent_span_id: Option<[u8; 8]>,
    ) -> Span {
        let data = context.sampled.then(|| {
            Box::new(SpanData {
                context: context.clone(),
                parent_span_id,
                name: name.into(),
                kind,
                start_unix_nanos: now_unix_nanos(),
                end_unix_nanos: 0,
                attributes: Vec::with_capacity(12),
                links: Vec::new(),
                status: Status::Unset,
            })
        });
        Span {
            tracer: self,
            context,
            data,
            started: Instant::now(),
        }
    }

    /// Whether a root of `trace_id` would be recorded (for deterministic trace ids).
    pub fn samples_root(&self, trace_id: &[u8; 16]) -> bool {
        self.sampler.keeps(trace_id, None)
    }
}

/// A span in progress; exported when dropped (or [`Span::end`]ed).
pub struct Span {
    tracer: &'static Tracer,
    context: SpanContext,
    data: Option<Box<SpanData>>,
    started: Instant,
}

impl Span {
    /// This span's identity: the parent of its children, the value of an outgoing
    /// `traceparent`.
    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// Whether anything set on this span is exported.
    pub fn is_recording(&self) -> bool {
        self.data.is_some()
    }

    pub fn set(&mut self, key: &'static str, value: impl Into<AttrValue>) {
        if let Some(d) = &mut self.data {
            d.attributes.push((key, value.into()));
        }
    }

    pub fn link(&mut self, context: SpanContext, attributes: Vec<(&'static str, AttrValue)>) {
        if let Some(d) = &mut self.data {
            d.links.push(Link {
                context,
                attributes,
            });
        }
    }

    /// Marks the span failed with an `error.type` and a short, safe description.
    pub fn fail(&mut self, error_type: impl Into<AttrValue>, message: impl Into<String>) {
        if let Some(d) = &mut self.data {
            d.attributes.push(("error.type", error_type.into()));
            d.status = Status::Error(message.into());
        }
    }

    pub fn set_status(&mut self, status: Status) {
        if let Some(d) = &mut self.data {
            d.status = status;
        }
    }

    /// Ends the span now.
    pub fn end(self) {}
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some(mut data) = self.data.take() {
            let elapsed = self.started.elapsed().as_nanos() as u64;
            data.end_unix_nanos = data.start_unix_nanos.saturating_add(elapsed.max(1));
            self.tracer.exporter.enqueue(*data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_sampling_follows_the_trace_id() {
        let low = [0u8; 16];
        let mut high = [0u8; 16];
        high[8..].copy_from_slice(&[0xff; 8]);
        assert!(Sampler::Ratio(0.5).keeps(&low, None));
        assert!(!Sampler::Ratio(0.5).keeps(&high, None));
        assert!(Sampler::Ratio(1.0).keeps(&high, None));
        assert!(!Sampler::Ratio(0.0).keeps(&low, None));
    }

    #[test]
    fn parent_based_follows_the_parent() {
        let parent = SpanContext {
            trace_id: [1; 16],
            span_id: [1; 8],
            sampled: false,
            trace_state: None,
        };
        let s = Sampler::default();
        assert!(!s.keeps(&parent.trace_id, Some(&parent)));
        assert!(s.keeps(&parent.trace_id, None));
    }
}
