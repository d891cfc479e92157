//! Resolves what a command needs from flags, environment and config: config path, store path,
//! the ledger and the call runtime. Commands see the environment only as [`Settings::env`]
//! (read once at start; tests pass their own) and open configs and ledgers only through here;
//! the files they write themselves are their outputs (job files, templates, the demo folder).

use std::path::{Path, PathBuf};

use airlock_capability::AliasMode;
use airlock_capability::envelope::ResultFormat;
use airlock_cli::GlobalArgs;
use airlock_config::{Config, Issue, env_vars};

use airlock_config::LedgerEngine;
use airlock_ledger::{Actor, SqliteLedger};
use airlock_runtime::{Env, Runtime, RuntimeOptions};
use anyhow::Context as _;

use crate::open_ledger::{Access, LedgerTarget, OpenLedger, PostgresTarget};
use crate::output::hinted;

/// Default ledger location when neither --store nor storage.sqlite_path says otherwise.
pub const DEFAULT_STORE: &str = ".airlock/ledger.db";

/// Process-wide inputs of a command.
pub struct Settings {
    pub cwd: PathBuf,
    pub env: Env,
    pub config: Option<PathBuf>,
    pub store: Option<PathBuf>,
}

/// A config that passed validation.
pub struct LoadedConfig {
    pub path: PathBuf,
    pub config: Config,
    pub warnings: Vec<Issue>,
}

impl LoadedConfig {
    /// The folder relative paths in the config are resolved against.
    pub fn dir(&self, cwd: &Path) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| cwd.to_owned(), |p| absolute(cwd, p))
    }
}

/// A config that failed validation: the issues to print.
#[derive(Debug)]
pub struct InvalidConfig {
    pub path: PathBuf,
    pub report: airlock_config::Report,
}

impl std::fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "config invalid: {}", self.path.display())?;
        for (i, issue) in self.report.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {} {}: {}", issue.path, issue.code, issue.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidConfig {}

impl Settings {
    pub fn new(global: &GlobalArgs) -> anyhow::Result<Settings> {
        let env: Env = std::env::vars().collect();
        // The original's store variable, when Airlock's own is not set.
        let synapsor_store = env
            .get(env_vars::SYNAPSOR_LOCAL_STORE)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Ok(Settings {
            cwd: std::env::current_dir().context("could not read the current directory")?,
            config: global.config.clone(),
            store: global.store.clone().or(synapsor_store),
            env,
        })
    }

    /// `--config` / `AIRLOCK_CONFIG`, else airlock.json, else synapsor.runner.json.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        Ok(airlock_config::discover(
            self.config.as_deref(),
            None,
            &self.cwd,
        )?)
    }

    /// Reads and validates the config. An invalid config is an [`InvalidConfig`] error.
    pub fn load_config(&self) -> anyhow::Result<LoadedConfig> {
        let path = self.config_path()?;
        let loaded = airlock_config::read(&path)?;
        match airlock_config::parse(&loaded.document) {
            Ok((config, warnings)) => Ok(LoadedConfig {
                path,
                config,
                warnings,
            }),
            Err(report) => Err(anyhow::Error::new(InvalidConfig { path, report })),
        }
    }

    /// `--store` / `AIRLOCK_STORE` / `SYNAPSOR_LOCAL_STORE` (relative to the working
    /// directory), else the config's `storage.sqlite_path` (relative to the config file's
    /// folder), else `./.airlock/ledger.db`.
    pub fn store_path(&self, config: Option<&LoadedConfig>) -> PathBuf {
        if let Some(store) = &self.store {
            return absolute(&self.cwd, store);
        }
        if let Some(loaded) = config
            && let Some(storage) = &loaded.config.storage
            && let Some(path) = &storage.sqlite_path
        {
            return absolute(&loaded.dir(&self.cwd), Path::new(path));
        }
        absolute(&self.cwd, Path::new(DEFAULT_STORE))
    }

    /// Where the ledger of `config` lives: the Postgres ledger when `storage.ledger.engine`
    /// says so (its URL from `storage.ledger.url_env`), else the SQLite file of
    /// [`Settings::store_path`]. `--store` (or its variables) with a Postgres config is an
    /// error rather than a silent choice between two ledgers.
    pub fn ledger_target(&self, config: Option<&LoadedConfig>) -> anyhow::Result<LedgerTarget> {
        let ledger = config
            .and_then(|l| l.config.storage.as_ref())
            .and_then(|s| s.ledger.as_ref())
            .filter(|l| l.engine == LedgerEngine::Postgres);
        let Some(ledger) = ledger else {
            return Ok(LedgerTarget::Sqlite(self.store_path(config)));
        };
        if let Some(store) = &self.store {
            return Err(hinted(
                format!(
                    "--store (or AIRLOCK_STORE / SYNAPSOR_LOCAL_STORE) names the SQLite ledger {}, but the config selects the Postgres ledger (storage.ledger.engine)",
                    store.display()
                ),
                "drop --store and unset those variables to use the Postgres ledger, or use a config without storage.ledger for the SQLite file",
            ));
        }
        let url_env = ledger.url_env();
        let Some(url) = self.env.get(url_env).filter(|v| !v.trim().is_empty()) else {
            return Err(hinted(
                format!(
                    "the config selects the Postgres ledger, and {url_env} (storage.ledger.url_env) is not set"
                ),
                format!(
                    "export {url_env}=postgres://USER:PASSWORD@HOST:5432/DATABASE (the database that holds the ledger) before running airlock"
                ),
            ));
        };
        Ok(LedgerTarget::Postgres(PostgresTarget {
            url: url.clone(),
            url_env: url_env.to_owned(),
            schema: ledger.schema().to_owned(),
            max_connections: ledger.max_connections,
        }))
    }

    /// The ledger target of a reading command, which may run without a config.
    pub fn ledger_target_for_reading(&self) -> anyhow::Result<LedgerTarget> {
        let config = self.load_config().ok();
        self.ledger_target(config.as_ref())
    }

    /// Opens the ledger for reading; never creates one.
    pub async fn open_ledger_read_only(&self) -> anyhow::Result<OpenLedger> {
        OpenLedger::open(&self.ledger_target_for_reading()?, Access::ReadOnly).await
    }

    /// Builds the call runtime over a writable ledger.
    pub async fn runtime(
        &self,
        loaded: &LoadedConfig,
        alias_mode: AliasMode,
        format: Option<ResultFormat>,
    ) -> anyhow::Result<Runtime> {
        let ledger = self.open_ledger_serving(loaded).await?;
        let base_dir = loaded.dir(&self.cwd);
        Ok(Runtime::new(
            loaded.config.clone(),
            ledger.as_ledger(),
            self.env.clone(),
            RuntimeOptions {
                alias_mode,
                result_format: format,
                base_dir,
                max_connections: 4,
            },
        ))
    }
}

