//! The lifecycle words the ledger stores: a proposal's state and a receipt's status. Their
//! string forms are part of the ledger format and of `--json` output, so they never change;
//! the enums let the compiler find every place a new one must be handled.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a proposal is in its lifecycle (see `airlock-ledger`'s `lifecycle.rs` for the moves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProposalState {
    /// Recorded; waiting for a person.
    PendingReview,
    /// Approved; an apply may start.
    Approved,
    /// Rejected by a person; final.
    Rejected,
    /// An apply started and its outcome is not known yet (or was lost).
    PendingWorker,
    /// The change was written (or found already written).
    Applied,
    /// The row changed after the proposal; a new approval may retry.
    Conflict,
    /// The apply failed in a way that ended its approval.
    Failed,
    /// Withdrawn (Synapsor Runner stores; Airlock never sets it).
    Canceled,
}

impl ProposalState {
    /// Every state, in lifecycle order.
    pub const ALL: [ProposalState; 8] = [
        ProposalState::PendingReview,
        ProposalState::Approved,
        ProposalState::Rejected,
        ProposalState::PendingWorker,
        ProposalState::Applied,
        ProposalState::Conflict,
        ProposalState::Failed,
        ProposalState::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::PendingReview => "pending_review",
            ProposalState::Approved => "approved",
            ProposalState::Rejected => "rejected",
            ProposalState::PendingWorker => "pending_worker",
            ProposalState::Applied => "applied",
            ProposalState::Conflict => "conflict",
            ProposalState::Failed => "failed",
            ProposalState::Canceled => "canceled",
        }
    }
}

/// What one apply attempt's receipt says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptStatus {
    Applied,
    /// The idempotency key had been applied before; nothing was written again.
    AlreadyApplied,
    Conflict,
    Failed,
    /// Part of the published receipt enum; Airlock never writes it.
    Canceled,
}

impl ReceiptStatus {
    pub const ALL: [ReceiptStatus; 5] = [
        ReceiptStatus::Applied,
        ReceiptStatus::AlreadyApplied,
        ReceiptStatus::Conflict,
        ReceiptStatus::Failed,
        ReceiptStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Applied => "applied",
            ReceiptStatus::AlreadyApplied => "already_applied",
            ReceiptStatus::Conflict => "conflict",
            ReceiptStatus::Failed => "failed",
            ReceiptStatus::Canceled => "canceled",
        }
    }

    /// The change is in the database (written by this attempt or an earlier one).
    pub fn is_applied(self) -> bool {
        match self {
            ReceiptStatus::Applied | ReceiptStatus::AlreadyApplied => true,
            ReceiptStatus::Conflict | ReceiptStatus::Failed | ReceiptStatus::Canceled => false,
        }
    }
}

/// A stored word that is not one of the known states or statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState {
    /// `proposal state` or `receipt status`.
    pub what: &'static str,
    pub value: String,
    /// The known words, comma-separated.
    pub known: String,
}

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}` (this Airlock knows {})",
            self.what, self.value, self.known
        )
    }
}

impl std::error::Error for UnknownState {}

/// `as_str`, `Display`, `FromStr` and serde as that string, for a word enum.
macro_rules! word_enum {
    ($t:ty, $what:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<$t, UnknownState> {
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownState {
                        what: $what,
                        value: s.to_owned(),
                        known: <$t>::ALL.map(<$t>::as_str).join(", "),
                    })
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        /// A string, one of the words.
        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($t).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let words: Vec<&str> = <$t>::ALL.iter().map(|v| v.as_str()).collect();
                schemars::json_schema!({ "type": "string", "enum": words })
            }
        }
    };
}

word_enum!(ProposalState, "proposal state");
word_enum!(ReceiptStatus, "receipt status");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn words_round_trip_through_text_and_json() {
        for s in ProposalState::ALL {
            assert_eq!(s.as_str().parse::<ProposalState>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(
                serde_json::from_value::<ProposalState>(json!(s.as_str())).unwrap(),
                s
            );
            assert_eq!(s.to_string(), s.as_str());
        }
        for s in ReceiptStatus::ALL {
            assert_eq!(s.as_str().parse::<ReceiptStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(
                serde_json::from_value::<ReceiptStatus>(json!(s.as_str())).unwrap(),
                s
            );
        }
        // The stored words, which existing ledgers contain.
        assert_eq!(
            ProposalState::ALL.map(ProposalState::as_str),
            [
                "pending_review",
                "approved",
                "rejected",
                "pending_worker",
                "applied",
                "conflict",
                "failed",
                "canceled"
            ]
        );
        assert_eq!(
            ReceiptStatus::ALL.map(ReceiptStatus::as_str),
            [
                "applied",
                "already_applied",
                "conflict",
                "failed",
                "canceled"
            ]
        );
    }

    #[test]
    fn unknown_words_are_clear_errors() {
        for bad in ["", "Approved", "cancelled", "pending", "applied "] {
            let e = bad.parse::<ProposalState>().unwrap_err();
            assert_eq!(e.value, bad);
            assert!(
                e.to_string()
                    .starts_with(&format!("unknown proposal state `{bad}`")),
                "{e}"
            );
            assert!(e.to_string().contains("pending_review"), "{e}");
        }
        let e = "done".parse::<ReceiptStatus>().unwrap_err();
        assert!(e.to_string().contains("already_applied"), "{e}");
        let e = serde_json::from_value::<ReceiptStatus>(json!("done")).unwrap_err();
        assert!(
            e.to_string().contains("unknown receipt status `done`"),
            "{e}"
        );
        assert!(serde_json::from_value::<ProposalState>(json!(3)).is_err());
    }
}
