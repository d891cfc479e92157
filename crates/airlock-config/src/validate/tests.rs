use super::fixtures::*;
use super::*;
use serde_json::json;

#[test]
fn fixture_is_valid_without_warnings() {
    let r = validate(&valid());
    assert!(r.ok, "{r:#?}");
    assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:#?}");
    parse(&valid()).expect("fixture parses");
}

#[test]
fn config_not_object() {
    for doc in [json!([]), json!("x"), json!(null), json!(1)] {
        let r = validate(&doc);
        assert_eq!(codes(&r.errors), [("CONFIG_NOT_OBJECT", "$")]);
        assert!(r.warnings.is_empty());
    }
}

#[test]
fn unknown_top_level_field_is_an_error_with_a_suggestion() {
    let mut doc = valid();
    set(&mut doc, "/capabilites", json!([]));
    let r = only_error(&doc, "UNKNOWN_FIELD", "$.capabilites");
    assert!(
        r.errors[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("`capabilities`")
    );
}

#[test]
fn strict_false_turns_unknown_fields_into_warnings_and_parse_strips_them() {
    let mut doc = valid();
    set(&mut doc, "/strict", json!(false));
    set(&mut doc, "/extra", json!(1));
    set(&mut doc, "/sources/app/note", json!("x"));
    set(&mut doc, "/capabilities/0/target/owner", json!("x"));
    let r = validate(&doc);
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        codes(&r.warnings),
        [
            ("UNKNOWN_FIELD", "$.extra"),
            ("UNKNOWN_FIELD", "$.sources.app.note"),
            ("UNKNOWN_FIELD", "$.capabilities[0].target.owner"),
        ]
    );
    let (config, warnings) = parse(&doc).expect("parses after stripping");
    assert_eq!(warnings.len(), 3);
    assert_eq!(config.strict, Some(false));
}

#[test]
fn strict_false_still_runs_the_forbidden_scan() {
    let mut doc = valid();
    set(&mut doc, "/strict", json!(false));
    set(&mut doc, "/sources/app/url", json!("x"));
    let r = validate(&doc);
    assert_eq!(
        codes(&r.errors),
        [("INLINE_DATABASE_URL_FORBIDDEN", "$.sources.app.url")]
    );
    assert_eq!(codes(&r.warnings), [("UNKNOWN_FIELD", "$.sources.app.url")]);
}

#[test]
fn invalid_strict() {
    let mut doc = valid();
    set(&mut doc, "/strict", json!("no"));
    only_error(&doc, "INVALID_STRICT", "$.strict");
}

#[test]
fn unsupported_version() {
    for v in [json!(2), json!("1"), json!(null)] {
        let mut doc = valid();
        set(&mut doc, "/version", v);
        only_error(&doc, "UNSUPPORTED_CONFIG_VERSION", "$.version");
    }
    let mut doc = valid();
    remove(&mut doc, "/version");
    only_error(&doc, "UNSUPPORTED_CONFIG_VERSION", "$.version");
}

#[test]
fn invalid_result_format() {
    let mut doc = valid();
    set(&mut doc, "/result_format", json!(3));
    only_error(&doc, "INVALID_RESULT_FORMAT", "$.result_format");
    set(&mut doc, "/result_format", json!(2));
    assert!(validate(&doc).ok);
}

#[test]
fn invalid_mode() {
    let mut doc = valid();
    set(&mut doc, "/mode", json!("write"));
    only_error(&doc, "INVALID_MODE", "$.mode");
}

#[test]
fn cloud_mode_is_unsupported_but_its_block_is_still_checked() {
    let mut doc = valid();
    set(&mut doc, "/mode", json!("cloud"));
    set(
        &mut doc,
        "/cloud",
        json!({"base_url_env": "SYNAPSOR_CLOUD_URL", "runner_token_env": "SYNAPSOR_RUNNER_TOKEN", "adapter_id": "ad_1"}),
    );
    only_error(&doc, "CLOUD_MODE_UNSUPPORTED", "$.mode");

    remove(&mut doc, "/cloud/adapter_id");
    let r = validate(&doc);
    assert_eq!(
        codes(&r.errors),
        [
            ("CLOUD_MODE_UNSUPPORTED", "$.mode"),
            ("CLOUD_ADAPTER_ID_REQUIRED", "$.cloud.adapter_id"),
        ]
    );
}

