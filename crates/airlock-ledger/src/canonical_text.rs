//! Canonical JSON straight from JSON text, without building a `serde_json::Value`.
//!
//! `verify` hashes every record, and the records keep their JSON columns as the text
//! `serde_json` wrote (keys in insertion order). Parsing each into a `Value` and writing it
//! back canonically was most of verify's time. [`canonicalize`] walks the text once and writes
//! the canonical form (keys sorted by UTF-8 bytes at every depth, no whitespace, strings with
//! serde_json's escaping, numbers as serde_json prints them) into the caller's buffer.
//!
//! It only answers when it is sure to give what `canonical_json(&serde_json::from_str(text)?)`
//! gives; on anything unusual (a number that is not a short plain integer, a string escape it
//! would have to decode, deep nesting, text serde_json would reject) it says so by returning
//! `false`, and the caller takes that slow path. A test compares both on many values.

use airlock_protocol::{write_canonical, write_canonical_str};
use serde_json::Value;

/// Deeper than this goes the slow way (serde_json stops at 128).
const MAX_DEPTH: usize = 100;

/// Appends the canonical form of the JSON `text` to `out` and returns `true`, or leaves `out`
/// as it was and returns `false` when the text needs the slow path (which also reports
/// malformed text).
pub(crate) fn canonicalize(text: &str, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        // Scratch for sorting object members; reused across objects.
        members: Vec::new(),
    };
    // Tokens begin and end at ASCII bytes, so what is copied from `text` is whole characters.
    let ok = p.ws() && p.value(out, 0) && p.ws() && p.i == p.s.len();
    if !ok {
        out.truncate(start);
    }
    ok
}

