//! The ledger's events for people and machines.
//!
//! - [`record`]: one chain event as Airlock hands it out ([`EventRecord`], the stable JSON of
//!   `airlock events tail --json` and of webhook bodies) and the line a person reads.
//! - [`follow`]: new events as they are committed, by any process sharing the ledger (the
//!   chain head is polled: one indexed row).
//! - [`deliver`]: signed webhook delivery, at least once, in chain order per destination,
//!   retried with exponential backoff and jitter; each destination's cursor and retry state is
//!   kept in the ledger ([`airlock_ledger::Deliveries`]) so a restart resumes where the
//!   receiver last acknowledged.
//!
//! Invariants:
//! - Reading and delivering never write the hash chain; delivery state lives in
//!   `event_deliveries`, outside it (`airlock_ledger::UNCHAINED_TABLES`).
//! - Requests are signed by `airlock_protocol::handler::Signed`, the one signing contract of
//!   handler requests too, so receivers verify them with `airlock-handler`.
//! - A URL that may carry a secret (a Slack webhook URL does) is never printed, logged or
//!   stored: destinations are shown as `scheme://host/…`.
//! - Never linked into the model-facing crates; no tool call waits on a delivery.

pub mod deliver;
mod error;
pub mod follow;
pub mod kinds;
pub mod record;

pub use airlock_protocol::events::{EventDelivery, EventRecord};
pub use deliver::{Deliverer, Destination, Mode, Report, Retry, StartAt};
pub use error::EventsError;
pub use follow::Follower;
pub use kinds::KindFilter;
