//! Argument checks for one call. Runs before anything touches a database.

use airlock_config::{Arg, ArgType, Capability, is_reserved_arg_name};
use serde_json::{Map, Value};

use crate::{CallCode, CallError};

/// Upper bound on any string argument, applied when the config sets a larger or no
/// `max_length`. Keeps megabyte strings out of queries and the ledger.
pub const MAX_STRING_CHARS: u64 = 65_536;

/// Effective maximum length of a string argument.
pub fn max_chars(arg: &Arg) -> u64 {
    arg.max_length
        .map_or(MAX_STRING_CHARS, |n| n.min(MAX_STRING_CHARS))
}

/// Checks `args` against the capability: no undeclared keys, required present, types,
/// lengths, bounds, enums. The first problem is returned.
pub fn check(cap: &Capability, args: &Map<String, Value>) -> Result<(), CallError> {
    for key in args.keys() {
        if cap.args.contains_key(key) {
            continue;
        }
        // The same rule config validation applies to declared names, so no declared
        // argument can ever match here.
        if is_reserved_arg_name(key) {
            return Err(CallError::new(
                CallCode::ModelCannotOverrideBinding,
                format!(
                    "`{}` is trusted context and cannot be supplied as a tool argument; Airlock takes it from its configuration.",
                    printable(key)
                ),
            ));
        }
        let declared: Vec<&str> = cap.args.keys().map(String::as_str).collect();
        return Err(CallError::new(
            CallCode::ArgumentNotDeclared,
            format!(
                "`{}` is not an argument of {}. Allowed arguments: {}.",
                printable(key),
                cap.name,
                declared.join(", ")
            ),
        ));
    }
    for (name, arg) in &cap.args {
        match args.get(name) {
            None if arg.is_required() => {
                return Err(CallError::new(
                    CallCode::ArgumentRequired,
                    format!("`{name}` is required."),
                ));
            }
            None => {}
            Some(v) => check_value(name, arg, v)?,
        }
    }
    Ok(())
}

fn check_value(name: &str, arg: &Arg, v: &Value) -> Result<(), CallError> {
    let type_ok = match arg.kind {
        ArgType::String => v.is_string(),
        ArgType::Number => v.is_number(),
        ArgType::Boolean => v.is_boolean(),
    };
    if !type_ok {
        return Err(CallError::new(
            CallCode::ArgumentTypeInvalid,
            format!(
                "`{name}` must be a {}, not {}.",
                arg.kind.as_str(),
                json_type(v)
            ),
        ));
    }
    if let Value::String(s) = v {
        if s.contains('\0') {
            return Err(CallError::new(
                CallCode::ArgumentInvalidCharacter,
                format!("`{name}` contains a NUL character, which no database column accepts."),
            ));
        }
        let max = max_chars(arg);
        // Count only as far as needed: a 1 MB string is rejected without a full scan.
        if s.len() as u64 > max && s.chars().take(max as usize + 1).count() as u64 > max {
            return Err(CallError::new(
                CallCode::ArgumentTooLong,
                format!("`{name}` is longer than {max} characters."),
            ));
        }
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = arg.minimum.filter(|min| n < *min) {
            return Err(CallError::new(
                CallCode::ArgumentBelowMinimum,
                format!("`{name}` must be at least {}.", crate::catalog::number(min)),
            ));
        }
        if let Some(max) = arg.maximum.filter(|max| n > *max) {
            return Err(CallError::new(
                CallCode::ArgumentAboveMaximum,
                format!("`{name}` must be at most {}.", crate::catalog::number(max)),
            ));
        }
    }
    if let Some(allowed) = &arg.allowed
        && !allowed.iter().any(|a| same_value(a, v))
    {
        let list: Vec<String> = allowed.iter().take(20).map(|a| a.to_string()).collect();
        return Err(CallError::new(
            CallCode::ArgumentNotAllowed,
            format!("`{name}` must be one of: {}.", list.join(", ")),
        ));
    }
    Ok(())
}

/// Numbers compare by value (`1` equals `1.0`); everything else structurally.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An argument name as safe to echo: at most 64 characters, control characters replaced.
fn printable(key: &str) -> String {
    let mut s: String = key
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if key.chars().count() > 64 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_config::RESERVED_ARG_NAMES;
    use serde_json::json;

    fn capability() -> Capability {
        serde_json::from_value(json!({
            "name": "billing.inspect_invoice", "kind": "read", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string"}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id"]
        }))
        .expect("capability")
    }

    fn code(key: &str) -> &'static str {
        let mut args = Map::new();
        args.insert("invoice_id".into(), json!("INV-1"));
        args.insert(key.into(), json!("globex"));
        check(&capability(), &args).expect_err(key).code.as_str()
    }

    /// Call time refuses every name config validation refuses, with the same matching
    /// (case and `_`/`-` separators ignored).
    #[test]
    fn every_reserved_name_and_its_variants_is_trusted_context() {
        for name in RESERVED_ARG_NAMES {
            let kebab = name.replace('_', "-");
            for key in [name.to_string(), name.to_uppercase(), kebab] {
                assert_eq!(code(&key), "MODEL_CANNOT_OVERRIDE_BINDING", "{key}");
            }
        }
    }

    #[test]
    fn other_undeclared_names_are_not_declared_arguments() {
        for key in ["limit", "tenant_idx", "my_role", "invoice-id", ""] {
            assert_eq!(code(key), "ARGUMENT_NOT_DECLARED", "{key:?}");
        }
    }

    #[test]
    fn the_refusal_does_not_echo_control_characters() {
        let mut args = Map::new();
        args.insert("invoice_id".into(), json!("INV-1"));
        args.insert("tenant\n_id".into(), json!("globex"));
        let e = check(&capability(), &args).expect_err("refused");
        assert_eq!(e.code, CallCode::ModelCannotOverrideBinding);
        assert!(!e.message.contains('\n'), "{}", e.message);
    }
}
