//! Every table, column, key and guard column a capability names exists, with a type its use
//! can work with, and the lookup (key, tenant) finds at most one row. From `Engine::inspect`:
//! catalog only, no row read.

use std::collections::HashMap;

use airlock_config::{ArgType, Capability, CapabilityKind, Config};
use airlock_db::Engine;
use airlock_db::inspect::{RelationKind, SchemaReport, TableReport, TypeCategory};

use super::check::{Check, Code, Level};

/// Checks every capability of source `source`.
pub async fn checks(config: &Config, source: &str, engine: &dyn Engine, out: &mut Vec<Check>) {
    let caps: Vec<&Capability> = config
        .capabilities
        .iter()
        .filter(|c| c.source == source)
        .collect();
    let mut reports: HashMap<Option<String>, Result<SchemaReport, String>> = HashMap::new();
    for cap in &caps {
        let key = cap.target.schema.clone();
        if !reports.contains_key(&key) {
            let r = engine
                .inspect(key.as_deref())
                .await
                .map_err(|e| e.to_string());
            reports.insert(key.clone(), r);
        }
        let name = format!("capability:{}", cap.name);
        match &reports[&key] {
            Err(e) => out.push(Check::fail(
                Code::TableMissing,
                name,
                format!("could not read the catalog for {}: {e}", where_(cap)),
                "check target.schema, and that the read credential may see that schema",
            )),
            Ok(report) => match find(report, cap) {
                None => out.push(Check::fail(
                    Code::TableMissing,
                    name,
                    format!("table {} does not exist or is not visible to the read credential", where_(cap)),
                    "fix target.table / target.schema, or GRANT SELECT on it to the read user (`airlock inspect` lists what it sees)",
                )),
                Some(table) => capability(config, cap, table, out),
            },
        }
    }
}

fn where_(cap: &Capability) -> String {
    match &cap.target.schema {
        Some(s) => format!("{s}.{}", cap.target.table),
        None => cap.target.table.clone(),
    }
}

/// The table a capability names: in its schema, else the only one of that name, else the
/// one in `public`.
fn find<'a>(report: &'a SchemaReport, cap: &Capability) -> Option<&'a TableReport> {
    let named: Vec<&TableReport> = report
        .tables
        .iter()
        .filter(|t| t.name == cap.target.table)
        .filter(|t| cap.target.schema.as_ref().is_none_or(|s| &t.schema == s))
        .collect();
    match named.as_slice() {
        [one] => Some(one),
        [] => None,
        many => many
            .iter()
            .copied()
            .find(|t| t.schema == "public")
            .or(Some(many[0])),
    }
}

/// How a column is used, and the type families that use allows.
struct Use {
    column: String,
    label: &'static str,
    allowed: &'static [TypeCategory],
}

use TypeCategory as T;
const KEYLIKE: &[TypeCategory] = &[
    T::Integer,
    T::Decimal,
    T::Text,
    T::Uuid,
    T::Enum,
    T::Date,
    T::Timestamp,
    T::Other,
];
const NUMERIC: &[TypeCategory] = &[T::Integer, T::Decimal, T::Float];
const ANY_SCALAR: &[TypeCategory] = &[
    T::Integer,
    T::Decimal,
    T::Float,
    T::Boolean,
    T::Text,
    T::Uuid,
    T::Date,
    T::Time,
    T::Timestamp,
    T::Enum,
    T::Json,
    T::Other,
];
const VERSION: &[TypeCategory] = &[T::Integer, T::Decimal, T::Timestamp, T::Date, T::Text];
const BUMPABLE: &[TypeCategory] = &[T::Integer, T::Decimal, T::Timestamp, T::Text];
const STATE: &[TypeCategory] = &[T::Text, T::Enum, T::Integer, T::Boolean, T::Other];

fn uses(cap: &Capability) -> Vec<Use> {
    let mut u = Vec::new();
    let mut add = |column: &str, label, allowed| {
        u.push(Use {
            column: column.to_owned(),
            label,
            allowed,
        })
    };
    let key_arg = cap.args.get(&cap.lookup.id_from_arg).map(|a| a.kind);
    add(
        &cap.target.primary_key,
        "primary key",
        if key_arg == Some(ArgType::Number) {
            NUMERIC
        } else {
            KEYLIKE
        },
    );
    if let Some(t) = &cap.target.tenant_key {
        add(t, "tenant key", KEYLIKE);
    }
    for c in &cap.visible_columns {
        add(c, "visible column", &[]);
    }
    if let Some(g) = &cap.conflict_guard
        && let Some(c) = &g.column
    {
        add(
            c,
            "conflict guard",
            if g.bump == Some(true) {
                BUMPABLE
            } else {
                VERSION
            },
        );
    }
    for c in cap.allowed_columns.iter().flatten() {
        add(c, "allowed write column", &[]);
    }
    for (c, binding) in cap.patch.iter().flatten() {
        let arg = binding
            .from_arg
            .as_ref()
            .and_then(|a| cap.args.get(a))
            .map(|a| a.kind);
        add(
            c,
            "patched column",
            match arg {
                Some(ArgType::Number) => NUMERIC,
                Some(ArgType::Boolean) => &[T::Boolean, T::Integer],
                _ => ANY_SCALAR,
            },
        );
    }
    for c in cap.numeric_bounds.iter().flat_map(|b| b.keys()) {
        add(c, "numeric bound", NUMERIC);
    }
    for (c, g) in cap.transition_guards.iter().flatten() {
        add(
            g.from_column.as_deref().unwrap_or(c),
            "transition guard",
            STATE,
        );
    }
    u
}

