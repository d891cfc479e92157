//! Guards suggested from what the database already enforces: numeric bounds from CHECK
//! constraints (`amount >= 0`, `x BETWEEN 1 AND 5`), allowed values from enums and
//! `CHECK (status IN (…))`. Pure reading of catalog text; anything the reader does not fully
//! understand (an `OR`, a second column, a function) suggests nothing.

use indexmap::IndexMap;

use airlock_config::{NumericBound, TransitionGuard};

use crate::inspect::{ColumnReport, TableReport, TypeCategory};

/// Words a constraint may contain besides the one column and its literals.
const KEYWORDS: &[&str] = &[
    "and",
    "between",
    "in",
    "any",
    "array",
    "text",
    "character",
    "varying",
    "varchar",
    "numeric",
    "integer",
    "int",
    "bigint",
    "smallint",
    "real",
    "double",
    "precision",
    "decimal",
    "float",
    "check",
    "bpchar",
    "e",
];

/// A constraint's text with quoting, casts and parentheses reduced to plain tokens;
/// `None` when it holds a disjunction or negation (nothing sound can be suggested).
fn tokens(expression: &str) -> Option<(Vec<String>, Vec<String>)> {
    let mut literals = Vec::new();
    let mut rest = String::new();
    let mut chars = expression.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let mut lit = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        lit.push('\'');
                    }
                    Some('\'') | None => break,
                    Some(x) => lit.push(x),
                }
            }
            literals.push(lit);
            rest.push_str(" 'lit' ");
        } else if matches!(c, '"' | '`' | '[' | ']' | '(' | ')' | ',') {
            rest.push(' ');
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            rest.push_str(" :: ");
        } else if matches!(c, '<' | '>' | '=' | '!') {
            rest.push(' ');
            rest.push(c);
            if chars.peek() == Some(&'=') || (c == '<' && chars.peek() == Some(&'>')) {
                rest.push(chars.next().unwrap_or_default());
            }
            rest.push(' ');
        } else {
            rest.push(c.to_ascii_lowercase());
        }
    }
    let words: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
    if words
        .iter()
        .any(|w| w == "or" || w == "not" || w == "null" || w == "is")
    {
        return None;
    }
    Some((words, literals))
}

/// The identifiers of a token list other than keywords, casts and numbers.
fn identifiers(words: &[String]) -> Vec<&str> {
    let mut prev_cast = false;
    let mut out = Vec::new();
    for w in words {
        let is_ident = w
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if is_ident && !prev_cast && !KEYWORDS.contains(&w.as_str()) {
            out.push(w.as_str());
        }
        prev_cast = w == "::";
    }
    out
}

fn mentions_only(words: &[String], column: &str) -> bool {
    let ids = identifiers(words);
    !ids.is_empty() && ids.iter().all(|i| i.eq_ignore_ascii_case(column))
}

/// Inclusive bounds on `column` that the table's CHECK constraints enforce, if any.
pub fn numeric_bound(table: &TableReport, column: &ColumnReport) -> Option<NumericBound> {
    if !matches!(
        column.category,
        TypeCategory::Integer | TypeCategory::Decimal | TypeCategory::Float
    ) {
        return None;
    }
    let integer = column.category == TypeCategory::Integer;
    let mut bound = NumericBound {
        minimum: None,
        maximum: None,
    };
    let name = column.name.to_ascii_lowercase();
    for check in &table.check_constraints {
        let Some((words, literals)) = tokens(&check.expression) else {
            continue;
        };
        if !literals.is_empty() || !mentions_only(&words, &name) {
            continue;
        }
        let words: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .filter(|w| *w != "check")
            .collect();
        let num = |s: &str| s.parse::<f64>().ok().filter(|f| f.is_finite());
        let mut i = 0;
        while i < words.len() {
            // `col BETWEEN a AND b`
            if words[i] == name && words.get(i + 1) == Some(&"between") {
                if let (Some(a), Some(b)) = (
                    words.get(i + 2).and_then(|w| num(w)),
                    words.get(i + 4).and_then(|w| num(w)),
                ) {
                    tighten(&mut bound, Some(a), Some(b));
                }
                i += 5;
                continue;
            }
            // `col OP n` or `n OP col`, skipping casts after either side.
            let skip_cast = |j: usize| -> usize {
                if words.get(j) == Some(&"::") {
                    let mut k = j + 1;
                    while words
                        .get(k)
                        .is_some_and(|w| KEYWORDS.contains(w) && *w != "and")
                    {
                        k += 1;
                    }
                    k
                } else {
                    j
                }
            };
            if words[i] == name {
                let op_at = skip_cast(i + 1);
                if let (Some(op), Some(n)) =
                    (words.get(op_at), words.get(op_at + 1).and_then(|w| num(w)))
                {
                    apply(&mut bound, op, n, integer, false);
                }
            } else if let Some(n) = num(words[i]) {
                let op_at = skip_cast(i + 1);
                if words.get(op_at + 1) == Some(&name.as_str())
                    && let Some(op) = words.get(op_at)
                {
                    apply(&mut bound, op, n, integer, true);
                }
            }
            i += 1;
        }
    }
    (bound.minimum.is_some() || bound.maximum.is_some()).then_some(bound)
}

fn tighten(b: &mut NumericBound, min: Option<f64>, max: Option<f64>) {
    if let Some(m) = min {
        b.minimum = Some(b.minimum.map_or(m, |x| x.max(m)));
    }
    if let Some(m) = max {
        b.maximum = Some(b.maximum.map_or(m, |x| x.min(m)));
    }
}

