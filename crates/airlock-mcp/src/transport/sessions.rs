//! Who owns each Streamable HTTP session, when it was last used, and which sessions to close
//! so that no credential holds more than its share and the total stays bounded. When a cap
//! is reached the least recently used session goes first (of that credential for the
//! per-credential cap, of anyone for the total), so a client that never sends DELETE cannot
//! lock out new sessions, its own or anyone else's.

use std::collections::HashMap;
use std::sync::Mutex;

/// What a request's session id means for its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The caller's own session (now marked as used).
    Own,
    /// Another credential's session: answered exactly like an unknown one.
    Foreign,
    /// Not in the book (closed, evicted or never created): rmcp answers 404.
    Unknown,
}

struct Entry {
    owner: String,
    /// Position in the order of use (a counter, so ties cannot happen).
    last_used: u64,
}

#[derive(Default)]
struct Book {
    entries: HashMap<String, Entry>,
    clock: u64,
}

impl Book {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

pub(crate) struct SessionBook {
    max_total: usize,
    max_per_credential: usize,
    book: Mutex<Book>,
}

impl SessionBook {
    pub(crate) fn new(max_total: usize, max_per_credential: usize) -> SessionBook {
        SessionBook {
            max_total: max_total.max(1),
            max_per_credential: max_per_credential.max(1),
            book: Mutex::new(Book::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks the owner of `id` and marks it used when it is the caller's.
    pub(crate) fn touch(&self, id: &str, identity: &str) -> Access {
        let mut book = self.lock();
        let now = book.tick();
        match book.entries.get_mut(id) {
            Some(entry) if entry.owner == identity => {
                entry.last_used = now;
                Access::Own
            }
            Some(_) => Access::Foreign,
            None => Access::Unknown,
        }
    }

    pub(crate) fn forget(&self, id: &str) {
        self.lock().entries.remove(id);
    }

    /// Records a new session of `identity`, drops entries whose session is no longer open
    /// (`is_open`), and returns the sessions to close so both caps hold again.
    pub(crate) fn admit(
        &self,
        id: &str,
        identity: &str,
        is_open: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut book = self.lock();
        let now = book.tick();
        let entries = &mut book.entries;
        entries.retain(|sid, _| is_open(sid));
        entries.insert(
            id.to_owned(),
            Entry {
                owner: identity.to_owned(),
                last_used: now,
            },
        );
        let mut victims = Vec::new();
        loop {
            let own = entries.values().filter(|e| e.owner == identity).count();
            let victim = if own > self.max_per_credential {
                least_recent(entries, id, Some(identity))
            } else if entries.len() > self.max_total {
                least_recent(entries, id, None)
            } else {
                None
            };
            let Some(victim) = victim else { break };
            entries.remove(&victim);
            victims.push(victim);
        }
        victims
    }
}

/// The least recently used session other than `keep`, of `owner` when given.
fn least_recent(
    entries: &HashMap<String, Entry>,
    keep: &str,
    owner: Option<&str>,
) -> Option<String> {
    entries
        .iter()
        .filter(|(sid, e)| sid.as_str() != keep && owner.is_none_or(|o| e.owner == o))
        .min_by_key(|(_, e)| e.last_used)
        .map(|(sid, _)| sid.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_credential_cap_closes_that_credentials_oldest() {
        let book = SessionBook::new(10, 2);
        assert!(book.admit("a1", "A", |_| true).is_empty());
        assert!(book.admit("a2", "A", |_| true).is_empty());
        assert!(book.admit("b1", "B", |_| true).is_empty());
        // a1 is used again, so a2 is now A's least recently used.
        assert_eq!(book.touch("a1", "A"), Access::Own);
        assert_eq!(book.admit("a3", "A", |_| true), vec!["a2".to_owned()]);
        assert_eq!(book.touch("b1", "B"), Access::Own);
        assert_eq!(book.touch("a2", "A"), Access::Unknown);
        assert_eq!(book.touch("a1", "B"), Access::Foreign);
    }

    #[test]
    fn total_cap_closes_the_least_recent_of_anyone() {
        let book = SessionBook::new(3, 3);
        book.admit("a1", "A", |_| true);
        book.admit("b1", "B", |_| true);
        book.admit("a2", "A", |_| true);
        book.touch("a1", "A");
        assert_eq!(book.admit("c1", "C", |_| true), vec!["b1".to_owned()]);
    }

    #[test]
    fn closed_sessions_leave_the_book() {
        let book = SessionBook::new(2, 2);
        book.admit("a1", "A", |_| true);
        book.admit("a2", "A", |_| true);
        // rmcp closed a1 (idle timeout): nothing needs evicting for a3.
        assert!(book.admit("a3", "A", |s| s != "a1").is_empty());
        book.forget("a2");
        assert_eq!(book.touch("a2", "A"), Access::Unknown);
    }
}
