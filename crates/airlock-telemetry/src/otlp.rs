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

fn message(buf: &mut Vec<u8>, field: u32, write: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    write(&mut inner);
    bytes(buf, field, &inner);
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

/// `KeyValue { string key = 1; AnyValue value = 2; }`, `AnyValue { oneof value { string
/// string_value = 1; bool bool_value = 2; int64 int_value = 3; ... } }`.
fn key_value(buf: &mut Vec<u8>, field: u32, key: &str, value: &AttrValue) {
    message(buf, field, |kv| {
        bytes(kv, 1, key.as_bytes());
        message(kv, 2, |any| match value {
            AttrValue::Str(s) => bytes(any, 1, s.as_bytes()),
            AttrValue::Bool(b) => uint(any, 2, u64::from(*b)),
            AttrValue::Int(n) => uint(any, 3, *n as u64),
        });
    });
}

fn trace_flags(c: &SpanContext) -> u32 {
    u32::from(c.sampled)
}

/// `Span.Link`: trace_id 1, span_id 2, trace_state 3, attributes 4, flags 6.
fn link(buf: &mut Vec<u8>, l: &Link) {
    message(buf, 13, |m| {
        bytes(m, 1, &l.context.trace_id);
        bytes(m, 2, &l.context.span_id);
        if let Some(state) = &l.context.trace_state {
            bytes(m, 3, state.as_bytes());
        }
        for (k, v) in &l.attributes {
            key_value(m, 4, k, v);
        }
        fixed32(m, 6, trace_flags(&l.context));
    });
}

/// `Span`: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6,
/// start 7, end 8, attributes 9, links 13, status 15, flags 16.
fn span(buf: &mut Vec<u8>, s: &SpanData) {
    message(buf, 2, |m| {
        bytes(m, 1, &s.context.trace_id);
        bytes(m, 2, &s.context.span_id);
        if let Some(state) = &s.context.trace_state {
            bytes(m, 3, state.as_bytes());
        }
        if let Some(parent) = &s.parent_span_id {
            bytes(m, 4, parent);
        }
        bytes(m, 5, s.name.as_bytes());
        uint(m, 6, s.kind as u64);
        fixed64(m, 7, s.start_unix_nanos);
        fixed64(m, 8, s.end_unix_nanos);
        for (k, v) in &s.attributes {
            key_value(m, 9, k, v);
        }
        for l in &s.links {
            link(m, l);
        }
        // Status { string message = 2; StatusCode code = 3; } (UNSET 0, OK 1, ERROR 2).
        match &s.status {
            Status::Unset => {}
            Status::Ok => message(m, 15, |st| uint(st, 3, 1)),
            Status::Error(text) => message(m, 15, |st| {
                bytes(st, 2, text.as_bytes());
                uint(st, 3, 2);
            }),
        }
        fixed32(m, 16, trace_flags(&s.context));
    });
}

/// One request carrying `spans` of one resource (`resource` attributes) and one
/// instrumentation scope.
pub fn encode_request(
    resource: &[(&'static str, AttrValue)],
    scope_name: &str,
    scope_version: &str,
    spans: &[Box<SpanData>],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + spans.len() * 256);
    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    message(&mut out, 1, |rs| {
        // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
        message(rs, 1, |r| {
            for (k, v) in resource {
                key_value(r, 1, k, v);
            }
        });
        message(rs, 2, |ss| {
            // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
            message(ss, 1, |sc| {
                bytes(sc, 1, scope_name.as_bytes());
                bytes(sc, 2, scope_version.as_bytes());
            });
            for s in spans {
                span(ss, s);
            }
        });
    });
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
    fn a_negative_int_is_ten_bytes_twos_complement() {
        let mut b = Vec::new();
        key_value(&mut b, 1, "k", &AttrValue::Int(-1));
        // tag, len, key(3), tag, len, tag, 10 bytes
        assert_eq!(b.len(), 2 + 3 + 2 + 1 + 10);
    }
}
