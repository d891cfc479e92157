//! Version columns: the lock select, reading current values, and the next value of a text
//! timestamp used as a version.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::{DbError, DbErrorKind, Ident, Row, RowUpdate, ScopedSelect};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Ident {
        Ident::new(s).unwrap()
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
