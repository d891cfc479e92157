//! What every list command shares: the filter flags turned into the ledger's
//! [`airlock_ledger::RecordFilter`] (times and durations parsed once, here), the page printed
//! as JSON or as a table that fits the terminal.

pub mod filter;
pub mod table;

use airlock_ledger::Page;
use serde_json::{Map, Value};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;
use table::Table;

/// `{"<key>": [items], "next_cursor": TOKEN | null}`, the `--json` shape of every listing.
pub fn json_page<T: serde::Serialize>(key: &str, page: &Page<T>) -> anyhow::Result<Value> {
    let mut out = Map::new();
    out.insert(key.to_owned(), serde_json::to_value(&page.items)?);
    out.insert("next_cursor".into(), page.next_cursor.clone().into());
    Ok(Value::Object(out))
}

/// One page for a person: `empty` when there is nothing, else the table `rows` fills and the
/// line that continues it.
pub fn print_page<T>(
    settings: &Settings,
    page: &Page<T>,
    empty: &str,
    headers: &[&'static str],
    row: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<ExitStatus> {
    if page.items.is_empty() {
        output::line(empty);
        return Ok(ExitStatus::Success);
    }
    let mut table = Table::new(headers);
    for item in &page.items {
        table.row(row(item));
    }
    table.print(settings);
    output::more(page.next_cursor.as_deref());
    Ok(ExitStatus::Success)
}
