//! Counters a server exports as metrics: how long ledger commits take, how many calls wait for
//! the writer, and how many proposals and receipts are in each state.
//!
//! Recording is a few relaxed atomic adds per commit, so it is always on; nothing here formats
//! or serves metrics (that is `airlock-mcp`'s `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of [`Histogram`]'s buckets: 100 µs to 10 s, about three per decade.
pub const BUCKETS: [f64; 15] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

/// A latency histogram with fixed buckets, safe to record from any thread without a lock.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at or below each bound in [`BUCKETS`] (not cumulative; one more slot for
    /// those above the last bound).
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

/// A copy of a [`Histogram`] at one moment, cumulative as Prometheus expects.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound in seconds, observations at or below it)`, the last bound being `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let mut buckets = Vec::with_capacity(BUCKETS.len() + 1);
        for (i, count) in self.counts.iter().enumerate() {
            running += count.load(Ordering::Relaxed);
            buckets.push((BUCKETS.get(i).copied().unwrap_or(f64::INFINITY), running));
        }
        HistogramSnapshot {
            buckets,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count: running,
        }
    }
}

/// The tool-call write path of a ledger at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteStats {
    /// Calls waiting for the group-commit writer right now.
    pub queued: u64,
    /// Transactions committed by the write path since the process started.
    pub commits: u64,
    /// Records (reads and proposals) those transactions carried.
    pub records: u64,
    /// Time from `BEGIN` to `COMMIT` of each transaction.
    pub commit_seconds: HistogramSnapshot,
}

/// How many proposals are in each state and receipts of each status (`ok`-style counts a
/// metrics scrape reads; one grouped query per table).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateCounts {
    pub proposals: Vec<(String, u64)>,
    pub receipts: Vec<(String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_at_infinity() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets.first(), Some(&(0.0001, 1)));
        assert_eq!(s.buckets.iter().find(|b| b.0 == 0.005).unwrap().1, 2);
        assert_eq!(s.buckets.iter().find(|b| b.0 == 10.0).unwrap().1, 2);
        assert_eq!(s.buckets.last(), Some(&(f64::INFINITY, 3)));
        assert!((s.sum_seconds - 60.00305).abs() < 1e-9);
    }
}
