//! Webhook delivery: each event matching a destination is POSTed, signed, in chain order,
//! until the receiver answers 2xx; failures are retried with exponential backoff and jitter.
//! The destination's cursor and retry state are kept in the ledger, so a restarted deliverer
//! resumes after the last acknowledged event, waits out a pending backoff, and never sends an
//! acknowledged event again. An event whose 2xx was lost (a crash between the answer and the
//! cursor write) is sent again: receivers de-duplicate on the event id.

use std::sync::Arc;
use std::time::Duration;

use airlock_config::redact::{Secret, url_for_display};
use airlock_config::{Notifications, Webhook, WebhookFormat};
use airlock_ledger::{Deliveries, DeliveryState, EventQuery, ScopedEvent};
use airlock_protocol::events::{EVENT_DELIVERY_V1, EventDelivery, EventRecord, headers as eh};
use airlock_protocol::handler::Signed;
use airlock_protocol::now_rfc3339;
use rand::Rng;
use serde::Serialize;
use tokio::sync::watch;

use crate::record::{record, review_link, slack_escape, summary};
use crate::{EventsError, KindFilter};

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where one stream of events goes.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The name delivery state is kept under (a config name, or `url:<hash>`).
    pub name: String,
    /// The URL; may carry a secret (Slack's does), so it is never shown.
    pub url: Secret,
    pub format: WebhookFormat,
    pub signing_secret: Option<Secret>,
    pub token: Option<Secret>,
    pub kinds: KindFilter,
    /// Only these tenants (empty: all).
    pub tenants: Vec<String>,
    pub timeout: Duration,
}

impl Destination {
    /// A destination for `url`, checked: http or https, at most 2048 characters, no spaces.
    /// Named `url:<first 12 hex of its SHA-256>` unless `name` is given.
    pub fn new(name: Option<&str>, url: &str) -> Result<Destination, EventsError> {
        let parsed = reqwest::Url::parse(url).ok().filter(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && url.len() <= 2048
        });
        if parsed.is_none() {
            return Err(EventsError::invalid(
                "WEBHOOK_URL_INVALID",
                format!(
                    "the webhook URL is not an http(s) URL ({})",
                    if url.contains("://") {
                        url_for_display(url)
                    } else {
                        "no scheme".into()
                    }
                ),
                "pass e.g. https://hooks.example.com/airlock (Slack: the incoming-webhook URL), ideally through --url-env",
            ));
        }
        let name = match name {
            Some(n) => {
                if n.is_empty()
                    || n.len() > 64
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c))
                {
                    return Err(EventsError::invalid(
                        "WEBHOOK_NAME_INVALID",
                        "a destination name is 1-64 letters, digits, `_`, `.`, `-` or `:`",
                        "pass e.g. --name billing_channel",
                    ));
                }
                n.to_owned()
            }
            None => {
                use sha2::Digest;
                let digest = sha2::Sha256::digest(url.as_bytes());
                format!("url:{}", &hex::encode(digest)[..12])
            }
        };
        Ok(Destination {
            name,
            url: Secret::new(url),
            format: WebhookFormat::Json,
            signing_secret: None,
            token: None,
            kinds: KindFilter::review(),
            tenants: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The destinations of a config's `notifications.webhooks`, with URLs and secrets read
    /// through `env` (a missing variable is an error naming it, never its value).
    pub fn from_config(
        n: &Notifications,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<Destination>, EventsError> {
        n.webhooks
            .iter()
            .map(|(name, w)| Destination::from_webhook(name, w, env))
            .collect()
    }

    fn from_webhook(
        name: &str,
        w: &Webhook,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Destination, EventsError> {
        let var = |v: &str, what: &str| {
            env(v).filter(|s| !s.is_empty()).ok_or_else(|| {
                EventsError::invalid(
                    "WEBHOOK_ENV_UNSET",
                    format!("webhook `{name}`: {v} (its {what}) is not set"),
                    format!("export {v} in the deliverer's environment"),
                )
            })
        };
        let mut d = Destination::new(Some(name), &var(&w.url_env, "URL")?)?;
        d.format = w.format;
        d.signing_secret = match &w.signing_secret_env {
            Some(v) => Some(Secret::new(var(v, "signing secret")?)),
            None => None,
        };
        d.token = match &w.token_env {
            Some(v) => Some(Secret::new(var(v, "bearer token")?)),
            None => None,
        };
        d.kinds = KindFilter::parse(&w.kinds, KindFilter::review())?;
        d.tenants = w.tenants.clone();
        d.timeout = w.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        Ok(d)
    }

    /// `scheme://host[:port]/…`: what is shown and stored for this destination.
    pub fn target(&self) -> String {
        url_for_display(self.url.expose())
    }

    fn wants(&self, e: &ScopedEvent) -> bool {
        self.tenants.is_empty()
            || e.tenant_id
                .as_ref()
                .is_some_and(|t| self.tenants.contains(t))
    }
}

/// Backoff between failed attempts: `initial × 2^(n−1)`, at most `max`, each delay drawn
/// uniformly from its upper half (jitter, so many deliverers do not retry in step).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Retry {
    /// The wait after failed attempt number `attempts` (from 1).
    pub fn delay(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let full = self
            .initial
            .saturating_mul(1u32 << exp)
            .min(self.max)
            .max(Duration::from_millis(1));
        let half = full / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }
}

/// Where a new destination starts (an existing one resumes at its cursor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Only events committed from now on.
    Head,
    /// Events after this sequence number (`0`: the whole chain).
    After(i64),
}

/// What happened, for the command to print.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Report {
    /// The destination's state as found (or created) at start.
    Resumed { state: DeliveryState },
    /// The receiver acknowledged the event.
    Delivered {
        destination: String,
        event_id: String,
        seq: i64,
        kind: String,
        attempt: u32,
        http_status: u16,
    },
    /// The attempt failed; the next one is due at `next_attempt_at`.
    Retrying {
        destination: String,
        event_id: String,
        seq: i64,
        kind: String,
        attempt: u32,
        error: String,
        next_attempt_at: String,
        retry_in_ms: u64,
    },
    /// Delivery would have been made (`--dry-run`): nothing was sent or recorded.
    DryRun {
        destination: String,
        event_id: String,
        seq: i64,
        kind: String,
        body: serde_json::Value,
    },
}

