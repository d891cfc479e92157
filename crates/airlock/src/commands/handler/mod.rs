//! `airlock handler …`: app-owned writeback handlers.

pub mod template;
