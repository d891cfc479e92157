//! The one place a command opens the configured ledger: the SQLite file (the default) or the
//! shared Postgres ledger of a fleet (`storage.ledger.engine: "postgres"`). Commands hold an
//! [`OpenLedger`] and use it through the ledger traits, so every reading, review and delivery
//! command works on either engine; what only a SQLite file can do (backup, vacuum, prune,
//! reset, import) asks for [`OpenLedger::sqlite_only`], which names what to use instead.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_config::LedgerEngine;
use airlock_ledger::{
    Deliveries, HumanAction, HumanActionFilter, Ledger, NewHumanAction, Review, SqliteLedger,
};
use airlock_ledger_pg::PostgresLedger;

use crate::output::hinted;

/// Everything a command may do with a ledger: read it, record decisions and applies (behind
/// the review key), and keep event-delivery state.
pub trait Store: Review + Deliveries {}

impl<T: Review + Deliveries + ?Sized> Store for T {}

/// Where the configured ledger lives, resolved from flags, config and environment.
#[derive(Clone)]
pub enum LedgerTarget {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Postgres database shared by a fleet.
    Postgres(PostgresTarget),
}

/// `storage.ledger` with the URL read from its variable.
#[derive(Clone)]
pub struct PostgresTarget {
    /// The connection URL (a secret: never printed; see [`PostgresTarget::display`]).
    pub url: String,
    /// The variable it came from, for messages.
    pub url_env: String,
    pub schema: String,
    pub max_connections: Option<u64>,
}

impl PostgresTarget {
    /// `postgres://host:port/… schema airlock`: no credentials, no database path.
    pub fn display(&self) -> String {
        format!(
            "{} schema {} (from {})",
            airlock_config::redact::url_for_display(&self.url),
            self.schema,
            self.url_env
        )
    }
}

impl LedgerTarget {
    pub fn engine(&self) -> LedgerEngine {
        match self {
            LedgerTarget::Sqlite(_) => LedgerEngine::Sqlite,
            LedgerTarget::Postgres(_) => LedgerEngine::Postgres,
        }
    }

    /// Where the ledger is, for people: the file path, or the Postgres server and schema.
    pub fn display(&self) -> String {
        match self {
            LedgerTarget::Sqlite(path) => path.display().to_string(),
            LedgerTarget::Postgres(pg) => pg.display(),
        }
    }

    /// The SQLite file, or `None` for the Postgres ledger.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            LedgerTarget::Sqlite(path) => Some(path),
            LedgerTarget::Postgres(_) => None,
        }
    }
}

/// An opened ledger of either engine. Derefs to [`Store`], so `ledger.proposal(id)` and the
/// other trait methods read the same on both.
#[derive(Clone)]
pub struct OpenLedger {
    store: Arc<dyn Store>,
    target: LedgerTarget,
    sqlite: Option<Arc<SqliteLedger>>,
    postgres: Option<Arc<PostgresLedger>>,
}

impl Deref for OpenLedger {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

/// How a ledger is opened.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Never creates, migrates or writes anything (reading commands); on Postgres no writer
    /// registers either.
    ReadOnly,
    /// Creates the ledger (SQLite file, Postgres schema) and applies migrations when needed.
    Write,
}

impl OpenLedger {
    /// Opens `target`. A Postgres ledger is reached over the network: a wrong URL or a server
    /// that does not answer fails here, with the variable named.
    pub async fn open(target: &LedgerTarget, access: Access) -> anyhow::Result<OpenLedger> {
        match target {
            LedgerTarget::Sqlite(path) => {
                let ledger = match access {
                    Access::ReadOnly => SqliteLedger::open_read_only(path)?,
                    Access::Write => SqliteLedger::open(path)?,
                };
                Ok(OpenLedger::sqlite(ledger))
            }
            LedgerTarget::Postgres(pg) => {
                let ledger = postgres::open(pg, access).await?;
                Ok(OpenLedger {
                    store: ledger.clone(),
                    target: target.clone(),
                    sqlite: None,
                    postgres: Some(ledger),
                })
            }
        }
    }

    /// A SQLite ledger opened by the caller.
    pub fn sqlite(ledger: SqliteLedger) -> OpenLedger {
        let target = LedgerTarget::Sqlite(ledger.path().to_owned());
        let ledger = Arc::new(ledger);
        OpenLedger {
            store: ledger.clone(),
            target,
            sqlite: Some(ledger),
            postgres: None,
        }
    }

    pub fn engine(&self) -> LedgerEngine {
        self.target.engine()
    }

    /// Where the ledger is, for people (never a credential).
    pub fn location(&self) -> String {
        self.target.display()
    }

    /// The read-and-record side only: what the call runtime and the MCP server hold.
    pub fn as_ledger(&self) -> Arc<dyn Ledger> {
        self.store.clone()
    }

    /// The review side, for the review UI and applies.
    pub fn as_review(&self) -> Arc<dyn Review> {
        self.store.clone()
    }

    /// Delivery state, for `events webhook`.
    pub fn as_deliveries(&self) -> Arc<dyn Deliveries> {
        self.store.clone()
    }

