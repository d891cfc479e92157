//! The tool list a model sees, built once from a validated config.

use airlock_config::{Arg, ArgType, Capability, CapabilityKind, Config, Mode};
use airlock_protocol::sha256_hex;
use serde_json::{Map, Value, json};

/// How tool names are exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AliasMode {
    /// `billing.inspect_invoice`.
    #[default]
    Canonical,
    /// Function-safe names only: `billing__inspect_invoice`.
    Openai,
    /// Both, canonical first.
    Both,
}

impl AliasMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AliasMode::Canonical => "canonical",
            AliasMode::Openai => "openai",
            AliasMode::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<AliasMode> {
        Some(match s {
            "canonical" => AliasMode::Canonical,
            "openai" => AliasMode::Openai,
            "both" => AliasMode::Both,
            _ => return None,
        })
    }
}

/// One exposed tool.
#[derive(Debug, Clone)]
pub struct Tool {
    /// The name the model calls.
    pub name: String,
    /// The capability's canonical dotted name.
    pub canonical: String,
    pub title: String,
    pub description: String,
    /// JSON Schema of the arguments; advertises every constraint Airlock enforces.
    pub input_schema: Value,
    pub kind: CapabilityKind,
    /// MCP tool annotations (`readOnlyHint`, …).
    pub annotations: Value,
    /// `_meta` of the tool.
    pub meta: Value,
    /// Index of the capability in the config.
    pub capability: usize,
}

/// Every tool a model can see, in config order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub tools: Vec<Tool>,
    pub alias_mode: AliasMode,
}

impl Catalog {
    /// Only capabilities that [`is_listed`] lets through (no proposal tools in `read_only`).
    pub fn new(config: &Config, alias_mode: AliasMode) -> Catalog {
        let mut tools = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        if alias_mode == AliasMode::Both {
            taken.extend(config.capabilities.iter().map(|c| c.name.clone()));
        }
        for (i, cap) in config.capabilities.iter().enumerate() {
            if !is_listed(config, cap) {
                continue;
            }
            let mut names = Vec::new();
            if alias_mode != AliasMode::Openai {
                names.push(cap.name.clone());
            }
            if alias_mode != AliasMode::Canonical {
                let mut alias = openai_alias(&cap.name);
                if taken.iter().any(|t| t == &alias) && alias != cap.name {
                    alias = with_hash_suffix(&alias, &cap.name);
                }
                taken.push(alias.clone());
                names.push(alias);
            }
            for name in names {
                tools.push(tool(config, cap, i, name, alias_mode));
            }
        }
        Catalog { tools, alias_mode }
    }

    /// Finds a tool by exposed name.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The `tools` array of MCP `tools/list`, in catalog order.
    pub fn definitions(&self) -> Vec<Value> {
        self.tools.iter().map(Tool::definition).collect()
    }
}

impl Tool {
    /// The tool as MCP `tools/list` carries it. The MCP server serves exactly this and
    /// `airlock tools list --json` prints it, so the two cannot drift.
    pub fn definition(&self) -> Value {
        json!({
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": self.annotations,
            "_meta": self.meta,
        })
    }
}

/// Whether `cap` is offered as a tool under `config`: in `read_only` mode proposal
/// capabilities are not. The one read-only rule the catalog, the runtime and the MCP server
/// share.
pub fn is_listed(config: &Config, cap: &Capability) -> bool {
    !(config.mode == Mode::ReadOnly && cap.kind == CapabilityKind::Proposal)
}

/// Whether `name` is the canonical name of a capability that [`is_listed`] leaves out (a
/// proposal tool in `read_only` mode): a call to it is answered `PROPOSALS_DISABLED`, not
/// "unknown tool".
pub fn hidden_by_mode(config: &Config, name: &str) -> bool {
    config
        .capabilities
        .iter()
        .any(|c| c.name == name && !is_listed(config, c))
}

fn tool(config: &Config, cap: &Capability, index: usize, name: String, mode: AliasMode) -> Tool {
    let target = target_label(cap);
    let mut lines = Vec::new();
    if name != cap.name {
        lines.push(format!("Canonical Airlock capability: {}.", cap.name));
    }
    lines.push(match (&cap.description, cap.kind) {
        (Some(d), _) => d.clone(),
        (None, CapabilityKind::Read) => format!(
            "Read one {target} row through a reviewed capability, scoped to the trusted tenant, with evidence."
        ),
        (None, CapabilityKind::Proposal) => format!(
            "Propose a reviewed change to one {target} row. A person approves it outside this tool surface; this tool never changes the database."
        ),
    });
    if let Some(hint) = &cap.returns_hint {
        lines.push(hint.clone());
    }
    lines.push(
        "Evidence handles are audit/replay handles; the model does not need to call them during this turn."
            .to_owned(),
    );
    let read = cap.kind == CapabilityKind::Read;
    Tool {
        title: cap.name.clone(),
        description: lines.join("\n"),
        input_schema: input_schema(cap),
        kind: cap.kind,
        annotations: json!({
            "readOnlyHint": read,
            "destructiveHint": false,
            // A repeated identical proposal returns the open one instead of a second record.
            "idempotentHint": true,
            "openWorldHint": false,
        }),
        meta: json!({
            "synapsor.kind": cap.kind.as_str(),
            "synapsor.source": cap.source,
            "synapsor.target": target,
            "synapsor.canonical_tool_name": cap.name,
            "synapsor.exposed_tool_name": name,
            "synapsor.tool_name_style": mode.as_str(),
            "synapsor.raw_sql_exposed": false,
            "synapsor.approval_tool": false,
            "synapsor.mode": config.mode.as_str(),
        }),
        name,
        canonical: cap.name.clone(),
        capability: index,
    }
}