/// Delivers events to destinations.
pub struct Deliverer {
    ledger: Arc<dyn Deliveries>,
    client: reqwest::Client,
    review_url: Option<String>,
    retry: Retry,
    poll: Duration,
}

/// How one run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Until stopped, waiting for new events.
    Follow,
    /// Up to the chain head as it is now, then return; a failed attempt is recorded and ends
    /// the run with [`EventsError::Undelivered`].
    Once,
    /// Like `Once`, but nothing is sent or recorded: each body is reported.
    DryRun,
}

impl Deliverer {
    pub fn new(
        ledger: Arc<dyn Deliveries>,
        review_url: Option<String>,
        retry: Retry,
        poll: Duration,
    ) -> Deliverer {
        Deliverer {
            ledger,
            client: reqwest::Client::builder()
                .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
                // A redirect could carry the signed body somewhere else.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            review_url,
            retry,
            poll,
        }
    }

    /// Delivers to `dest` until `stop` turns true (or, with [`Mode::Once`]/[`Mode::DryRun`],
    /// up to the current head).
    pub async fn run(
        &self,
        dest: &Destination,
        start: StartAt,
        mode: Mode,
        report: &(dyn Fn(Report) + Send + Sync),
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), EventsError> {
        let head = self.ledger.chain_head().await?.map_or(0, |h| h.seq);
        let start_after = match start {
            StartAt::Head => head,
            StartAt::After(n) => n.max(0),
        };
        let mut state = if mode == Mode::DryRun {
            let existing = self.ledger.delivery_states().await?;
            existing
                .into_iter()
                .find(|s| s.destination == dest.name)
                .unwrap_or_else(|| fresh_state(dest, start_after))
        } else {
            self.ledger
                .register_destination(&dest.name, &dest.target(), start_after)
                .await?
        };
        report(Report::Resumed {
            state: state.clone(),
        });
        let query = EventQuery {
            kinds: dest.kinds.query_kinds(),
            ..EventQuery::default()
        };
        let mut cursor = state.cursor_seq;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            // How far the cursor may move past what did not match: not the chain head, which
            // on a ledger of several writers may be ahead of an event still committing.
            let head = self.ledger.feed_horizon(cursor).await?;
            if head <= cursor {
                if mode != Mode::Follow {
                    return Ok(());
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let page = 200u32;
            let batch = self
                .ledger
                .events(&EventQuery {
                    after_seq: Some(cursor),
                    limit: page,
                    ..query.clone()
                })
                .await?;
            let full = batch.len() == page as usize;
            for ev in &batch {
                if !dest.wants(ev) {
                    continue;
                }
                let done = self
                    .deliver(dest, ev, &mut state, mode, report, &mut stop)
                    .await?;
                if !done {
                    return Ok(());
                }
                cursor = ev.event.seq;
            }
            // Everything read was delivered or not for this destination.
            let read_to = match (full, batch.last()) {
                (true, Some(last)) => last.event.seq,
                _ => head.max(batch.last().map_or(0, |l| l.event.seq)),
            };
            if read_to > cursor {
                if mode != Mode::DryRun {
                    self.ledger.advance_cursor(&dest.name, read_to).await?;
                }
                cursor = read_to;
            }
        }
    }

    /// Delivers one event, retrying until acknowledged. Returns false when stopped first.
    async fn deliver(
        &self,
        dest: &Destination,
        ev: &ScopedEvent,
        state: &mut DeliveryState,
        mode: Mode,
        report: &(dyn Fn(Report) + Send + Sync),
        stop: &mut watch::Receiver<bool>,
    ) -> Result<bool, EventsError> {
        let rec = record(ev);
        let proposal = match &rec.proposal_id {
            Some(id) => self.ledger.proposal(id).await.ok(),
            None => None,
        };
        let text = summary(&rec, proposal.as_ref(), self.review_url.as_deref());
        let mut attempts = if state.pending_seq == Some(rec.seq) {
            state.attempts
        } else {
            0
        };
        // A restart waits out the backoff a previous run scheduled.
        if attempts > 0
            && let Some(wait) = state.next_attempt_at.as_deref().and_then(until)
            && !sleep_or_stop(wait, stop).await
        {
            return Ok(false);
        }
        loop {
            let attempt = attempts + 1;
            let issued_at = now_rfc3339();
            let body = self.body(dest, &rec, &text, attempt, &issued_at);
            if mode == Mode::DryRun {
                report(Report::DryRun {
                    destination: dest.name.clone(),
                    event_id: rec.event_id.clone(),
                    seq: rec.seq,
                    kind: rec.kind.clone(),
                    body: serde_json::from_slice(&body).unwrap_or_default(),
                });
                return Ok(true);
            }
            match self.post(dest, &rec, &body, &issued_at, attempt).await {
                Ok(status) => {
                    self.ledger.record_delivered(&dest.name, rec.seq).await?;
                    state.pending_seq = None;
                    state.attempts = 0;
                    report(Report::Delivered {
                        destination: dest.name.clone(),
                        event_id: rec.event_id.clone(),
                        seq: rec.seq,
                        kind: rec.kind.clone(),
                        attempt,
                        http_status: status,
                    });
                    return Ok(true);
                }
                Err(error) => {
                    attempts = attempt;
                    let wait = self.retry.delay(attempts);
                    let next =
                        chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    let next_at = next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    self.ledger
                        .record_failed_attempt(&dest.name, rec.seq, attempts, &error, &next_at)
                        .await?;
                    state.pending_seq = Some(rec.seq);
                    state.attempts = attempts;
                    state.next_attempt_at = Some(next_at.clone());
                    report(Report::Retrying {
                        destination: dest.name.clone(),
                        event_id: rec.event_id.clone(),
                        seq: rec.seq,
                        kind: rec.kind.clone(),
                        attempt,
                        error: error.clone(),
                        next_attempt_at: next_at,
                        retry_in_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    });
                    if mode == Mode::Once {
                        return Err(EventsError::Undelivered {
                            destination: dest.name.clone(),
                            error,
                        });
                    }
                    if !sleep_or_stop(wait, stop).await {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// The request body for `format`.
    fn body(
        &self,
        dest: &Destination,
        rec: &EventRecord,
        text: &str,
        attempt: u32,
        issued_at: &str,
    ) -> Vec<u8> {
        let value = match dest.format {
            WebhookFormat::Slack => serde_json::json!({ "text": slack_escape(text) }),
            WebhookFormat::Json => serde_json::to_value(EventDelivery {
                schema_version: EVENT_DELIVERY_V1.to_owned(),
                event_id: rec.event_id.clone(),
                issued_at: issued_at.to_owned(),
                attempt,
                destination: dest.name.clone(),
                text: text.to_owned(),
                review_url: match (&self.review_url, &rec.proposal_id) {
                    (Some(base), Some(id)) => Some(review_link(base, id)),
                    _ => None,
                },
                event: rec.clone(),
            })
            .unwrap_or_default(),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// One signed POST. `Ok(status)` for a 2xx answer; otherwise what went wrong, without the
    /// URL (which may carry a secret).
    async fn post(
        &self,
        dest: &Destination,
        rec: &EventRecord,
        body: &[u8],
        issued_at: &str,
        attempt: u32,
    ) -> Result<u16, String> {
        let signed = Signed {
            body,
            issued_at,
            proposal_id: rec.proposal_id.as_deref().unwrap_or(""),
            idempotency_key: &rec.event_id,
        };
        let mut req = self
            .client
            .post(dest.url.expose())
            .timeout(dest.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .header(eh::EVENT_ID, &rec.event_id)
            .header(eh::EVENT_KIND, &rec.kind)
            .header(eh::ATTEMPT, attempt.to_string());
        for (name, value) in
            signed.headers(dest.signing_secret.as_ref().map(|s| s.expose().as_bytes()))
        {
            req = req.header(name, value);
        }
        if let Some(token) = &dest.token {
            req = req.bearer_auth(token.expose());
        }
        let resp = req.body(body.to_vec()).send().await.map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} ms", dest.timeout.as_millis())
            } else if e.is_connect() {
                format!("could not connect to {}: {}", dest.target(), causes(&e))
            } else {
                format!("the request to {} failed: {}", dest.target(), causes(&e))
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let text = resp.text().await.unwrap_or_default();
        let excerpt: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(200)
            .collect();
        Err(if excerpt.trim().is_empty() {
            format!("the receiver answered HTTP {}", status.as_u16())
        } else {
            format!(
                "the receiver answered HTTP {}: {}",
                status.as_u16(),
                excerpt.trim()
            )
        })
    }
}

/// The state a dry run shows for a destination that has none yet.
fn fresh_state(dest: &Destination, start_after: i64) -> DeliveryState {
    let now = now_rfc3339();
    DeliveryState {
        destination: dest.name.clone(),
        target: dest.target(),
        cursor_seq: start_after,
        pending_seq: None,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        last_error_at: None,
        delivered: 0,
        last_delivered_at: None,
        created_at: now.clone(),
        updated_at: now,
    }
}

/// The error and its causes, without any URL.
fn causes(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) && !text.contains("://") {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        "connection error".to_owned()
    } else {
        parts.join(": ")
    }
}

/// How long until an RFC 3339 time (None when it has passed or does not parse).
fn until(at: &str) -> Option<Duration> {
    let at = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

/// Sleeps `d`; false when `stop` turned true first.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stop.changed() => !*stop.borrow(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let r = Retry {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        };
        for (n, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let d = r.delay(n).as_millis() as u64;
            assert!((full / 2..=full).contains(&d), "attempt {n}: {d} ms");
        }
    }

    #[test]
    fn destinations_hide_their_url() {
        let d =
            Destination::new(None, "https://hooks.slack.com/services/T0/B0/SECRETPART").unwrap();
        assert_eq!(d.target(), "https://hooks.slack.com/…");
        assert!(d.name.starts_with("url:") && !d.name.contains("SECRET"));
        assert!(!format!("{d:?}").contains("SECRETPART"));
        for bad in ["ftp://x/y", "not a url", "http://", "javascript:alert(1)"] {
            let e = Destination::new(None, bad).unwrap_err();
            assert_eq!(e.code(), "WEBHOOK_URL_INVALID", "{bad}");
        }
        assert_eq!(
            Destination::new(Some("bad name"), "http://x/")
                .unwrap_err()
                .code(),
            "WEBHOOK_NAME_INVALID"
        );
    }
}
