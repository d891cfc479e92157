//! A plain text table that fits the terminal: columns as wide as their widest cell, and when
//! the row is wider than the terminal the widest columns give way first, their cells cut with
//! `…`. Piped output (no terminal, no `COLUMNS`) is never cut, so `grep` sees whole values.

use std::io::IsTerminal;

use airlock_config::env_vars;

use crate::output;
use crate::settings::Settings;

/// Columns are never narrowed below this (or their header, if shorter).
const MIN_COLUMN: usize = 8;
const GAP: &str = "  ";

pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    /// The lines of the table, at most `width` characters each when a width is given.
    pub fn render(&self, width: Option<usize>) -> Vec<String> {
        let count = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| count(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(count(cell));
            }
        }
        if let Some(limit) = width {
            let floor: Vec<usize> = widths.iter().map(|w| (*w).min(MIN_COLUMN)).collect();
            let total = |w: &[usize]| w.iter().sum::<usize>() + GAP.len() * (w.len() - 1);
            while total(&widths) > limit {
                let widest = (0..widths.len())
                    .filter(|&i| widths[i] > floor[i])
                    .max_by_key(|&i| widths[i]);
                match widest {
                    Some(i) => widths[i] -= 1,
                    None => break,
                }
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let parts: Vec<String> = cells
                .zip(&widths)
                .map(|(cell, w)| format!("{:<w$}", cut(cell, *w), w = *w))
                .collect();
            parts.join(GAP).trim_end().to_owned()
        };
        let mut out = vec![line(&mut self.headers.iter().copied())];
        for row in &self.rows {
            out.push(line(&mut row.iter().map(String::as_str)));
        }
        out
    }

    /// Prints the table to stdout at the width the terminal (or `COLUMNS`) gives.
    pub fn print(&self, settings: &Settings) {
        for l in self.render(width(settings)) {
            output::line(&l);
        }
    }
}

/// `cell` in at most `width` characters, ending in `…` when cut.
fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell.to_owned();
    }
    let kept: String = cell.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// `COLUMNS` when set to a number, else the terminal's width when stdout is one, else none.
pub fn width(settings: &Settings) -> Option<usize> {
    if let Some(n) = settings
        .env
        .get(env_vars::COLUMNS)
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_table_is_cut_to_the_width_and_marks_the_cuts() {
        let mut t = Table::new(&["ID", "TENANT", "DETAIL"]);
        t.row(vec!["1".into(), "acme".into(), "x".repeat(120)]);
        t.row(vec![
            "22".into(),
            "globex-international".into(),
            "short".into(),
        ]);
        let whole = t.render(None);
        assert!(whole[1].ends_with(&"x".repeat(120)));
        let fitted = t.render(Some(60));
        for line in &fitted {
            assert!(line.chars().count() <= 60, "{line}");
        }
        assert!(fitted[1].ends_with('…'), "{}", fitted[1]);
        // The narrow columns keep their values.
        assert!(
            fitted[2].starts_with("22  globex-international"),
            "{}",
            fitted[2]
        );
    }

    #[test]
    fn a_tiny_width_keeps_every_column_readable() {
        let mut t = Table::new(&["PROPOSAL", "STATE"]);
        t.row(vec![
            "wrp_0123456789abcdef0123".into(),
            "pending_review".into(),
        ]);
        let lines = t.render(Some(5));
        assert!(lines[1].starts_with("wrp_012…"), "{}", lines[1]);
    }
}
