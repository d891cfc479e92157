//! The `http_handler` executor: sends the approved change to the team's own endpoint, which
//! makes the business write in its own transaction and answers with a receipt.
//!
//! - URL, bearer token and signing secret come from the environment variables the config
//!   names; they are resolved when the executor is built (a missing one is a setup error and
//!   nothing is recorded) and never printed.
//! - `https` everywhere; plain `http` only to a loopback host unless the executor sets
//!   `allow_insecure_http: true`. Redirects are not followed.
//! - Each attempt is re-stamped (`issued_at`) and re-signed; the idempotency key never
//!   changes. Connection failures and 5xx answers are retried ([`RetryPolicy`]); a timeout,
//!   a 4xx and any 2xx answer are final.
//! - What a failure proves ([`AttemptEffect`]): no connection, or a refusal before any write
//!   (401, 403, 404, 405, 408, 429, a redirect) → nothing written, the approval stands; a
//!   timeout, a broken connection, a 5xx or an answer that is not a receipt → outcome
//!   unknown, the approval stands and the retry relies on the idempotency key; anything the
//!   handler answered with a `conflict` or `failed` receipt in a 2xx, or another 4xx → settled.
//! - Every failure is an [`Outcome`] with a safe code (`HANDLER_TIMEOUT`,
//!   `HANDLER_UNAVAILABLE`, `HANDLER_HTTP_<status>`, `HANDLER_INVALID_RECEIPT`,
//!   `HANDLER_RECEIPT_MISMATCH`, …), so each attempt leaves a receipt.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use airlock_config::redact::{REDACTED, Redactor};
use airlock_config::{Executor as ExecutorConfig, HttpMethod, env_vars};
use airlock_protocol::handler::{
    HandlerProbe, HandlerReceipt, HandlerRequest, HandlerStatus, Transport,
};
use airlock_protocol::now_rfc3339;
use reqwest::{Method, Url};

use crate::apply::ApplyError;
use crate::executor::{ApplyPlan, AttemptEffect, Executor, Outcome, ReceiptCode};
use crate::handler_outcome::{
    Expected, code_or, codes, failed, http_status_code, outcome_from_answer,
};
use crate::probe::{self, Probe, ProbeOutcome};
use crate::secret::Secret;
use crate::signing;

/// Default `timeout_ms`.
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// Largest answer read from a handler.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// How often and how patiently to retry connection failures and 5xx answers.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

/// Settings of one HTTP handler, resolved from config and environment.
pub struct HttpHandler {
    name: String,
    url: Url,
    method: Method,
    token: Option<Secret>,
    signing_secret: Option<Secret>,
    timeout: Duration,
    runner_hint: String,
    retry: RetryPolicy,
    client: reqwest::Client,
    redactor: Redactor,
}

impl fmt::Debug for HttpHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpHandler")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("url", &REDACTED)
            .field("signed", &self.signing_secret.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The runner id sent as `runner_hint`: `$AIRLOCK_RUNNER_ID`, else `$SYNAPSOR_RUNNER_ID`, else
/// `airlock-local`.
pub fn runner_hint(env: &HashMap<String, String>) -> String {
    [env_vars::RUNNER_ID, env_vars::SYNAPSOR_RUNNER_ID]
        .iter()
        .find_map(|k| env.get(*k).filter(|v| !v.is_empty()).cloned())
        .unwrap_or_else(|| "airlock-local".into())
}

/// Reads a required variable; the message names the variable and the executor field only.
pub(crate) fn required_env(
    env: &HashMap<String, String>,
    var: &str,
    field: &str,
    executor: &str,
) -> Result<String, ApplyError> {
    env.get(var)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| {
            ApplyError::Setup(format!(
                "environment variable {var} ({field} of executor `{executor}`) is not set"
            ))
        })
}

/// Checks the handler URL: `https`, or `http` to loopback (or anywhere with
/// `allow_insecure_http`). Errors never contain the URL.
pub fn check_url(raw: &str, allow_insecure_http: bool) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|_| "is not a valid URL".to_owned())?;
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            let host = url.host_str().unwrap_or("");
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback || allow_insecure_http {
                Ok(url)
            } else {
                Err("uses plain http to a host that is not loopback; use https, or set \"allow_insecure_http\": true on the executor".into())
            }
        }
        other => Err(format!("has scheme `{other}`; use https")),
    }
}

