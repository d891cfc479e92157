//! `ARBITRARY_IDENTIFIER_INPUT`: the model names the table, column, schema or database.
//!
//! **Why it is risky.** An identifier chosen by the model picks what is read or written: the
//! `users.password_hash` column, another tenant's schema. Identifiers cannot be bound as
//! parameters, so a server that accepts them also builds SQL text from model input.
//!
//! **Found by** argument names (any depth, case and `_`/`-` ignored): `table`, `table_name`,
//! `schema`, `column`, `columns`, `database`, `collection`, `order_by`, `sort_by`, `group_by`,
//! `fields`.
//!
//! **Use instead** identifiers fixed in config, quoted by the engine.

use super::facts::Facts;
use super::{Hit, Rule, args_hit};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "ARBITRARY_IDENTIFIER_INPUT",
    severity: Severity::High,
    title: "The model chooses table, column, schema or database names",
    fix: "Fix identifiers in reviewed config: an Airlock capability names its table, key, tenant column and visible columns in the config (validated as identifiers, quoted by the engine); the model supplies values only, each bound as a parameter.",
};

pub(crate) const IDENTIFIER_ARGS: &[&str] = &[
    "table",
    "tables",
    "tablename",
    "schema",
    "schemaname",
    "column",
    "columns",
    "columnname",
    "columnnames",
    "database",
    "databasename",
    "dbname",
    "collection",
    "collectionname",
    "orderby",
    "sortby",
    "groupby",
    "fields",
    "relation",
    "view",
    "viewname",
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let args: Vec<_> = f.args_named(IDENTIFIER_ARGS).collect();
    args_hit(
        &RULE,
        &args,
        |names| {
            format!("The model supplies identifiers ({names}): it chooses what the query touches.")
        },
        "identifier argument",
    )
}
