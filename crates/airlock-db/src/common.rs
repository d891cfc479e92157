//! Helpers shared by the three engines: SQL rendering, credential scrubbing, value formatting.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::exact::ExactMatch;
use crate::{DbError, DbErrorKind, Ident, Param, Row, RowUpdate, ScopedSelect};

/// Longest driver message kept in [`DbError::detail`]. A bound value can be echoed back by the
/// server (e.g. "invalid input syntax for type uuid: \"…1 MB…\""); logs do not need all of it.
const MAX_DETAIL: usize = 512;

/// Quotes an identifier with `q` as the quote character, doubling any `q` inside it.
/// [`Ident`] cannot contain quote characters; the doubling is defence in depth.
pub(crate) fn quote_with(ident: &Ident, q: char) -> String {
    let s = ident.as_str();
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// How one projected column is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnRender {
    /// `"col"`
    Plain,
    /// `"col"::text AS "col"` (Postgres types without a native mapping).
    CastText,
}

/// What follows the `WHERE` clause of a scoped select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectTail {
    /// `LIMIT n` (reads).
    Limit,
    /// `FOR UPDATE`, no limit (Postgres and MySQL write transactions).
    ForUpdate,
    /// Nothing (SQLite write transactions, which already hold the write lock).
    Nothing,
}

/// Renders `SELECT <cols> FROM [<schema>.]<table> WHERE <key predicate> [AND <tenant
/// predicate>] LIMIT n`; each predicate is `col = p` or doubled as `exact` says
/// ([`ExactMatch::predicate`]), with values in [`crate::exact::select_params`] order.
///
/// `placeholder(i)` gives the i-th (1-based) placeholder; `casts` (if given) has one entry per
/// projected column.
pub(crate) fn render_select(
    q: &ScopedSelect,
    quote: impl Fn(&Ident) -> String,
    placeholder: impl Fn(usize) -> String,
    casts: Option<&[ColumnRender]>,
    exact: &ExactMatch,
) -> String {
    render_select_with(q, quote, placeholder, casts, SelectTail::Limit, exact)
}

/// [`render_select`] with a chosen tail.
pub(crate) fn render_select_with(
    q: &ScopedSelect,
    quote: impl Fn(&Ident) -> String,
    placeholder: impl Fn(usize) -> String,
    casts: Option<&[ColumnRender]>,
    tail: SelectTail,
    exact: &ExactMatch,
) -> String {
    let mut sql = String::with_capacity(64 + q.columns.len() * 16);
    sql.push_str("SELECT ");
    for (i, col) in q.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let quoted = quote(col);
        match casts
            .and_then(|c| c.get(i))
            .copied()
            .unwrap_or(ColumnRender::Plain)
        {
            ColumnRender::Plain => sql.push_str(&quoted),
            ColumnRender::CastText => {
                let _ = write!(sql, "{quoted}::text AS {quoted}");
            }
        }
    }
    sql.push_str(" FROM ");
    if let Some(schema) = &q.schema {
        sql.push_str(&quote(schema));
        sql.push('.');
    }
    sql.push_str(&quote(&q.table));
    let mut n = 0;
    let mut next = || {
        n += 1;
        placeholder(n)
    };
    let key = exact.predicate(exact.key, &quote(&q.key_column), &mut next);
    let _ = write!(sql, " WHERE {key}");
    if let Some((tenant_col, _)) = &q.tenant {
        let tenant = exact.predicate(exact.tenant, &quote(tenant_col), &mut next);
        let _ = write!(sql, " AND {tenant}");
    }
    match tail {
        SelectTail::Limit => {
            let _ = write!(sql, " LIMIT {}", q.limit);
        }
        SelectTail::ForUpdate => sql.push_str(" FOR UPDATE"),
        SelectTail::Nothing => {}
    }
    sql
}

/// How the version column of a [`RowUpdate`] is advanced in its `SET` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AdvanceSql {
    /// An SQL expression built by the engine from quoted identifiers and fixed text only.
    Expr(String),
    /// A value computed by Airlock and bound as a parameter.
    Param(Param),
}

