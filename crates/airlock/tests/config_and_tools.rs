//! `config` and `tools` commands on real runs, as snapshots. These need no database.

mod common;

use common::{EXAMPLES, airlock, examples_dir, scrub};

#[test]
fn every_conformance_example_validates() {
    for name in EXAMPLES {
        let dir = examples_dir().join(name);
        let run = airlock(
            &dir,
            &["config", "validate", "--config", "synapsor.runner.json"],
            &[],
        );
        assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
        insta::assert_snapshot!(format!("validate_{name}"), scrub(&run.stdout, &dir));
    }
}

#[test]
fn every_conformance_example_lists_its_tools() {
    for name in EXAMPLES {
        let dir = examples_dir().join(name);
        let run = airlock(
            &dir,
            &[
                "tools",
                "list",
                "--config",
                "synapsor.runner.json",
                "--aliases",
            ],
            &[],
        );
        assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
        insta::assert_snapshot!(format!("tools_{name}"), scrub(&run.stdout, &dir));
        // The JSON form is the tools/list contract: snapshot it whole.
        let run = airlock(
            &dir,
            &[
                "tools",
                "list",
                "--config",
                "synapsor.runner.json",
                "--json",
            ],
            &[],
        );
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(v["ok"], true);
        insta::assert_json_snapshot!(format!("tools_json_{name}"), v["tools"]);
    }
}

#[test]
fn the_exported_schema_accepts_every_example() {
    let dir = tempfile::tempdir().unwrap();
    let run = airlock(dir.path(), &["config", "schema"], &[]);
    assert_eq!(run.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for name in EXAMPLES {
        let text = std::fs::read_to_string(examples_dir().join(name).join("synapsor.runner.json"))
            .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

const BAD: &str = r#"{
  "version": 1,
  "mode": "review",
  "sources": {"app": {"engine": "postgres", "read_url_env": "APP_URL", "database_url": "postgres://u:p@h/db"}},
  "trusted_context": {"provider": "environment"},
  "capabilities": [{
    "name": "billing.propose_fee",
    "kind": "proposal",
    "source": "app",
    "target": {"schema": "public", "table": "invoices", "primary_key": "id"},
    "args": {"invoice_id": {"type": "string"}, "tenant_id": {"type": "string"}},
    "lookup": {"id_from_arg": "invoice_id"},
    "visible_columns": ["id", "late_fee_cents", "waiver_reason"],
    "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"fixed": "x"}, "id": {"fixed": "x"}},
    "allowed_columns": ["late_fee_cents"],
    "conflict_guard": {"column": "updated_at"}
  }]
}"#;

#[test]
fn an_invalid_config_reports_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("airlock.json"), BAD).unwrap();
    let run = airlock(dir.path(), &["config", "validate"], &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    insta::assert_snapshot!("validate_invalid", scrub(&run.stdout, dir.path()));
    let run = airlock(dir.path(), &["config", "validate", "--json"], &[]);
    assert_eq!(run.code, 2);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let codes: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    for expected in [
        "INLINE_DATABASE_URL_FORBIDDEN",
        "MODEL_CONTROLLED_RESERVED_ARG",
        "TENANT_GUARD_REQUIRED",
        "PATCH_COLUMN_NOT_ALLOWED",
        "PATCH_TARGETS_KEY_COLUMN",
    ] {
        assert!(
            codes.contains(&expected),
            "{expected} missing from {codes:?}"
        );
    }
    // Commands that need a valid config refuse it with the same exit code.
    let run = airlock(dir.path(), &["tools", "list"], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("config invalid"), "{}", run.stderr);
}

#[test]
fn a_missing_config_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = airlock(dir.path(), &["tools", "list"], &[]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("missing_config", scrub(&run.stderr, dir.path()));
    let run = airlock(
        dir.path(),
        &["config", "validate", "--config", "nope.json"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("nope.json"), "{}", run.stderr);
}

#[test]
fn malformed_json_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("airlock.json"),
        "{\n  \"version\": 1,\n  \"mode\": \n}",
    )
    .unwrap();
    let run = airlock(dir.path(), &["config", "validate"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("line 4"), "{}", run.stderr);
}

#[test]
fn config_show_redacted_hides_secrets_but_keeps_env_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("airlock.json"),
        r#"{"version":1,"mode":"review","sources":{"app":{"engine":"postgres","read_url_env":"APP_URL","ssl":{"note":"postgres://admin:hunter2@db/prod"}}}}"#,
    )
    .unwrap();
    let run = airlock(dir.path(), &["config", "show", "--redacted"], &[]);
    assert_eq!(run.code, 0);
    assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
    assert!(run.stdout.contains("APP_URL"), "{}", run.stdout);
}

#[test]
fn read_only_mode_hides_proposal_tools() {
    let dir = examples_dir().join("support-billing-agent");
    let text = std::fs::read_to_string(dir.join("synapsor.runner.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["mode"] = "read_only".into();
    std::fs::write(tmp.path().join("airlock.json"), doc.to_string()).unwrap();
    let run = airlock(tmp.path(), &["tools", "list", "--json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = v["exposed_to_mcp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, ["support.inspect_ticket", "billing.inspect_invoice"]);
}
