//! `airlock benchmark`: measurements a person can rerun.

pub mod mcp_efficiency;
