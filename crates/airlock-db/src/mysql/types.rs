//! Parameter conversion and result decoding (tables in the module docs of `mysql`).

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};
use serde_json::Value as Json;

use crate::common::{
    f32_json, float_json, hex_bytes, invalid_value, is_decimal_literal, micros_suffix, parse_int,
};
use crate::exact::Exact;
use crate::{DbError, Param};

/// The `binary` character set id: byte strings rather than text.
const BINARY_CHARSET: u16 = 63;

/// What a key or tenant column is, for converting model-supplied values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Integer { unsigned: bool },
    Numeric,
    Text,
    Other,
}

impl KeyKind {
    pub(crate) fn of(col: &Column) -> KeyKind {
        use ColumnType::*;
        match col.column_type() {
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => KeyKind::Integer {
                unsigned: col.flags().contains(ColumnFlags::UNSIGNED_FLAG),
            },
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
                KeyKind::Numeric
            }
            MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET => KeyKind::Text,
            _ => KeyKind::Other,
        }
    }

    /// How a key or tenant predicate on this column compares ([`crate::exact`]): text in a
    /// character set (whose collation may fold case or padding) byte for byte; binary strings
    /// and other types by value, as they already do.
    pub(crate) fn exact(col: &Column) -> Exact {
        if KeyKind::of(col) == KeyKind::Text && col.character_set() != BINARY_CHARSET {
            Exact::Bytes
        } else {
            Exact::No
        }
    }

    fn name(self) -> &'static str {
        match self {
            KeyKind::Integer { .. } => "integer",
            KeyKind::Numeric => "number",
            KeyKind::Text => "string",
            KeyKind::Other => "value",
        }
    }
}

/// Converts a parameter for a column of kind `kind`. `InvalidValue` when it cannot match.
pub(crate) fn bind(p: &Param, kind: KeyKind) -> Result<Value, DbError> {
    let ty = kind.name();
    Ok(match (kind, p) {
        (_, Param::Null) => Value::NULL,
        (KeyKind::Integer { .. }, Param::Int(i)) => Value::Int(*i),
        (KeyKind::Integer { .. }, Param::Bool(b)) => Value::Int(i64::from(*b)),
        (KeyKind::Integer { .. }, Param::Float(f)) => {
            if f.fract() == 0.0 && *f >= -(2f64.powi(63)) && *f < 2f64.powi(63) {
                Value::Int(*f as i64)
            } else {
                return Err(invalid_value("value", ty));
            }
        }
        (KeyKind::Integer { unsigned }, Param::Text(s)) => match parse_int(s) {
            Some(i) => Value::Int(i),
            None if unsigned => Value::UInt(
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| invalid_value("text value", ty))?,
            ),
            None => return Err(invalid_value("text value", ty)),
        },
        (KeyKind::Numeric, Param::Text(s)) => {
            if is_decimal_literal(s) {
                Value::Bytes(s.trim().as_bytes().to_vec())
            } else {
                return Err(invalid_value("text value", ty));
            }
        }
        (KeyKind::Text, Param::Int(i)) => Value::Bytes(i.to_string().into_bytes()),
        (KeyKind::Text, Param::Float(f)) => Value::Bytes(f.to_string().into_bytes()),
        (KeyKind::Text, Param::Bool(b)) => {
            Value::Bytes(if *b { b"1".to_vec() } else { b"0".to_vec() })
        }
        (_, Param::Int(i)) => Value::Int(*i),
        (_, Param::Float(f)) => Value::Double(*f),
        (_, Param::Bool(b)) => Value::Int(i64::from(*b)),
        (_, Param::Text(s)) => Value::Bytes(s.as_bytes().to_vec()),
    })
}

/// Decodes one binary-protocol value into a JSON scalar.
pub(crate) fn decode(col: &Column, v: Value) -> Json {
    use ColumnType::*;
    match v {
        Value::NULL => Json::Null,
        Value::Int(i) => Json::from(i),
        Value::UInt(u) => Json::from(u),
        Value::Float(f) => f32_json(f),
        Value::Double(d) => float_json(d),
        Value::Date(y, m, d, h, i, s, us) => Json::String(match col.column_type() {
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => format!("{y:04}-{m:02}-{d:02}"),
            _ => format!(
                "{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}{}",
                micros_suffix(us)
            ),
        }),
        Value::Time(neg, days, h, i, s, us) => {
            let hours = u64::from(days) * 24 + u64::from(h);
            let sign = if neg { "-" } else { "" };
            Json::String(format!(
                "{sign}{hours:02}:{i:02}:{s:02}{}",
                micros_suffix(us)
            ))
        }
        Value::Bytes(b) => match col.column_type() {
            MYSQL_TYPE_BIT if b.len() <= 8 => {
                Json::from(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
            }
            MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_JSON
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET => Json::String(String::from_utf8_lossy(&b).into_owned()),
            _ if col.character_set() == BINARY_CHARSET && is_string_type(col.column_type()) => {
                Json::String(hex_bytes(&b))
            }
            _ => match String::from_utf8(b) {
                Ok(s) => Json::String(s),
                Err(e) => Json::String(hex_bytes(e.as_bytes())),
            },
        },
    }
}

fn is_string_type(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_BIT
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DbErrorKind;

    #[test]
    fn binds_by_key_kind() {
        let int = KeyKind::Integer { unsigned: false };
        assert_eq!(bind(&Param::Text("2".into()), int).unwrap(), Value::Int(2));
        for bad in ["abc", "2x", "1; DROP TABLE t; --", "", "1.5"] {
            assert_eq!(
                bind(&Param::Text(bad.into()), int).unwrap_err().kind,
                DbErrorKind::InvalidValue,
                "{bad}"
            );
        }
        let uint = KeyKind::Integer { unsigned: true };
        assert_eq!(
            bind(&Param::Text("18446744073709551615".into()), uint).unwrap(),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            bind(&Param::Int(0), KeyKind::Text).unwrap(),
            Value::Bytes(b"0".to_vec())
        );
        assert_eq!(
            bind(&Param::Text("1.50".into()), KeyKind::Numeric).unwrap(),
            Value::Bytes(b"1.50".to_vec())
        );
        assert_eq!(
            bind(&Param::Text("1e".into()), KeyKind::Numeric)
                .unwrap_err()
                .kind,
            DbErrorKind::InvalidValue
        );
        assert_eq!(
            bind(&Param::Text("x".into()), KeyKind::Other).unwrap(),
            Value::Bytes(b"x".to_vec())
        );
    }
}