impl HttpHandler {
    /// Builds the executor named `name` from its config; `env` supplies the variables.
    pub fn from_config(
        name: &str,
        cfg: &ExecutorConfig,
        env: &HashMap<String, String>,
    ) -> Result<HttpHandler, ApplyError> {
        let url_env = cfg
            .url_env
            .as_deref()
            .ok_or_else(|| ApplyError::Setup(format!("executor `{name}` has no url_env")))?;
        let raw = required_env(env, url_env, "url_env", name)?;
        let url = check_url(&raw, cfg.allow_insecure_http == Some(true)).map_err(|why| {
            ApplyError::Setup(format!(
                "the URL in {url_env} (url_env of executor `{name}`) {why}"
            ))
        })?;
        let token = match &cfg.auth {
            Some(a) => Some(Secret::new(required_env(
                env,
                &a.token_env,
                "auth.token_env",
                name,
            )?)),
            None => None,
        };
        let signing_secret = match &cfg.signing_secret_env {
            Some(var) => Some(Secret::new(required_env(
                env,
                var,
                "signing_secret_env",
                name,
            )?)),
            None => None,
        };
        let method = match cfg.method.unwrap_or(HttpMethod::Post) {
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
            HttpMethod::Patch => Method::PATCH,
        };
        let secrets: Vec<&str> = [token.as_ref(), signing_secret.as_ref()]
            .into_iter()
            .flatten()
            .map(Secret::expose)
            .chain([raw.as_str()])
            .collect();
        let redactor = Redactor::new(&secrets, env);
        let timeout = Duration::from_millis(cfg.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS).max(1));
        // The connection (TCP and TLS) must be up within nine tenths of the budget, so that a
        // handler that cannot be reached fails as "not connected" (nothing was sent) rather
        // than as a timeout of the whole request (which may have been sent).
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout * 9 / 10)
            .build()
            .map_err(|_| ApplyError::Setup("could not start the HTTP client".into()))?;
        Ok(HttpHandler {
            name: name.to_owned(),
            url,
            method,
            token,
            signing_secret,
            timeout,
            runner_hint: runner_hint(env),
            retry: RetryPolicy::default(),
            client,
            redactor,
        })
    }

    /// Replaces the retry policy (tests, or callers with their own budget).
    pub fn with_retry(mut self, retry: RetryPolicy) -> HttpHandler {
        self.retry = RetryPolicy {
            attempts: retry.attempts.max(1),
            ..retry
        };
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Probes the handler without applying anything: one signed
    /// [`HandlerProbe`] (the same headers and signatures as a writeback request), and, when it
    /// is answered, a second one signed with a wrong secret and token, which a handler that
    /// verifies requests must refuse. Not retried.
    pub async fn probe(&self) -> Probe {
        let probe = HandlerProbe::new(&self.name, &self.runner_hint);
        let (status, bytes) = match self
            .send_probe(&probe, self.token.as_ref(), self.signing_secret.as_ref())
            .await
        {
            Ok(answer) => answer,
            Err(p) => return p,
        };
        let first = probe::classify_http(status, &bytes, &probe.probe_id);
        if !first.ok() || (self.token.is_none() && self.signing_secret.is_none()) {
            return first;
        }
        // A forged probe: whatever the handler checks, it gets a wrong value of it.
        let wrong = Secret::new(airlock_protocol::ids::new_id("forged"));
        let forged = HandlerProbe::new(&self.name, &self.runner_hint);
        let (token, secret) = (
            self.token.as_ref().map(|_| &wrong),
            self.signing_secret.as_ref().map(|_| &wrong),
        );
        match self.send_probe(&forged, token, secret).await {
            Ok((status, bytes)) if probe::accepted_forged(status, &bytes) => Probe {
                outcome: ProbeOutcome::AcceptsForged,
                detail: format!(
                    "answered a probe signed with a wrong {} as valid: it does not verify requests",
                    if self.signing_secret.is_some() {
                        "secret"
                    } else {
                        "token"
                    }
                ),
                http_status: Some(status),
            },
            _ => first,
        }
    }

    /// Sends one probe; the answer's status and body, or why there is none.
    async fn send_probe(
        &self,
        probe: &HandlerProbe,
        token: Option<&Secret>,
        secret: Option<&Secret>,
    ) -> Result<(u16, Vec<u8>), Probe> {
        let issued_at = now_rfc3339();
        let probe = probe.with_issued_at(&issued_at);
        let body = probe.to_body();
        let headers = signing::headers(
            &signing::Signed {
                body: &body,
                issued_at: &issued_at,
                proposal_id: &probe.proposal_id,
                idempotency_key: &probe.idempotency_key,
            },
            token,
            secret,
        )
        .map_err(|why| Probe::new(ProbeOutcome::BadAnswer, why))?;
        let sent = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(headers)
            .body(body)
            .timeout(self.timeout)
            .send()
            .await;
        let unreachable = |detail: String| Probe::new(ProbeOutcome::Unreachable, detail);
        let resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err(unreachable(format!(
                    "no answer within {} ms",
                    self.timeout.as_millis()
                )));
            }
            Err(e) => {
                return Err(unreachable(format!(
                    "could not connect ({})",
                    error_kind(&e)
                )));
            }
        };
        let status = resp.status().as_u16();
        match read_bounded(resp).await {
            Ok(bytes) => Ok((status, bytes)),
            Err(Read::Timeout) => Err(unreachable(format!(
                "no complete answer within {} ms",
                self.timeout.as_millis()
            ))),
            Err(Read::TooLarge) => Err(Probe::new(
                ProbeOutcome::BadAnswer,
                format!("answered more than {MAX_ANSWER_BYTES} bytes"),
            )),
            Err(Read::Broken(kind)) => Err(unreachable(format!("the connection broke ({kind})"))),
        }
    }

    async fn attempt(&self, base: &HandlerRequest) -> Attempt {
        let issued_at = now_rfc3339();
        let req = base.with_issued_at(&issued_at);
        let body = req.to_body();
        let headers = match signing::headers(
            &signing::Signed {
                body: &body,
                issued_at: &issued_at,
                proposal_id: &req.proposal_id,
                idempotency_key: &req.idempotency_key,
            },
            self.token.as_ref(),
            self.signing_secret.as_ref(),
        ) {
            Ok(h) => h,
            Err(why) => {
                return Attempt::Final(
                    codes::REQUEST_INVALID,
                    why.to_owned(),
                    AttemptEffect::Settled,
                );
            }
        };
        let sent = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(headers)
            .body(body)
            .timeout(self.timeout)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            // No connection (refused, unresolvable, TLS failed, or not up in time): the request
            // was never sent.
            Err(e) if e.is_connect() => return Attempt::NotConnected(error_kind(&e)),
            Err(e) if e.is_timeout() => return Attempt::Timeout,
            Err(e) => return Attempt::Broken(error_kind(&e)),
        };
        let status = resp.status();
        let bytes = match read_bounded(resp).await {
            Ok(b) => b,
            Err(Read::Timeout) => return Attempt::Timeout,
            Err(Read::TooLarge) => {
                return Attempt::Final(
                    codes::INVALID_RECEIPT,
                    format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                    AttemptEffect::OutcomeUnknown,
                );
            }
            Err(Read::Broken(kind)) => return Attempt::Broken(kind),
        };
        if status.is_success() {
            return Attempt::Answer(bytes);
        }
        // A handler that answers non-2xx with a receipt explains itself; keep its code in the
        // detail (the recorded code is HANDLER_HTTP_<status>, as in Synapsor Runner).
        let said = HandlerReceipt::parse(&bytes).ok();
        let explained = said
            .as_ref()
            .and_then(|r| r.safe_error_code.as_deref())
            .map(|c| format!("; the handler said {}", code_or(Some(c), codes::FAILED)))
            .unwrap_or_default();
        let code = http_status_code(status.as_u16());
        let detail = format!("answered HTTP {}{explained}", status.as_u16());
        if status.is_server_error() {
            if said.is_some_and(|r| r.status == HandlerStatus::Failed) {
                Attempt::Final(code, detail, AttemptEffect::OutcomeUnknown)
            } else {
                Attempt::Retryable(code, detail)
            }
        } else {
            Attempt::Final(code, detail, refusal_effect(status.as_u16()))
        }
    }
}

