//! Parameter conversion and result decoding (tables in the module docs of `postgres`).

use std::error::Error as StdError;

use bytes::BytesMut;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;
use tokio_postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

use crate::common::{f32_json, float_json, hex_bytes, invalid_value, micros_suffix, parse_int};
use crate::{DbError, DbErrorKind, Param};

type BoxError = Box<dyn StdError + Sync + Send>;

// ---------------------------------------------------------------------------------------------
// Parameters

/// A parameter converted for the type the server inferred for its placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    Oid(u32),
    F32(f32),
    F64(f64),
    /// Binary format of the text-like types (the UTF-8 bytes).
    Text(String),
    /// Text wire format: the server parses the value with the type's input function.
    TextFormat(String),
}

impl ToSql for Bind {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Bind::Null => Ok(IsNull::Yes),
            Bind::Bool(v) => v.to_sql(ty, out),
            Bind::I16(v) => v.to_sql(ty, out),
            Bind::I32(v) => v.to_sql(ty, out),
            Bind::I64(v) => v.to_sql(ty, out),
            Bind::Oid(v) => v.to_sql(ty, out),
            Bind::F32(v) => v.to_sql(ty, out),
            Bind::F64(v) => v.to_sql(ty, out),
            Bind::Text(s) | Bind::TextFormat(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        // Conversion to the parameter's type happened in `bind`; every variant is valid for the
        // type it was made for.
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self {
            Bind::TextFormat(_) => Format::Text,
            _ => Format::Binary,
        }
    }

    to_sql_checked!();
}

/// Resolves domains to their base type.
pub(crate) fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base_type(inner),
        _ => ty,
    }
}

pub(crate) fn is_text_like(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || (matches!(ty.kind(), Kind::Simple) && ty.name() == "citext")
}

fn param_text(p: &Param) -> Option<String> {
    Some(match p {
        Param::Null => return None,
        Param::Bool(b) => b.to_string(),
        Param::Int(i) => i.to_string(),
        Param::Float(f) => f.to_string(),
        Param::Text(s) => s.clone(),
    })
}

fn as_i64(p: &Param, ty: &str) -> Result<i64, DbError> {
    match p {
        Param::Int(i) => Ok(*i),
        Param::Float(f) if f.fract() == 0.0 && *f >= -(2f64.powi(63)) && *f < 2f64.powi(63) => {
            Ok(*f as i64)
        }
        Param::Text(s) => parse_int(s).ok_or_else(|| invalid_value("text value", ty)),
        _ => Err(invalid_value("value", ty)),
    }
}

/// Converts a parameter to the placeholder's type. `InvalidValue` when it cannot be one.
pub(crate) fn bind(p: &Param, ty: &Type) -> Result<Bind, DbError> {
    if matches!(p, Param::Null) {
        return Ok(Bind::Null);
    }
    let ty = base_type(ty);
    let name = ty.name();
    Ok(match *ty {
        Type::BOOL => Bind::Bool(match p {
            Param::Bool(b) => *b,
            Param::Int(0) => false,
            Param::Int(1) => true,
            Param::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "y" | "yes" | "on" | "1" => true,
                "f" | "false" | "n" | "no" | "off" | "0" => false,
                _ => return Err(invalid_value("text value", name)),
            },
            _ => return Err(invalid_value("value", name)),
        }),
        Type::INT2 => {
            Bind::I16(i16::try_from(as_i64(p, name)?).map_err(|_| invalid_value("value", name))?)
        }
        Type::INT4 => {
            Bind::I32(i32::try_from(as_i64(p, name)?).map_err(|_| invalid_value("value", name))?)
        }
        Type::INT8 => Bind::I64(as_i64(p, name)?),
        Type::OID => {
            Bind::Oid(u32::try_from(as_i64(p, name)?).map_err(|_| invalid_value("value", name))?)
        }
        Type::FLOAT4 | Type::FLOAT8 => {
            let f = match p {
                Param::Int(i) => *i as f64,
                Param::Float(f) => *f,
                Param::Text(s) => {
                    parse_float(s).ok_or_else(|| invalid_value("text value", name))?
                }
                _ => return Err(invalid_value("value", name)),
            };
            if *ty == Type::FLOAT4 {
                Bind::F32(f as f32)
            } else {
                Bind::F64(f)
            }
        }
        _ if is_text_like(ty) => Bind::Text(param_text(p).unwrap_or_default()),
        _ => Bind::TextFormat(param_text(p).unwrap_or_default()),
    })
}

