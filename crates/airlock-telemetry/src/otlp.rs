//! The OTLP trace request (`opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`)
//! in protobuf wire format, written by hand: the exporter needs only this one message, and
//! field numbers are all it takes. Field numbers follow opentelemetry-proto's `trace.proto`,
//! `resource.proto` and `common.proto`; the test suite decodes the output with the official
//! generated classes.

use crate::context::SpanContext;
use crate::span::{AttrValue, Link, SpanData, Status};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn tag(buf: &mut Vec<u8>, field: u32, wire: u8) {
    varint(buf, (u64::from(field) << 3) | u64::from(wire));
}

fn bytes(buf: &mut Vec<u8>, field: u32, data: &[u8]) {
    tag(buf, field, LEN);
    varint(buf, data.len() as u64);
    buf.extend_from_slice(data);
}

/// The tag and length of a nested message whose body is `len` bytes; the caller writes the
/// body right after. Lengths are computed first (the `*_len` functions), so nothing is encoded
/// twice or into a temporary buffer.
fn header(buf: &mut Vec<u8>, field: u32, len: usize) {
    tag(buf, field, LEN);
    varint(buf, len as u64);
}

fn fixed64(buf: &mut Vec<u8>, field: u32, v: u64) {
    tag(buf, field, FIXED64);
    buf.extend_from_slice(&v.to_le_bytes());
}

fn fixed32(buf: &mut Vec<u8>, field: u32, v: u32) {
    tag(buf, field, FIXED32);
    buf.extend_from_slice(&v.to_le_bytes());
}

