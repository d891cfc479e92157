//! The database privileges a config's direct writes need, for `airlock writeback grants`.
//!
//! For every `sql_update` proposal capability on a writable source of the chosen engine, the
//! writer needs `SELECT` on the target table and `UPDATE` on exactly the columns the executor
//! sets: the patched columns, plus the version column when `conflict_guard.bump` is true.
//! Capabilities applied by an app handler need no database privilege from Airlock.

use airlock_config::{CapabilityKind, Config, ExecutorKind};
use airlock_db::{EngineKind, Ident, WriteTarget};

use crate::setup::executor_kind;

#[derive(Debug, thiserror::Error)]
pub enum GrantsError {
    #[error("the config has no sql_update proposal capability on a {engine} source")]
    NothingToGrant { engine: &'static str },
    #[error(
        "table `{table}` is not the target of any sql_update proposal capability on a {engine} source"
    )]
    UnknownTable { table: String, engine: &'static str },
    #[error("`{0}` in the config is not a plain SQL identifier")]
    BadIdentifier(String),
}

impl GrantsError {
    pub fn hint(&self) -> &'static str {
        match self {
            GrantsError::NothingToGrant { .. } => {
                "pass the --engine of a source that has direct-write proposal capabilities (handlers need no grants)"
            }
            GrantsError::UnknownTable { .. } => {
                "list only tables of the config's sql_update proposal capabilities, or omit --tables"
            }
            GrantsError::BadIdentifier(_) => "run `airlock config validate` and fix the config",
        }
    }
}

fn ident(s: &str) -> Result<Ident, GrantsError> {
    Ident::new(s).ok_or_else(|| GrantsError::BadIdentifier(s.to_owned()))
}

/// The tables and columns the writer of `engine` must be granted, one entry per table, in
/// config order. A capability without `target.schema` is qualified with `default_schema`.
/// `only_tables`, when not empty, keeps just those tables (each must be a target).
pub fn write_targets(
    config: &Config,
    engine: EngineKind,
    default_schema: Option<&Ident>,
    only_tables: &[String],
) -> Result<Vec<WriteTarget>, GrantsError> {
    let mut targets: Vec<WriteTarget> = Vec::new();
    let direct = config.capabilities.iter().filter(|c| {
        c.kind == CapabilityKind::Proposal
            && executor_kind(config, c) == Some(ExecutorKind::SqlUpdate)
            && config
                .sources
                .get(&c.source)
                .is_some_and(|s| s.engine == engine && s.read_only != Some(true))
    });
    for cap in direct {
        let schema = match &cap.target.schema {
            Some(s) => Some(ident(s)?),
            None => default_schema.cloned(),
        };
        let table = ident(&cap.target.table)?;
        let columns = cap
            .patch
            .iter()
            .flat_map(|p| p.keys())
            .map(String::as_str)
            .chain(cap.bumped_column())
            .map(ident)
            .collect::<Result<Vec<_>, _>>()?;
        let i = match targets
            .iter()
            .position(|t| t.schema == schema && t.table == table)
        {
            Some(i) => i,
            None => {
                targets.push(WriteTarget {
                    schema,
                    table,
                    update_columns: Vec::new(),
                });
                targets.len() - 1
            }
        };
        for c in columns {
            if !targets[i].update_columns.contains(&c) {
                targets[i].update_columns.push(c);
            }
        }
    }
    let engine_name = engine.as_str();
    for t in only_tables {
        if !targets.iter().any(|x| x.table.as_str() == t) {
            return Err(GrantsError::UnknownTable {
                table: t.clone(),
                engine: engine_name,
            });
        }
    }
    if !only_tables.is_empty() {
        targets.retain(|t| only_tables.iter().any(|o| o == t.table.as_str()));
    }
    if targets.is_empty() {
        return Err(GrantsError::NothingToGrant {
            engine: engine_name,
        });
    }
    Ok(targets)
}
