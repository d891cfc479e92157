//! Identifier formats. Ids are random (not derived from content), so proposing the same change
//! twice can never collide with a different record.

use rand::RngCore;

/// `<prefix>_<20 lowercase hex>`, e.g. `wrp_3f9a…`, from 80 random bits.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
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
}
