//! W3C Trace Context: ids, the `traceparent` header and the `tracestate` list.
//!
//! Parsing is strict (version `00` layout, lowercase hex, no all-zero ids): anything else is
//! ignored and the span starts a trace of its own, as the W3C recommendation asks of a
//! receiver that cannot parse what it got.

use std::fmt::Write as _;
use std::sync::Arc;

/// Longest `tracestate` kept (W3C: at least 512 characters must be propagated; more may be
/// dropped). A longer one is dropped whole, the `traceparent` still honoured.
pub const MAX_TRACESTATE_LEN: usize = 512;
/// Most list members a kept `tracestate` may have (W3C limit).
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// The identity of one span and of the trace it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// Whether the span is recorded and exported (the `sampled` trace flag).
    pub sampled: bool,
    /// The vendor `tracestate` carried along unchanged, when one came with the parent.
    pub trace_state: Option<Arc<str>>,
}

impl SpanContext {
    /// Parses a `traceparent` value (and an optional `tracestate`). `None` when the
    /// `traceparent` is malformed; an oversize or malformed `tracestate` is dropped alone.
    pub fn from_w3c(traceparent: &str, tracestate: Option<&str>) -> Option<SpanContext> {
        let (trace_id, span_id, flags) = parse_traceparent(traceparent)?;
        Some(SpanContext {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            trace_state: tracestate.and_then(valid_tracestate).map(Arc::from),
        })
    }

    /// The `traceparent` value naming this span as the parent.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            u8::from(self.sampled)
        )
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn parse_traceparent(value: &str) -> Option<([u8; 16], [u8; 8], u8)> {
    let value = value.trim_matches([' ', '\t']);
    let mut parts = value.split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    // Version 00 has exactly four fields; a later version may append more, which a version
    // 00 reader ignores. Version ff is invalid.
    if version.len() != 2 || version == "ff" || !is_lower_hex(version) {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    if trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    let trace_id: [u8; 16] = unhex(trace)?;
    let span_id: [u8; 8] = unhex(span)?;
    let [flags] = unhex::<1>(flags)?;
    if trace_id == [0; 16] || span_id == [0; 8] {
        return None;
    }
    Some((trace_id, span_id, flags))
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 || !is_lower_hex(s) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// A `tracestate` worth carrying: printable ASCII, within the size and member limits, each
/// member `key=value`. Anything else is dropped.
fn valid_tracestate(value: &str) -> Option<&str> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() || value.len() > MAX_TRACESTATE_LEN {
        return None;
    }
    let mut members = 0;
    for member in value.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        members += 1;
        let (key, val) = member.split_once('=')?;
        let key_ok = !key.is_empty()
            && key.len() <= 256
            && key.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
            });
        let val_ok = !val.is_empty()
            && val.len() <= 256
            && val
                .bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=');
        if !key_ok || !val_ok {
            return None;
        }
    }
    (members > 0 && members <= MAX_TRACESTATE_MEMBERS).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let c = SpanContext::from_w3c(GOOD, Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"))
            .expect("valid");
        assert!(c.sampled);
        assert_eq!(c.traceparent(), GOOD);
        assert_eq!(
            c.trace_state.as_deref(),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        );
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        for bad in [
            "",
            "garbage",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba9\u{e9}2b-01",
            "'; DROP TABLE spans; --",
        ] {
            assert!(SpanContext::from_w3c(bad, None).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_may_carry_more_fields() {
        let c = SpanContext::from_w3c(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more",
            None,
        )
        .expect("future versions are read as 00");
        assert!(!c.sampled);
    }

    #[test]
    fn an_oversize_or_malformed_tracestate_is_dropped_alone() {
        let long = format!("k={}", "v".repeat(MAX_TRACESTATE_LEN));
        let many = (0..40)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        for bad in [
            long.as_str(),
            many.as_str(),
            "novalue",
            "Upper=x",
            "a=b=c",
            "a=\u{7f}",
        ] {
            let c = SpanContext::from_w3c(GOOD, Some(bad)).expect("traceparent kept");
            assert_eq!(c.trace_state, None, "{bad:?}");
        }
    }
}
