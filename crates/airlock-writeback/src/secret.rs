//! Credentials an executor holds: never printed. The type is shared with event notifications
//! (`airlock-events`), so it lives beside the other redaction rules in `airlock-config`.

pub use airlock_config::redact::Secret;
