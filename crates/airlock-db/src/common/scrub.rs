//! Driver messages made safe for logs: connection secrets removed, length capped.

use airlock_config::redact::KnownSecrets;

use crate::DbError;

/// Longest driver message kept in [`DbError::detail`]. A bound value can be echoed back by the
/// server (e.g. "invalid input syntax for type uuid: \"…1 MB…\""); logs do not need all of it.
const MAX_DETAIL: usize = 512;

/// Secrets that must never appear in an error detail: the full URL and its password (raw and
/// percent-decoded), replaced by `airlock_config::redact::REDACTED`.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: KnownSecrets,
}

impl Scrubber {
    pub(crate) fn for_url(url: &str) -> Scrubber {
        Scrubber {
            secrets: KnownSecrets::for_url(url),
        }
    }

    pub(crate) fn add(&mut self, secret: &str) {
        self.secrets.add(secret);
    }

    /// Removes secrets from a driver message and caps its length.
    pub(crate) fn clean(&self, detail: &str) -> String {
        truncate(self.secrets.replace_in(detail))
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
    fn long_details_are_cut_on_a_character_boundary() {
        let s = Scrubber::default();
        let long = "é".repeat(MAX_DETAIL);
        let cut = s.clean(&long);
        assert!(cut.len() <= MAX_DETAIL + '…'.len_utf8(), "{}", cut.len());
        assert!(cut.ends_with('…'));
    }
}
