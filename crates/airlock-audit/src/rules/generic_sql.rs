//! `GENERIC_SQL_TOOL`: the tool runs SQL the model writes.
//!
//! **Why it is risky.** Whoever writes the SQL chooses the tables, the columns, the rows and
//! the tenant. A model can be steered by anything it reads (a ticket, a row, a web page), so
//! the whole database is one injected instruction away, and nothing reviewed the query.
//!
//! **Found by** the tool's name (`execute_sql`, `run_query`, any name with the word `sql`), an
//! argument that carries SQL text (`sql`, `statement`, a `where` clause; `query` when the tool
//! is about a database), or its description ("execute SQL", "SQL query").
//!
//! **Use instead** a typed read capability: one reviewed query per business question.

use super::facts::Facts;
use super::{Hit, Rule};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "GENERIC_SQL_TOOL",
    severity: Severity::High,
    title: "The tool runs SQL the model writes",
    fix: "Expose a typed read capability instead: one reviewed question per tool (`billing.inspect_invoice` taking `invoice_id`), its table, columns and row filter fixed in the Airlock config, every value bound as a parameter, and the tenant taken from trusted context, never from the model.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let evidence = f.sql()?;
    Some(Hit::new(
        &RULE,
        "The model writes the SQL this tool runs: it can read any table, column or tenant the connection can.",
        vec![evidence],
    ))
}
