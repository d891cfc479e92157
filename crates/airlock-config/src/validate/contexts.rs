//! `contexts` and `trusted_context`: where tenant and principal come from.

use serde_json::{Map, Value};

use super::{Ctx, Path, env_name_hint, kind_of, non_empty_str};
use crate::names::{is_env_name, is_safe_name};

const CONTEXT_KEYS: &[&str] = &["provider", "values"];
const PROVIDERS: &[&str] = &["static_dev", "environment", "http_claims", "cloud_session"];

/// Validates `contexts` and returns the declared names (`None` when there is no usable
/// `contexts` object).
pub(super) fn contexts<'a>(
    ctx: &mut Ctx,
    root: &'a Map<String, Value>,
    mode: Option<&str>,
) -> Option<Vec<&'a str>> {
    let v = root.get("contexts")?;
    let path = Path::root().key("contexts");
    let map = match v.as_object() {
        Some(m) if !m.is_empty() => m,
        _ => {
            ctx.error(
                "CONTEXTS_NOT_OBJECT",
                &path,
                "contexts must be a non-empty object of named trusted contexts",
                "add a context such as {\"local_operator\": {\"provider\": \"environment\"}} or remove `contexts`",
            );
            return None;
        }
    };
    let mut names = Vec::with_capacity(map.len());
    for (name, c) in map {
        let p = path.key(name);
        if !is_safe_name(name) {
            ctx.error(
                "INVALID_CONTEXT_NAME",
                &p,
                format!("context name `{name}` must match ^[A-Za-z_][A-Za-z0-9_.-]*$"),
                "use letters, digits, `_`, `.` and `-`, starting with a letter or underscore",
            );
        }
        context(ctx, c, &p, mode);
        names.push(name.as_str());
    }
    Some(names)
}

pub(super) fn trusted_context(ctx: &mut Ctx, root: &Map<String, Value>, mode: Option<&str>) {
    let path = Path::root().key("trusted_context");
    if let Some(v) = root.get("trusted_context") {
        context(ctx, v, &path, mode);
        return;
    }
    if mode == Some("cloud") {
        return;
    }
    let every_capability_names_one = root.get("contexts").is_some_and(Value::is_object)
        && root
            .get("capabilities")
            .and_then(Value::as_array)
            .is_some_and(|caps| {
                !caps.is_empty()
                    && caps
                        .iter()
                        .all(|c| non_empty_str(c.get("context")).is_some())
            });
    if !every_capability_names_one {
        ctx.error(
            "TRUSTED_CONTEXT_REQUIRED",
            &path,
            "no trusted_context is configured, and not every capability names a context",
            "add \"trusted_context\": {\"provider\": \"environment\", \"values\": {\"tenant_id_env\": \"APP_TENANT_ID\", \"principal_env\": \"APP_PRINCIPAL\"}}",
        );
    }
}

