//! `executors`: app-owned writeback executors.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::{Ctx, Path, bounded_positive, env_name_hint, kind_of};
use crate::names::{is_env_name, is_safe_name};

const EXECUTOR_KEYS: &[&str] = &[
    "type",
    "url_env",
    "method",
    "auth",
    "signing_secret_env",
    "timeout_ms",
    "command_env",
    "allow_insecure_http",
];
const AUTH_KEYS: &[&str] = &["type", "token_env"];
/// Longest accepted handler timeout (10 minutes).
const MAX_HANDLER_TIMEOUT_MS: u64 = 600_000;

/// Validates `executors` and returns every declared name with its type when valid.
pub(super) fn executors<'a>(
    ctx: &mut Ctx,
    root: &'a Map<String, Value>,
    mode: Option<&str>,
) -> IndexMap<&'a str, Option<&'a str>> {
    let mut out = IndexMap::new();
    let Some(v) = root.get("executors") else {
        return out;
    };
    let path = Path::root().key("executors");
    let map = match v.as_object() {
        Some(m) if !m.is_empty() => m,
        _ => {
            ctx.error(
                "EXECUTORS_NOT_OBJECT",
                &path,
                "executors must be a non-empty object of named executors",
                "remove `executors` to apply approved changes with direct SQL, or add e.g. {\"billing_app\": {\"type\": \"http_handler\", \"url_env\": \"BILLING_HANDLER_URL\"}}",
            );
            return out;
        }
    };
    for (name, e) in map {
        let p = path.key(name);
        if !is_safe_name(name) {
            ctx.error(
                "INVALID_EXECUTOR_NAME",
                &p,
                format!("executor name `{name}` must match ^[A-Za-z_][A-Za-z0-9_.-]*$"),
                "use letters, digits, `_`, `.` and `-`, starting with a letter or underscore",
            );
        }
        out.insert(name.as_str(), executor(ctx, name, e, &p, mode));
    }
    out
}

fn executor<'a>(
    ctx: &mut Ctx,
    name: &str,
    v: &'a Value,
    p: &Path,
    mode: Option<&str>,
) -> Option<&'a str> {
    let Some(obj) = v.as_object() else {
        ctx.error(
            "EXECUTOR_NOT_OBJECT",
            p,
            format!("executor `{name}` must be an object, found {}", kind_of(v)),
            "use {\"type\": \"http_handler\", \"url_env\": \"APP_HANDLER_URL\"}",
        );
        return None;
    };
    ctx.unknown_keys(obj, EXECUTOR_KEYS, p);
    let kind = obj.get("type").and_then(Value::as_str);
    let used: &[&str] = match kind {
        Some("sql_update") => &["type"],
        Some("http_handler") => &[
            "type",
            "url_env",
            "method",
            "auth",
            "signing_secret_env",
            "timeout_ms",
            "allow_insecure_http",
        ],
        Some("command_handler") => &["type", "command_env", "timeout_ms"],
        _ => {
            ctx.error(
                "INVALID_EXECUTOR_TYPE",
                &p.key("type"),
                "executor type must be sql_update, http_handler or command_handler",
                "use http_handler to send approved changes to your app, or command_handler to run a local command",
            );
            return None;
        }
    };
    let kind = kind.expect("matched above");

    if name == "sql_update" && kind != "sql_update" {
        ctx.error(
            "EXECUTOR_NAME_RESERVED",
            p,
            "the executor name sql_update is reserved for direct SQL writeback",
            "rename this executor and update the capabilities that use it",
        );
    }

    for key in obj.keys() {
        if EXECUTOR_KEYS.contains(&key.as_str()) && !used.contains(&key.as_str()) {
            let kp = p.key(key);
            ctx.warning(
                "EXECUTOR_FIELD_IGNORED",
                &kp,
                format!("{key} is not used by a {kind} executor"),
                format!("remove `{key}`"),
            );
            ctx.strip.push(kp);
        }
    }

    if kind == "http_handler" {
        if !obj
            .get("url_env")
            .and_then(Value::as_str)
            .is_some_and(is_env_name)
        {
            ctx.error(
                "HANDLER_URL_ENV_REQUIRED",
                &p.key("url_env"),
                "an http_handler needs url_env naming the environment variable with the handler URL",
                env_name_hint(obj.get("url_env"), "APP_HANDLER_URL"),
            );
        }
        if obj
            .get("method")
            .is_some_and(|m| !matches!(m.as_str(), Some("POST" | "PUT" | "PATCH")))
        {
            ctx.error(
                "INVALID_HANDLER_METHOD",
                &p.key("method"),
                "method must be POST, PUT or PATCH",
                "use \"POST\" (the default) or remove the key",
            );
        }
        if let Some(a) = obj.get("auth") {
            auth(ctx, a, &p.key("auth"));
        }
        if obj
            .get("allow_insecure_http")
            .is_some_and(|v| !v.is_boolean())
        {
            ctx.error(
                "INVALID_ALLOW_INSECURE_HTTP",
                &p.key("allow_insecure_http"),
                "allow_insecure_http must be true or false",
                "remove the key to require https for hosts other than loopback",
            );
        }
        if let Some(s) = obj
            .get("signing_secret_env")
            .filter(|s| !s.as_str().is_some_and(is_env_name))
        {
            ctx.error(
                "HANDLER_SIGNING_SECRET_ENV_INVALID",
                &p.key("signing_secret_env"),
                "signing_secret_env must name an environment variable",
                env_name_hint(Some(s), "APP_HANDLER_SIGNING_SECRET"),
            );
        }
    }
    if kind == "command_handler"
        && !obj
            .get("command_env")
            .and_then(Value::as_str)
            .is_some_and(is_env_name)
    {
        ctx.error(
            "COMMAND_ENV_REQUIRED",
            &p.key("command_env"),
            "a command_handler needs command_env naming the environment variable with the command",
            env_name_hint(obj.get("command_env"), "APP_APPLY_COMMAND"),
        );
    }
    if kind != "sql_update" {
        if obj
            .get("timeout_ms")
            .is_some_and(|t| bounded_positive(t, MAX_HANDLER_TIMEOUT_MS).is_none())
        {
            ctx.error(
                "INVALID_HANDLER_TIMEOUT",
                &p.key("timeout_ms"),
                format!(
                    "timeout_ms must be a positive integer no larger than {MAX_HANDLER_TIMEOUT_MS}"
                ),
                "use milliseconds, e.g. 5000 (the default), or remove the key",
            );
        }
        if mode == Some("read_only") {
            ctx.error(
                "EXECUTOR_INVALID_IN_READ_ONLY",
                p,
                format!("a {kind} executor cannot be used in read_only mode"),
                "remove the executor, or switch mode to review to let people approve proposals",
            );
        }
    }
    Some(kind)
}

