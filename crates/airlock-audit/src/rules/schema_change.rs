//! `SCHEMA_CHANGE_TOOL`: the tool creates, alters or drops database objects.
//!
//! **Why it is risky.** Schema changes are the hardest writes to undo: a dropped table or
//! column takes its data with it, and an added one changes what every other reader sees.
//!
//! **Found by** a name pairing a DDL verb with a database object (`create_table`,
//! `drop_index`), or a description naming DDL (`CREATE TABLE`, "alter", "DDL").
//!
//! **Use instead** migrations reviewed in the repository; an agent gets no DDL at all.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "SCHEMA_CHANGE_TOOL",
    severity: Severity::High,
    title: "The tool changes the database schema",
    fix: "Remove schema changes from the model's surface: Airlock never exposes DDL. Ship schema changes as reviewed migrations; give the agent typed read capabilities and proposal tools over the tables that exist.",
};

const DDL_VERBS: &[&str] = &["create", "drop", "alter", "truncate", "rename"];
const OBJECTS: &[&str] = &[
    "table",
    "tables",
    "schema",
    "index",
    "column",
    "database",
    "view",
    "collection",
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let evidence = if let (Some(verb), Some(object)) = (f.name_has(DDL_VERBS), f.name_has(OBJECTS))
    {
        f.name_evidence(format!("the name pairs {verb:?} with {object:?}"))
    } else if let Some(pair) = f.text_has_pair(&[
        ("create", "table"),
        ("drop", "table"),
        ("alter", "table"),
        ("truncate", "table"),
        ("create", "index"),
        ("drop", "index"),
    ]) {
        f.description_evidence(format!("the description says {pair:?}"))
    } else if let Some(w) = f.text_has(&["ddl"]) {
        f.description_evidence(format!("the description says {w:?}"))
    } else {
        return None;
    };
    Some(Hit::new(
        &RULE,
        "The model can create, alter or drop database objects through this tool.",
        vec![evidence],
    ))
}
