//! `airlock events tail`: the newest events of the chain, then (with --follow) every new one
//! as any process sharing the ledger commits it.

use std::sync::Arc;
use std::time::Duration;

use airlock_cli::EventsTailArgs;
use airlock_events::record::{line, record};
use airlock_events::{Follower, KindFilter};
use airlock_ledger::{EventQuery, Ledger, ScopedEvent};

use super::{events_error, interrupted, when};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

/// Events read per query when printing everything since a time.
const PAGE: u32 = 1000;

pub async fn run(settings: &Settings, args: &EventsTailArgs) -> anyhow::Result<ExitStatus> {
    let kinds = KindFilter::parse(&args.kinds, KindFilter::All).map_err(events_error)?;
    let filter = EventQuery {
        since: args
            .since
            .as_deref()
            .map(|s| when(s, "--since"))
            .transpose()?,
        until: args.to.as_deref().map(|s| when(s, "--to")).transpose()?,
        kinds: kinds.query_kinds(),
        proposal: args.proposal.clone(),
        actor: args.actor.clone(),
        tenant: args.tenant.clone(),
        ..EventQuery::default()
    };
    let ledger: Arc<dyn Ledger> = settings.open_ledger_read_only().await?.as_ledger();
    // Where --follow starts: the head as it is before the first read, so nothing committed
    // while the first events print is missed.
    let head = ledger.chain_head().await?.map_or(0, |h| h.seq);
    let mut printed = 0usize;
    match (filter.since.is_some(), args.limit) {
        // Everything since a time, page by page.
        (true, None) => {
            let mut after = None;
            loop {
                let page = ledger
                    .events(&EventQuery {
                        after_seq: after,
                        limit: PAGE,
                        ..filter.clone()
                    })
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.event.seq);
                printed += print(args.json, &page)?;
                if page.len() < PAGE as usize {
                    break;
                }
            }
        }
        (_, limit) => {
            let newest = ledger
                .events(&EventQuery {
                    limit: limit.unwrap_or(20),
                    newest: true,
                    ..filter.clone()
                })
                .await?;
            printed += print(args.json, &newest)?;
        }
    }
    if !args.follow {
        if printed == 0 && !args.json {
            output::line("No events match.");
        }
        return Ok(ExitStatus::Success);
    }
    let follow_filter = EventQuery {
        since: None,
        ..filter
    };
    let mut follower = Follower::new(
        ledger,
        follow_filter,
        head,
        Duration::from_millis(args.interval_ms),
    );
    let stop = interrupted();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(ExitStatus::Success),
            batch = follower.next_batch() => { print(args.json, &batch?)?; }
        }
    }
}

/// Prints events, one line each; returns how many.
fn print(json: bool, events: &[ScopedEvent]) -> anyhow::Result<usize> {
    for e in events {
        let r = record(e);
        if json {
            output::json_line(&r)?;
        } else {
            output::line(&line(&r));
        }
    }
    Ok(events.len())
}
