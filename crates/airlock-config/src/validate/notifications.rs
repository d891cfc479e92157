//! `notifications` (Airlock extension): where ledger events are delivered.
//!
//! ```json
//! "notifications": {
//!   "review_url": "http://127.0.0.1:8700",
//!   "webhooks": {
//!     "billing_channel": { "url_env": "BILLING_SLACK_WEBHOOK_URL", "format": "slack" },
//!     "ops_hook": { "url_env": "OPS_HOOK_URL", "signing_secret_env": "OPS_HOOK_SECRET",
//!                   "kinds": ["*"], "tenants": ["acme"] }
//!   }
//! }
//! ```
//! URLs and secrets are environment variable names only: a Slack incoming-webhook URL is
//! itself a credential.

use serde_json::{Map, Value};

use super::{Ctx, Path, bounded_positive, env_name_hint, kind_of, non_empty_str};
use crate::event_kinds::{ALL_EVENT_KINDS, EVENT_KINDS};
use crate::names::{closest, is_env_name, is_safe_name};

const NOTIFICATION_KEYS: &[&str] = &["review_url", "webhooks"];
const WEBHOOK_KEYS: &[&str] = &[
    "url_env",
    "format",
    "signing_secret_env",
    "token_env",
    "kinds",
    "tenants",
    "timeout_ms",
];
/// Keys people write when they mean the `_env` form; refused with a pointed hint.
const INLINE_SECRET_KEYS: &[&str] = &["url", "signing_secret", "secret", "token"];
/// Longest accepted webhook timeout (one minute).
const MAX_TIMEOUT_MS: u64 = 60_000;
/// More destinations than this is a mistake (each is a task and a row of delivery state).
const MAX_WEBHOOKS: usize = 32;
/// Longest accepted `review_url`, and the most entries of `kinds` or `tenants`.
const MAX_URL_LEN: usize = 2048;
const MAX_LIST: usize = 64;
const MAX_TENANT_LEN: usize = 256;

pub(super) fn notifications(ctx: &mut Ctx, root: &Map<String, Value>) {
    let Some(v) = root.get("notifications") else {
        return;
    };
    let path = Path::root().key("notifications");
    let Some(obj) = v.as_object() else {
        ctx.error(
            "NOTIFICATIONS_NOT_OBJECT",
            &path,
            format!("notifications must be an object, found {}", kind_of(v)),
            "use {\"webhooks\": {\"team_channel\": {\"url_env\": \"TEAM_WEBHOOK_URL\", \"format\": \"slack\"}}}",
        );
        return;
    };
    ctx.unknown_keys(obj, NOTIFICATION_KEYS, &path);
    if let Some(u) = obj.get("review_url") {
        review_url(ctx, u, &path.key("review_url"));
    }
    let Some(w) = obj.get("webhooks") else {
        return;
    };
    let wp = path.key("webhooks");
    let Some(map) = w.as_object() else {
        ctx.error(
            "WEBHOOKS_NOT_OBJECT",
            &wp,
            format!(
                "webhooks must be an object of name → webhook, found {}",
                kind_of(w)
            ),
            "use {\"team_channel\": {\"url_env\": \"TEAM_WEBHOOK_URL\"}}",
        );
        return;
    };
    if map.len() > MAX_WEBHOOKS {
        ctx.error(
            "TOO_MANY_WEBHOOKS",
            &wp,
            format!(
                "{} webhooks are declared; at most {MAX_WEBHOOKS} are accepted",
                map.len()
            ),
            "send events to one receiver that fans them out",
        );
        return;
    }
    for (name, hook) in map {
        let p = wp.key(name);
        if !is_safe_name(name) || name.len() > 64 {
            ctx.error(
                "INVALID_WEBHOOK_NAME",
                &p,
                "a webhook name must match ^[A-Za-z_][A-Za-z0-9_.-]*$ and be at most 64 characters",
                "name it after where it goes, e.g. billing_channel",
            );
        }
        webhook(ctx, hook, &p);
    }
}

fn review_url(ctx: &mut Ctx, v: &Value, p: &Path) {
    let ok = v.as_str().is_some_and(|u| {
        u.len() <= MAX_URL_LEN
            && (u.starts_with("http://") || u.starts_with("https://"))
            && u.len() > "https://".len()
            && !u.chars().any(|c| c.is_whitespace() || c.is_control())
            && !u.contains(['?', '#', '@'])
    });
    if !ok {
        ctx.error(
            "INVALID_REVIEW_URL",
            p,
            format!(
                "review_url must be an http(s) URL of at most {MAX_URL_LEN} characters without credentials, query or fragment"
            ),
            "use the address reviewers open `airlock ui` at, e.g. \"http://127.0.0.1:8700\"",
        );
    }
}

