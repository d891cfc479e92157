//! Which event kinds a reader wants: every kind, or a list checked against the ledger's
//! vocabulary (`airlock_config::event_kinds`).

use airlock_config::event_kinds::{ALL_EVENT_KINDS, EVENT_KINDS, REVIEW_EVENT_KINDS};

use crate::EventsError;

/// Every kind, or only the listed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindFilter {
    All,
    Only(Vec<String>),
}

impl KindFilter {
    /// The default of a webhook: proposals created, decided and applied.
    pub fn review() -> KindFilter {
        KindFilter::Only(REVIEW_EVENT_KINDS.iter().map(|k| (*k).to_owned()).collect())
    }

    /// From words as typed (`--kind a,b --kind c`, or a config list). `*` selects every
    /// kind; no words at all gives `default`.
    pub fn parse<S: AsRef<str>>(
        words: &[S],
        default: KindFilter,
    ) -> Result<KindFilter, EventsError> {
        let mut kinds: Vec<String> = Vec::new();
        for word in words
            .iter()
            .flat_map(|w| w.as_ref().split(','))
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            if word == ALL_EVENT_KINDS || word == "all" {
                return Ok(KindFilter::All);
            }
            if !EVENT_KINDS.contains(&word) {
                let shown: String = word.chars().take(40).collect();
                return Err(EventsError::invalid(
                    "UNKNOWN_EVENT_KIND",
                    format!("`{shown}` is not an event kind"),
                    format!(
                        "use `*` for every kind, or some of: {}",
                        EVENT_KINDS.join(", ")
                    ),
                ));
            }
            if !kinds.iter().any(|k| k == word) {
                kinds.push(word.to_owned());
            }
        }
        Ok(if kinds.is_empty() {
            default
        } else {
            KindFilter::Only(kinds)
        })
    }

    /// The kinds for [`airlock_ledger::EventQuery::kinds`] (empty: all).
    pub fn query_kinds(&self) -> Vec<String> {
        match self {
            KindFilter::All => Vec::new(),
            KindFilter::Only(k) => k.clone(),
        }
    }

    pub fn words(&self) -> Vec<String> {
        match self {
            KindFilter::All => vec![ALL_EVENT_KINDS.to_owned()],
            KindFilter::Only(k) => k.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_checked_split_and_deduplicated() {
        let f = KindFilter::parse(
            &["proposal_created,proposal_approved", "proposal_created"],
            KindFilter::All,
        )
        .unwrap();
        assert_eq!(f.query_kinds(), ["proposal_created", "proposal_approved"]);
        assert_eq!(
            KindFilter::parse(&["*"], KindFilter::review()).unwrap(),
            KindFilter::All
        );
        assert_eq!(
            KindFilter::parse::<&str>(&[], KindFilter::review()).unwrap(),
            KindFilter::review()
        );
        let e = KindFilter::parse(&["proposal_craeted"], KindFilter::All).unwrap_err();
        assert_eq!(e.code(), "UNKNOWN_EVENT_KIND");
        let e = KindFilter::parse(&["x".repeat(10_000)], KindFilter::All).unwrap_err();
        assert!(e.to_string().len() < 100);
    }
}