enum Attempt {
    /// The body of a 2xx answer.
    Answer(Vec<u8>),
    /// A failure not retried in this apply: code, detail, and what it proves.
    Final(ReceiptCode, String, AttemptEffect),
    /// No complete answer in time; the request may have been sent.
    Timeout,
    /// No connection was made, so nothing was sent; the kind of error, safe to show.
    NotConnected(String),
    /// The connection broke after the request may have been sent.
    Broken(String),
    /// 5xx without a definitive receipt.
    Retryable(ReceiptCode, String),
}

/// What a non-2xx, non-5xx answer proves. The handler contract refuses credentials,
/// signatures and stale timestamps (401), and a server refuses unknown paths or methods,
/// redirects and rate limits, before any write: nothing was written, and the approval stands
/// (fix the secret or URL and apply again). Other 4xx answers are about the request itself.
fn refusal_effect(status: u16) -> AttemptEffect {
    match status {
        300..=399 | 401 | 403 | 404 | 405 | 408 | 429 => AttemptEffect::NothingWritten,
        _ => AttemptEffect::Settled,
    }
}

enum Read {
    Timeout,
    TooLarge,
    Broken(String),
}

async fn read_bounded(mut resp: reqwest::Response) -> Result<Vec<u8>, Read> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(Read::TooLarge);
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) if e.is_timeout() => return Err(Read::Timeout),
            Err(e) => return Err(Read::Broken(error_kind(&e))),
        }
    }
}