/// An UPDATE statement and its parameters in placeholder order, each with the column it is
/// compared with or assigned to (for engines that convert values per column).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RenderedUpdate {
    pub(crate) sql: String,
    pub(crate) params: Vec<(Ident, Param)>,
}

/// Rejects updates that are malformed whatever the engine.
pub(crate) fn validate_update(u: &RowUpdate) -> Result<(), DbError> {
    let bad = |why: String| {
        Err(DbError::new(
            DbErrorKind::Other,
            format!("invalid update: {why}"),
        ))
    };
    if u.set.is_empty() && u.advance.is_none() {
        return bad("nothing to set".into());
    }
    for (i, (col, _)) in u.set.iter().enumerate() {
        if u.set[..i].iter().any(|(c, _)| c == col) {
            return bad(format!("column {col} is set twice"));
        }
        if *col == u.key.0 {
            return bad(format!("the key column {col} cannot be set"));
        }
        if u.tenant.as_ref().is_some_and(|(t, _)| t == col) {
            return bad(format!("the tenant column {col} cannot be set"));
        }
        if u.advance.as_ref().is_some_and(|(a, _)| a == col) {
            return bad(format!(
                "the advanced version column {col} cannot also be set"
            ));
        }
    }
    Ok(())
}

/// Renders `UPDATE [s.]t SET "c1" = p1, … [, "v" = <advance>] WHERE <key predicate> [AND
/// <tenant predicate>] [AND "version" = pv | AND "version" IS NULL]`, the key and tenant
/// predicates as `exact` says ([`ExactMatch::predicate`]).
pub(crate) fn render_update(
    u: &RowUpdate,
    quote: impl Fn(&Ident) -> String,
    placeholder: impl Fn(usize) -> String,
    advance: Option<&AdvanceSql>,
    exact: &ExactMatch,
) -> RenderedUpdate {
    let mut params: Vec<(Ident, Param)> = Vec::with_capacity(u.set.len() + 4);
    let next = |col: &Ident, p: &Param, params: &mut Vec<(Ident, Param)>| {
        params.push((col.clone(), p.clone()));
        placeholder(params.len())
    };
    let mut sql = String::from("UPDATE ");
    if let Some(schema) = &u.schema {
        sql.push_str(&quote(schema));
        sql.push('.');
    }
    sql.push_str(&quote(&u.table));
    sql.push_str(" SET ");
    let mut first = true;
    for (col, value) in &u.set {
        if !first {
            sql.push_str(", ");
        }
        first = false;
        let ph = next(col, value, &mut params);
        let _ = write!(sql, "{} = {ph}", quote(col));
    }
    if let (Some((col, _)), Some(adv)) = (&u.advance, advance) {
        if !first {
            sql.push_str(", ");
        }
        let rhs = match adv {
            AdvanceSql::Expr(e) => e.clone(),
            AdvanceSql::Param(p) => next(col, p, &mut params),
        };
        let _ = write!(sql, "{} = {rhs}", quote(col));
    }
    let key = exact.predicate(exact.key, &quote(&u.key.0), || {
        next(&u.key.0, &u.key.1, &mut params)
    });
    let _ = write!(sql, " WHERE {key}");
    if let Some((col, value)) = &u.tenant {
        let tenant = exact.predicate(exact.tenant, &quote(col), || next(col, value, &mut params));
        let _ = write!(sql, " AND {tenant}");
    }
    match &u.version_check {
        Some((col, Param::Null)) => {
            let _ = write!(sql, " AND {} IS NULL", quote(col));
        }
        Some((col, value)) => {
            let ph = next(col, value, &mut params);
            let _ = write!(sql, " AND {} = {ph}", quote(col));
        }
        None => {}
    }
    RenderedUpdate { sql, params }
}

/// The lock select used before computing a text version: `SELECT "v" FROM … WHERE key [AND tenant]`.
pub(crate) fn version_select(u: &RowUpdate, col: &Ident) -> ScopedSelect {
    ScopedSelect {
        schema: u.schema.clone(),
        table: u.table.clone(),
        columns: vec![col.clone()],
        key_column: u.key.0.clone(),
        key_value: u.key.1.clone(),
        tenant: u.tenant.clone(),
        limit: 2,
    }
}

