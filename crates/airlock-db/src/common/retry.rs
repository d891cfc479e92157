//! The one retry policy for idempotent engine calls (reads and pings): when the server closed
//! the session under us, try once more on a fresh connection. Writes never come here.

use std::future::Future;

use crate::DbError;

/// Runs `attempt`, and once more if it failed because the connection was lost. `what` and
/// `url` (already redacted) go to the log line that says a retry happened.
pub(crate) async fn once_more_if_lost<T, F, Fut>(
    what: &str,
    url: &(dyn std::fmt::Display + Sync),
    attempt: F,
) -> Result<T, DbError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    match attempt().await {
        Err(e) if e.is_connection_lost() => {
            tracing::info!(url = %url, error = %e, "retrying {what} on a new connection");
            attempt().await
        }
        r => r,
    }
}