fn uint(buf: &mut Vec<u8>, field: u32, v: u64) {
    tag(buf, field, VARINT);
    varint(buf, v);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn tag_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

/// A length-delimited field (bytes, string or message) with a body of `n` bytes.
fn field_len(field: u32, n: usize) -> usize {
    tag_len(field) + varint_len(n as u64) + n
}

fn uint_len(field: u32, v: u64) -> usize {
    tag_len(field) + varint_len(v)
}

/// `AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value
/// = 3; ... } }`
fn any_len(value: &AttrValue) -> usize {
    match value {
        AttrValue::Str(s) => field_len(1, s.len()),
        AttrValue::Bool(b) => uint_len(2, u64::from(*b)),
        AttrValue::Int(n) => uint_len(3, *n as u64),
    }
}

/// `KeyValue { string key = 1; AnyValue value = 2; }`
fn kv_len(key: &str, value: &AttrValue) -> usize {
    field_len(1, key.len()) + field_len(2, any_len(value))
}

fn key_value(buf: &mut Vec<u8>, field: u32, key: &str, value: &AttrValue) {
    header(buf, field, kv_len(key, value));
    bytes(buf, 1, key.as_bytes());
    header(buf, 2, any_len(value));
    match value {
        AttrValue::Str(s) => bytes(buf, 1, s.as_bytes()),
        AttrValue::Bool(b) => uint(buf, 2, u64::from(*b)),
        AttrValue::Int(n) => uint(buf, 3, *n as u64),
    }
}

fn attrs_len(field: u32, attrs: &[(&'static str, AttrValue)]) -> usize {
    attrs
        .iter()
        .map(|(k, v)| field_len(field, kv_len(k, v)))
        .sum()
}

fn trace_flags(c: &SpanContext) -> u32 {
    u32::from(c.sampled)
}

/// `Span.Link`: trace_id 1, span_id 2, trace_state 3, attributes 4, flags 6.
fn link_len(l: &Link) -> usize {
    field_len(1, 16)
        + field_len(2, 8)
        + l.context
            .trace_state
            .as_ref()
            .map_or(0, |t| field_len(3, t.len()))
        + attrs_len(4, &l.attributes)
        + tag_len(6)
        + 4
}

fn link(buf: &mut Vec<u8>, l: &Link) {
    header(buf, 13, link_len(l));
    bytes(buf, 1, &l.context.trace_id);
    bytes(buf, 2, &l.context.span_id);
    if let Some(state) = &l.context.trace_state {
        bytes(buf, 3, state.as_bytes());
    }
    for (k, v) in &l.attributes {
        key_value(buf, 4, k, v);
    }
    fixed32(buf, 6, trace_flags(&l.context));
}

/// `Status { string message = 2; StatusCode code = 3; }` (UNSET 0, OK 1, ERROR 2).
fn status_len(status: &Status) -> usize {
    match status {
        Status::Unset => 0,
        Status::Ok => uint_len(3, 1),
        Status::Error(text) => field_len(2, text.len()) + uint_len(3, 2),
    }
}

/// `Span`: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6,
/// start 7, end 8, attributes 9, links 13, status 15, flags 16.
fn span_len(s: &SpanData) -> usize {
    let status = status_len(&s.status);
    field_len(1, 16)
        + field_len(2, 8)
        + s.context
            .trace_state
            .as_ref()
            .map_or(0, |t| field_len(3, t.len()))
        + s.parent_span_id.map_or(0, |_| field_len(4, 8))
        + field_len(5, s.name.len())
        + uint_len(6, s.kind as u64)
        + 2 * (tag_len(7) + 8)
        + attrs_len(9, &s.attributes)
        + s.links
            .iter()
            .map(|l| field_len(13, link_len(l)))
            .sum::<usize>()
        + if status > 0 { field_len(15, status) } else { 0 }
        + tag_len(16)
        + 4
}

fn span(buf: &mut Vec<u8>, s: &SpanData) {
    header(buf, 2, span_len(s));
    bytes(buf, 1, &s.context.trace_id);
    bytes(buf, 2, &s.context.span_id);
    if let Some(state) = &s.context.trace_state {
        bytes(buf, 3, state.as_bytes());
    }
    if let Some(parent) = &s.parent_span_id {
        bytes(buf, 4, parent);
    }
    bytes(buf, 5, s.name.as_bytes());
    uint(buf, 6, s.kind as u64);
    fixed64(buf, 7, s.start_unix_nanos);
    fixed64(buf, 8, s.end_unix_nanos);
    for (k, v) in &s.attributes {
        key_value(buf, 9, k, v);
    }
    for l in &s.links {
        link(buf, l);
    }
    let status = status_len(&s.status);
    if status > 0 {
        header(buf, 15, status);
        match &s.status {
            Status::Unset => {}
            Status::Ok => uint(buf, 3, 1),
            Status::Error(text) => {
                bytes(buf, 2, text.as_bytes());
                uint(buf, 3, 2);
            }
        }
    }
    fixed32(buf, 16, trace_flags(&s.context));
}

/// One request carrying `spans` of one resource (`resource` attributes) and one
/// instrumentation scope.
pub fn encode_request(
    resource: &[(&'static str, AttrValue)],
    scope_name: &str,
    scope_version: &str,
    spans: &[SpanData],
) -> Vec<u8> {
    // InstrumentationScope { string name = 1; string version = 2; }
    let scope_len = field_len(1, scope_name.len()) + field_len(2, scope_version.len());
    // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
    let scope_spans_len = field_len(1, scope_len)
        + spans
            .iter()
            .map(|s| field_len(2, span_len(s)))
            .sum::<usize>();
    // Resource { repeated KeyValue attributes = 1; }
    let resource_len = attrs_len(1, resource);
    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    let resource_spans_len = field_len(1, resource_len) + field_len(2, scope_spans_len);
    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    let total = field_len(1, resource_spans_len);
    let mut out = Vec::with_capacity(total);
    header(&mut out, 1, resource_spans_len);
    header(&mut out, 1, resource_len);
    for (k, v) in resource {
        key_value(&mut out, 1, k, v);
    }
    header(&mut out, 2, scope_spans_len);
    header(&mut out, 1, scope_len);
    bytes(&mut out, 1, scope_name.as_bytes());
    bytes(&mut out, 2, scope_version.as_bytes());
    for s in spans {
        span(&mut out, s);
    }
    debug_assert_eq!(out.len(), total, "computed and written lengths agree");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_base_128() {
        let mut b = Vec::new();
        varint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        b.clear();
        varint(&mut b, u64::MAX);
        assert_eq!(b.len(), 10);
    }

    #[test]
    fn computed_lengths_match_what_is_written() {
        use std::borrow::Cow;
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut b = Vec::new();
            varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
        }
        let context = SpanContext {
            trace_id: [7; 16],
            span_id: [9; 8],
            sampled: true,
            trace_state: Some("k=v".into()),
        };
        let span = SpanData {
            context: context.clone(),
            parent_span_id: Some([3; 8]),
            name: Cow::Borrowed("tools/call x"),
            kind: crate::span::SpanKind::Server,
            start_unix_nanos: 1,
            end_unix_nanos: 2,
            attributes: vec![
                ("a", AttrValue::Int(-5)),
                ("b", AttrValue::Bool(true)),
                ("c", AttrValue::Str("x".repeat(300).into())),
            ],
            links: vec![Link {
                context,
                attributes: vec![("l", "v".into())],
            }],
            status: Status::Error("NOT_FOUND_IN_TENANT".into()),
        };
        let out = encode_request(&[("service.name", "s".into())], "airlock", "0", &[span]);
        assert!(out.len() > 300);
    }

    #[test]
    fn a_negative_int_is_ten_bytes_twos_complement() {
        let mut b = Vec::new();
        key_value(&mut b, 1, "k", &AttrValue::Int(-1));
        // tag, len, key(3), tag, len, tag, 10 bytes
        assert_eq!(b.len(), 2 + 3 + 2 + 1 + 10);
    }
}
