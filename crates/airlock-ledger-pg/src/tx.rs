//! A ledger write transaction that spends no round trip of its own on `BEGIN` or `COMMIT`.
//!
//! `tokio_postgres` sends a request as soon as its future is first polled and matches answers
//! to requests in order, so two requests polled together share one trip to the server. [`Tx`]
//! uses that at both ends: `BEGIN` is sent just ahead of the transaction's first statement
//! ([`Tx::run`]) and `COMMIT` just behind its last ([`Tx::commit_with`]). On a 2-core machine
//! running three servers and Postgres, every round trip saved is a wake-up of a Postgres
//! backend and of the client saved (see docs/benchmarks.md, "Apply across a fleet").
//!
//! Why this cannot leave work outside the transaction: the server runs requests in the order
//! they were sent, `BEGIN` first, and [`Tx::run`] stops the work at once if `BEGIN` failed (its
//! answer arrives before that of any statement behind it). A statement that fails in front of
//! the pipelined `COMMIT` aborts the transaction, and Postgres answers a `COMMIT` of an aborted
//! transaction by rolling it back: nothing commits half-way.

use std::sync::atomic::{AtomicU8, Ordering};

use airlock_ledger::LedgerError;
use deadpool_postgres::Object;
use futures_util::FutureExt;
use futures_util::future::{join, try_join};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use crate::error::Pg;

/// No `BEGIN` sent yet.
const IDLE: u8 = 0;
/// `BEGIN` sent; dropping the transaction now rolls it back.
const OPEN: u8 = 1;
/// `COMMIT` sent: the transaction has ended one way or the other.
const ENDED: u8 = 2;

/// One write transaction on a pooled connection; statements run on [`Tx::client`].
///
/// Dropped before [`Tx::commit_with`] (a failed step, a cancelled request), it queues a
/// `ROLLBACK` on its connection before the connection goes back to the pool, so the next user
/// of the connection can never run inside this transaction: its requests queue behind that
/// `ROLLBACK` (what `tokio_postgres`'s own transaction does when dropped).
pub(crate) struct Tx {
    client: Object,
    state: AtomicU8,
}

impl Tx {
    pub(crate) fn new(client: Object) -> Tx {
        Tx {
            client,
            state: AtomicU8::new(IDLE),
        }
    }

    /// The connection, for the transaction's statements.
    pub(crate) fn client(&self) -> &Object {
        &self.client
    }

    /// Begins the transaction and runs `work` in it, `BEGIN` sent in the same trip as
    /// `work`'s first statement. Call once, before any statement.
    ///
    /// `BEGIN` is polled first, so it is queued first; if it fails, `work` is dropped before it
    /// sees its first answer (which comes after `BEGIN`'s): at most that one statement ran
    /// outside a transaction, and every step's first statement only reads or locks.
    pub(crate) async fn run<T>(
        &self,
        work: impl Future<Output = Result<T, LedgerError>>,
    ) -> Result<T, LedgerError> {
        let previous = self.state.swap(OPEN, Ordering::SeqCst);
        debug_assert_eq!(previous, IDLE, "a transaction begins once");
        let begin = async { self.client.batch_execute("BEGIN").await.pg() };
        let ((), out) = try_join(begin, work).await?;
        Ok(out)
    }