fn webhook(ctx: &mut Ctx, v: &Value, p: &Path) {
    let Some(obj) = v.as_object() else {
        ctx.error(
            "WEBHOOK_NOT_OBJECT",
            p,
            format!("a webhook must be an object, found {}", kind_of(v)),
            "use {\"url_env\": \"TEAM_WEBHOOK_URL\", \"format\": \"slack\"}",
        );
        return;
    };
    for key in INLINE_SECRET_KEYS {
        if obj.contains_key(*key) {
            ctx.error(
                "WEBHOOK_SECRET_INLINE",
                &p.key(key),
                format!("`{key}` would put a URL or secret in the config file"),
                format!(
                    "export it as an environment variable and name the variable in `{key}_env`"
                ),
            );
        }
    }
    let known: Vec<&str> = WEBHOOK_KEYS
        .iter()
        .chain(INLINE_SECRET_KEYS)
        .copied()
        .collect();
    ctx.unknown_keys(obj, &known, p);
    if !obj
        .get("url_env")
        .and_then(Value::as_str)
        .is_some_and(is_env_name)
    {
        ctx.error(
            "WEBHOOK_URL_ENV_REQUIRED",
            &p.key("url_env"),
            "a webhook needs url_env naming the environment variable with its URL",
            env_name_hint(obj.get("url_env"), "TEAM_WEBHOOK_URL"),
        );
    }
    for key in ["signing_secret_env", "token_env"] {
        if let Some(v) = obj.get(key)
            && !v.as_str().is_some_and(is_env_name)
        {
            ctx.error(
                "INVALID_ENV_NAME",
                &p.key(key),
                format!("{key} must name an environment variable"),
                env_name_hint(Some(v), "TEAM_WEBHOOK_SECRET"),
            );
        }
    }
    if let Some(f) = obj.get("format")
        && !matches!(f.as_str(), Some("json" | "slack"))
    {
        ctx.error(
            "INVALID_WEBHOOK_FORMAT",
            &p.key("format"),
            "format must be json or slack",
            "use \"slack\" for a Slack-compatible incoming webhook, or leave it out for the signed JSON body",
        );
    }
    if let Some(k) = obj.get("kinds") {
        kinds(ctx, k, &p.key("kinds"));
    }
    if let Some(t) = obj.get("tenants") {
        let ok = t.as_array().is_some_and(|a| {
            a.len() <= MAX_LIST
                && a.iter()
                    .all(|x| non_empty_str(Some(x)).is_some_and(|s| s.len() <= MAX_TENANT_LEN))
        });
        if !ok {
            ctx.error(
                "INVALID_WEBHOOK_TENANTS",
                &p.key("tenants"),
                format!("tenants must be a list of at most {MAX_LIST} non-empty tenant ids"),
                "list the tenants this destination hears about, e.g. [\"acme\"], or leave it out for all",
            );
        }
    }
    if let Some(t) = obj.get("timeout_ms")
        && bounded_positive(t, MAX_TIMEOUT_MS).is_none()
    {
        ctx.error(
            "INVALID_WEBHOOK_TIMEOUT",
            &p.key("timeout_ms"),
            format!("timeout_ms must be a whole number from 1 to {MAX_TIMEOUT_MS}"),
            "leave it out for 5000",
        );
    }
}

fn kinds(ctx: &mut Ctx, v: &Value, p: &Path) {
    let Some(list) = v
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= MAX_LIST)
    else {
        ctx.error(
            "INVALID_WEBHOOK_KINDS",
            p,
            format!(
                "kinds must be a non-empty list of at most {MAX_LIST} event kinds, found {}",
                kind_of(v)
            ),
            "use e.g. [\"proposal_created\"], [\"*\"] for every event, or leave it out for the review events",
        );
        return;
    };
    for (i, k) in list.iter().enumerate() {
        let word = k.as_str().unwrap_or("");
        if word == ALL_EVENT_KINDS || EVENT_KINDS.contains(&word) {
            continue;
        }
        let hint = match closest(word, EVENT_KINDS) {
            Some(c) => format!("did you mean `{c}`? kinds: {}", EVENT_KINDS.join(", ")),
            None => format!("use \"*\" or one of: {}", EVENT_KINDS.join(", ")),
        };
        ctx.error(
            "UNKNOWN_EVENT_KIND",
            &p.index(i),
            format!("`{}` is not an event kind", truncated(k)),
            hint,
        );
    }
}