/// A description of a transport error without its URL or any text from the peer: the kind of
/// the innermost I/O error when there is one.
fn error_kind(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut io_kind = None;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        source = s.source();
    }
    match io_kind {
        Some(k) => k.to_string(),
        None if e.is_connect() => "connection failed".into(),
        None if e.is_request() => "request failed".into(),
        None if e.is_body() => "connection broken while reading the answer".into(),
        None => "transport error".into(),
    }
}

#[async_trait::async_trait]
impl Executor for HttpHandler {
    fn kind(&self) -> &'static str {
        "http_handler"
    }

    async fn apply(&self, plan: &ApplyPlan<'_>, dry_run: bool) -> Outcome {
        let base = HandlerRequest::new(
            plan.job,
            plan.change_set,
            &self.name,
            &self.runner_hint,
            dry_run,
            Transport::Http,
        );
        let exp = Expected {
            executor: &self.name,
            proposal_id: &base.proposal_id,
            idempotency_key: &base.idempotency_key,
            dry_run,
        };
        let name = &self.name;
        let mut last = failed(codes::UNAVAILABLE, "no attempt was made", dry_run);
        // Whether any attempt may have reached the handler: then a failure leaves the outcome
        // unknown, never "nothing written".
        let mut maybe_sent = false;
        for attempt in 1..=self.retry.attempts {
            if attempt > 1 {
                let wait = self.retry.backoff * 2u32.saturating_pow(attempt - 2);
                tokio::time::sleep(wait).await;
            }
            let tries = if attempt == 1 {
                String::new()
            } else {
                format!(" (attempt {attempt} of {})", self.retry.attempts)
            };
            let (code, detail) = match self.attempt(&base).await {
                Attempt::Answer(bytes) => {
                    let mut o = outcome_from_answer(&bytes, &exp, &self.redactor);
                    o.detail.push_str(&tries);
                    return o;
                }
                Attempt::Final(code, detail, effect) => {
                    let effect = match effect {
                        AttemptEffect::NothingWritten if maybe_sent => {
                            AttemptEffect::OutcomeUnknown
                        }
                        e => e,
                    };
                    return failed(
                        code,
                        format!("app handler `{name}` {detail}{tries}"),
                        dry_run,
                    )
                    .with_effect(effect);
                }
                Attempt::Timeout => {
                    // Not retried: the handler may still be applying. The approval stands and
                    // the next apply sends the same idempotency key.
                    return failed(
                        codes::TIMEOUT,
                        format!(
                            "app handler `{name}` did not answer within {} ms{tries}; it may still apply the change, and a retry carries the same idempotency key",
                            self.timeout.as_millis()
                        ),
                        dry_run,
                    )
                    .with_effect(AttemptEffect::OutcomeUnknown);
                }
                Attempt::NotConnected(kind) => (
                    codes::UNAVAILABLE,
                    format!("app handler `{name}` could not be reached ({kind}){tries}"),
                ),
                Attempt::Broken(kind) => {
                    maybe_sent = true;
                    (
                        codes::UNAVAILABLE,
                        format!("app handler `{name}`: the connection broke ({kind}){tries}"),
                    )
                }
                Attempt::Retryable(code, detail) => {
                    maybe_sent = true;
                    (code, format!("app handler `{name}` {detail}{tries}"))
                }
            };
            last = failed(code, detail, dry_run).with_effect(if maybe_sent {
                AttemptEffect::OutcomeUnknown
            } else {
                AttemptEffect::NothingWritten
            });
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_tls_except_on_loopback() {
        assert!(check_url("https://billing.example/apply", false).is_ok());
        for ok in [
            "http://127.0.0.1:8787/x",
            "http://127.1.2.3/x",
            "http://localhost:1/",
            "http://[::1]:80/",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        let err = check_url("http://billing.internal/apply?token=abc", false).unwrap_err();
        assert!(err.contains("allow_insecure_http") && !err.contains("abc"));
        assert!(check_url("http://billing.internal/apply", true).is_ok());
        assert!(check_url("ftp://x/", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }

    #[test]
    fn debug_hides_url_and_secrets() {
        let cfg: ExecutorConfig = serde_json::from_value(serde_json::json!({
            "type": "http_handler", "url_env": "U",
            "auth": {"type": "bearer_env", "token_env": "T"}, "signing_secret_env": "S"
        }))
        .unwrap();
        let env: HashMap<String, String> = [
            ("U", "https://h.example/p?k=urlsecret"),
            ("T", "tokensecret"),
            ("S", "signsecret"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let h = HttpHandler::from_config("app", &cfg, &env).unwrap();
        let d = format!("{h:?}");
        for s in ["urlsecret", "tokensecret", "signsecret"] {
            assert!(!d.contains(s), "{d}");
        }
        let mut env2 = env.clone();
        env2.remove("T");
        let e = HttpHandler::from_config("app", &cfg, &env2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable T (auth.token_env of executor `app`) is not set"
        );
    }
}
