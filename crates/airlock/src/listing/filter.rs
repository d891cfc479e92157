//! Filter flags → [`RecordFilter`]. Durations (`--since`, `--older-than`) and times (`--from`,
//! `--to`) are parsed here for every command that takes them; bad input is an
//! [`output::Invalid`](crate::output::Invalid) error with a stable code (exit status 2).

use airlock_cli::BrowseArgs;
use airlock_ledger::{LedgerTime, RecordFilter, SearchText, SearchTextError};
use chrono::{DateTime, Utc};

use crate::output::invalid;

/// The filter `args` describe, with the fields only some commands have.
pub fn record_filter(args: &BrowseArgs, now: DateTime<Utc>) -> anyhow::Result<RecordFilter> {
    let (from, to) = time_range(
        args.since.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
        now,
    )?;
    let (object_type, object_id) = match &args.object {
        Some(object) => {
            let (t, id) = object
                .split_once(':')
                .filter(|(t, id)| !t.is_empty() && !id.is_empty())
                .ok_or_else(|| {
                    invalid(
                        "FILTER_BAD_OBJECT",
                        format!("--object {object:?} is not TYPE:ID"),
                        "for example --object invoice:INV-3001, or --object-id INV-3001",
                    )
                })?;
            (Some(t.to_owned()), Some(id.to_owned()))
        }
        None => (args.object_type.clone(), args.object_id.clone()),
    };
    Ok(RecordFilter {
        tenant: args.tenant.clone(),
        principal: args.principal.clone(),
        capability: args.capability.clone(),
        object_id,
        object_type,
        source: args.source.clone(),
        table: args.table.clone(),
        from,
        to,
        limit: args.limit,
        cursor: args.cursor.clone(),
        ..RecordFilter::default()
    })
}

/// A `--receipt` value: a receipt number as listed (`3` or `rct_000003`), positive.
pub fn receipt_number(value: &str) -> anyhow::Result<i64> {
    value
        .strip_prefix("rct_")
        .unwrap_or(value)
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            invalid(
                "FILTER_BAD_RECEIPT",
                format!("--receipt {value:?} is not a receipt number"),
                "use the number from `airlock receipts list`, e.g. 3 or rct_000003",
            )
        })
}

/// `--since DURATION` or `--from TIME`, and `--to TIME`, as inclusive bounds.
pub fn time_range(
    since: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<(Option<LedgerTime>, Option<LedgerTime>)> {
    let from = match (since, from) {
        (Some(age), _) => Some(LedgerTime::from_utc(now - parse_age_of(age, "--since")?)),
        (None, Some(t)) => Some(parse_time(t, "--from")?),
        (None, None) => None,
    };
    let to = to.map(|t| parse_time(t, "--to")).transpose()?;
    if let (Some(f), Some(t)) = (&from, &to)
        && f > t
    {
        return Err(invalid(
            "FILTER_EMPTY_RANGE",
            format!(
                "the time range is empty: it starts at {} and ends at {}",
                f.as_str(),
                t.as_str()
            ),
            "--from (or --since) must come before --to",
        ));
    }
    Ok((from, to))
}

/// An RFC 3339 time with its offset (`2026-12-01T00:00:00Z`, `2026-12-01T09:30:00+02:00`).
pub fn parse_time(text: &str, flag: &str) -> anyhow::Result<LedgerTime> {
    let t = DateTime::parse_from_rfc3339(text.trim()).map_err(|e| {
        invalid(
            "FILTER_BAD_TIME",
            format!("{flag} {text:?} is not an RFC 3339 time: {e}"),
            format!("for example {flag} 2026-12-01T00:00:00Z (a date alone is not enough)"),
        )
    })?;
    Ok(LedgerTime::from_utc(t.with_timezone(&Utc)))
}

/// `90d`, `12h`, `30m`, `45s` (any case); `0d` means everything until now. `source` (a flag
/// or config field) is named in the error.
pub fn parse_age_of(text: &str, source: &str) -> anyhow::Result<chrono::Duration> {
    let bad = || {
        invalid(
            "BAD_DURATION",
            format!("{source} {text:?} is not a duration"),
            "use a whole number and a unit: 30d, 12h, 90m, 45s, or 0d",
        )
    };
    let t = text.trim().to_ascii_lowercase();
    let unit = t.chars().last().ok_or_else(bad)?;
    let n: i64 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    if n < 0 || t.starts_with('+') {
        return Err(bad());
    }
    let secs = match unit {
        's' => Some(n),
        'm' => n.checked_mul(60),
        'h' => n.checked_mul(3600),
        'd' => n.checked_mul(86_400),
        _ => None,
    }
    .filter(|s| *s <= 100 * 365 * 86_400)
    .ok_or_else(bad)?;
    Ok(chrono::Duration::seconds(secs))
}

/// The search text of `activity search`, refused when blank or too long.
pub fn search_text(text: &str) -> anyhow::Result<SearchText> {
    SearchText::new(text).map_err(|e| match e {
        SearchTextError::Empty => invalid(
            "SEARCH_EMPTY_TEXT",
            "the search text is empty",
            "give the text to find, or leave it out to list by filters alone",
        ),
        SearchTextError::TooLong => invalid(
            "SEARCH_TEXT_TOO_LONG",
            format!(
                "the search text is {} bytes; at most {} are searched",
                text.len(),
                airlock_ledger::MAX_SEARCH_TEXT
            ),
            "search for a shorter, distinctive part (an id, a name, an error code)",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_age(text: &str) -> anyhow::Result<chrono::Duration> {
        parse_age_of(text, "--older-than")
    }

    #[test]
    fn ages_parse_like_the_original() {
        assert_eq!(parse_age("90d").unwrap().num_seconds(), 90 * 86_400);
        assert_eq!(parse_age("12H").unwrap().num_seconds(), 12 * 3600);
        assert_eq!(parse_age("0d").unwrap().num_seconds(), 0);
        for bad in [
            "",
            "d",
            "90",
            "-1d",
            "+1d",
            "1.5d",
            "1w",
            "90 d",
            "3 fortnights",
            "9999999999999d",
            "1dd",
            "'; DROP",
        ] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_compared_as_instants() {
        let now = Utc::now();
        // +02:00 is two hours before the same wall time in UTC.
        let (from, to) = time_range(
            None,
            Some("2026-12-01T10:00:00+02:00"),
            Some("2026-12-01T08:00:00Z"),
            now,
        )
        .unwrap();
        assert_eq!(from.unwrap().as_str(), "2026-12-01T08:00:00.000Z");
        assert_eq!(to.unwrap().as_str(), "2026-12-01T08:00:00.000Z");
        let code = |r: anyhow::Result<_>| {
            r.map(|_: (Option<LedgerTime>, Option<LedgerTime>)| ())
                .unwrap_err()
                .downcast::<crate::output::Invalid>()
                .unwrap()
                .code
        };
        assert_eq!(
            code(time_range(
                None,
                Some("2026-12-02T00:00:00Z"),
                Some("2026-12-01T00:00:00Z"),
                now
            )),
            "FILTER_EMPTY_RANGE"
        );
        assert_eq!(
            code(time_range(None, Some("2026-12-01"), None, now)),
            "FILTER_BAD_TIME"
        );
        assert_eq!(
            code(time_range(Some("3 fortnights"), None, None, now)),
            "BAD_DURATION"
        );
    }
}