/// The version column of each row as text (`None` for NULL).
pub(crate) fn text_values<'a>(
    rows: &'a [Row],
    col: &Ident,
) -> Result<Vec<Option<&'a str>>, DbError> {
    rows.iter()
        .map(|r| match r.get(col.as_str()) {
            Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
            Some(serde_json::Value::Null) | None => Ok(None),
            Some(_) => Err(DbError::new(
                DbErrorKind::InvalidValue,
                format!("version column {col} does not hold text"),
            )),
        })
        .collect()
}

/// `COALESCE(<col>, 0) + 1`.
pub(crate) fn increment_expr(quoted: &str) -> String {
    format!("COALESCE({quoted}, 0) + 1")
}

/// The error for a version column that [`VersionAdvance`](crate::VersionAdvance) cannot move.
pub(crate) fn cannot_advance(col: &Ident, how: crate::VersionAdvance, what: &str) -> DbError {
    let how = match how {
        crate::VersionAdvance::Increment => "incremented",
        crate::VersionAdvance::Now => "set to the current time",
    };
    DbError::new(
        DbErrorKind::InvalidValue,
        format!("version column {col} ({what}) cannot be {how}"),
    )
}

/// Microseconds in one step of a fractional-seconds precision `p` (0..=6).
pub(crate) fn precision_unit_micros(p: u32) -> u32 {
    10u32.pow(6 - p.min(6))
}

// ---------------------------------------------------------------------------------------------
// Text timestamps used as versions

/// Zone suffix of a text timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextZone {
    /// No suffix: read as UTC.
    Naive,
    /// `Z` or `z`.
    Utc(char),
    /// `±HH`, `±HHMM` or `±HH:MM`.
    Offset {
        secs: i32,
        colon: bool,
        minutes: bool,
    },
}

/// A parsed `YYYY-MM-DD[T| ]HH:MM:SS[.f{1,9}][zone]` and how it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextTimestamp {
    instant: DateTime<Utc>,
    sep: char,
    frac_digits: u32,
    zone: TextZone,
}