#[test]
fn many_problems_are_reported_together_in_section_order() {
    let doc = json!({
        "version": 2,
        "mode": "write",
        "bogus": true,
        "sources": {"app": {"engine": "oracle", "url": "postgres://u:p@h/db"}},
        "trusted_context": {"provider": "magic"},
        "capabilities": [
            {"name": "nodot", "kind": "read", "source": "missing",
             "target": {"table": "t", "primary_key": "id"},
             "args": {"tenant_id": {"type": "string"}},
             "lookup": {"id_from_arg": "nope"},
             "visible_columns": ["id", "api_key"],
             "sql": "select 1"}
        ]
    });
    let r = validate(&doc);
    assert!(!r.ok);
    assert_style(&r);
    let got: Vec<&str> = r.errors.iter().map(|i| i.code).collect();
    assert_eq!(
        got,
        [
            "UNKNOWN_FIELD",
            "UNSUPPORTED_CONFIG_VERSION",
            "INVALID_MODE",
            "UNKNOWN_FIELD",
            "INVALID_SOURCE_ENGINE",
            "READ_URL_ENV_REQUIRED",
            "INVALID_CONTEXT_PROVIDER",
            "UNKNOWN_FIELD",
            "INVALID_CAPABILITY_NAME",
            "UNKNOWN_SOURCE",
            "TENANT_GUARD_REQUIRED",
            "MODEL_CONTROLLED_RESERVED_ARG",
            "LOOKUP_ARG_UNDECLARED",
            "SECRET_COLUMN_VISIBLE",
            "INLINE_DATABASE_URL_FORBIDDEN",
            "ARBITRARY_SQL_FORBIDDEN",
        ],
        "{:#?}",
        r.errors
    );
    assert!(parse(&doc).is_err());
}

#[test]
fn every_issue_has_a_hint_and_serializes_it() {
    let doc = json!({"version": 1, "mode": "review", "sources": {}});
    let r = validate(&doc);
    assert!(!r.errors.is_empty());
    for i in r.errors.iter().chain(&r.warnings) {
        assert!(i.hint.as_deref().is_some_and(|h| !h.is_empty()), "{i:?}");
    }
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["ok"], json!(false));
    assert!(v["errors"][0]["hint"].is_string());
    assert_eq!(
        r.errors[0].to_string(),
        format!("$.sources SOURCES_REQUIRED: {}", r.errors[0].message)
    );
}

#[test]
fn example_configs_validate_cleanly_and_parse() {
    for (name, doc) in crate::schema::tests::all_examples("validation of the original examples") {
        let r = validate(&doc);
        assert!(r.errors.is_empty(), "{name}: {:#?}", r.errors);
        // The examples name approval roles but declare no Airlock operators: the only
        // warning is that nobody could approve yet.
        assert!(
            r.warnings.iter().all(|w| w.code == "OPERATORS_MISSING"),
            "{name}: {:#?}",
            r.warnings
        );
        let (config, warnings) = parse(&doc).unwrap_or_else(|r| panic!("{name}: {r:#?}"));
        assert!(warnings.iter().all(|w| w.code == "OPERATORS_MISSING"));
        assert_eq!(config.version, 1);
        assert!(!config.capabilities.is_empty());
        // The typed config also deserializes directly (nothing needed stripping) ...
        serde_json::from_value::<Config>(doc.clone()).unwrap();
        // ... and serializes back to a document that is still valid.
        let round_trip = serde_json::to_value(&config).unwrap();
        let r = validate(&round_trip);
        assert!(
            r.ok && r.warnings.iter().all(|w| w.code == "OPERATORS_MISSING"),
            "{name}: {r:#?}"
        );
    }
}