/// `schema.table`, or `table` when the schema is omitted.
pub fn target_label(cap: &Capability) -> String {
    match &cap.target.schema {
        Some(s) => format!("{s}.{}", cap.target.table),
        None => cap.target.table.clone(),
    }
}

/// JSON Schema (draft 2020-12 compatible) for a capability's arguments.
pub fn input_schema(cap: &Capability) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, arg) in &cap.args {
        props.insert(name.clone(), arg_schema(name, arg));
        if arg.is_required() {
            required.push(Value::String(name.clone()));
        }
    }
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

fn arg_schema(name: &str, arg: &Arg) -> Value {
    let mut s = Map::new();
    s.insert("type".into(), Value::String(arg.kind.as_str().into()));
    if arg.kind == ArgType::String {
        s.insert("maxLength".into(), json!(crate::args::max_chars(arg)));
    }
    if let Some(n) = arg.minimum {
        s.insert("minimum".into(), number(n));
    }
    if let Some(n) = arg.maximum {
        s.insert("maximum".into(), number(n));
    }
    if let Some(values) = &arg.allowed {
        s.insert("enum".into(), Value::Array(values.clone()));
    }
    let description = arg
        .description
        .clone()
        .unwrap_or_else(|| format!("{name} business argument"));
    s.insert("description".into(), Value::String(description));
    if arg.kind == ArgType::String {
        // Strings are checked for NUL characters too; say so where the model can read it.
        s.insert("pattern".into(), Value::String("^[^\\u0000]*$".into()));
    }
    Value::Object(s)
}

/// Integral floats print as integers (`5000`, not `5000.0`).
pub fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// Function-safe alias of a dotted name (OpenAI tool names: `^[A-Za-z0-9_-]{1,64}$`).
pub fn openai_alias(canonical: &str) -> String {
    let mut out = String::with_capacity(canonical.len() + 2);
    let mut in_bad_run = false;
    for c in canonical.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
            in_bad_run = false;
        } else if !in_bad_run {
            out.push_str("__");
            in_bad_run = true;
        }
    }
    // Collapse runs of three or more underscores to two.
    let mut collapsed = String::with_capacity(out.len());
    let mut run = 0;
    for c in out.chars() {
        if c == '_' {
            run += 1;
        } else {
            if run > 0 {
                collapsed.push_str(if run >= 3 { "__" } else { &"__"[..run] });
            }
            run = 0;
            collapsed.push(c);
        }
    }
    if run > 0 {
        collapsed.push_str(if run >= 3 { "__" } else { &"__"[..run] });
    }
    let trimmed = collapsed.trim_matches('_');
    if trimmed.is_empty() {
        return format!("tool_{}", &sha256_hex(canonical.as_bytes())[..8]);
    }
    if trimmed.len() <= 64 {
        return trimmed.to_owned();
    }
    with_hash_suffix(trimmed, canonical)
}

fn with_hash_suffix(alias: &str, canonical: &str) -> String {
    let head = &alias[..alias.len().min(55)];
    format!(
        "{}_{}",
        head.trim_end_matches('_'),
        &sha256_hex(canonical.as_bytes())[..8]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_vectors() {
        assert_eq!(
            openai_alias("billing.inspect_invoice"),
            "billing__inspect_invoice"
        );
        assert_eq!(openai_alias("billing._inspect"), "billing__inspect");
        assert_eq!(openai_alias("ns.a___b"), "ns__a__b");
        assert_eq!(openai_alias("..."), "tool_ab5df625");
        assert_eq!(
            openai_alias(
                "ns.this_is_a_very_long_capability_name_that_goes_beyond_the_sixty_four_char_limit"
            ),
            "ns__this_is_a_very_long_capability_name_that_goes_beyon_37e17750"
        );
    }

    #[test]
    fn integral_bounds_print_as_integers() {
        assert_eq!(number(5000.0), json!(5000));
        assert_eq!(number(0.5), json!(0.5));
    }
}