/// Floats as Postgres' `float8in` reads them: decimal literals plus NaN and ±Infinity.
fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if crate::common::is_decimal_literal(t) {
        return t.parse().ok();
    }
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Results

/// A column value as raw bytes in binary format, whatever its type.
pub(crate) struct RawCell<'a>(pub Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawCell<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(RawCell(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(RawCell(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Whether [`decode`] maps this type natively; other columns are selected as `::text`.
pub(crate) fn is_native(ty: &Type) -> bool {
    let ty = base_type(ty);
    matches!(
        *ty,
        Type::BOOL
            | Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::NUMERIC
            | Type::TIMESTAMPTZ
            | Type::TIMESTAMP
            | Type::DATE
            | Type::JSON
            | Type::JSONB
            | Type::UUID
            | Type::BYTEA
    ) || is_text_like(ty)
        || matches!(ty.kind(), Kind::Enum(_))
}

/// Decodes one binary-format value into a JSON scalar.
pub(crate) fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Value, DbError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let ty = base_type(ty);
    let bad = || {
        DbError::new(
            DbErrorKind::Other,
            format!("could not decode a {} value", ty.name()),
        )
    };
    let v = match *ty {
        Type::BOOL => Value::Bool(raw.first().copied().ok_or_else(bad)? != 0),
        Type::INT2 => Value::from(i16::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        Type::INT4 => Value::from(i32::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        Type::INT8 => Value::from(i64::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        Type::OID => Value::from(u32::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        Type::FLOAT4 => f32_json(f32::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        Type::FLOAT8 => float_json(f64::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        Type::NUMERIC => Value::String(decode_numeric(raw).ok_or_else(bad)?),
        Type::TIMESTAMPTZ => {
            let us = i64::from_be_bytes(raw.try_into().map_err(|_| bad())?);
            Value::String(match special_infinity(us) {
                Some(s) => s.to_owned(),
                None => {
                    let dt = pg_epoch()
                        .checked_add_signed(TimeDelta::microseconds(us))
                        .ok_or_else(bad)?;
                    DateTime::<Utc>::from_naive_utc_and_offset(dt, Utc)
                        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                }
            })
        }
        Type::TIMESTAMP => {
            let us = i64::from_be_bytes(raw.try_into().map_err(|_| bad())?);
            Value::String(match special_infinity(us) {
                Some(s) => s.to_owned(),
                None => {
                    let dt = pg_epoch()
                        .checked_add_signed(TimeDelta::microseconds(us))
                        .ok_or_else(bad)?;
                    let frac = dt.and_utc().timestamp_subsec_micros();
                    format!("{}{}", dt.format("%Y-%m-%dT%H:%M:%S"), micros_suffix(frac))
                }
            })
        }
        Type::DATE => {
            let days = i32::from_be_bytes(raw.try_into().map_err(|_| bad())?);
            Value::String(match days {
                i32::MAX => "infinity".to_owned(),
                i32::MIN => "-infinity".to_owned(),
                _ => {
                    let d = pg_epoch()
                        .date()
                        .checked_add_signed(TimeDelta::days(days.into()))
                        .ok_or_else(bad)?;
                    d.format("%Y-%m-%d").to_string()
                }
            })
        }
        Type::JSON => Value::String(compact_json(std::str::from_utf8(raw).map_err(|_| bad())?)),
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => {
                Value::String(compact_json(std::str::from_utf8(rest).map_err(|_| bad())?))
            }
            _ => return Err(bad()),
        },
        Type::UUID => {
            let b: [u8; 16] = raw.try_into().map_err(|_| bad())?;
            let h = hex_bytes(&b);
            let h = &h[2..];
            Value::String(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        Type::BYTEA => Value::String(hex_bytes(raw)),
        _ if is_text_like(ty) || matches!(ty.kind(), Kind::Enum(_)) => {
            Value::String(String::from_utf8_lossy(raw).into_owned())
        }
        _ => {
            return Err(DbError::new(
                DbErrorKind::Other,
                format!("no mapping for type {}", ty.name()),
            ));
        }
    };
    Ok(v)
}

fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

fn special_infinity(us: i64) -> Option<&'static str> {
    match us {
        i64::MAX => Some("infinity"),
        i64::MIN => Some("-infinity"),
        _ => None,
    }
}

/// Binary `numeric` → its exact decimal text, as Postgres' `numeric_out` prints it.
///
/// Layout: `ndigits: i16, weight: i16, sign: u16, dscale: u16`, then `ndigits` base-10000
/// digits; the first digit is worth `10000^weight`.
pub(crate) fn decode_numeric(raw: &[u8]) -> Option<String> {
    let rd =
        |i: usize| -> Option<u16> { Some(u16::from_be_bytes(raw.get(i..i + 2)?.try_into().ok()?)) };
    let ndigits = rd(0)? as i16;
    let weight = rd(2)? as i16 as i32;
    let sign = rd(4)?;
    let dscale = rd(6)? as usize;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => return None,
    }
    if ndigits < 0 {
        return None;
    }
    let digits: Vec<u16> = (0..ndigits as usize)
        .map(|i| rd(8 + 2 * i))
        .collect::<Option<_>>()?;
    let digit = |i: i32| -> u16 {
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize]
        } else {
            0
        }
    };

    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let d = digit(i);
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::with_capacity(dscale + 4);
        let mut i = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    Some(out)
}

/// Removes insignificant whitespace from valid JSON text (jsonb prints `{"a": 1}`). Exact: it
/// never re-parses numbers or strings.
pub(crate) fn compact_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [ndigits as u16, weight as u16, sign, dscale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    #[test]
    fn numeric_text() {
        assert_eq!(decode_numeric(&numeric(0, 0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(decode_numeric(&numeric(0, 0, 0, 2, &[])).unwrap(), "0.00");
        // 12345678.9 = [1234, 5678, 9000], weight 1, dscale 1
        assert_eq!(
            decode_numeric(&numeric(3, 1, 0, 1, &[1234, 5678, 9000])).unwrap(),
            "12345678.9"
        );
        // -0.0001 = [1], weight -1, dscale 4
        assert_eq!(
            decode_numeric(&numeric(1, -1, 0x4000, 4, &[1])).unwrap(),
            "-0.0001"
        );
        // 1e8 = [1], weight 2 → 100000000
        assert_eq!(
            decode_numeric(&numeric(1, 2, 0, 0, &[1])).unwrap(),
            "100000000"
        );
        // 0.000001 = [100] weight -2, dscale 6
        assert_eq!(
            decode_numeric(&numeric(1, -2, 0, 6, &[100])).unwrap(),
            "0.000001"
        );
        assert_eq!(
            decode_numeric(&numeric(0, 0, 0xC000, 0, &[])).unwrap(),
            "NaN"
        );
    }

    #[test]
    fn json_compaction_keeps_strings() {
        assert_eq!(
            compact_json(r#"{"a": 1, "b c": [1, 2], "d": "x \" y"}"#),
            r#"{"a":1,"b c":[1,2],"d":"x \" y"}"#
        );
        assert_eq!(
            compact_json(r#"{"x": "\\", "y": 1.000000000000000000001}"#),
            r#"{"x":"\\","y":1.000000000000000000001}"#
        );
    }

    #[test]
    fn binds_by_parameter_type() {
        assert!(matches!(
            bind(&Param::Text("42".into()), &Type::INT4),
            Ok(Bind::I32(42))
        ));
        assert!(matches!(
            bind(&Param::Text(" 42 ".into()), &Type::INT8),
            Ok(Bind::I64(42))
        ));
        assert_eq!(
            bind(&Param::Text("abc".into()), &Type::INT8)
                .unwrap_err()
                .kind,
            DbErrorKind::InvalidValue
        );
        assert_eq!(
            bind(&Param::Text("70000".into()), &Type::INT2)
                .unwrap_err()
                .kind,
            DbErrorKind::InvalidValue
        );
        assert_eq!(
            bind(&Param::Float(1.5), &Type::INT4).unwrap_err().kind,
            DbErrorKind::InvalidValue
        );
        assert!(matches!(
            bind(&Param::Float(2.0), &Type::INT4),
            Ok(Bind::I32(2))
        ));
        assert!(matches!(bind(&Param::Int(7), &Type::TEXT), Ok(Bind::Text(s)) if s == "7"));
        assert!(matches!(
            bind(&Param::Text("on".into()), &Type::BOOL),
            Ok(Bind::Bool(true))
        ));
        assert!(
            matches!(bind(&Param::Text("1.25".into()), &Type::NUMERIC), Ok(Bind::TextFormat(s)) if s == "1.25")
        );
        assert!(matches!(bind(&Param::Null, &Type::INT4), Ok(Bind::Null)));
        assert_eq!(
            bind(&Param::Text("1e".into()), &Type::FLOAT8)
                .unwrap_err()
                .kind,
            DbErrorKind::InvalidValue
        );
    }
}
