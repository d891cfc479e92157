//! `config` and `tools` commands on real runs, as snapshots. These need no database.

mod common;

use std::path::Path;

use common::{
    EXAMPLE_CONFIG, EXAMPLES, ORIGINAL_CONFIG, ORIGINAL_EXAMPLES, airlock, examples_dir,
    original_examples_dir, scrub,
};

/// `config validate` and `tools list` (text and JSON) on one example, as snapshots named after
/// `name`.
fn validate_and_list(dir: &Path, config: &str, name: &str) {
    let run = airlock(dir, &["config", "validate", "--config", config], &[]);
    assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(format!("validate_{name}"), scrub(&run.stdout, dir));
    let run = airlock(
        dir,
        &["tools", "list", "--config", config, "--aliases"],
        &[],
    );
    assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(format!("tools_{name}"), scrub(&run.stdout, dir));
    // The JSON form is the tools/list contract: snapshot it whole.
    let run = airlock(dir, &["tools", "list", "--config", config, "--json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["ok"], true);
    // The snapshot is what the MCP server really serves; the CLI must print the same.
    let served = served_tools(dir, config, &[]);
    insta::assert_json_snapshot!(format!("tools_json_{name}"), served);
    assert_eq!(
        v["tools"], served,
        "{name}: `tools list --json` differs from tools/list"
    );
}

/// `tools/list` as `airlock mcp serve <serve_flags>` answers it over stdio for the config
/// `config` in `dir`. The ledger goes to a temporary folder (the examples are shared fixtures).
fn served_tools(dir: &Path, config: &str, serve_flags: &[&str]) -> serde_json::Value {
    let store = tempfile::tempdir().unwrap();
    let store_path = store.path().join("ledger.db");
    let reply = common::mcp_stdio_request(
        dir,
        &["--config", config, "--store", store_path.to_str().unwrap()],
        serve_flags,
        &serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    assert!(reply["error"].is_null(), "{reply}");
    reply["result"]["tools"].clone()
}

/// In every naming mode `tools list --json` prints exactly what the server serves.
#[test]
fn tools_list_matches_the_served_list_in_every_naming_mode() {
    for name in EXAMPLES {
        let dir = examples_dir().join(name);
        for flags in [
            &["--alias-mode", "both"][..],
            &["--alias-mode", "openai"][..],
            &["--openai-tool-aliases"][..],
        ] {
            let mut args = vec!["tools", "list", "--config", EXAMPLE_CONFIG, "--json"];
            args.extend_from_slice(flags);
            let run = airlock(&dir, &args, &[]);
            assert_eq!(run.code, 0, "{name}: {}", run.stderr);
            let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(
                v["tools"],
                served_tools(&dir, EXAMPLE_CONFIG, flags),
                "{name} {flags:?}"
            );
        }
    }
}

/// `--read-only` serves no proposal tool: the served names are the read tools of the normal
/// list, each marked with the mode it is served in.
#[test]
fn read_only_serving_drops_exactly_the_proposal_tools() {
    let names = |tools: &[&serde_json::Value]| -> Vec<String> {
        tools.iter().map(|t| t["name"].to_string()).collect()
    };
    for name in EXAMPLES {
        let dir = examples_dir().join(name);
        let all = served_tools(&dir, EXAMPLE_CONFIG, &[]);
        let read_only = served_tools(&dir, EXAMPLE_CONFIG, &["--read-only"]);
        let reads: Vec<&serde_json::Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["annotations"]["readOnlyHint"] == true)
            .collect();
        let served: Vec<&serde_json::Value> = read_only.as_array().unwrap().iter().collect();
        assert!(
            !served.is_empty() && served.len() < all.as_array().unwrap().len(),
            "{name}"
        );
        assert_eq!(names(&served), names(&reads), "{name}");
        assert!(
            served
                .iter()
                .all(|t| t["_meta"]["synapsor.mode"] == "read_only"),
            "{name}"
        );
    }
}

#[test]
fn every_example_validates_and_lists_its_tools() {
    for name in EXAMPLES {
        validate_and_list(&examples_dir().join(name), EXAMPLE_CONFIG, name);
    }
}

/// Compatibility tier: the original's example configs, unchanged, validate and list the same
/// tools as when these snapshots were taken.
#[test]
fn compat_every_original_example_validates_and_lists_its_tools() {
    let Some(originals) = original_examples_dir("original example configs") else {
        return;
    };
    for name in ORIGINAL_EXAMPLES {
        validate_and_list(&originals.join(name), ORIGINAL_CONFIG, name);
    }
}

#[test]
fn the_exported_schema_accepts_every_example() {
    let dir = tempfile::tempdir().unwrap();
    let run = airlock(dir.path(), &["config", "schema"], &[]);
    assert_eq!(run.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut files: Vec<_> = EXAMPLES
        .iter()
        .map(|n| examples_dir().join(n).join(EXAMPLE_CONFIG))
        .collect();
    if let Some(originals) = original_examples_dir("schema vs the original example configs") {
        files.extend(
            ORIGINAL_EXAMPLES
                .iter()
                .map(|n| originals.join(n).join(ORIGINAL_CONFIG)),
        );
    }
    for file in files {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let errors = airlock_testkit::schema_errors(&schema, &doc);
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
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
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("line 4"), "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error[CONFIG_INVALID_JSON]"),
        "{}",
        run.stderr
    );
}

/// Issue 8.5: a config path that is not a config ends quickly with a code and exit 2, for
/// `config validate` (human and JSON) and for any command that loads the config.
#[test]
fn files_that_are_not_configs_exit_2_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        name.to_owned()
    };
    let cases: Vec<(String, &str)> = vec![
        ("/dev/zero".to_owned(), "CONFIG_TOO_LARGE"),
        (write("empty.json", b""), "CONFIG_EMPTY"),
        (
            write("garbage.json", b"\x00garbage{"),
            "CONFIG_INVALID_JSON",
        ),
        (
            write("deep.json", "[".repeat(100_000).as_bytes()),
            "CONFIG_TOO_DEEP",
        ),
        (
            write("latin1.json", b"{\"mode\": \"r\xe9view\"}"),
            "CONFIG_NOT_UTF8",
        ),
    ];
    for (path, code) in &cases {
        let run = airlock(dir.path(), &["config", "validate", "--config", path], &[]);
        assert_eq!(run.code, 2, "{path}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("error[{code}]")),
            "{path}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint: "), "{path}: {}", run.stderr);
        let run = airlock(
            dir.path(),
            &["config", "validate", "--config", path, "--json"],
            &[],
        );
        assert_eq!(run.code, 2, "{path}: {}", run.stderr);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON answer");
        assert_eq!(v["ok"], false);
        assert_eq!(v["errors"][0]["code"], *code, "{path}");
        let run = airlock(dir.path(), &["tools", "list", "--config", path], &[]);
        assert_eq!(run.code, 2, "{path}: {}", run.stderr);
    }
}