fn auth(ctx: &mut Ctx, v: &Value, p: &Path) {
    let Some(obj) = v.as_object() else {
        ctx.error(
            "EXECUTOR_AUTH_NOT_OBJECT",
            p,
            format!("auth must be an object, found {}", kind_of(v)),
            "use {\"type\": \"bearer_env\", \"token_env\": \"APP_HANDLER_TOKEN\"}",
        );
        return;
    };
    ctx.unknown_keys(obj, AUTH_KEYS, p);
    if obj.get("type").and_then(Value::as_str) != Some("bearer_env") {
        ctx.error(
            "INVALID_EXECUTOR_AUTH",
            &p.key("type"),
            "auth type must be bearer_env (the only kind of handler auth in config version 1)",
            "set \"type\": \"bearer_env\"; sign requests with signing_secret_env for stronger checks",
        );
    }
    if !obj
        .get("token_env")
        .and_then(Value::as_str)
        .is_some_and(is_env_name)
    {
        ctx.error(
            "EXECUTOR_TOKEN_ENV_REQUIRED",
            &p.key("token_env"),
            "bearer_env auth needs token_env naming the environment variable with the token",
            env_name_hint(obj.get("token_env"), "APP_HANDLER_TOKEN"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{parse, validate};
    use serde_json::{Value, json};

    fn with_executor(e: Value) -> Value {
        let mut doc = valid();
        set(&mut doc, "/executors", json!({ "app_handler": e }));
        set(
            &mut doc,
            &format!("{PROPOSAL}/executor"),
            json!("app_handler"),
        );
        doc
    }

    fn http() -> Value {
        json!({
            "type": "http_handler",
            "url_env": "APP_HANDLER_URL",
            "method": "POST",
            "auth": {"type": "bearer_env", "token_env": "APP_HANDLER_TOKEN"},
            "signing_secret_env": "APP_HANDLER_SECRET",
            "timeout_ms": 5000
        })
    }

    #[test]
    fn http_and_command_handlers_are_valid() {
        let r = validate(&with_executor(http()));
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
        let doc = with_executor(
            json!({"type": "command_handler", "command_env": "APP_CMD", "timeout_ms": 100}),
        );
        let r = validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
        let (cfg, _) = parse(&doc).unwrap();
        assert_eq!(cfg.capabilities[1].executor_name(), "app_handler");
    }

    #[test]
    fn executors_not_object() {
        let mut doc = valid();
        set(&mut doc, "/executors", json!({}));
        only_error(&doc, "EXECUTORS_NOT_OBJECT", "$.executors");
    }

    #[test]
    fn invalid_executor_name() {
        let mut doc = with_executor(http());
        set(&mut doc, "/executors/-bad", http());
        only_error(&doc, "INVALID_EXECUTOR_NAME", "$.executors.-bad");
    }

    #[test]
    fn executor_not_object() {
        only_error(
            &with_executor(json!("http")),
            "EXECUTOR_NOT_OBJECT",
            "$.executors.app_handler",
        );
    }

    #[test]
    fn invalid_executor_type_stops_further_checks() {
        only_error(
            &with_executor(json!({"type": "lambda", "url_env": 3})),
            "INVALID_EXECUTOR_TYPE",
            "$.executors.app_handler.type",
        );
    }

    #[test]
    fn executor_name_reserved() {
        let mut doc = valid();
        set(&mut doc, "/executors", json!({ "sql_update": http() }));
        only_error(&doc, "EXECUTOR_NAME_RESERVED", "$.executors.sql_update");
    }

    #[test]
    fn executor_field_ignored_is_stripped() {
        let doc = with_executor(
            json!({"type": "command_handler", "command_env": "APP_CMD", "url_env": 5}),
        );
        only_warning(
            &doc,
            "EXECUTOR_FIELD_IGNORED",
            "$.executors.app_handler.url_env",
        );
        let (cfg, _) = parse(&doc).unwrap();
        assert!(cfg.executors.unwrap()["app_handler"].url_env.is_none());
    }

    #[test]
    fn handler_url_env_required() {
        let mut e = http();
        e["url_env"] = json!("https://app.example/apply");
        only_error(
            &with_executor(e),
            "HANDLER_URL_ENV_REQUIRED",
            "$.executors.app_handler.url_env",
        );
    }

    #[test]
    fn invalid_handler_method() {
        let mut e = http();
        e["method"] = json!("DELETE");
        only_error(
            &with_executor(e),
            "INVALID_HANDLER_METHOD",
            "$.executors.app_handler.method",
        );
    }

    #[test]
    fn executor_auth_not_object() {
        let mut e = http();
        e["auth"] = json!("bearer");
        only_error(
            &with_executor(e),
            "EXECUTOR_AUTH_NOT_OBJECT",
            "$.executors.app_handler.auth",
        );
    }

    #[test]
    fn invalid_executor_auth() {
        let mut e = http();
        e["auth"]["type"] = json!("oauth");
        only_error(
            &with_executor(e),
            "INVALID_EXECUTOR_AUTH",
            "$.executors.app_handler.auth.type",
        );
    }

    #[test]
    fn executor_token_env_required() {
        let mut e = http();
        e["auth"] = json!({"type": "bearer_env"});
        only_error(
            &with_executor(e),
            "EXECUTOR_TOKEN_ENV_REQUIRED",
            "$.executors.app_handler.auth.token_env",
        );
    }

    #[test]
    fn handler_signing_secret_env_invalid() {
        let mut e = http();
        e["signing_secret_env"] = json!("");
        only_error(
            &with_executor(e),
            "HANDLER_SIGNING_SECRET_ENV_INVALID",
            "$.executors.app_handler.signing_secret_env",
        );
    }

    #[test]
    fn invalid_handler_timeout() {
        let mut e = http();
        e["timeout_ms"] = json!(0);
        only_error(
            &with_executor(e),
            "INVALID_HANDLER_TIMEOUT",
            "$.executors.app_handler.timeout_ms",
        );
    }

    #[test]
    fn allow_insecure_http_is_an_http_handler_boolean() {
        let mut e = http();
        e["allow_insecure_http"] = json!(true);
        let doc = with_executor(e.clone());
        let r = validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
        let (cfg, _) = parse(&doc).unwrap();
        assert_eq!(
            cfg.executors.unwrap()["app_handler"].allow_insecure_http,
            Some(true)
        );
        e["allow_insecure_http"] = json!("yes");
        only_error(
            &with_executor(e),
            "INVALID_ALLOW_INSECURE_HTTP",
            "$.executors.app_handler.allow_insecure_http",
        );
        only_warning(
            &with_executor(
                json!({"type": "command_handler", "command_env": "APP_CMD", "allow_insecure_http": true}),
            ),
            "EXECUTOR_FIELD_IGNORED",
            "$.executors.app_handler.allow_insecure_http",
        );
    }

    #[test]
    fn command_env_required() {
        only_error(
            &with_executor(json!({"type": "command_handler"})),
            "COMMAND_ENV_REQUIRED",
            "$.executors.app_handler.command_env",
        );
    }

    #[test]
    fn executor_invalid_in_read_only() {
        let mut doc = with_executor(http());
        set(&mut doc, "/mode", json!("read_only"));
        only_error(
            &doc,
            "EXECUTOR_INVALID_IN_READ_ONLY",
            "$.executors.app_handler",
        );
    }
}
