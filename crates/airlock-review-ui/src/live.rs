//! Live updates: a server-sent event whenever the ledger's chain head moves, whoever wrote it
//! (this process, an MCP server, or a CLI sharing the ledger file). The queue page's script
//! reloads the list when one arrives.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use crate::Ui;

/// How often the ledger head is read (one indexed row).
const POLL: Duration = Duration::from_millis(250);

pub(crate) async fn events(
    State(ui): State<Arc<Ui>>,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let stream = stream::unfold((ui, None::<i64>), |(ui, last)| async move {
        loop {
            let seq = match ui.opts.ledger.chain_head().await {
                Ok(head) => head.map_or(0, |h| h.seq),
                Err(e) => {
                    tracing::warn!("review UI: cannot read the ledger head: {e}");
                    tokio::time::sleep(POLL * 4).await;
                    continue;
                }
            };
            if last != Some(seq) {
                let event = Event::default().event("ledger").data(seq.to_string());
                return Some((Ok(event), (ui, Some(seq))));
            }
            tokio::time::sleep(POLL).await;
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