fn capability(config: &Config, cap: &Capability, table: &TableReport, out: &mut Vec<Check>) {
    let name = format!("capability:{}", cap.name);
    let start = out.len();
    let qualified = format!("{}.{}", table.schema, table.name);
    if !table.readable {
        out.push(Check::fail(
            Code::TableNotReadable,
            name.clone(),
            format!("the read credential may not SELECT from {qualified}"),
            format!("GRANT SELECT ON {qualified} TO the read user"),
        ));
    }
    let writes = cap.kind == CapabilityKind::Proposal
        && airlock_writeback::setup::executor_kind(config, cap)
            == Some(airlock_config::ExecutorKind::SqlUpdate);
    if writes && table.kind != RelationKind::Table {
        out.push(Check::fail(
            Code::TargetNotWritable,
            name.clone(),
            format!(
                "{qualified} is a {}, which sql_update cannot change",
                table.kind.as_str()
            ),
            "point the proposal at the base table, or apply it with an app-owned handler",
        ));
    }
    let mut seen: Vec<(String, &str)> = Vec::new();
    for u in uses(cap) {
        if seen.iter().any(|(c, l)| c == &u.column && *l == u.label) {
            continue;
        }
        seen.push((u.column.clone(), u.label));
        let col_name = format!("{name}:column:{}", u.column);
        match table.columns.iter().find(|c| c.name == u.column) {
            None => out.push(Check::fail(
                Code::ColumnMissing,
                col_name,
                format!("{} {} does not exist on {qualified}", u.label, u.column),
                format!(
                    "fix the config, or add the column (columns of {qualified}: {})",
                    table
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(c) if !u.allowed.is_empty() && !u.allowed.contains(&c.category) => {
                out.push(Check::fail(
                    Code::ColumnTypeIncompatible,
                    col_name,
                    format!(
                        "{} {} on {qualified} is {} ({:?}), which does not fit its use",
                        u.label, u.column, c.data_type, c.category
                    ),
                    match u.label {
                        "conflict guard" => {
                            "use an integer version or a timestamp column as the conflict guard"
                        }
                        "numeric bound" | "patched column" => {
                            "bind the column to an argument of its type, or bound a numeric column"
                        }
                        _ => "choose a column whose type matches how the config uses it",
                    },
                ))
            }
            Some(_) => {}
        }
    }
    lookup(cap, table, &name, out);
    if out[start..].iter().all(|c| c.level != Level::Fail) {
        out.push(Check::pass(
            Code::TableOk,
            name,
            format!(
                "{qualified}: {} columns, key {}, tenant {} checked",
                seen.len(),
                cap.target.primary_key,
                cap.target.tenant_key.as_deref().unwrap_or("(none)")
            ),
        ));
    }
}

/// The read is `WHERE key = ? AND tenant = ?`: the tenant column must be a separate column of
/// the lookup, and key (with tenant) must be unique so the lookup finds one row.
fn lookup(cap: &Capability, table: &TableReport, name: &str, out: &mut Vec<Check>) {
    let key = cap.target.primary_key.as_str();
    let tenant = cap.target.tenant_key.as_deref();
    match tenant {
        None if cap.target.single_tenant_dev == Some(true) => out.push(Check::warn(
            Code::SingleTenantDev,
            format!("{name}:tenant"),
            "single_tenant_dev: the lookup has no tenant column, any caller reads any row",
            "set target.tenant_key before giving this tool to more than one tenant",
        )),
        None => out.push(Check::fail(
            Code::TenantNotInLookup,
            format!("{name}:tenant"),
            "the capability has no tenant_key, so the lookup is not tenant-scoped",
            "set target.tenant_key to the table's tenant column (`airlock inspect` suggests one)",
        )),
        Some(t) if t == key => out.push(Check::fail(
            Code::TenantNotInLookup,
            format!("{name}:tenant"),
            format!("the tenant key {t} is the primary key itself, so it separates no tenants"),
            "set target.tenant_key to the tenant column and primary_key to the row id",
        )),
        Some(_) => {}
    }
    if table.kind != RelationKind::Table || !table.columns.iter().any(|c| c.name == key) {
        return;
    }
    let lookup: Vec<&str> = std::iter::once(key).chain(tenant).collect();
    let unique = std::iter::once(&table.primary_key)
        .filter(|k| !k.is_empty())
        .chain(table.unique_constraints.iter().map(|u| &u.columns))
        .chain(
            table
                .indexes
                .iter()
                .filter(|i| i.unique && i.predicate.is_none())
                .map(|i| &i.columns),
        )
        .any(|set| set.iter().all(|c| lookup.contains(&c.as_str())));
    if !unique {
        out.push(Check::fail(
            Code::KeyNotUnique,
            format!("{name}:key"),
            format!(
                "no primary key or unique constraint of {}.{} is covered by ({}), so the lookup can match several rows",
                table.schema,
                table.name,
                lookup.join(", ")
            ),
            "set primary_key to the table's primary key, or add a UNIQUE constraint on it (with the tenant column)",
        ));
    }
}
