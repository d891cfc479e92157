//! Value formatting shared by the engines' type tables: bytes, floats, integers, decimals.

use crate::{DbError, DbErrorKind};

/// `\x` followed by lowercase hex: the Postgres `bytea` text form, used for binary values by
/// every engine.
pub(crate) fn hex_bytes(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("\\x");
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// A finite `f64` as a JSON number; NaN and ±infinity as the strings `NaN`, `Infinity`,
/// `-Infinity` (JSON has no such numbers).
pub(crate) fn float_json(f: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None if f.is_nan() => serde_json::Value::String("NaN".into()),
        None if f > 0.0 => serde_json::Value::String("Infinity".into()),
        None => serde_json::Value::String("-Infinity".into()),
    }
}

/// An `f32` widened through its shortest decimal form, so `0.1f32` becomes `0.1`, not
/// `0.10000000149011612`.
pub(crate) fn f32_json(f: f32) -> serde_json::Value {
    if !f.is_finite() {
        return float_json(f64::from(f));
    }
    float_json(f.to_string().parse::<f64>().unwrap_or(f64::from(f)))
}

/// Parses a model-supplied integer. Surrounding ASCII whitespace is ignored (as the servers'
/// own integer input does).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
        .parse()
        .ok()
}

/// Whether `s` is a plain decimal number: `[+-]digits[.digits][e[+-]digits]`. No `inf`, `NaN`,
/// hex or trailing garbage.
pub(crate) fn is_decimal_literal(s: &str) -> bool {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// The error every engine returns when a model-supplied value cannot be a value of the key's
/// column type. Callers answer "not found".
pub(crate) fn invalid_value(what: &str, ty: &str) -> DbError {
    DbError::new(
        DbErrorKind::InvalidValue,
        format!("{what} is not a valid {ty}"),
    )
}

/// Formats microseconds as `.ffffff` when non-zero, else nothing.
pub(crate) fn micros_suffix(us: u32) -> String {
    if us == 0 {
        String::new()
    } else {
        format!(".{us:06}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_literals() {
        for ok in ["1", "-1", "+1.5", ".5", "5.", "1e10", "1E-3", " 42 "] {
            assert!(is_decimal_literal(ok), "{ok}");
        }
        for bad in [
            "", "-", ".", "abc", "1abc", "inf", "NaN", "1e", "0x10", "1 2", "1;DROP",
        ] {
            assert!(!is_decimal_literal(bad), "{bad}");
        }
    }

    #[test]
    fn hex_and_floats() {
        assert_eq!(hex_bytes(&[0xde, 0xad, 0x01]), "\\xdead01");
        assert_eq!(f32_json(0.1).to_string(), "0.1");
        assert_eq!(float_json(f64::NAN), serde_json::json!("NaN"));
        assert_eq!(
            float_json(f64::NEG_INFINITY),
            serde_json::json!("-Infinity")
        );
    }
}