/// Appends the canonical form of `text`, going through a `Value` when [`canonicalize`] cannot;
/// an error names why serde_json rejected the text.
pub(crate) fn canonicalize_or_parse(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if canonicalize(text, out) {
        return Ok(());
    }
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut s = String::new();
    write_canonical(&v, &mut s);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Appends `s` as a canonical JSON string.
pub(crate) fn push_str(s: &str, out: &mut Vec<u8>) {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    let mut t = String::new();
    write_canonical_str(s, &mut t);
    out.extend_from_slice(t.as_bytes());
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    members: Vec<(usize, usize, usize)>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips JSON whitespace (the four characters serde_json accepts).
    fn ws(&mut self) -> bool {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
        true
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.object(out, depth),
            Some(b'[') => self.array(out, depth),
            Some(b'"') => self.string(out).is_some(),
            Some(b't') => self.literal(b"true", out),
            Some(b'f') => self.literal(b"false", out),
            Some(b'n') => self.literal(b"null", out),
            Some(b'-' | b'0'..=b'9') => self.number(out),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8], out: &mut Vec<u8>) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            out.extend_from_slice(word);
            true
        } else {
            false
        }
    }

    /// Plain integers that fit any of serde_json's integer types print as written; anything
    /// else (fractions, exponents, `-0`, leading zeros, 19 digits and more) is left to the
    /// slow path.
    fn number(&mut self, out: &mut Vec<u8>) -> bool {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        let n = self.i - digits;
        if n == 0 || n > 18 {
            return false;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return false;
        }
        if self.s[digits] == b'0' && (n > 1 || digits > start) {
            return false;
        }
        out.extend_from_slice(&self.s[start..self.i]);
        true
    }

    /// Copies a string that needs no escaping change (no backslash, no control character) and
    /// returns the range of its contents in `self.s`; `None` for anything else.
    fn string(&mut self, out: &mut Vec<u8>) -> Option<(usize, usize)> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        let open = self.i;
        let from = open + 1;
        let rest = &self.s[from..];
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        let to = from + len;
        self.i = to + 1;
        out.extend_from_slice(&self.s[open..self.i]);
        Some((from, to))
    }

    fn array(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        self.i += 1;
        out.push(b'[');
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            out.push(b']');
            return true;
        }
        loop {
            if !(self.ws() && self.value(out, depth + 1) && self.ws()) {
                return false;
            }
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    out.push(b',');
                }
                Some(b']') => {
                    self.i += 1;
                    out.push(b']');
                    return true;
                }
                _ => return false,
            }
        }
    }

    /// Writes the members as they come, noting where each key and member starts in `out`;
    /// when the keys were not already in strictly increasing order, rewrites them sorted
    /// (a repeated key keeps its last value, as serde_json does).
    fn object(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        self.i += 1;
        let obj = out.len();
        out.push(b'{');
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            out.push(b'}');
            return true;
        }
        // (member start in out, key start in self.s, key end in self.s)
        let base = self.members.len();
        let mut sorted = true;
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return false;
            }
            if self.members.len() > base {
                out.push(b',');
            }
            let member = out.len();
            let Some((k0, k1)) = self.string(out) else {
                return false;
            };
            if let Some(&(_, p0, p1)) = self.members.last().filter(|_| self.members.len() > base)
                && self.s[p0..p1] >= self.s[k0..k1]
            {
                sorted = false;
            }
            self.members.push((member, k0, k1));
            self.ws();
            if self.peek() != Some(b':') {
                return false;
            }
            self.i += 1;
            out.push(b':');
            if !(self.ws() && self.value(out, depth + 1) && self.ws()) {
                return false;
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return false,
            }
        }
        if !sorted {
            let end = out.len();
            let s = self.s;
            let members = &self.members[base..];
            // Each member's text runs to the comma before the next (or the end).
            let mut spans: Vec<(&[u8], usize, usize)> = members
                .iter()
                .enumerate()
                .map(|(n, &(m, k0, k1))| {
                    let stop = members.get(n + 1).map_or(end, |next| next.0 - 1);
                    (&s[k0..k1], m, stop)
                })
                .collect();
            // Stable: among repeated keys the last written stays last.
            spans.sort_by(|a, b| a.0.cmp(b.0));
            let mut text = Vec::with_capacity(end - obj);
            text.push(b'{');
            let mut first = true;
            for (n, &(key, m, stop)) in spans.iter().enumerate() {
                if spans.get(n + 1).is_some_and(|next| next.0 == key) {
                    continue;
                }
                if !first {
                    text.push(b',');
                }
                first = false;
                text.extend_from_slice(&out[m..stop]);
            }
            out.truncate(obj);
            out.extend_from_slice(&text);
        }
        self.members.truncate(base);
        out.push(b'}');
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_protocol::canonical_json;
    use serde_json::json;

    fn slow(text: &str) -> Option<String> {
        serde_json::from_str::<Value>(text)
            .ok()
            .map(|v| canonical_json(&v))
    }

    fn check(text: &str) {
        let mut fast = b"prefix".to_vec();
        let handled = canonicalize(text, &mut fast);
        if handled {
            let fast = String::from_utf8(fast).unwrap();
            assert_eq!(
                Some(&fast["prefix".len()..]),
                slow(text).as_deref(),
                "{text}"
            );
        } else {
            assert_eq!(fast, b"prefix", "a refusal leaves the buffer as it was");
        }
        let mut either = Vec::new();
        match canonicalize_or_parse(text, &mut either) {
            Ok(()) => assert_eq!(
                Some(String::from_utf8(either).unwrap()),
                slow(text),
                "{text}"
            ),
            Err(_) => assert_eq!(slow(text), None, "{text}"),
        }
    }

    #[test]
    fn matches_the_value_path_on_hand_picked_text() {
        for text in [
            "{}",
            "[]",
            " { \"b\" : 1 , \"a\" : [ 1 , 2 ] } ",
            r#"{"z":{"y":1,"x":2},"a":null,"m":[{"d":1,"c":2}]}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"b":1,"a":2,"b":3}"#,
            r#"{"é":1,"e":2,"😀":3,"z":4}"#,
            r#"{"ab":1,"a":2,"":3}"#,
            r#""tab\there""#,
            r#""\u00e9\/""#,
            r#""\ud83d\ude00""#,
            r#""\ud83d""#,
            "\"raw\u{1}control\"",
            r#"[0,-0,1,-1,007,1.0,1.50,1e3,-2.5E-3,123456789012345678,1234567890123456789,18446744073709551616,-9223372036854775809]"#,
            "[1,]",
            "{\"a\":1,}",
            "[tru]",
            "nul",
            "\"unterminated",
            "[1] x",
            "{\"a\" 1}",
            "-",
            "",
            "true false",
            &format!("{}1{}", "[".repeat(130), "]".repeat(130)),
            &format!("{}1{}", "[".repeat(90), "]".repeat(90)),
        ] {
            check(text);
        }
    }

    /// Values of every shape, written by serde_json in insertion order (what the ledger
    /// stores) and pretty-printed, canonicalise to what the `Value` path gives.
    #[test]
    fn matches_the_value_path_on_many_generated_values() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let v = value(&mut next, 0);
            check(&serde_json::to_string(&v).unwrap());
            check(&serde_json::to_string_pretty(&v).unwrap());
        }
    }

    fn value(next: &mut impl FnMut() -> u64, depth: usize) -> Value {
        const WORDS: [&str; 12] = [
            "a",
            "b",
            "tenant_id",
            "é",
            "Z",
            "",
            "q\"uote",
            "back\\slash",
            "line\nbreak",
            "😀 emoji",
            "\u{1f}",
            "\u{2028}",
        ];
        let word = |n: u64| WORDS[(n % WORDS.len() as u64) as usize].to_owned();
        match next() % if depth > 4 { 5 } else { 7 } {
            0 => Value::Null,
            1 => Value::Bool(next().is_multiple_of(2)),
            2 => match next() % 5 {
                0 => json!(next() as i64),
                1 => json!(next()),
                2 => json!((next() % 1000) as i64 - 500),
                3 => json!((next() % 100_000) as f64 / 7.0),
                _ => json!(f64::from_bits(next() >> 2)),
            },
            3 | 4 => Value::String(word(next()) + &word(next())),
            5 => Value::Array((0..next() % 4).map(|_| value(next, depth + 1)).collect()),
            _ => Value::Object(
                (0..next() % 5)
                    .map(|_| (word(next()), value(next, depth + 1)))
                    .collect(),
            ),
        }
    }
}