/// One `{provider, values}` object.
fn context(ctx: &mut Ctx, v: &Value, path: &Path, mode: Option<&str>) {
    let Some(obj) = v.as_object() else {
        ctx.error(
            "CONTEXT_NOT_OBJECT",
            path,
            format!("a trusted context must be an object, found {}", kind_of(v)),
            "use {\"provider\": \"environment\", \"values\": {\"tenant_id_env\": \"APP_TENANT_ID\", \"principal_env\": \"APP_PRINCIPAL\"}}",
        );
        return;
    };
    ctx.unknown_keys(obj, CONTEXT_KEYS, path);
    let provider = obj
        .get("provider")
        .and_then(Value::as_str)
        .filter(|p| PROVIDERS.contains(p));
    match provider {
        None => ctx.error(
            "INVALID_CONTEXT_PROVIDER",
            &path.key("provider"),
            "provider must be static_dev, environment, http_claims or cloud_session",
            "use \"environment\" to read tenant and principal from environment variables, or \"http_claims\" behind an authenticating proxy",
        ),
        Some("cloud_session") if mode != Some("cloud") => ctx.error(
            "CLOUD_SESSION_UNSUPPORTED",
            &path.key("provider"),
            "provider cloud_session needs Synapsor Cloud, which Airlock does not use",
            "use \"environment\" or \"http_claims\"",
        ),
        Some(_) => {}
    }

    let values_path = path.key("values");
    let values = match obj.get("values") {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            ctx.error(
                "CONTEXT_VALUES_NOT_OBJECT",
                &values_path,
                format!("values must be an object, found {}", kind_of(other)),
                "use {\"tenant_id_env\": \"APP_TENANT_ID\", \"principal_env\": \"APP_PRINCIPAL\"} or remove `values`",
            );
            None
        }
    };
    if let Some(values) = values {
        for (key, example) in [
            ("tenant_id_env", "APP_TENANT_ID"),
            ("principal_env", "APP_PRINCIPAL"),
        ] {
            if let Some(v) = values
                .get(key)
                .filter(|v| !v.as_str().is_some_and(is_env_name))
            {
                ctx.error(
                    "INVALID_CONTEXT_ENV",
                    &values_path.key(key),
                    format!("{key} must name an environment variable"),
                    env_name_hint(Some(v), example),
                );
            }
        }
        let mut literal_keys = vec!["tenant_id", "principal"];
        if provider == Some("http_claims") {
            literal_keys.extend(["tenant_claim", "principal_claim"]);
        }
        for key in literal_keys {
            if values.contains_key(key) && non_empty_str(values.get(key)).is_none() {
                ctx.error(
                    "INVALID_CONTEXT_VALUE",
                    &values_path.key(key),
                    format!("{key} must be a non-empty string"),
                    format!("set {key} to a string or remove it"),
                );
            }
        }
        if provider == Some("environment") {
            for key in ["tenant_id", "principal"] {
                if values.contains_key(key) {
                    ctx.warning(
                        "CONTEXT_LITERAL_IGNORED",
                        &values_path.key(key),
                        format!("the environment provider ignores a literal {key}"),
                        format!(
                            "remove it and set the variable named by {key}_env (default {}) instead",
                            if key == "tenant_id" {
                                crate::env_vars::SYNAPSOR_TENANT_ID
                            } else {
                                crate::env_vars::SYNAPSOR_PRINCIPAL
                            }
                        ),
                    );
                }
            }
        }
    }

    if provider == Some("static_dev") {
        let has = |a: &str, b: &str| values.is_some_and(|m| m.contains_key(a) || m.contains_key(b));
        if !(has("tenant_id", "tenant_id_env") && has("principal", "principal_env")) {
            ctx.error(
                "STATIC_DEV_VALUES_REQUIRED",
                &values_path,
                "static_dev needs tenant_id or tenant_id_env, and principal or principal_env",
                "add \"values\": {\"tenant_id\": \"tenant_demo\", \"principal\": \"dev@example.com\"}",
            );
        }
        ctx.warning(
            "STATIC_DEV_CONTEXT",
            &path.key("provider"),
            "static_dev is for local demos only: every call runs as the same fixed tenant and principal",
            "use the environment or http_claims provider for shared or production deployments",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate;
    use serde_json::json;

    fn named_contexts() -> serde_json::Value {
        let mut doc = valid();
        let tc = doc["trusted_context"].clone();
        set(&mut doc, "/contexts", json!({ "local_operator": tc }));
        doc
    }

    #[test]
    fn contexts_not_object() {
        for v in [json!({}), json!([]), json!("x")] {
            let mut doc = valid();
            set(&mut doc, "/contexts", v);
            only_error(&doc, "CONTEXTS_NOT_OBJECT", "$.contexts");
        }
    }

    #[test]
    fn invalid_context_name() {
        let mut doc = named_contexts();
        let c = doc["contexts"]["local_operator"].clone();
        set(&mut doc, "/contexts/9ops", c);
        only_error(&doc, "INVALID_CONTEXT_NAME", "$.contexts.9ops");
    }

    #[test]
    fn context_not_object() {
        let mut doc = named_contexts();
        set(&mut doc, "/contexts/local_operator", json!("environment"));
        only_error(&doc, "CONTEXT_NOT_OBJECT", "$.contexts.local_operator");
    }

    #[test]
    fn invalid_context_provider() {
        let mut doc = valid();
        set(&mut doc, "/trusted_context/provider", json!("jwt"));
        only_error(
            &doc,
            "INVALID_CONTEXT_PROVIDER",
            "$.trusted_context.provider",
        );
    }

    #[test]
    fn cloud_session_unsupported() {
        let mut doc = valid();
        set(
            &mut doc,
            "/trusted_context/provider",
            json!("cloud_session"),
        );
        only_error(
            &doc,
            "CLOUD_SESSION_UNSUPPORTED",
            "$.trusted_context.provider",
        );
    }

    #[test]
    fn context_values_not_object() {
        let mut doc = valid();
        set(
            &mut doc,
            "/trusted_context/values",
            json!(["APP_TENANT_ID"]),
        );
        only_error(
            &doc,
            "CONTEXT_VALUES_NOT_OBJECT",
            "$.trusted_context.values",
        );
    }

    #[test]
    fn invalid_context_env() {
        let mut doc = valid();
        set(
            &mut doc,
            "/trusted_context/values/principal_env",
            json!("principal"),
        );
        only_error(
            &doc,
            "INVALID_CONTEXT_ENV",
            "$.trusted_context.values.principal_env",
        );
    }

    #[test]
    fn invalid_context_value() {
        let mut doc = valid();
        set(&mut doc, "/trusted_context/provider", json!("http_claims"));
        set(
            &mut doc,
            "/trusted_context/values",
            json!({"tenant_claim": 7, "audience": 1}),
        );
        only_error(
            &doc,
            "INVALID_CONTEXT_VALUE",
            "$.trusted_context.values.tenant_claim",
        );
    }

    #[test]
    fn http_claims_accepts_claim_names_and_other_keys() {
        let mut doc = valid();
        set(
            &mut doc,
            "/trusted_context",
            json!({"provider": "http_claims", "values": {"tenant_claim": "org", "principal_claim": "email", "issuer": "x"}}),
        );
        let r = validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
        let (cfg, _) = super::super::parse(&doc).unwrap();
        let values = cfg.trusted_context.unwrap().values.unwrap();
        assert_eq!(values.extra["tenant_claim"], json!("org"));
    }

    #[test]
    fn context_literal_ignored_by_environment_provider() {
        let mut doc = valid();
        set(&mut doc, "/trusted_context/values/tenant_id", json!("t1"));
        only_warning(
            &doc,
            "CONTEXT_LITERAL_IGNORED",
            "$.trusted_context.values.tenant_id",
        );
    }

    #[test]
    fn static_dev_values_required() {
        let mut doc = valid();
        set(
            &mut doc,
            "/trusted_context",
            json!({"provider": "static_dev", "values": {"tenant_id": "t1"}}),
        );
        let r = validate(&doc);
        assert_eq!(
            codes(&r.errors),
            [("STATIC_DEV_VALUES_REQUIRED", "$.trusted_context.values")]
        );
        assert_eq!(
            codes(&r.warnings),
            [("STATIC_DEV_CONTEXT", "$.trusted_context.provider")]
        );
    }

    #[test]
    fn static_dev_context_warns() {
        let mut doc = valid();
        set(
            &mut doc,
            "/trusted_context",
            json!({"provider": "static_dev", "values": {"tenant_id": "t1", "principal_env": "DEV_USER"}}),
        );
        only_warning(&doc, "STATIC_DEV_CONTEXT", "$.trusted_context.provider");
    }

    #[test]
    fn trusted_context_required() {
        let mut doc = valid();
        remove(&mut doc, "/trusted_context");
        only_error(&doc, "TRUSTED_CONTEXT_REQUIRED", "$.trusted_context");
    }

    #[test]
    fn named_contexts_can_replace_trusted_context() {
        let mut doc = named_contexts();
        remove(&mut doc, "/trusted_context");
        set(&mut doc, "/capabilities/0/context", json!("local_operator"));
        only_error(&doc, "TRUSTED_CONTEXT_REQUIRED", "$.trusted_context");
        set(&mut doc, "/capabilities/1/context", json!("local_operator"));
        let r = validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
    }
}
