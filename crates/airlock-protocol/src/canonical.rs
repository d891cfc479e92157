//! Canonical JSON: object keys sorted by UTF-8 bytes at every depth, no whitespace, numbers as
//! serde_json prints them (integers exactly; floats in shortest round-trip form), strings with
//! serde_json's escaping. Every hash and signature in Airlock is computed over this form.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serializes `v` canonically.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::with_capacity(256);
    write(v, &mut out);
    out
}

/// Appends the canonical form of `v` to `out` (for callers that write an object's keys
/// themselves, in sorted order, without building a [`Value`] of it first).
pub fn write_canonical(v: &Value, out: &mut String) {
    write(v, out);
}

/// Appends `s` as a canonical JSON string.
pub fn write_canonical_str(s: &str, out: &mut String) {
    write_string(s, out);
}

/// `sha256:<hex>` of text that already is canonical JSON.
pub fn hash_canonical(text: &str) -> String {
    format!("sha256:{}", sha256_hex(text.as_bytes()))
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(_) => out.push_str(&v.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json escapes exactly `"`, `\` and U+0000..U+001F. Text without them (nearly all
    // of it) prints as is; anything else goes through serde_json, whose escaping is
    // deterministic.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    out.push_str(&Value::String(s.to_owned()).to_string());
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `sha256:<hex>` of the canonical form of `v`.
pub fn hash_json(v: &Value) -> String {
    hash_canonical(&canonical_json(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": null}});
        let b = json!({"a": {"x": null, "y": [1, 2]}, "b": 1});
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
        assert_eq!(hash_json(&a), hash_json(&b));
    }

    #[test]
    fn values_change_the_hash() {
        assert_ne!(hash_json(&json!({"a": 1})), hash_json(&json!({"a": 2})));
        assert_ne!(hash_json(&json!({"a": 1})), hash_json(&json!({"a": "1"})));
        assert_ne!(hash_json(&json!([1, 2])), hash_json(&json!([2, 1])));
    }

    #[test]
    fn strings_are_escaped() {
        let v = json!({"q": "a\"b\\c\n\u{0}é"});
        assert_eq!(canonical_json(&v), r#"{"q":"a\"b\\c\n\u0000é"}"#);
    }

    #[test]
    fn plain_and_escaped_strings_match_serde_json() {
        for s in [
            "",
            "plain ascii / with slash",
            "é ü 中文 😀 \u{2028} \u{7f}",
            "quote \" in",
            "back\\slash",
            "\u{1f} unit separator",
            "tab\tand\nnewline\r\u{8}\u{c}",
        ] {
            let v = Value::String(s.into());
            assert_eq!(canonical_json(&v), v.to_string(), "{s:?}");
            let key = json!({ s: s });
            assert_eq!(canonical_json(&key), key.to_string(), "{s:?}");
        }
        let v = json!({"n": [1, -2, 3.5, 1e300, null, true, false]});
        assert_eq!(canonical_json(&v), v.to_string());
    }

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
