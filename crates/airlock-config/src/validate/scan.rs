//! Forbidden-content scan over the whole document, at any depth and whatever `strict` says:
//! keys that would hold a database URL or SQL text, and values that are secret material.

use serde_json::Value;

use super::{Ctx, Path};
use crate::names::{
    INLINE_URL_KEYS, SQL_KEYS, ends_with_secret_word, is_env_key, looks_like_secret_url,
    looks_like_secret_value,
};

pub(super) fn forbidden(ctx: &mut Ctx, v: &Value, path: &Path) {
    match v {
        Value::Object(m) => {
            for (key, child) in m {
                let p = path.key(key);
                // A forbidden key is reported once; its value is not scanned again.
                let secret_string = child.as_str().is_some_and(|s| !s.is_empty())
                    && !is_env_key(key)
                    && ends_with_secret_word(key);
                if INLINE_URL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                    inline_url(ctx, &p);
                } else if SQL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                    ctx.error(
                        "ARBITRARY_SQL_FORBIDDEN",
                        &p,
                        format!("`{key}` is not allowed: a config never contains SQL text, and neither do model arguments"),
                        "describe the read with target, lookup and visible_columns, and the change with patch; Airlock writes the SQL",
                    );
                } else if secret_string {
                    inline_secret(ctx, &p);
                } else {
                    forbidden(ctx, child, &p);
                }
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                forbidden(ctx, child, &path.index(i));
            }
        }
        Value::String(s) => {
            if looks_like_secret_url(s) {
                inline_url(ctx, path);
            } else if looks_like_secret_value(s) {
                inline_secret(ctx, path);
            }
        }
        _ => {}
    }
}

fn inline_url(ctx: &mut Ctx, p: &Path) {
    ctx.error(
        "INLINE_DATABASE_URL_FORBIDDEN",
        p,
        "database URLs must not be stored in the config",
        "put the URL in an environment variable and reference it by name with read_url_env or write_url_env",
    );
}

fn inline_secret(ctx: &mut Ctx, p: &Path) {
    ctx.error(
        "INLINE_SECRET_FORBIDDEN",
        p,
        "secret material (a password, token or private key) must not be stored in the config",
        "put it in an environment variable and reference it by name with a *_env key",
    );
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate;
    use serde_json::json;

    #[test]
    fn inline_database_url_key() {
        let mut doc = valid();
        set(
            &mut doc,
            &format!("{READ}/args/database_url"),
            json!({"type": "string"}),
        );
        only_error(
            &doc,
            "INLINE_DATABASE_URL_FORBIDDEN",
            "$.capabilities[0].args.database_url",
        );
    }

    #[test]
    fn inline_database_url_value_anywhere() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app/ssl",
            json!({"note": "mysql://root@db:3306/app"}),
        );
        only_error(
            &doc,
            "INLINE_DATABASE_URL_FORBIDDEN",
            "$.sources.app.ssl.note",
        );
    }

    #[test]
    fn arbitrary_sql_key_even_as_arg_name() {
        let mut doc = valid();
        set(
            &mut doc,
            &format!("{READ}/args/sql"),
            json!({"type": "string"}),
        );
        only_error(
            &doc,
            "ARBITRARY_SQL_FORBIDDEN",
            "$.capabilities[0].args.sql",
        );
    }

    #[test]
    fn forbidden_keys_are_found_at_any_depth() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/ssl", json!({"x": [{"rawSql": 1}]}));
        only_error(
            &doc,
            "ARBITRARY_SQL_FORBIDDEN",
            "$.sources.app.ssl.x[0].rawSql",
        );
    }

    #[test]
    fn inline_secret_by_key_or_value() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app/ssl",
            json!({"client_key_password": "hunter2"}),
        );
        only_error(
            &doc,
            "INLINE_SECRET_FORBIDDEN",
            "$.sources.app.ssl.client_key_password",
        );
        set(
            &mut doc,
            "/sources/app/ssl",
            json!({"key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}),
        );
        only_error(&doc, "INLINE_SECRET_FORBIDDEN", "$.sources.app.ssl.key");
    }

    #[test]
    fn env_names_and_claim_names_are_not_secrets() {
        let mut doc = valid();
        set(
            &mut doc,
            "/trusted_context",
            json!({"provider": "http_claims", "values": {"token_claim": "sub", "tenant_claim": "org"}}),
        );
        let r = validate(&doc);
        assert!(r.ok, "{r:#?}");
    }
}
