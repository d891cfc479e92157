//! JSON Schema (draft 2020-12) of the config file, generated from [`crate::Config`].
//!
//! The schema is editor help and documentation: it describes shape and types. Cross-field rules
//! (references, tenant guards, patch ⊆ allowed_columns, reserved argument names, …) are only
//! checked by [`crate::validate()`].

use serde_json::Value;

use crate::Config;

/// The config's JSON Schema, for `airlock config schema`.
pub fn json_schema() -> Value {
    let mut schema = schemars::schema_for!(Config).to_value();
    absent_not_null(&mut schema);
    schema
}

/// serde reads `null` as an absent `Option`, so schemars lets every optional property be
/// `null`; the validator does not (`"strict": null` is `INVALID_STRICT`). Drop the `null`
/// alternative from property schemas so editors flag it too. Properties typed as any JSON value
/// (`fixed`, `ssl`, `evidence`, …) have no `type` and keep accepting `null`.
fn absent_not_null(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                props.values_mut().for_each(drop_null_alternative);
            }
            m.values_mut().for_each(absent_not_null);
        }
        Value::Array(a) => a.iter_mut().for_each(absent_not_null),
        _ => {}
    }
}

fn drop_null_alternative(prop: &mut Value) {
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(any)) = obj.get_mut("anyOf") {
        any.retain(|s| s.get("type").and_then(Value::as_str) != Some("null"));
        if let [Value::Object(only)] = any.as_slice() {
            let only = only.clone();
            obj.remove("anyOf");
            for (k, v) in only {
                obj.entry(k).or_insert(v);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// Our example apps (`examples/configs/<name>/airlock.json`).
    pub(crate) const EXAMPLES: [&str; 4] = [
        "parcels-mysql",
        "tutoring-handler-postgres",
        "studio-postgres",
        "garden-sqlite",
    ];

    /// The original's example apps, read from `../shared/conformance` by the compatibility
    /// tier.
    const ORIGINAL_EXAMPLES: [&str; 4] = [
        "mcp-mysql-orders",
        "mcp-postgres-billing-app-handler",
        "mcp-postgres-support",
        "support-billing-agent",
    ];

    pub(crate) fn example(name: &str) -> Value {
        let dir = airlock_testkit::repo_root()
            .join("examples/configs")
            .join(name);
        airlock_testkit::read_json(&dir, "airlock.json")
    }

    /// Our examples, then (compatibility tier, when `../shared/conformance` is present) the
    /// original's, by name.
    pub(crate) fn all_examples(what: &str) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = EXAMPLES
            .iter()
            .map(|n| (n.to_string(), example(n)))
            .collect();
        if let Some(dir) = airlock_testkit::shared_conformance(what) {
            for name in ORIGINAL_EXAMPLES {
                let file = format!("examples/{name}/synapsor.runner.json");
                out.push((
                    format!("original {name}"),
                    airlock_testkit::read_json(&dir, &file),
                ));
            }
        }
        out
    }

    fn validator() -> jsonschema::Validator {
        jsonschema::validator_for(&json_schema()).expect("the schema itself is valid")
    }

    fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
        v.iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    #[test]
    fn schema_is_draft_2020_12_with_a_title() {
        let s = json_schema();
        assert_eq!(
            s["$schema"],
            json!("https://json-schema.org/draft/2020-12/schema")
        );
        assert!(
            s["title"]
                .as_str()
                .unwrap()
                .contains("synapsor.runner.json")
        );
        assert_eq!(s["additionalProperties"], json!(false));
    }

    #[test]
    fn schema_accepts_all_example_configs() {
        let v = validator();
        for (name, doc) in all_examples("config schema vs the original examples") {
            assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{name}");
        }
    }

    #[test]
    fn schema_accepts_the_validation_fixture_and_a_null_fixed_value() {
        let v = validator();
        let mut doc = crate::validate::fixtures::valid();
        assert_eq!(errors(&v, &doc), Vec::<String>::new());
        doc["capabilities"][1]["patch"]["status"] = json!({"fixed": null});
        assert_eq!(errors(&v, &doc), Vec::<String>::new());
    }

    #[test]
    fn schema_rejects_null_for_optional_typed_fields_only() {
        let v = validator();
        let mut doc = example(EXAMPLES[0]);
        doc["strict"] = json!(null);
        assert!(!v.is_valid(&doc));
        let mut doc = example(EXAMPLES[0]);
        doc["storage"] = json!(null);
        assert!(!v.is_valid(&doc));
        let mut doc = example(EXAMPLES[0]);
        doc["sources"]["depot_mysql"]["ssl"] = json!(null);
        assert!(v.is_valid(&doc));
        let s = json_schema();
        assert_eq!(
            s["properties"]["storage"],
            json!({"$ref": "#/$defs/Storage", "description": "Where the ledger lives."})
        );
    }

    #[test]
    fn schema_states_the_simple_rules_validation_checks() {
        let v = validator();
        let cases: [(&str, Value); 6] = [
            ("/version", json!(2)),
            ("/result_format", json!(3)),
            ("/capabilities/0/name", json!("depot.inspect.parcel")),
            ("/capabilities/0/target/table", json!("parcels; drop")),
            (
                "/sources/depot_mysql/read_url_env",
                json!("mysql://root@db/app"),
            ),
            (
                "/capabilities/1/patch/hold_note",
                json!({"fixed": "x", "from_arg": "note"}),
            ),
        ];
        for (pointer, value) in cases {
            let mut doc = example(EXAMPLES[0]);
            crate::validate::fixtures::set(&mut doc, pointer, value);
            assert!(!v.is_valid(&doc), "{pointer}");
        }
        let mut doc = example(EXAMPLES[0]);
        let src = doc["sources"]["depot_mysql"].clone();
        doc["sources"]["app-db"] = src;
        assert!(!v.is_valid(&doc));
    }

    #[test]
    fn schema_rejects_unknown_keys_and_wrong_types() {
        let v = validator();
        let mut doc = example(EXAMPLES[0]);
        doc["sql"] = json!("select 1");
        assert!(!v.is_valid(&doc));
        let mut doc = example(EXAMPLES[0]);
        doc["mode"] = json!("write");
        assert!(!v.is_valid(&doc));
        let mut doc = example(EXAMPLES[0]);
        doc["capabilities"][0]["args"]["tracking_code"]["type"] = json!("date");
        assert!(!v.is_valid(&doc));
    }
}