/// Accepted documents beyond the examples: each must also deserialize.
#[test]
fn accepted_variants_parse() {
    let mut variants = vec![valid()];
    let mut doc = valid();
    set(
        &mut doc,
        "/sources/app",
        json!({"engine": "sqlite", "path": "./a.db", "statement_timeout_ms": 10, "read_only": false, "ssl": null}),
    );
    set(
        &mut doc,
        "/trusted_context",
        json!({"provider": "static_dev", "values": {"tenant_id": "t", "principal": "p", "note": [1]}}),
    );
    set(&mut doc, "/result_format", json!(2));
    set(&mut doc, "/storage", json!({"sqlite_path": "./l.db"}));
    set(&mut doc, "/capabilities/0/evidence", json!("required"));
    set(
        &mut doc,
        "/capabilities/0/single_tenant_dev_ack",
        json!({"any": "thing"}),
    );
    set(
        &mut doc,
        "/capabilities/1/conflict_guard",
        json!({"weak_guard_ack": true}),
    );
    set(
        &mut doc,
        "/capabilities/1/args/note",
        json!({"type": "boolean", "required": false, "description": "d"}),
    );
    variants.push(doc);
    let mut doc = valid();
    set(&mut doc, "/strict", json!(false));
    set(&mut doc, "/capabilities/1/approval/extra", json!(1));
    set(&mut doc, "/capabilities/1/patch/status/extra", json!(1));
    set(&mut doc, "/trusted_context/extra", json!(1));
    variants.push(doc);
    for doc in variants {
        let r = validate(&doc);
        assert!(r.ok, "{r:#?}");
        parse(&doc).unwrap_or_else(|r| panic!("{r:#?}"));
    }
}

/// Replaces or removes every value of every example with values of other types and checks
/// the invariant behind `parse`: whatever `validate` accepts deserializes into `Config`.
#[test]
fn validation_never_accepts_what_serde_rejects() {
    fn paths(v: &Value, here: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    let p = format!("{here}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(p.clone());
                    paths(c, p, out);
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    let p = format!("{here}/{i}");
                    out.push(p.clone());
                    paths(c, p, out);
                }
            }
            _ => {}
        }
    }
    let replacements = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(4_294_967_296_u64),
        json!(""),
        json!("x"),
        json!("APP_X"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"x": 1}),
    ];
    let mut docs: Vec<Value> =
        crate::schema::tests::all_examples("shape errors on the original examples")
            .into_iter()
            .map(|(_, doc)| doc)
            .collect();
    docs.push(valid());
    let mut checked = 0;
    for base in &docs {
        let mut all = Vec::new();
        paths(base, String::new(), &mut all);
        for p in &all {
            let (parent, key) = p.rsplit_once('/').unwrap();
            let mut removed = base.clone();
            if let Some(m) = removed.pointer_mut(parent).and_then(Value::as_object_mut) {
                m.shift_remove(key);
                assert_no_shape_error(&removed, p);
                checked += 1;
            }
            for r in &replacements {
                let mut doc = base.clone();
                *doc.pointer_mut(p).unwrap() = r.clone();
                assert_no_shape_error(&doc, p);
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}

#[track_caller]
fn assert_no_shape_error(doc: &Value, changed: &str) {
    let r = validate(doc);
    assert_style(&r);
    assert!(
        !r.errors.iter().any(|i| i.code == "CONFIG_SHAPE_INVALID"),
        "changing {changed} slipped past validation: {:#?}",
        r.errors
    );
    if r.ok {
        assert!(parse(doc).is_ok(), "{changed}");
    }
}

#[test]
fn config_shape_invalid_is_reported_if_deserialization_ever_fails() {
    let (r, config) = check_with(&valid(), |_| {
        serde_json::from_value::<Config>(json!({"version": "one"}))
    });
    assert!(config.is_none());
    assert!(!r.ok);
    assert_eq!(codes(&r.errors), [("CONFIG_SHAPE_INVALID", "$")]);
    assert!(r.errors[0].message.contains("invalid type"));
    assert!(r.errors[0].hint.is_some());
}

#[test]
fn paths_render_like_the_original() {
    let p = Path::root()
        .key("capabilities")
        .index(3)
        .key("args")
        .key("foo");
    assert_eq!(p.to_string(), "$.capabilities[3].args.foo");
    let mut doc = json!({"capabilities": [{}, {}, {}, {"args": {"foo": 1, "bar": 2}}]});
    p.remove_from(&mut doc);
    assert_eq!(doc["capabilities"][3]["args"], json!({"bar": 2}));
}
