//! Airlock config: typed config, pure validation with stable codes, loading, redaction and
//! JSON Schema export.
//!
//! The only I/O in this crate is reading the config file in [`load::read`] (and the existence
//! checks of [`load::discover`]). Nothing reads environment variables: callers pass
//! `AIRLOCK_CONFIG` in.
//!
//! ```
//! let doc = serde_json::json!({"version": 1});
//! let report = airlock_config::validate(&doc);
//! assert!(!report.ok);
//! assert!(report.errors.iter().any(|i| i.code == "INVALID_MODE"));
//! ```

mod command_line;
pub mod env_vars;
pub mod event_kinds;
pub mod load;
mod names;
pub mod redact;
pub mod schema;
pub mod types;
pub mod validate;

pub use command_line::split_command;
pub use load::{DEFAULT_FILE_NAMES, LoadError, Loaded, discover, from_bytes, read, read_bounded};
pub use names::{
    RESERVED_ARG_NAMES, is_capability_name, is_env_name, is_reserved_arg_name, is_safe_identifier,
    is_safe_name, is_secret_name,
};
pub use redact::redacted;
pub use schema::json_schema;
pub use types::*;
pub use validate::{Issue, Report, kind_of, parse, validate};
