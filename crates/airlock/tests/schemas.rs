//! `schemas/` at the repository root holds the JSON Schemas Airlock publishes: the config file
//! and every protocol object, generated from the Rust types. This test fails when a checked-in
//! file differs from what the types generate; with `AIRLOCK_UPDATE_SCHEMAS=1` it rewrites them:
//!
//! ```text
//! AIRLOCK_UPDATE_SCHEMAS=1 cargo nextest run --workspace -E 'test(published_schemas)'
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

const UPDATE_ENV: &str = "AIRLOCK_UPDATE_SCHEMAS";

/// The config file's schema name under `schemas/`.
const CONFIG_SCHEMA: &str = "config.v1.schema.json";

/// Every published schema, by file name, as the types generate it.
fn generated() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(
        CONFIG_SCHEMA.to_owned(),
        pretty(&airlock_config::schema::json_schema()),
    );
    out.insert(
        "answers.v1.schema.json".to_owned(),
        pretty(&airlock_db::onboard::answers_schema()),
    );
    for p in airlock_protocol::schema::published() {
        out.insert(p.file.to_owned(), pretty(&p.schema));
    }
    out
}

fn pretty(v: &Value) -> String {
    let mut text = serde_json::to_string_pretty(v).expect("a schema serializes");
    text.push('\n');
    text
}

/// What is checked in: every `.json` file directly under `dir`.
fn checked_in(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.expect("schemas/ is readable").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                std::fs::read_to_string(&p).expect("a schema file reads"),
            )
        })
        .collect()
}

/// The names whose content differs, is missing or is left over.
fn differences(want: &BTreeMap<String, String>, have: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, text) in want {
        match have.get(name) {
            None => out.push(format!("{name}: missing")),
            Some(t) if t != text => out.push(format!("{name}: differs from the types")),
            Some(_) => {}
        }
    }
    for name in have.keys().filter(|n| !want.contains_key(*n)) {
        out.push(format!("{name}: no type generates it"));
    }
    out
}

#[test]
fn published_schemas_match_the_types() {
    let dir = airlock_testkit::repo_root().join("schemas");
    let want = generated();
    if std::env::var_os(UPDATE_ENV).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for name in checked_in(&dir).keys().filter(|n| !want.contains_key(*n)) {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        for (name, text) in &want {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let diff = differences(&want, &checked_in(&dir));
    assert!(
        diff.is_empty(),
        "schemas/ is out of date with the Rust types:\n  {}\nRegenerate with:\n  \
         {UPDATE_ENV}=1 cargo nextest run --workspace -E 'test(published_schemas)'\n\
         and commit the result.",
        diff.join("\n  ")
    );
}

#[test]
fn a_changed_missing_or_stray_schema_is_reported() {
    let want = generated();
    let mut have = want.clone();
    assert!(differences(&want, &have).is_empty());
    have.insert(CONFIG_SCHEMA.to_owned(), "{}\n".to_owned());
    have.remove("change-set.v1.schema.json");
    have.insert("old.schema.json".to_owned(), "{}\n".to_owned());
    assert_eq!(
        differences(&want, &have),
        [
            "change-set.v1.schema.json: missing",
            "config.v1.schema.json: differs from the types",
            "old.schema.json: no type generates it",
        ]
    );
}

#[test]
fn the_config_schema_is_the_one_the_cli_prints() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("airlock"))
        .current_dir(tmp.path())
        .args(["config", "schema"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, airlock_config::schema::json_schema());
}
