//! Sample arguments for `smoke call --sample`: plausible values that pass the declared checks.

use airlock_config::{Arg, ArgType, Capability};
use serde_json::{Map, Value, json};

/// One value per declared argument (optional ones included).
pub fn sample_args(cap: &Capability) -> Map<String, Value> {
    cap.args
        .iter()
        .map(|(name, arg)| (name.clone(), sample_value(cap, name, arg)))
        .collect()
}

fn sample_value(cap: &Capability, name: &str, arg: &Arg) -> Value {
    if let Some(first) = arg.allowed.as_ref().and_then(|a| a.first()) {
        return first.clone();
    }
    match arg.kind {
        ArgType::Boolean => Value::Bool(true),
        ArgType::Number => {
            let n = arg
                .minimum
                .unwrap_or(1.0)
                .max(arg.minimum.unwrap_or(f64::MIN));
            let n = arg.maximum.map_or(n, |max| n.min(max));
            crate::catalog::number(n)
        }
        ArgType::String => {
            let text = if name == cap.lookup.id_from_arg {
                sample_id(cap)
            } else if name.contains("reason") || name.contains("note") {
                "reviewed by support".to_owned()
            } else {
                format!("sample_{name}")
            };
            let max = crate::args::max_chars(arg) as usize;
            json!(text.chars().take(max).collect::<String>())
        }
    }
}

fn sample_id(cap: &Capability) -> String {
    let text = format!("{} {}", cap.name, cap.target.table).to_lowercase();
    let id = if text.contains("invoice") || text.contains("billing") {
        "INV-3001"
    } else if text.contains("customer") || text.contains("account") {
        "cust_acme_1"
    } else if text.contains("ticket") || text.contains("support") {
        "T-1042"
    } else if text.contains("order") {
        "O-1001"
    } else {
        "sample_1"
    };
    id.to_owned()
}
