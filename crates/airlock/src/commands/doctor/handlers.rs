//! `--check-handlers`: each app-owned handler answers (one `OPTIONS` request, no body, no
//! credentials, nothing applied) or its program is executable (not run).

use airlock_config::{Config, ExecutorKind};
use airlock_writeback::command_handler::CommandHandler;
use airlock_writeback::http_handler::HttpHandler;
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
        if e.kind == ExecutorKind::HttpHandler && e.signing_secret_env.is_none() {
            out.push(Check::warn(
                Code::HandlerUnsigned,
                format!("handler:{name}:signing"),
                format!("http_handler `{name}` has no signing_secret_env: requests carry only the bearer token"),
                "add signing_secret_env so the handler can verify each request's HMAC (recommended unless loopback-only)",
            ));
        }
    }
    if !probe {
        out.push(Check::warn(
            Code::HandlersNotChecked,
            "handlers",
            format!("{} app-owned handler(s) not probed", handlers.len()),
            "rerun with --check-handlers",
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
        let check = format!("handler:{name}");
        let data = json!({"capabilities": capabilities});
        let c = match e.kind {
            ExecutorKind::HttpHandler => match HttpHandler::from_config(name, e, &settings.env) {
                Err(_) => continue, // a missing variable was reported by the env checks
                Ok(h) => {
                    let p = h.probe().await;
                    if p.reachable {
                        Check::pass(
                            Code::HandlerReachable,
                            check,
                            format!("http_handler `{name}` {}", p.detail),
                        )
                    } else {
                        Check::fail(
                            Code::HandlerUnreachable,
                            check,
                            format!("http_handler `{name}` is down: {}", p.detail),
                            "start the handler, or fix the URL in its url_env; approved proposals cannot be applied meanwhile",
                        )
                    }
                }
            },
            ExecutorKind::CommandHandler => {
                match CommandHandler::from_config(name, e, &settings.env) {
                    Err(_) => continue,
                    Ok(h) => {
                        let p = h.probe();
                        if p.runnable {
                            Check::pass(
                                Code::HandlerRunnable,
                                check,
                                format!("command_handler `{name}`: {}", p.detail),
                            )
                        } else {
                            Check::fail(
                                Code::HandlerNotExecutable,
                                check,
                                format!("command_handler `{name}`: {}", p.detail),
                                "fix the program in its command_env, or make it executable",
                            )
                        }
                    }
                }
            }
            ExecutorKind::SqlUpdate => continue,
        };
        out.push(c.data(data));
    }
}
