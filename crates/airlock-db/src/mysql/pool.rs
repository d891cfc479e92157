//! The one pool builder of MySQL/MariaDB, shared by the read engine and the writer: the URL is
//! checked without dialing, and the pool is built on first use, after one dial has told
//! MariaDB from MySQL (the two name their timeout variables differently).

use std::time::Duration;

use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use tokio::sync::OnceCell;

use super::engine::Flavor;
use super::tls::{Negotiated, TlsPlan};
use crate::common::Scrubber;
use crate::{DbError, DbErrorKind, SourceSettings};

/// How long a caller waits for a pooled connection (including dialing a new one).
pub(crate) const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A pool built on first use.
pub(crate) struct LazyPool {
    opts: Opts,
    /// What the URL asked for; settled by the first dial ([`super::tls::first_dial`]).
    tls: TlsPlan,
    negotiated: std::sync::OnceLock<Negotiated>,
    cell: OnceCell<(Pool, Flavor)>,
    max_connections: usize,
    options: crate::PoolOptions,
    redacted_url: String,
}

impl LazyPool {
    /// Validates the URL (no dialing). Returns the pool and the scrubber of the URL's secrets.
    pub(crate) fn new(settings: &SourceSettings) -> Result<(LazyPool, Scrubber), DbError> {
        let url = settings.url.expose();
        let mut scrub = Scrubber::for_url(url);
        let (opts, tls) = super::tls::opts_from_url(url)?;
        if let Some(pw) = opts.pass() {
            scrub.add(pw);
        }
        let pool = LazyPool {
            opts,
            tls,
            negotiated: std::sync::OnceLock::new(),
            cell: OnceCell::new(),
            max_connections: settings.max_connections.max(1),
            options: settings.pool,
            redacted_url: settings.url.redacted(),
        };
        Ok((pool, scrub))
    }

    /// The flavor, once the pool is built.
    pub(crate) fn flavor(&self) -> Option<Flavor> {
        self.cell.get().map(|(_, f)| *f)
    }

    /// The TLS the URL asked for, and what the first dial settled (once the pool exists).
    pub(crate) fn tls(&self) -> (&TlsPlan, Option<&Negotiated>) {
        (&self.tls, self.negotiated.get())
    }

    pub(crate) fn max_connections(&self) -> usize {
        self.max_connections
    }

    pub(crate) fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// The pool and flavor, building them on the first call: `session` adds what every
    /// connection of this pool needs (setup statements, client flags) for the flavor.
    pub(crate) async fn get(
        &self,
        scrub: &Scrubber,
        session: impl FnOnce(Flavor, OptsBuilder) -> OptsBuilder,
    ) -> Result<&(Pool, Flavor), DbError> {
        self.cell
            .get_or_try_init(|| async {
                let (opts, flavor, negotiated) = super::tls::first_dial(
                    &self.opts,
                    &self.tls,
                    scrub,
                    self.options.connect_timeout,
                )
                .await?;
                let _ = self.negotiated.set(negotiated);
                tracing::debug!(?flavor, url = %self.redacted_url, "mysql flavor detected");
                let constraints = PoolConstraints::new(0, self.max_connections)
                    .ok_or_else(|| DbError::new(DbErrorKind::Other, "invalid pool size"))?;
                // Idle connections stay pooled (up to max) for the source's idle timeout
                // (mysql_async checks every `ttl_check_interval`, at most a few seconds
                // late); with a zero TTL it would close every connection above `min` on
                // return.
                let idle = self.options.idle_timeout;
                let pool_opts = PoolOpts::default()
                    .with_constraints(constraints)
                    .with_inactive_connection_ttl(idle)
                    .with_ttl_check_interval(idle.min(Duration::from_secs(30)))
                    .with_reset_connection(false);
                let opts = session(flavor, OptsBuilder::from_opts(opts)).pool_opts(pool_opts);
                Ok::<_, DbError>((Pool::new(opts), flavor))
            })
            .await
    }
}
