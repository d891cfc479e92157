//! Identifier formats. Ids are not derived from content, so proposing the same change twice
//! can never collide with a different record.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `<prefix>_<20 lowercase hex>`, e.g. `wrp_019ab2c4d5e6f3a17c09`: 12 hex digits of
/// milliseconds since the Unix epoch, then 8 of a per-process sequence that starts at a random
/// value.
///
/// Ids of one process never repeat and sort by creation time, which keeps the ledger's id
/// indexes append-only (a random id dirties a random index page on every write). Two
/// processes sharing a ledger collide only by drawing the same millisecond and the same 32-bit
/// sequence value, and the ledger's unique keys refuse such a record rather than overwrite.
/// Ids are handles, not secrets: access to a record is decided by the trusted tenant scope.
pub fn new_id(prefix: &str) -> String {
    static START: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = *START.get_or_init(rand::random::<u32>);
    let seq = start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed));
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        & 0xffff_ffff_ffff;
    format!("{prefix}_{millis:012x}{seq:08x}")
}

/// Prefix of proposal ids.
pub const PROPOSAL: &str = "wrp";
/// Prefix of evidence bundle ids.
pub const EVIDENCE: &str = "ev";

/// The replay id of a proposal: `replay_<proposal_id>`.
pub fn replay_id(proposal_id: &str) -> String {
    format!("replay_{proposal_id}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_documented_shape_and_do_not_repeat() {
        let a = super::new_id("wrp");
        let b = super::new_id("wrp");
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 20);
        assert!(a.starts_with("wrp_"));
        assert!(
            a[4..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn ids_of_one_process_sort_by_creation_and_never_repeat() {
        let ids: Vec<String> = (0..10_000).map(|_| super::new_id("ev")).collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        // The sequence may wrap past u32::MAX once; everything else is ascending.
        let descents = ids.windows(2).filter(|w| w[0] >= w[1]).count();
        assert!(descents <= 1, "{descents} ids out of order");
        // The time part is now, in milliseconds.
        let millis = u64::from_str_radix(&ids[0][3..15], 16).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(now.abs_diff(millis) < 60_000, "{millis} vs {now}");
    }
}