/// Issue 8.5: a name longer than Postgres keeps is an error, not a silent truncation.
#[test]
fn identifiers_longer_than_the_engine_keeps_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "version": 1, "mode": "read_only",
        "sources": {"app": {"engine": "postgres", "read_url_env": "APP_READ_URL"}},
        "trusted_context": {"provider": "environment"},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", format!("c{}", "x".repeat(63))]
        }]
    });
    std::fs::write(dir.path().join("airlock.json"), config.to_string()).unwrap();
    let run = airlock(dir.path(), &["config", "validate", "--json"], &[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["errors"][0]["code"], "IDENTIFIER_TOO_LONG", "{v}");
    assert_eq!(
        v["errors"][0]["path"],
        "$.capabilities[0].visible_columns[1]"
    );
}

/// Issue 8.1: an HS256 secret shorter than 32 bytes is a config error where it is set.
#[test]
fn a_short_hs256_secret_fails_validation() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "version": 1, "mode": "read_only",
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "http_claims", "values": {
            "hs256_secret_env": "JWT_SECRET", "issuer": "https://issuer.test", "audience": "a"}},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id"]
        }]
    });
    std::fs::write(dir.path().join("airlock.json"), config.to_string()).unwrap();
    let short = "s".repeat(31);
    let run = airlock(
        dir.path(),
        &["config", "validate"],
        &[("JWT_SECRET", &short)],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("HS256_SECRET_TOO_SHORT"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(&short),
        "the secret itself is never printed"
    );
    let long = "s".repeat(32);
    let run = airlock(
        dir.path(),
        &["config", "validate"],
        &[("JWT_SECRET", &long)],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The server refuses to start with it, naming the variable.
    let run = airlock(
        dir.path(),
        &["mcp", "serve-streamable-http", "--port", "18998"],
        &[("JWT_SECRET", &short)],
    );
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("JWT_SECRET") && run.stderr.contains("at least 32"),
        "{}",
        run.stderr
    );
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
    let dir = examples_dir().join("studio-postgres");
    let text = std::fs::read_to_string(dir.join(EXAMPLE_CONFIG)).unwrap();
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
    assert_eq!(
        names,
        ["classes.inspect_booking", "accounts.inspect_membership"]
    );
}