    /// The anchor file beside a SQLite ledger (whether or not it exists yet); a Postgres
    /// ledger has none.
    pub fn anchor_path(&self) -> Option<&Path> {
        self.sqlite.as_deref().map(SqliteLedger::anchor_path)
    }

    /// The SQLite ledger, for what only a file can do; on the Postgres ledger an error that
    /// says `what` is SQLite-only and what to use instead.
    pub fn sqlite_only(&self, what: &str, instead: &str) -> anyhow::Result<&SqliteLedger> {
        self.sqlite
            .as_deref()
            .ok_or_else(|| postgres_refusal(what, &self.location(), instead))
    }

    /// The Postgres ledger, for what only it reports (its writers' chains); `None` on SQLite.
    pub fn postgres(&self) -> Option<&PostgresLedger> {
        self.postgres.as_deref()
    }

    /// Records which config file serves this ledger, so review commands run later with only
    /// `--store` find it. A Postgres ledger is served by many processes and found through the
    /// config, so nothing is recorded there.
    pub fn remember_config(&self, config: &Path) -> anyhow::Result<()> {
        if let Some(sqlite) = &self.sqlite {
            sqlite.remember_config(config)?;
        }
        Ok(())
    }
}

impl OpenLedger {
    /// Records what a person actually did (shadow mode), chained like a decision.
    pub async fn record_human_action(
        &self,
        action: &NewHumanAction,
    ) -> anyhow::Result<HumanAction> {
        if let Some(pg) = &self.postgres {
            return Ok(pg.record_human_action(action).await?);
        }
        Ok(self
            .sqlite_only("recording human actions", "")?
            .record_human_action(action)?)
    }

    /// Recorded human actions, oldest first.
    pub async fn human_actions(
        &self,
        filter: &HumanActionFilter,
    ) -> anyhow::Result<Vec<HumanAction>> {
        if let Some(pg) = &self.postgres {
            return Ok(pg.human_actions(filter).await?);
        }
        Ok(self
            .sqlite_only("shadow mode's human actions", "")?
            .human_actions(filter)?)
    }

    /// Ends this process's use of the ledger. On Postgres: a last cross-anchor naming the
    /// other writers' heads, and this writer marked closed (a ledger left without it stays
    /// consistent; its tail waits for another writer's anchor). Nothing to do for SQLite.
    pub async fn close(&self) {
        if let Some(pg) = &self.postgres
            && let Err(e) = pg.close().await
        {
            tracing::warn!(error = %e, "could not close this writer's chain in the Postgres ledger");
        }
    }
}

/// The error of a SQLite-only command run against the Postgres ledger.
pub fn postgres_refusal(what: &str, location: &str, instead: &str) -> anyhow::Error {
    hinted(
        format!(
            "{what} works on a SQLite ledger file; this config's ledger is on Postgres ({location})"
        ),
        instead,
    )
}

mod postgres {
    use std::sync::Arc;

    use airlock_config::redact::KnownSecrets;
    use airlock_ledger::LedgerError;
    use airlock_ledger_pg::{PgLedgerOptions, PostgresLedger};

    use super::{Access, PostgresTarget};
    use crate::output::hinted;

    /// Connects. For writing: migrates the schema when this version's migrations have not run
    /// yet (under the ledger's advisory lock, so replicas may start together) and registers a
    /// writer. For reading: neither; no writer row, no event, every write refused.
    pub async fn open(pg: &PostgresTarget, access: Access) -> anyhow::Result<Arc<PostgresLedger>> {
        let defaults = PgLedgerOptions::default();
        let options = PgLedgerOptions {
            schema: pg.schema.clone(),
            max_connections: pg
                .max_connections
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(defaults.max_connections),
            ..defaults
        };
        let opened = match access {
            Access::ReadOnly => PostgresLedger::connect_read_only(&pg.url, options).await,
            Access::Write => PostgresLedger::connect(&pg.url, options).await,
        };
        match opened {
            Ok(ledger) => Ok(Arc::new(ledger)),
            // No ledger there yet: said as for a SQLite file that does not exist, so callers
            // (doctor) tell it apart from a failure.
            Err(LedgerError::Missing { .. }) => Err(anyhow::Error::new(LedgerError::Missing {
                path: pg.display(),
            })),
            // The driver's words may quote the URL: its secrets are taken out.
            Err(e) => Err(hinted(
                KnownSecrets::for_url(&pg.url).replace_in(&format!(
                    "cannot open the Postgres ledger {}: {e}",
                    pg.display()
                )),
                match access {
                    Access::ReadOnly => format!(
                        "check that {} (storage.ledger.url_env) points at the fleet's ledger database and schema {}; reading commands never create or migrate it (start a server of this version first)",
                        pg.url_env, pg.schema
                    ),
                    Access::Write => format!(
                        "check that {} (storage.ledger.url_env) points at a reachable Postgres database and that its role may create schema {}",
                        pg.url_env, pg.schema
                    ),
                },
            )),
        }
    }
}
