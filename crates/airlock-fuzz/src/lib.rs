//! One entry point per untrusted input. Each takes raw bytes, runs the code Airlock runs on
//! such input, and panics only when an invariant breaks (a crash is a finding). Used by the
//! coverage-guided targets in `fuzz/` (`scripts/fuzz`) and by `tests/short_run.rs`, which
//! feeds each a seed corpus plus mutations on every test run.
//!
//! | target | input | invariant beyond "no panic, no hang" |
//! | --- | --- | --- |
//! | [`config`] | a config file | a config that validates also parses; every issue has a code and a JSON path |
//! | [`tool_args`] | a tool call's `arguments` | accepted arguments never carry an undeclared key, and a read plan always binds the trusted tenant |
//! | [`job_file`] | an `apply --job` file | a job that passes the cross-check is the expected job, field for field |
//! | [`handler_receipt`] | a handler's answer | a receipt for another proposal or key is never `applied` |
//! | [`jsonrpc_frame`] | one JSON-RPC frame (stdio line or HTTP body) | a refused frame gets -32700 or -32600 and a usable id |

pub mod targets;

pub use targets::{config, handler_receipt, job_file, jsonrpc_frame, tool_args};

/// One fuzz entry point: takes arbitrary bytes, panics only when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name, for drivers.
pub const TARGETS: &[(&str, Target)] = &[
    ("config", config),
    ("tool_args", tool_args),
    ("job_file", job_file),
    ("handler_receipt", handler_receipt),
    ("jsonrpc_frame", jsonrpc_frame),
];
