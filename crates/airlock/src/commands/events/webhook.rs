//! `airlock events webhook`: the foreground deliverer. Delivers to one URL given on the
//! command line, or to every destination of the config's `notifications.webhooks`, until
//! Ctrl-C (or, with --once, up to the chain head as it is now).

use std::sync::Arc;
use std::time::Duration;

use airlock_cli::{EventsWebhookArgs, WebhookFormatArg};
use airlock_config::WebhookFormat;
use airlock_config::redact::Secret;
use airlock_events::{Deliverer, Destination, KindFilter, Mode, Report, Retry, StartAt};
use airlock_ledger::Deliveries;
use tokio::sync::watch;

use super::{events_error, interrupted};
use crate::open_ledger::{Access, OpenLedger};
use crate::output::{self, ExitStatus, hinted};
use crate::settings::{LoadedConfig, Settings};

pub async fn run(settings: &Settings, args: &EventsWebhookArgs) -> anyhow::Result<ExitStatus> {
    let url = match (&args.url, &args.url_flag, &args.url_env) {
        (Some(u), _, _) | (None, Some(u), _) => Some(u.clone()),
        (None, None, Some(var)) => Some(env(settings, var, "--url-env")?),
        (None, None, None) => None,
    };
    // The config gives the review URL and, without a URL here, the destinations.
    let loaded = match &url {
        Some(_) => settings.load_config_for_ledger().ok(),
        None => Some(settings.load_config_for_ledger()?),
    };
    let notifications = loaded
        .as_ref()
        .and_then(|l| l.config.notifications.clone())
        .unwrap_or_default();
    let destinations = match &url {
        Some(u) => vec![adhoc(settings, args, u)?],
        None => {
            let lookup = |name: &str| settings.env.get(name).cloned();
            let found = Destination::from_config(&notifications, &lookup).map_err(events_error)?;
            if found.is_empty() {
                return Err(hinted(
                    "no webhook URL given and the config declares no notifications.webhooks",
                    "pass a URL (or --url-env VAR), or add \"notifications\": {\"webhooks\": {...}} to the config (docs/notifications.md)",
                ));
            }
            found
        }
    };
    let review_url = args.review_url.clone().or(notifications.review_url);
    let ledger = open(settings, loaded.as_ref(), args.dry_run).await?;
    let deliverer = Arc::new(Deliverer::new(
        ledger,
        review_url,
        Retry {
            initial: Duration::from_millis(args.retry_initial_ms),
            max: Duration::from_millis(args.retry_max_ms.max(args.retry_initial_ms)),
        },
        Duration::from_millis(args.interval_ms),
    ));
    let mode = match (args.dry_run, args.once) {
        (true, _) => Mode::DryRun,
        (false, true) => Mode::Once,
        (false, false) => Mode::Follow,
    };
    let start = args.since_event_id.map_or(StartAt::Head, StartAt::After);
    let (stop_tx, stop_rx) = watch::channel(false);
    let json = args.json;
    let mut tasks = Vec::new();
    for dest in destinations {
        let deliverer = deliverer.clone();
        let stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let report = move |r: Report| print(json, &r);
            deliverer.run(&dest, start, mode, &report, stop).await
        }));
    }
    let all = futures_join(tasks);
    tokio::pin!(all);
    let results = tokio::select! {
        results = &mut all => results,
        _ = interrupted() => {
            let _ = stop_tx.send(true);
            all.await
        }
    };
    let mut status = ExitStatus::Success;
    for r in results {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                status = ExitStatus::Failure;
                output::report_error(&events_error(e));
            }
            Err(join) => return Err(anyhow::anyhow!("a delivery task stopped: {join}")),
        }
    }
    Ok(status)
}

/// Waits for every task, in order.
async fn futures_join<T>(
    tasks: Vec<tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await);
    }
    out
}

fn env(settings: &Settings, var: &str, flag: &str) -> anyhow::Result<String> {
    settings
        .env
        .get(var)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| {
            hinted(
                format!("[WEBHOOK_ENV_UNSET] {flag} names {var}, which is not set"),
                format!("export {var} in this environment"),
            )
        })
}

/// The destination of a URL given on the command line.
fn adhoc(settings: &Settings, args: &EventsWebhookArgs, url: &str) -> anyhow::Result<Destination> {
    let mut d = Destination::new(args.name.as_deref(), url).map_err(events_error)?;
    d.format = match args.format {
        WebhookFormatArg::Json => WebhookFormat::Json,
        WebhookFormatArg::Slack => WebhookFormat::Slack,
    };
    d.signing_secret = match &args.secret_env {
        Some(var) => Some(Secret::new(env(settings, var, "--secret-env")?)),
        None => None,
    };
    d.token = match &args.auth_token_env {
        Some(var) => Some(Secret::new(env(settings, var, "--auth-token-env")?)),
        None => None,
    };
    d.kinds = KindFilter::parse(&args.kinds, KindFilter::review()).map_err(events_error)?;
    d.tenants = args.tenants.clone();
    d.timeout = Duration::from_millis(args.timeout_ms);
    Ok(d)
}

/// The ledger, which must exist: a deliverer never creates one.
async fn open(
    settings: &Settings,
    loaded: Option<&LoadedConfig>,
    dry_run: bool,
) -> anyhow::Result<Arc<dyn Deliveries>> {
    let target = settings.ledger_target(loaded)?;
    if let Some(path) = target.sqlite_path()
        && !path.exists()
    {
        return Err(anyhow::Error::new(airlock_ledger::LedgerError::Missing {
            path: path.display().to_string(),
        }));
    }
    let access = if dry_run {
        Access::ReadOnly
    } else {
        Access::Write
    };
    Ok(OpenLedger::open(&target, access).await?.as_deliveries())
}

fn print(json: bool, r: &Report) {
    if json {
        if let Err(e) = output::json_line(r) {
            output::warn(&format!("could not print a report: {e}"));
        }
        return;
    }
    let text = match r {
        Report::Resumed { state } => {
            let mut s = format!(
                "webhook {} → {}: from event #{} on ({} delivered so far)",
                state.destination,
                state.target,
                state.cursor_seq + 1,
                state.delivered
            );
            if let (Some(seq), Some(err)) = (state.pending_seq, &state.last_error) {
                s.push_str(&format!(
                    "; event #{seq} is being retried (attempt {} failed: {err})",
                    state.attempts
                ));
            }
            s
        }
        Report::Delivered {
            destination,
            event_id,
            seq,
            kind,
            attempt,
            http_status,
        } => format!(
            "delivered #{seq} {kind} ({event_id}) to {destination}: HTTP {http_status}, attempt {attempt}"
        ),
        Report::Retrying {
            destination,
            seq,
            kind,
            attempt,
            error,
            retry_in_ms,
            ..
        } => format!(
            "attempt {attempt} of #{seq} {kind} to {destination} failed: {error}; retrying in {:.1}s",
            *retry_in_ms as f64 / 1000.0
        ),
        Report::DryRun {
            destination,
            seq,
            kind,
            body,
            ..
        } => format!(
            "would deliver #{seq} {kind} to {destination}:\n{}",
            serde_json::to_string_pretty(body).unwrap_or_default()
        ),
    };
    output::line(&text);
}
