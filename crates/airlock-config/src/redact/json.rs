//! Redaction of a JSON document (`airlock config show --redacted`, handler `details`): hide
//! secret material, keep everything a reader needs.
//!
//! Unlike the original, which redacted by key name and so hid env-var *names*
//! (`read_url_env`, `token_env`) and even `primary_key`/`tenant_key`, this replaces only real
//! secret material with `"<redacted>"`:
//! - any string that is a database URL (`postgres://`, `mysql://`, `mariadb://`, …) or a URL
//!   carrying a password (`scheme://user:pass@host`);
//! - bearer/basic credentials, PEM private keys and the original's `syn_wbr_` tokens;
//! - every string under a key named like a secret (password, secret, token, api_key,
//!   credential, …), unless the key ends in `_env` (then the value is a variable name).
//!
//! Keys are never changed, and the document keeps its shape.

use serde_json::{Map, Value};

use super::REDACTED;
use crate::names::{is_env_key, is_secret_name, looks_like_secret_url, looks_like_secret_value};

/// A copy of `doc` with secret material replaced by `"<redacted>"`.
pub fn redacted(doc: &Value) -> Value {
    walk(doc, false)
}

fn walk(v: &Value, under_secret_key: bool) -> Value {
    match v {
        Value::String(s) => {
            if (under_secret_key && !s.is_empty())
                || looks_like_secret_url(s)
                || looks_like_secret_value(s)
            {
                Value::String(REDACTED.to_owned())
            } else {
                v.clone()
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, under_secret_key)).collect()),
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, child) in m {
                let secret = if is_env_key(k) {
                    false
                } else {
                    under_secret_key || is_secret_key(k)
                };
                out.insert(k.clone(), walk(child, secret));
            }
            Value::Object(out)
        }
        _ => v.clone(),
    }
}

fn is_secret_key(k: &str) -> bool {
    is_secret_name(k) || k.eq_ignore_ascii_case("authorization")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_env_names_and_identifiers() {
        let doc = json!({
            "sources": {"app": {"engine": "postgres", "read_url_env": "APP_READ_URL", "write_url_env": "APP_WRITE_URL"}},
            "executors": {"h": {"type": "http_handler", "url_env": "H_URL",
                "auth": {"type": "bearer_env", "token_env": "H_TOKEN"}, "signing_secret_env": "H_SECRET"}},
            "capabilities": [{"target": {"table": "t", "primary_key": "id", "tenant_key": "tenant_id"},
                "visible_columns": ["id", "api_key_last4"]}]
        });
        assert_eq!(redacted(&doc), doc);
    }

    #[test]
    fn redacts_connection_urls_anywhere() {
        let doc = json!({
            "a": "postgres://u:p@db/app",
            "b": "postgresql://db/app",
            "c": ["MYSQL://root@h/x", "mariadb://h/x"],
            "d": {"e": "https://user:pw@example.com/hook"},
            "f": "https://example.com/docs",
            "g": "https://user@example.com"
        });
        assert_eq!(
            redacted(&doc),
            json!({
                "a": REDACTED, "b": REDACTED, "c": [REDACTED, REDACTED],
                "d": {"e": REDACTED},
                "f": "https://example.com/docs", "g": "https://user@example.com"
            })
        );
    }

    #[test]
    fn redacts_bearer_tokens_and_private_keys() {
        let doc = json!({
            "header": "Bearer eyJhbGciOi",
            "pem": "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----",
            "cert": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----",
            "auth_type": "bearer_env"
        });
        assert_eq!(
            redacted(&doc),
            json!({"header": REDACTED, "pem": REDACTED,
                   "cert": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----",
                   "auth_type": "bearer_env"})
        );
    }

    #[test]
    fn redacts_values_under_secret_keys_but_not_env_names() {
        let doc = json!({
            "password": "hunter2",
            "db_password_env": "DB_PASSWORD",
            "client_secret": "abc",
            "api_key": "k",
            "token": "t",
            "credentials": {"user": "u", "pass": "p", "cert_env": "CERT"},
            "tokens": ["a", "b"],
            "secret_count": 3,
            "Authorization": "Basic dXNlcjpwYXNz",
            "empty_password": ""
        });
        assert_eq!(
            redacted(&doc),
            json!({
                "password": REDACTED,
                "db_password_env": "DB_PASSWORD",
                "client_secret": REDACTED,
                "api_key": REDACTED,
                "token": REDACTED,
                "credentials": {"user": REDACTED, "pass": REDACTED, "cert_env": "CERT"},
                "tokens": [REDACTED, REDACTED],
                "secret_count": 3,
                "Authorization": REDACTED,
                "empty_password": ""
            })
        );
    }

    #[test]
    fn an_env_key_holding_a_url_is_still_redacted() {
        let doc = json!({"read_url_env": "postgres://u:p@h/db"});
        assert_eq!(redacted(&doc), json!({"read_url_env": REDACTED}));
    }

    #[test]
    fn example_configs_are_unchanged() {
        for (name, doc) in crate::schema::tests::all_examples("redaction of the original examples")
        {
            assert_eq!(redacted(&doc), doc, "{name}");
        }
    }
}