/// The operator name used when neither `--actor`, `$AIRLOCK_ACTOR` nor `$USER` gives one (the
/// original's default too).
pub const DEFAULT_ACTOR: &str = "local_operator";

impl Settings {
    /// Who is acting: `--actor`, else `$AIRLOCK_ACTOR`, else `$USER`, else `local_operator`;
    /// with where the name came from, which the ledger records. A blank value counts as unset.
    pub fn actor(&self, flag: Option<&str>) -> Actor {
        let named = |name: &str, source: &str| Actor {
            name: name.to_owned(),
            source: source.to_owned(),
        };
        if let Some(name) = flag.filter(|v| !v.trim().is_empty()) {
            return named(name, "flag");
        }
        for key in [env_vars::ACTOR, env_vars::USER] {
            if let Some(name) = self.env.get(key).filter(|v| !v.trim().is_empty()) {
                return named(name, &format!("env:{key}"));
            }
        }
        named(DEFAULT_ACTOR, "default")
    }

    /// Opens the ledger for writing (creating it when missing).
    pub async fn open_ledger(&self, loaded: &LoadedConfig) -> anyhow::Result<OpenLedger> {
        OpenLedger::open(&self.ledger_target(Some(loaded))?, Access::Write).await
    }

    /// Opens the ledger for a server or command that records tool calls under `loaded`, and
    /// records in it which config file that is, so review commands run later with only
    /// `--store` find the same policy. (Review commands run with `--config` do not change it.)
    pub async fn open_ledger_serving(&self, loaded: &LoadedConfig) -> anyhow::Result<OpenLedger> {
        let ledger = self.open_ledger(loaded).await?;
        ledger.remember_config(&absolute(&self.cwd, &loaded.path))?;
        Ok(ledger)
    }

    /// The config of a command that acts on a ledger (approve, reject, apply, writeback-job):
    /// `--config` / `AIRLOCK_CONFIG`, else a config file in the working folder, else the config
    /// the ledger (`--store`, or the default ledger) recorded when it was last served.
    pub fn load_config_for_ledger(&self) -> anyhow::Result<LoadedConfig> {
        // A config named by flag or variable is used (or reported missing) as given.
        if self.config.is_some() {
            return self.load_config();
        }
        let not_found = match self.config_path() {
            Ok(_) => return self.load_config(),
            Err(e) => e,
        };
        let store = self.store_path(None);
        if !store.exists() {
            return Err(not_found);
        }
        let ledger = SqliteLedger::open_read_only(&store)?;
        let Some(remembered) = ledger.remembered_config()? else {
            return Err(hinted(
                format!(
                    "no config file here, and the ledger {} does not record which config served it",
                    store.display()
                ),
                "pass --config PATH (or set AIRLOCK_CONFIG) to the config the proposals were made with",
            ));
        };
        if !remembered.is_file() {
            return Err(hinted(
                format!(
                    "the ledger {} was served by the config {}, which no longer exists",
                    store.display(),
                    remembered.display()
                ),
                "restore that file, or pass --config PATH (or set AIRLOCK_CONFIG) to the config to review with",
            ));
        }
        Settings {
            cwd: self.cwd.clone(),
            env: self.env.clone(),
            config: Some(remembered),
            store: Some(store),
        }
        .load_config()
    }
}

pub fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        cwd.join(p)
    }
}

/// Parses `--result-format`.
pub fn result_format(flag: Option<&str>) -> anyhow::Result<Option<ResultFormat>> {
    Ok(match flag {
        None => None,
        Some("1" | "v1") => Some(ResultFormat::V1),
        Some("2" | "v2") => Some(ResultFormat::V2),
        Some(other) => {
            return Err(hinted(
                format!("unknown result format {other}"),
                "use 1 or 2",
            ));
        }
    })
}