impl TextTimestamp {
    /// Parses the whole string; `None` for anything else.
    pub(crate) fn parse(s: &str) -> Option<TextTimestamp> {
        let b = s.as_bytes();
        let num = |from: usize, len: usize| -> Option<u32> {
            let part = b.get(from..from + len)?;
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| part.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
        };
        let year = num(0, 4)?;
        let month = (b.get(4) == Some(&b'-')).then(|| num(5, 2))??;
        let day = (b.get(7) == Some(&b'-')).then(|| num(8, 2))??;
        let sep = match b.get(10)? {
            c @ (b'T' | b't' | b' ') => *c as char,
            _ => return None,
        };
        let hour = num(11, 2)?;
        let minute = (b.get(13) == Some(&b':')).then(|| num(14, 2))??;
        let second = (b.get(16) == Some(&b':')).then(|| num(17, 2))??;
        let mut i = 19;
        let mut frac_digits = 0u32;
        let mut nanos = 0u32;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            frac_digits = u32::try_from(i - start).ok()?;
            if !(1..=9).contains(&frac_digits) {
                return None;
            }
            nanos = num(start, i - start)? * 10u32.pow(9 - frac_digits);
        }
        let zone = match b.get(i) {
            None => TextZone::Naive,
            Some(c @ (b'Z' | b'z')) if i + 1 == b.len() => TextZone::Utc(*c as char),
            Some(c @ (b'+' | b'-')) => {
                let sign = if *c == b'-' { -1 } else { 1 };
                let hh = num(i + 1, 2)?;
                let (mm, colon, minutes, end) = match b.get(i + 3) {
                    None => (0, false, false, i + 3),
                    Some(b':') => (num(i + 4, 2)?, true, true, i + 6),
                    Some(_) => (num(i + 3, 2)?, false, true, i + 5),
                };
                if end != b.len() || hh > 23 || mm > 59 {
                    return None;
                }
                TextZone::Offset {
                    secs: sign * i32::try_from(hh * 3600 + mm * 60).ok()?,
                    colon,
                    minutes,
                }
            }
            _ => return None,
        };
        let local = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
            .and_hms_nano_opt(hour, minute, second, nanos)?;
        let offset = match zone {
            TextZone::Offset { secs, .. } => secs,
            _ => 0,
        };
        let instant = local.checked_sub_signed(TimeDelta::seconds(offset.into()))?;
        Some(TextTimestamp {
            instant: instant.and_utc(),
            sep,
            frac_digits,
            zone,
        })
    }

    /// One step of this value's precision.
    fn unit(&self) -> TimeDelta {
        TimeDelta::nanoseconds(10i64.pow(9 - self.frac_digits))
    }

    /// `instant` written in this value's format.
    fn render(&self, instant: DateTime<Utc>) -> String {
        let offset = match self.zone {
            TextZone::Offset { secs, .. } => secs,
            _ => 0,
        };
        let local = instant.naive_utc() + TimeDelta::seconds(offset.into());
        let mut out = format!(
            "{}{}{}",
            local.format("%Y-%m-%d"),
            self.sep,
            local.format("%H:%M:%S")
        );
        if self.frac_digits > 0 {
            let frac = local.and_utc().timestamp_subsec_nanos() / 10u32.pow(9 - self.frac_digits);
            let _ = write!(out, ".{frac:0width$}", width = self.frac_digits as usize);
        }
        match self.zone {
            TextZone::Naive => {}
            TextZone::Utc(c) => out.push(c),
            TextZone::Offset {
                secs,
                colon,
                minutes,
            } => {
                let sign = if secs < 0 { '-' } else { '+' };
                let abs = secs.unsigned_abs();
                let _ = write!(out, "{sign}{:02}", abs / 3600);
                if minutes {
                    if colon {
                        out.push(':');
                    }
                    let _ = write!(out, "{:02}", abs % 3600 / 60);
                }
            }
        }
        out
    }
}

/// The next value of a text timestamp version: strictly later than every current value, at the
/// current time when that is later, in the format of the latest current value.
///
/// `current` holds the values of the matching rows (`None` for NULL). With no non-NULL value
/// the result is `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn next_text_timestamp(
    col: &Ident,
    current: &[Option<&str>],
    now: DateTime<Utc>,
) -> Result<String, DbError> {
    let mut latest: Option<TextTimestamp> = None;
    for value in current.iter().flatten() {
        let t = TextTimestamp::parse(value).ok_or_else(|| {
            cannot_advance(
                col,
                crate::VersionAdvance::Now,
                "text that is not a timestamp",
            )
        })?;
        if latest.as_ref().is_none_or(|l| t.instant > l.instant) {
            latest = Some(t);
        }
    }
    let template = latest.clone().unwrap_or(TextTimestamp {
        instant: now,
        sep: 'T',
        frac_digits: 3,
        zone: TextZone::Utc('Z'),
    });
    let unit = template.unit();
    let unit_ns = unit.num_nanoseconds().unwrap_or(1).max(1);
    let sub = i64::from(now.timestamp_subsec_nanos());
    let now_truncated = now - TimeDelta::nanoseconds(sub % unit_ns);
    let next = match latest {
        Some(l) => now_truncated.max(l.instant + unit),
        None => now_truncated,
    };
    Ok(template.render(next))
}

