//! The SARIF form validates against the official SARIF 2.1.0 JSON Schema (OASIS, vendored in
//! resources/ with its licence note) and carries what GitHub code scanning reads.

use airlock_audit::format::sarif_log;
use airlock_audit::{audit, example};
use serde_json::Value;

fn schema() -> Value {
    serde_json::from_str(include_str!("../resources/sarif-schema-2.1.0.json")).unwrap()
}

fn errors(doc: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema())
        .expect("the SARIF schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_examples_sarif_is_valid_sarif_2_1_0() {
    let report = audit(vec![example::load(example::DEFAULT).unwrap()]);
    let log = sarif_log(&report);
    assert_eq!(errors(&log), Vec::<String>::new());
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(r["locations"][0]["logicalLocations"][0]["name"].is_string());
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "GENERIC_SQL_TOOL" && r["level"] == "error")
    );
}

#[test]
fn the_schema_catches_a_broken_log() {
    let report = audit(vec![example::load(example::DEFAULT).unwrap()]);
    let mut log = sarif_log(&report);
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    log["version"] = "2.0.0".into();
    assert!(errors(&log).len() >= 2);
}

#[test]
fn a_failed_server_is_a_notification_and_still_valid() {
    let report = audit(vec![airlock_audit::discover::Discovered {
        target: "stdio:missing".into(),
        server: Some("db".into()),
        file: None,
        outcome: Err(airlock_audit::DiscoveryError::new(
            airlock_audit::ErrorCode::SpawnFailed,
            "cannot start",
            "install it",
        )),
    }]);
    let log = sarif_log(&report);
    assert_eq!(errors(&log), Vec::<String>::new());
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
}