/// `col op n` (or `n op col` when `reversed`) as a bound; a strict bound is exact only on
/// integers, so on other numbers it suggests nothing.
fn apply(b: &mut NumericBound, op: &str, n: f64, integer: bool, reversed: bool) {
    let op = match (op, reversed) {
        (">=", true) => "<=",
        ("<=", true) => ">=",
        (">", true) => "<",
        ("<", true) => ">",
        (o, _) => o,
    };
    match op {
        ">=" => tighten(b, Some(n), None),
        "<=" => tighten(b, None, Some(n)),
        ">" if integer => tighten(b, Some(n.floor() + 1.0), None),
        "<" if integer => tighten(b, None, Some(n.ceil() - 1.0)),
        "=" => tighten(b, Some(n), Some(n)),
        _ => {}
    }
}

/// The values `column` may hold: its enum labels, or the list of a `CHECK (col IN (…))`.
pub fn allowed_values(table: &TableReport, column: &ColumnReport) -> Option<Vec<String>> {
    if !column.enum_values.is_empty() {
        return Some(column.enum_values.clone());
    }
    let name = column.name.to_ascii_lowercase();
    for check in &table.check_constraints {
        let Some((words, literals)) = tokens(&check.expression) else {
            continue;
        };
        let listy = words.iter().any(|w| w == "in" || w == "any");
        if listy && literals.len() >= 2 && mentions_only(&words, &name) {
            let mut out: Vec<String> = Vec::new();
            for l in literals {
                if !out.contains(&l) {
                    out.push(l);
                }
            }
            return Some(out);
        }
    }
    None
}

/// A transition guard allowing any move between the known values: the database's own list,
/// narrowed later by whoever reviews the config.
pub fn transition_guard(values: &[String]) -> TransitionGuard {
    let mut allowed = IndexMap::new();
    for from in values {
        allowed.insert(
            from.clone(),
            values.iter().filter(|v| *v != from).cloned().collect(),
        );
    }
    TransitionGuard {
        from_column: None,
        allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{CheckConstraint, TableReport};

    fn table(checks: &[&str]) -> TableReport {
        serde_json::from_value(serde_json::json!({
            "schema": "s", "name": "t", "kind": "table", "row_estimate": null, "readable": true,
            "columns": [], "primary_key": [], "unique_constraints": [], "foreign_keys": [],
            "check_constraints": checks.iter().map(|e| CheckConstraint { name: None, expression: (*e).to_owned() }).collect::<Vec<_>>(),
            "indexes": [], "triggers": [], "candidates": {"tenant": [], "principal": [], "conflict_guard": []},
            "visible_columns": []
        }))
        .unwrap()
    }

    fn column(name: &str, category: TypeCategory) -> ColumnReport {
        ColumnReport {
            name: name.into(),
            data_type: "x".into(),
            category,
            nullable: false,
            default: None,
            generated: false,
            auto_increment: false,
            on_update: None,
            enum_values: vec![],
            sensitive: None,
        }
    }

    fn bounds(checks: &[&str], cat: TypeCategory) -> Option<(Option<f64>, Option<f64>)> {
        numeric_bound(&table(checks), &column("amount", cat)).map(|b| (b.minimum, b.maximum))
    }

    #[test]
    fn bounds_from_each_engines_spelling() {
        use TypeCategory::*;
        assert_eq!(bounds(&["(amount >= 0)"], Integer), Some((Some(0.0), None)));
        assert_eq!(
            bounds(&["((amount >= 0) AND (amount <= 10000))"], Integer),
            Some((Some(0.0), Some(10000.0)))
        );
        assert_eq!(
            bounds(&["`amount` between 1 and 5"], Integer),
            Some((Some(1.0), Some(5.0)))
        );
        assert_eq!(
            bounds(
                &["(amount)::numeric > (0)::numeric", "\"amount\" < 100"],
                Integer
            ),
            Some((Some(1.0), Some(99.0)))
        );
        assert_eq!(bounds(&["0 <= amount"], Decimal), Some((Some(0.0), None)));
        // Strict on a non-integer, a disjunction, another column: nothing.
        assert_eq!(bounds(&["amount > 0.5"], Decimal), None);
        assert_eq!(bounds(&["amount >= 0 OR amount IS NULL"], Integer), None);
        assert_eq!(bounds(&["amount >= fee"], Integer), None);
        assert_eq!(bounds(&["(amount >= 0)"], Text), None);
    }

    #[test]
    fn allowed_values_from_enums_and_in_lists() {
        let c = column("status", TypeCategory::Text);
        let pg = "((status)::text = ANY ((ARRAY['open'::character varying, 'paid'::character varying, 'it''s'::character varying])::text[]))";
        assert_eq!(
            allowed_values(&table(&[pg]), &c).unwrap(),
            vec!["open", "paid", "it's"]
        );
        assert_eq!(
            allowed_values(&table(&["`status` in ('a','b')"]), &c).unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            allowed_values(&table(&["status NOT IN ('a','b')"]), &c),
            None
        );
        assert_eq!(allowed_values(&table(&["kind in ('a','b')"]), &c), None);
        let g = transition_guard(&["a".into(), "b".into(), "c".into()]);
        assert_eq!(g.allowed["a"], vec!["b", "c"]);
    }
}