/// A value for a message, cut short so an oversize value cannot flood the report.
fn truncated(v: &Value) -> String {
    let s = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::validate;
    use crate::validate::fixtures::{assert_style, codes, only_error, set, valid};

    fn with(notifications: serde_json::Value) -> serde_json::Value {
        let mut doc = valid();
        set(&mut doc, "/notifications", notifications);
        doc
    }

    #[test]
    fn a_full_block_parses_into_types() {
        let doc = with(json!({
            "review_url": "http://127.0.0.1:8700",
            "webhooks": {
                "billing_channel": {"url_env": "BILLING_HOOK_URL", "format": "slack"},
                "ops": {"url_env": "OPS_URL", "signing_secret_env": "OPS_SECRET",
                        "token_env": "OPS_TOKEN", "kinds": ["*"], "tenants": ["acme"],
                        "timeout_ms": 2000}
            }
        }));
        let (config, warnings) = crate::parse(&doc).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let n = config.notifications.unwrap();
        assert_eq!(n.webhooks.len(), 2);
        assert_eq!(
            n.webhooks["billing_channel"].format,
            crate::WebhookFormat::Slack
        );
        assert_eq!(n.webhooks["ops"].timeout_ms, Some(2000));
        // Absent: no notifications at all, and configs without the block still parse.
        assert!(crate::parse(&valid()).unwrap().0.notifications.is_none());
    }

    #[test]
    fn each_bad_value_has_its_own_code() {
        let hook = |v: serde_json::Value| with(json!({"webhooks": {"h": v}}));
        only_error(
            &with(json!("yes")),
            "NOTIFICATIONS_NOT_OBJECT",
            "$.notifications",
        );
        only_error(
            &with(json!({"webhooks": []})),
            "WEBHOOKS_NOT_OBJECT",
            "$.notifications.webhooks",
        );
        only_error(
            &hook(json!({})),
            "WEBHOOK_URL_ENV_REQUIRED",
            "$.notifications.webhooks.h.url_env",
        );
        only_error(
            &hook(json!({"url_env": "lower case"})),
            "WEBHOOK_URL_ENV_REQUIRED",
            "$.notifications.webhooks.h.url_env",
        );
        only_error(
            &hook(json!({"url_env": "U", "format": "teams"})),
            "INVALID_WEBHOOK_FORMAT",
            "$.notifications.webhooks.h.format",
        );
        only_error(
            &hook(json!({"url_env": "U", "kinds": ["proposal_craeted"]})),
            "UNKNOWN_EVENT_KIND",
            "$.notifications.webhooks.h.kinds[0]",
        );
        only_error(
            &hook(json!({"url_env": "U", "kinds": "proposal_created"})),
            "INVALID_WEBHOOK_KINDS",
            "$.notifications.webhooks.h.kinds",
        );
        only_error(
            &hook(json!({"url_env": "U", "timeout_ms": 0})),
            "INVALID_WEBHOOK_TIMEOUT",
            "$.notifications.webhooks.h.timeout_ms",
        );
        only_error(
            &hook(json!({"url_env": "U", "timeout_ms": "5s"})),
            "INVALID_WEBHOOK_TIMEOUT",
            "$.notifications.webhooks.h.timeout_ms",
        );
        only_error(
            &hook(json!({"url_env": "U", "signing_secret_env": 7})),
            "INVALID_ENV_NAME",
            "$.notifications.webhooks.h.signing_secret_env",
        );
        only_error(
            &hook(json!({"url_env": "U", "tenants": [""]})),
            "INVALID_WEBHOOK_TENANTS",
            "$.notifications.webhooks.h.tenants",
        );
        only_error(
            &with(json!({"review_url": "javascript:alert(1)"})),
            "INVALID_REVIEW_URL",
            "$.notifications.review_url",
        );
        only_error(
            &with(json!({"review_url": "http://host/?session=1"})),
            "INVALID_REVIEW_URL",
            "$.notifications.review_url",
        );
        only_error(
            &with(json!({"webhooks": {"bad name": {"url_env": "U"}}})),
            "INVALID_WEBHOOK_NAME",
            "$.notifications.webhooks.bad name",
        );
        only_error(
            &with(json!({"webhook": {}})),
            "UNKNOWN_FIELD",
            "$.notifications.webhook",
        );
    }

    #[test]
    fn oversize_and_inline_secrets_are_refused() {
        let long = "x".repeat(5000);
        only_error(
            &with(json!({"review_url": format!("http://{long}")})),
            "INVALID_REVIEW_URL",
            "$.notifications.review_url",
        );
        let many: serde_json::Map<String, serde_json::Value> = (0..40)
            .map(|i| (format!("h{i}"), json!({"url_env": "U"})))
            .collect();
        only_error(
            &with(json!({"webhooks": many})),
            "TOO_MANY_WEBHOOKS",
            "$.notifications.webhooks",
        );
        let r = only_error(
            &with(json!({"webhooks": {"h": {"url_env": "U", "kinds": [long]}}})),
            "UNKNOWN_EVENT_KIND",
            "$.notifications.webhooks.h.kinds[0]",
        );
        assert!(r.errors[0].message.len() < 200, "{}", r.errors[0].message);
        let r = validate(&with(json!({"webhooks": {"h": {
            "url_env": "U",
            "url": "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXX"
        }}})));
        assert_style(&r);
        assert!(
            codes(&r.errors).contains(&("WEBHOOK_SECRET_INLINE", "$.notifications.webhooks.h.url")),
            "{:#?}",
            r.errors
        );
    }
}
