//! `--check-handlers`: each app-owned handler answers a signed no-op probe
//! (`airlock_protocol::handler::HandlerProbe`, nothing applied): an HTTP handler over its URL
//! with the executor's token and signatures, and then a probe signed with a wrong secret that it
//! must refuse; a command handler with the probe on stdin.

use airlock_config::{Config, ExecutorKind};
use airlock_writeback::command_handler::CommandHandler;
use airlock_writeback::http_handler::HttpHandler;
use airlock_writeback::probe::{Probe, ProbeOutcome};
use serde_json::json;

use super::check::{Check, Code};
use crate::settings::Settings;

pub async fn checks(settings: &Settings, config: &Config, probe: bool, out: &mut Vec<Check>) {
    let handlers: Vec<_> = config
        .executors
        .iter()
        .flatten()
        .filter(|(_, e)| e.kind != ExecutorKind::SqlUpdate)
        .collect();
    if handlers.is_empty() {
        return;
    }
    for (name, e) in &handlers {
        if e.kind != ExecutorKind::HttpHandler || e.signing_secret_env.is_some() {
            continue;
        }
        out.push(if e.auth.is_none() {
            Check::fail(
                Code::HandlerUnauthenticated,
                format!("handler:{name}:signing"),
                format!("http_handler `{name}` has neither auth nor signing_secret_env: anyone who reaches its URL can apply changes"),
                "add signing_secret_env (and auth.token_env) and give the handler the same values; every template refuses to start without one",
            )
        } else {
            Check::warn(
                Code::HandlerUnsigned,
                format!("handler:{name}:signing"),
                format!("http_handler `{name}` has no signing_secret_env: requests carry only the bearer token"),
                "add signing_secret_env so the handler can verify each request's HMAC (recommended unless loopback-only)",
            )
        });
    }
    if !probe {
        out.push(Check::warn(
            Code::HandlersNotChecked,
            "handlers",
            format!("{} app-owned handler(s) not probed", handlers.len()),
            "rerun with --check-handlers (sends each a signed probe that writes nothing)",
        ));
        return;
    }
    for (name, e) in handlers {
        let capabilities: Vec<&str> = config
            .capabilities
            .iter()
            .filter(|c| c.executor_name() == name.as_str())
            .map(|c| c.name.as_str())
            .collect();
        let (kind, probe) = match e.kind {
            ExecutorKind::HttpHandler => match HttpHandler::from_config(name, e, &settings.env) {
                Err(_) => continue, // a missing variable was reported by the env checks
                Ok(h) => ("http_handler", h.probe().await),
            },
            ExecutorKind::CommandHandler => {
                match CommandHandler::from_config(name, e, &settings.env) {
                    Err(_) => continue,
                    Ok(h) => ("command_handler", h.probe().await),
                }
            }
            ExecutorKind::SqlUpdate => continue,
        };
        let data = json!({
            "capabilities": capabilities,
            "probe": probe.outcome,
            "http_status": probe.http_status,
        });
        out.push(check(name, kind, &probe).data(data));
    }
}

/// The finding for one probe: every outcome has its own code.
fn check(name: &str, kind: &str, p: &Probe) -> Check {
    let what = format!("handler:{name}");
    let message = format!("{kind} `{name}` {}", p.detail);
    let (code, hint) = match p.outcome {
        ProbeOutcome::Ok => return Check::pass(Code::HandlerProbeOk, what, message),
        ProbeOutcome::Unreachable => (
            Code::HandlerUnreachable,
            "start the handler, or fix the URL in its url_env; approved proposals cannot be applied meanwhile",
        ),
        ProbeOutcome::NotRunnable => (
            Code::HandlerNotExecutable,
            "fix the program in its command_env, or make it executable",
        ),
        ProbeOutcome::SignatureRefused => (
            Code::HandlerSignatureRefused,
            "give the handler the same token and signing secret the executor's variables hold (the templates read AIRLOCK_HANDLER_TOKEN and AIRLOCK_HANDLER_SIGNING_SECRET)",
        ),
        ProbeOutcome::IssuedAtRefused => (
            Code::HandlerClockRefused,
            "synchronise the clocks of this machine and the handler's (NTP); requests are refused outside its freshness window",
        ),
        ProbeOutcome::ProtocolMismatch => (
            Code::HandlerProtocolMismatch,
            "update the handler (or Airlock) so both speak handler protocol 1.0 (docs/handlers.md)",
        ),
        ProbeOutcome::Unsupported => (
            Code::HandlerProbeUnsupported,
            "answer probes (`kind: \"probe\"`, docs/handlers.md): regenerate it with `airlock handler template`, or add the few lines the templates use",
        ),
        ProbeOutcome::BadAnswer => (
            Code::HandlerBadAnswer,
            "check the handler follows docs/handlers.md: it must answer a verified probe with {\"kind\":\"probe\",\"status\":\"ok\",\"probe_id\":…} and write nothing",
        ),
        ProbeOutcome::AcceptsForged => (
            Code::HandlerAcceptsForged,
            "make the handler verify the bearer token and X-Airlock-Signature before anything else (airlock-handler's Verifier, or the templates)",
        ),
    };
    if p.outcome == ProbeOutcome::Unsupported {
        Check::warn(code, what, message, hint)
    } else {
        Check::fail(code, what, message, hint)
    }
}
