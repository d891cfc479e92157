//! Parameter conversion and result decoding (tables in the module docs of `sqlite`).

use rusqlite::types::{Value, ValueRef};
use serde_json::Value as Json;

use crate::Param;
use crate::common::{float_json, hex_bytes};

/// Binds a parameter as is.
pub(crate) fn bind(p: &Param) -> Value {
    match p {
        Param::Null => Value::Null,
        Param::Bool(b) => Value::Integer(i64::from(*b)),
        Param::Int(i) => Value::Integer(*i),
        Param::Float(f) => Value::Real(*f),
        Param::Text(s) => Value::Text(s.clone()),
    }
}

/// Decodes one value by its storage class.
pub(crate) fn decode(v: ValueRef<'_>) -> Json {
    match v {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        ValueRef::Real(f) => float_json(f),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Json::String(hex_bytes(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_classes() {
        assert_eq!(decode(ValueRef::Integer(-3)), serde_json::json!(-3));
        assert_eq!(decode(ValueRef::Real(1.5)), serde_json::json!(1.5));
        assert_eq!(
            decode(ValueRef::Real(f64::INFINITY)),
            serde_json::json!("Infinity")
        );
        assert_eq!(decode(ValueRef::Text(b"x")), serde_json::json!("x"));
        assert_eq!(
            decode(ValueRef::Blob(&[0, 255])),
            serde_json::json!("\\x00ff")
        );
        assert_eq!(decode(ValueRef::Null), Json::Null);
        assert_eq!(bind(&Param::Bool(true)), Value::Integer(1));
    }
}