    /// Runs `last` (the transaction's last statement, when there is one) and commits, `COMMIT`
    /// sent in the same trip. `last` is a statement already prepared, so its request is queued
    /// the moment it is polled, ahead of `COMMIT` (a statement still to be prepared would send
    /// its parse first and its execution only after `COMMIT`, outside the transaction). Both
    /// answers are awaited: `last`'s error first (the server then rolled the transaction back
    /// in place of the commit), then the commit's.
    pub(crate) async fn commit_with(
        &self,
        last: Option<(&Statement, &[&(dyn ToSql + Sync)])>,
    ) -> Result<(), LedgerError> {
        let run_last = async {
            match last {
                Some((statement, params)) => self.client.execute(statement, params).await.pg(),
                None => Ok(0),
            }
        };
        let commit = async { self.client.batch_execute("COMMIT").await.pg() };
        let (done, committed) = join(run_last, commit).await;
        // The server ended the transaction either way (a failed COMMIT ends it too, or the
        // connection is gone): nothing to roll back on drop.
        self.state.store(ENDED, Ordering::SeqCst);
        done?;
        committed
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.state.load(Ordering::SeqCst) == OPEN {
            // Polled once, the request is queued; its answer is discarded by the connection.
            let _ = self.client.batch_execute("ROLLBACK").now_or_never();
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = Object;

    /// Statements of the transaction run on its connection, as on `tokio_postgres`'s own
    /// transaction.
    fn deref(&self) -> &Object {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::Tx;
    use crate::error::Pg;
    use crate::{PgLedgerOptions, pool};

    /// A pool of one connection, so each test sees what its transactions left on it.
    async fn one_connection() -> Option<(airlock_testkit::FreshDb, deadpool_postgres::Pool)> {
        let db = airlock_testkit::fresh_postgres().await?;
        let options = PgLedgerOptions {
            max_connections: 1,
            ..PgLedgerOptions::default()
        };
        let pool = pool(&db.url, &options, false).expect("pool");
        pool.get()
            .await
            .expect("connection")
            .batch_execute("CREATE TABLE public.probe (n int NOT NULL)")
            .await
            .expect("table");
        Some((db, pool))
    }

    async fn rows(pool: &deadpool_postgres::Pool) -> i64 {
        let c = pool.get().await.expect("connection");
        c.query_one("SELECT count(*) FROM public.probe", &[])
            .await
            .expect("count")
            .get(0)
    }

    /// Whether the pooled connection is outside any transaction: a savepoint is refused there.
    async fn outside_a_transaction(pool: &deadpool_postgres::Pool) -> bool {
        let c = pool.get().await.expect("connection");
        c.batch_execute("SAVEPOINT probe").await.is_err()
    }

    async fn insert(tx: &Tx, n: i32) -> Result<(), airlock_ledger::LedgerError> {
        tx.execute("INSERT INTO public.probe VALUES ($1)", &[&n])
            .await
            .pg()?;
        Ok(())
    }

    #[tokio::test]
    async fn the_first_and_last_statements_commit_together() {
        let Some((_db, pool)) = one_connection().await else {
            return;
        };
        let tx = Tx::new(pool.get().await.expect("connection"));
        tx.run(insert(&tx, 1)).await.expect("first statement");
        let last = tx
            .prepare("INSERT INTO public.probe VALUES ($1)")
            .await
            .expect("prepare");
        tx.commit_with(Some((&last, &[&2i32])))
            .await
            .expect("commit");
        drop(tx);
        assert_eq!(rows(&pool).await, 2);
        assert!(outside_a_transaction(&pool).await);
    }

    /// The first statement really ran inside the transaction: a failing last statement, sent
    /// with the `COMMIT`, takes it back too.
    #[tokio::test]
    async fn a_failing_last_statement_rolls_the_whole_transaction_back() {
        let Some((_db, pool)) = one_connection().await else {
            return;
        };
        let tx = Tx::new(pool.get().await.expect("connection"));
        tx.run(insert(&tx, 1)).await.expect("first statement");
        let last = tx
            .prepare("INSERT INTO public.probe VALUES ($1)")
            .await
            .expect("prepare");
        let refused = tx.commit_with(Some((&last, &[&None::<i32>]))).await;
        assert!(refused.is_err(), "a NULL into a NOT NULL column");
        drop(tx);
        assert_eq!(rows(&pool).await, 0);
        assert!(outside_a_transaction(&pool).await);
    }

    /// A transaction given up half-way (a refused step, a caller gone) hands its connection
    /// back rolled back, never still inside it.
    #[tokio::test]
    async fn a_dropped_transaction_leaves_its_connection_rolled_back() {
        let Some((_db, pool)) = one_connection().await else {
            return;
        };
        let tx = Tx::new(pool.get().await.expect("connection"));
        tx.run(insert(&tx, 1)).await.expect("first statement");
        drop(tx);
        assert!(outside_a_transaction(&pool).await);
        assert_eq!(rows(&pool).await, 0);
    }
}
