//! Argument checks for one call. Runs before anything touches a database.

use airlock_config::{Arg, ArgType, Capability};
use serde_json::{Map, Value};

use crate::{CallCode, CallError};

/// Upper bound on any string argument, applied when the config sets a larger or no
/// `max_length`. Keeps megabyte strings out of queries and the ledger.
pub const MAX_STRING_CHARS: u64 = 65_536;

/// Argument names that carry trusted context. A model that sends one is told so, and the call
/// is refused (never silently dropped).
pub const TRUSTED_KEYS: &[&str] = &[
    "tenant_id",
    "tenantId",
    "tenant",
    "principal",
    "principal_id",
    "principalId",
    "project_id",
    "projectId",
    "source_id",
    "sourceId",
    "allowed_columns",
    "allowedColumns",
    "row_version",
    "rowVersion",
    "expected_version",
    "expectedVersion",
    "approval_identity",
    "approvalIdentity",
    "role",
    "roles",
    "actor",
    "approver",
];

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
        if TRUSTED_KEYS.contains(&key.as_str()) {
            return Err(CallError::new(
                CallCode::ModelCannotOverrideBinding,
                format!(
                    "`{key}` is trusted context and cannot be supplied as a tool argument; Airlock takes it from its configuration."
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
