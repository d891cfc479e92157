//! `airlock benchmark mcp-efficiency` through the real binary, and (compatibility tier) the
//! same task shape as Synapsor Runner's fixture.

mod common;

use common::{airlock, json_of};
use serde_json::Value;

fn measure() -> Value {
    let tmp = tempfile::tempdir().unwrap();
    json_of(&airlock(
        tmp.path(),
        &["benchmark", "mcp-efficiency", "--json"],
        &[],
    ))
}

#[test]
fn reviewed_tools_take_fewer_tools_round_trips_and_written_tokens() {
    let v = measure();
    assert_eq!(v["format"], "airlock.mcp-efficiency.v1");
    let raw = &v["paths"]["raw_sql"];
    let reviewed = &v["paths"]["reviewed"];
    assert_eq!(raw["exposed_tools"], 4);
    assert_eq!(reviewed["exposed_tools"], 2);
    assert_eq!(raw["round_trips"], 4);
    assert_eq!(reviewed["round_trips"], 2);
    let tokens = |p: &Value, k: &str| p[k]["tokens"].as_u64().unwrap();
    assert!(
        tokens(reviewed, "arguments") < tokens(raw, "arguments"),
        "{v}"
    );
    assert!(tokens(reviewed, "tools_list") > 0 && tokens(raw, "tools_list") > 0);
    // The reviewed calls ran for real: a read and a proposal.
    let calls = reviewed["calls"].as_array().unwrap();
    assert_eq!(calls[0]["tool"], "billing.inspect_invoice");
    assert_eq!(calls[1]["tool"], "billing.propose_late_fee_waiver");
    assert!(calls[1]["read"]["bytes"].as_u64().unwrap() > 100, "{v}");
    assert_eq!(reviewed["properties"]["exposes_raw_sql"], false);
    assert_eq!(raw["properties"]["exposes_raw_sql"], true);
    // The tool surfaces are deterministic: a second run measures the same.
    let again = measure();
    for path in ["raw_sql", "reviewed"] {
        assert_eq!(
            v["paths"][path]["tools_list"], again["paths"][path]["tools_list"],
            "{path}"
        );
        assert_eq!(
            v["paths"][path]["arguments"],
            again["paths"][path]["arguments"]
        );
    }
    assert_eq!(
        v["paths"]["raw_sql"]["results"],
        again["paths"]["raw_sql"]["results"]
    );
}

#[test]
fn text_output_and_bad_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let run = airlock(tmp.path(), &["benchmark", "mcp-efficiency"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("round trips:    2"), "{}", run.stdout);
    assert!(run.stdout.contains("round trips:    4"), "{}", run.stdout);
    for args in [
        &["benchmark", "tokens"][..],
        &["benchmark", "mcp-efficiency", "--fixture", "x"][..],
    ] {
        let run = airlock(tmp.path(), args, &[]);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
}

/// Compatibility tier: the original's fixture measures the same task with the same tool
/// counts; its plan lists one step that is not a tool call ("formulate raw UPDATE"), which
/// Airlock does not count as a round trip.
#[test]
fn same_task_shape_as_the_original_fixture() {
    let Some(dir) = airlock_testkit::shared_conformance("mcp-efficiency fixture") else {
        return;
    };
    let theirs = airlock_testkit::read_json(&dir, "fixtures/benchmark/mcp-efficiency.json");
    let ours = measure();
    let generic = &theirs["paths"]["generic_database_mcp_reference"];
    let semantic = &theirs["paths"]["synapsor_runner_semantic_path"];
    assert_eq!(
        ours["paths"]["raw_sql"]["exposed_tools"],
        generic["exposed_tools"]
    );
    assert_eq!(
        ours["paths"]["reviewed"]["exposed_tools"],
        semantic["exposed_tools"]
    );
    assert_eq!(
        ours["paths"]["reviewed"]["round_trips"],
        semantic["scripted_tool_calls"]
    );
    let tool_steps = theirs["scripted_plans"]["generic_database_mcp_reference"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s.as_str().unwrap().starts_with("formulate"))
        .count();
    assert_eq!(ours["paths"]["raw_sql"]["round_trips"], tool_steps);
    for (ours_path, theirs_path) in [("raw_sql", generic), ("reviewed", semantic)] {
        for k in [
            "exposes_raw_sql",
            "approval_separated",
            "stale_row_conflict_checked",
        ] {
            assert_eq!(
                ours["paths"][ours_path]["properties"][k], theirs_path[k],
                "{ours_path} {k}"
            );
        }
    }
}