/// Secrets that must never appear in an error detail: the full URL and its password (raw and
/// percent-decoded). Passwords shorter than 4 bytes are not scrubbed (replacing every `a` in a
/// message would make it useless; such a password is not a secret worth the name).
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub(crate) fn for_url(url: &str) -> Scrubber {
        let mut secrets = vec![url.to_owned()];
        if let Some((_, rest)) = url.split_once("://") {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            // userinfo ends at the last '@' of the authority; passwords may contain '@' only
            // percent-encoded, but be lenient and use the last one in the whole rest.
            let userinfo = rest
                .rsplit_once('@')
                .map(|(u, _)| u)
                .or_else(|| authority.rsplit_once('@').map(|(u, _)| u));
            if let Some((_, pw)) = userinfo.and_then(|u| u.split_once(':')) {
                secrets.push(pw.to_owned());
                secrets.push(percent_decode(pw));
            }
        }
        secrets.retain(|s| s.len() >= 4);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Scrubber { secrets }
    }

    pub(crate) fn add(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Removes secrets from a driver message and caps its length.
    pub(crate) fn clean(&self, detail: &str) -> String {
        let mut out = detail.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        truncate(out)
    }

    /// Scrubs the detail of an already classified error.
    pub(crate) fn error(&self, mut e: DbError) -> DbError {
        e.detail = self.clean(&e.detail);
        e
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_DETAIL {
        let mut cut = MAX_DETAIL;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `\x` followed by lowercase hex: the Postgres `bytea` text form, used for binary values by
/// every engine.
pub(crate) fn hex_bytes(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("\\x");
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// A finite `f64` as a JSON number; NaN and ±infinity as the strings `NaN`, `Infinity`,
/// `-Infinity` (JSON has no such numbers).
pub(crate) fn float_json(f: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None if f.is_nan() => serde_json::Value::String("NaN".into()),
        None if f > 0.0 => serde_json::Value::String("Infinity".into()),
        None => serde_json::Value::String("-Infinity".into()),
    }
}

/// An `f32` widened through its shortest decimal form, so `0.1f32` becomes `0.1`, not
/// `0.10000000149011612`.
pub(crate) fn f32_json(f: f32) -> serde_json::Value {
    if !f.is_finite() {
        return float_json(f64::from(f));
    }
    float_json(f.to_string().parse::<f64>().unwrap_or(f64::from(f)))
}

/// Parses a model-supplied integer. Surrounding ASCII whitespace is ignored (as the servers'
/// own integer input does).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
        .parse()
        .ok()
}

/// Whether `s` is a plain decimal number: `[+-]digits[.digits][e[+-]digits]`. No `inf`, `NaN`,
/// hex or trailing garbage.
pub(crate) fn is_decimal_literal(s: &str) -> bool {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// The error every engine returns when a model-supplied value cannot be a value of the key's
/// column type. Callers answer "not found".
pub(crate) fn invalid_value(what: &str, ty: &str) -> DbError {
    DbError::new(
        DbErrorKind::InvalidValue,
        format!("{what} is not a valid {ty}"),
    )
}

/// Formats microseconds as `.ffffff` when non-zero, else nothing.
pub(crate) fn micros_suffix(us: u32) -> String {
    if us == 0 {
        String::new()
    } else {
        format!(".{us:06}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_passwords_and_urls() {
        let s = Scrubber::for_url("postgres://app:hunter%232@db:5432/x");
        let d =
            s.clean("failed for postgres://app:hunter%232@db:5432/x with hunter#2 and hunter%232");
        assert!(!d.contains("hunter"), "{d}");
        let short = Scrubber::for_url("mysql://root:ab@h/");
        assert_eq!(short.clean("abc"), "abc");
    }

    #[test]
    fn decimal_literals() {
        for ok in ["1", "-1", "+1.5", ".5", "5.", "1e10", "1E-3", " 42 "] {
            assert!(is_decimal_literal(ok), "{ok}");
        }
        for bad in [
            "", "-", ".", "abc", "1abc", "inf", "NaN", "1e", "0x10", "1 2", "1;DROP",
        ] {
            assert!(!is_decimal_literal(bad), "{bad}");
        }
    }

    #[test]
    fn hex_and_floats() {
        assert_eq!(hex_bytes(&[0xde, 0xad, 0x01]), "\\xdead01");
        assert_eq!(f32_json(0.1).to_string(), "0.1");
        assert_eq!(float_json(f64::NAN), serde_json::json!("NaN"));
        assert_eq!(
            float_json(f64::NEG_INFINITY),
            serde_json::json!("-Infinity")
        );
    }

    fn id(s: &str) -> Ident {
        Ident::new(s).unwrap()
    }

    fn update() -> RowUpdate {
        RowUpdate {
            schema: Some(id("app")),
            table: id("orders"),
            key: (id("id"), Param::Text("7".into())),
            tenant: Some((id("tenant_id"), Param::Text("t1".into()))),
            set: vec![
                (id("status"), Param::Text("paid".into())),
                (id("note"), Param::Null),
            ],
            version_check: Some((id("version"), Param::Int(3))),
            advance: Some((id("version"), crate::VersionAdvance::Increment)),
        }
    }

    #[test]
    fn renders_updates_with_placeholders_in_order() {
        let u = update();
        let q = |i: &Ident| quote_with(i, '"');
        let r = render_update(
            &u,
            q,
            |n| format!("${n}"),
            Some(&AdvanceSql::Expr(increment_expr("\"version\""))),
            &ExactMatch::plain(crate::EngineKind::Postgres),
        );
        assert_eq!(
            r.sql,
            r#"UPDATE "app"."orders" SET "status" = $1, "note" = $2, "version" = COALESCE("version", 0) + 1 WHERE "id" = $3 AND "tenant_id" = $4 AND "version" = $5"#
        );
        let cols: Vec<&str> = r.params.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(cols, ["status", "note", "id", "tenant_id", "version"]);
        assert_eq!(r.params[4].1, Param::Int(3));

        // A computed advance is a parameter; a NULL version check is IS NULL; no tenant.
        let u2 = RowUpdate {
            schema: None,
            tenant: None,
            set: vec![],
            version_check: Some((id("version"), Param::Null)),
            advance: Some((id("version"), crate::VersionAdvance::Now)),
            ..update()
        };
        let r = render_update(
            &u2,
            |i| quote_with(i, '`'),
            |_| "?".into(),
            Some(&AdvanceSql::Param(Param::Text(
                "2026-01-01T00:00:00.000Z".into(),
            ))),
            &ExactMatch::plain(crate::EngineKind::Mysql),
        );
        assert_eq!(
            r.sql,
            "UPDATE `orders` SET `version` = ? WHERE `id` = ? AND `version` IS NULL"
        );
        assert_eq!(r.params.len(), 2);

        // Exact key and tenant predicates bind each value twice, in placeholder order.
        let exact = ExactMatch {
            engine: crate::EngineKind::Mysql,
            key: crate::exact::Exact::Bytes,
            tenant: crate::exact::Exact::Bytes,
        };
        let r = render_update(
            &update(),
            |i| quote_with(i, '`'),
            |_| "?".into(),
            None,
            &exact,
        );
        assert_eq!(
            r.sql,
            "UPDATE `app`.`orders` SET `status` = ?, `note` = ? WHERE `id` = ? AND `id` = CAST(? AS BINARY) AND `tenant_id` = ? AND `tenant_id` = CAST(? AS BINARY) AND `version` = ?"
        );
        let cols: Vec<&str> = r.params.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            cols,
            [
                "status",
                "note",
                "id",
                "id",
                "tenant_id",
                "tenant_id",
                "version"
            ]
        );
    }

    #[test]
    fn rejects_malformed_updates() {
        let ok = update();
        assert!(validate_update(&ok).is_ok());
        let cases = [
            RowUpdate {
                set: vec![],
                advance: None,
                ..update()
            },
            RowUpdate {
                set: vec![(id("id"), Param::Int(1))],
                ..update()
            },
            RowUpdate {
                set: vec![(id("tenant_id"), Param::Text("t2".into()))],
                ..update()
            },
            RowUpdate {
                set: vec![(id("version"), Param::Int(9))],
                ..update()
            },
            RowUpdate {
                set: vec![(id("a"), Param::Int(1)), (id("a"), Param::Int(2))],
                ..update()
            },
        ];
        for u in cases {
            let e = validate_update(&u).unwrap_err();
            assert_eq!(e.kind, DbErrorKind::Other, "{e}");
        }
    }

    #[test]
    fn select_tails() {
        let q = ScopedSelect {
            schema: None,
            table: id("t"),
            columns: vec![id("a")],
            key_column: id("id"),
            key_value: Param::Int(1),
            tenant: None,
            limit: 3,
        };
        let plain = ExactMatch::plain(crate::EngineKind::Sqlite);
        let r = |tail| {
            render_select_with(
                &q,
                |i| quote_with(i, '"'),
                |_| "?".into(),
                None,
                tail,
                &plain,
            )
        };
        assert_eq!(
            r(SelectTail::Limit),
            r#"SELECT "a" FROM "t" WHERE "id" = ? LIMIT 3"#
        );
        assert_eq!(
            r(SelectTail::ForUpdate),
            r#"SELECT "a" FROM "t" WHERE "id" = ? FOR UPDATE"#
        );
        assert_eq!(
            r(SelectTail::Nothing),
            r#"SELECT "a" FROM "t" WHERE "id" = ?"#
        );
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn text_timestamps_keep_their_format() {
        let now = at("2026-05-16T10:00:00.123456789Z");
        let next = |old: &str| next_text_timestamp(&id("v"), &[Some(old)], now).unwrap();
        // Older values move to now, truncated to the value's precision.
        assert_eq!(next("2026-05-16T09:00:00.000Z"), "2026-05-16T10:00:00.123Z");
        assert_eq!(next("2026-05-16 09:00:00"), "2026-05-16 10:00:00");
        assert_eq!(next("2026-05-16 09:00:00.5"), "2026-05-16 10:00:00.1");
        assert_eq!(
            next("2026-05-16T09:00:00.000000"),
            "2026-05-16T10:00:00.123456"
        );
        assert_eq!(
            next("2026-05-16T09:00:00+02:00"),
            "2026-05-16T12:00:00+02:00"
        );
        assert_eq!(
            next("2026-05-16T07:00:00.00-0130"),
            "2026-05-16T08:30:00.12-0130"
        );
        // 09:00-01:30 is 10:30Z, after now: one unit later.
        assert_eq!(
            next("2026-05-16T09:00:00.00-0130"),
            "2026-05-16T09:00:00.01-0130"
        );
        assert_eq!(next("2026-05-16t09:00:00+05"), "2026-05-16t15:00:00+05");
        assert_eq!(next("2026-05-16T09:00:00z"), "2026-05-16T10:00:00z");
        // Same instant (or later): one unit of the value's precision later.
        assert_eq!(next("2026-05-16T10:00:00.123Z"), "2026-05-16T10:00:00.124Z");
        assert_eq!(next("2026-05-16 10:00:00"), "2026-05-16 10:00:01");
        assert_eq!(next("2999-01-01T00:00:00Z"), "2999-01-01T00:00:01Z");
        assert_eq!(
            next("2026-05-16T12:00:00.123+02:00"),
            "2026-05-16T12:00:00.124+02:00"
        );
        // NULL or no value: the SQLite strftime form.
        assert_eq!(
            next_text_timestamp(&id("v"), &[None], now).unwrap(),
            "2026-05-16T10:00:00.123Z"
        );
        // The latest of several rows decides.
        assert_eq!(
            next_text_timestamp(
                &id("v"),
                &[Some("2026-05-16T09:00:00Z"), Some("2999-01-01 00:00:00.5")],
                now
            )
            .unwrap(),
            "2999-01-01 00:00:00.6"
        );
        for bad in [
            "abc",
            "2026-05-16",
            "2026-05-16T10:00",
            "2026-13-01T00:00:00",
            "2026-05-16T10:00:00.",
            "2026-05-16T10:00:00.1234567890",
            "2026-05-16T10:00:00Zx",
            "2026-05-16T10:00:00+2",
            " 2026-05-16T10:00:00",
            "42",
        ] {
            let e = next_text_timestamp(&id("v"), &[Some(bad)], now).unwrap_err();
            assert_eq!(e.kind, DbErrorKind::InvalidValue, "{bad}");
        }
    }

    #[test]
    fn precision_units() {
        assert_eq!(precision_unit_micros(6), 1);
        assert_eq!(precision_unit_micros(3), 1000);
        assert_eq!(precision_unit_micros(0), 1_000_000);
    }
}
