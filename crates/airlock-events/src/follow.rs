//! New events as they are committed, by this process or any other sharing the ledger file.
//! The feed's horizon is polled (on SQLite the chain head, one indexed row; see
//! `Ledger::feed_horizon`); events are read only when it moves.

use std::sync::Arc;
use std::time::Duration;

use airlock_ledger::{EventQuery, Ledger, LedgerError, ScopedEvent};

/// Events read per query while catching up.
const PAGE: u32 = 500;

/// Follows the chain from a sequence number on.
pub struct Follower {
    ledger: Arc<dyn Ledger>,
    /// The filters; `after_seq`, `limit` and `newest` are managed here.
    query: EventQuery,
    /// Everything up to here was read (matching or not).
    scanned_to: i64,
    interval: Duration,
}

impl Follower {
    /// Follows events after `after` that match `query`'s filters, polling every `interval`.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        query: EventQuery,
        after: i64,
        interval: Duration,
    ) -> Follower {
        Follower {
            ledger,
            query,
            scanned_to: after,
            interval,
        }
    }

    /// The next matching events, oldest first, waiting until some are committed. Cancel-safe:
    /// dropping the future loses nothing (the position moves only when events are returned).
    pub async fn next_batch(&mut self) -> Result<Vec<ScopedEvent>, LedgerError> {
        loop {
            // Not the chain head: on a ledger shared by several writers an event below the
            // head may still be committing, and moving past it would skip it for good.
            let head = self.ledger.feed_horizon(self.scanned_to).await?;
            if head > self.scanned_to {
                let q = EventQuery {
                    after_seq: Some(self.scanned_to),
                    limit: PAGE,
                    newest: false,
                    ..self.query.clone()
                };
                let found = self.ledger.events(&q).await?;
                match found.last() {
                    Some(last) => {
                        // A full page may stop before the head; a short one read up to it.
                        self.scanned_to = if found.len() < PAGE as usize {
                            head.max(last.event.seq)
                        } else {
                            last.event.seq
                        };
                        return Ok(found);
                    }
                    None => self.scanned_to = head,
                }
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    /// Everything up to this sequence number has been returned or did not match.
    pub fn position(&self) -> i64 {
        self.scanned_to
    }
}
