//! `airlock events`: the ledger's event chain printed (`tail`), delivered to webhooks
//! (`webhook`), and the delivery state (`status`). The work is in `airlock-events`.

pub mod status;
pub mod tail;
pub mod webhook;

use crate::output::hinted;

/// `--since`/`--to`: a duration back from now (`2h`) or an RFC 3339 time, as the RFC 3339 UTC
/// text the ledger compares with.
pub fn when(text: &str, flag: &str) -> anyhow::Result<String> {
    use crate::listing::filter::{parse_age_of, parse_time};
    if let Ok(at) = parse_time(text, flag) {
        return Ok(at.as_str().to_owned());
    }
    if text.trim().starts_with(|c: char| c.is_ascii_digit()) && !text.contains(['-', ':']) {
        let age = parse_age_of(text, flag)?;
        return Ok(
            airlock_ledger::LedgerTime::from_utc(chrono::Utc::now() - age)
                .as_str()
                .to_owned(),
        );
    }
    Err(hinted(
        format!("{flag} {text:?} is neither a duration nor an RFC 3339 time"),
        "use e.g. 2h, 30m, 7d, or 2026-06-20T14:00:00Z",
    ))
}

/// An `airlock-events` error with its stable code and hint.
pub fn events_error(e: airlock_events::EventsError) -> anyhow::Error {
    match e.hint() {
        Some(h) => hinted(format!("[{}] {e}", e.code()), h),
        None => anyhow::Error::new(e),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn interrupted() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
