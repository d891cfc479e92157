//! Browsing and searching the ledger through the real binary: `proposals|replay|evidence|
//! query-audit|receipts list` and `activity search`, on a ledger written by `airlock demo` and
//! then by tool calls of two tenants (northwind and globex) with several capabilities.
//!
//! Every filter is checked against the full listing filtered here, so a filter that drops or
//! leaks a record fails; paging is checked while records keep arriving.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;

use common::{Run, airlock};
use serde_json::Value;

/// The demo's folder with a second config for the globex tenant (same app, same ledger).
struct Story {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Story {
    fn new() -> Story {
        let tmp = tempfile::tempdir().unwrap();
        let run = airlock(tmp.path(), &["demo", "--no-pause", "--dir", "story"], &[]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let dir = tmp.path().join("story");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap())
                .unwrap();
        config["trusted_context"]["values"] =
            serde_json::json!({"tenant_id": "globex", "principal": "globex_agent"});
        std::fs::write(dir.join("globex.json"), config.to_string()).unwrap();
        let story = Story { _tmp: tmp, dir };
        for (config, capability, args) in [
            (
                "airlock.json",
                "support.inspect_ticket",
                r#"{"ticket_id":"T-501"}"#,
            ),
            (
                "airlock.json",
                "support.inspect_ticket",
                r#"{"ticket_id":"T-502"}"#,
            ),
            (
                "airlock.json",
                "billing.inspect_subscription",
                r#"{"subscription_id":"SUB-1002"}"#,
            ),
            (
                "globex.json",
                "billing.inspect_subscription",
                r#"{"subscription_id":"SUB-2001"}"#,
            ),
            (
                "globex.json",
                "support.inspect_ticket",
                r#"{"ticket_id":"T-901"}"#,
            ),
            // Another tenant's ticket: not found, audited under globex.
            (
                "globex.json",
                "support.inspect_ticket",
                r#"{"ticket_id":"T-501"}"#,
            ),
        ] {
            story.call(config, "smoke", capability, args);
        }
        story.call(
            "globex.json",
            "propose",
            "support.propose_ticket_status",
            r#"{"ticket_id":"T-901","status":"resolved","resolution":"50%_off '; DROP TABLE events; --"}"#,
        );
        story.call(
            "airlock.json",
            "propose",
            "support.propose_ticket_status",
            r#"{"ticket_id":"T-502","status":"resolved","resolution":"Invited the admin"}"#,
        );
        story
    }

    fn call(&self, config: &str, how: &str, capability: &str, args: &str) {
        let verb: &[&str] = if how == "smoke" {
            &["smoke", "call"]
        } else {
            &["propose"]
        };
        let mut all = vec!["--config", config];
        all.extend_from_slice(verb);
        all.extend_from_slice(&[capability, "--json", args]);
        let run = airlock(&self.dir, &all, &[]);
        assert!(
            run.code == 0 || format!("{}{}", run.stdout, run.stderr).contains("NOT_FOUND"),
            "{capability} {args}: {}{}",
            run.stdout,
            run.stderr
        );
    }

    fn run(&self, args: &[&str]) -> Run {
        airlock(&self.dir, args, &[])
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(&all);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
    }

    /// Every record of a listing (one page of up to 1000).
    fn all(&self, list: &[&str], key: &str) -> Vec<Value> {
        let mut args = list.to_vec();
        args.extend_from_slice(&["--limit", "1000"]);
        let page = self.json(&args);
        assert!(page["next_cursor"].is_null(), "{page:#}");
        page[key].as_array().unwrap().clone()
    }
}

/// A listing's command, its JSON key, its record id, and the field each filter reads.
struct Listing {
    args: &'static [&'static str],
    key: &'static str,
    id: &'static str,
    fields: &'static [(&'static str, &'static str)],
}

const LISTINGS: &[Listing] = &[
    Listing {
        args: &["proposals", "list"],
        key: "proposals",
        id: "proposal_id",
        fields: &[
            ("--tenant", "tenant_id"),
            ("--principal", "principal"),
            ("--capability", "action"),
            ("--object-id", "object_id"),
            ("--object-type", "business_object"),
            ("--source", "source_id"),
            ("--state", "state"),
            ("--proposal", "proposal_id"),
        ],
    },
    Listing {
        args: &["replay", "list"],
        key: "replays",
        id: "replay_id",
        fields: &[
            ("--tenant", "tenant_id"),
            ("--principal", "principal"),
            ("--capability", "capability"),
            ("--object-id", "object_id"),
            ("--state", "state"),
        ],
    },
    Listing {
        args: &["evidence", "list"],
        key: "evidence",
        id: "evidence_bundle_id",
        fields: &[
            ("--tenant", "tenant_id"),
            ("--principal", "principal"),
            ("--capability", "capability"),
            ("--object-id", "object_id"),
            ("--object-type", "business_object"),
            ("--source", "source_id"),
            ("--table", "source_table"),
            ("--proposal", "proposal_id"),
            ("--query-fingerprint", "query_fingerprint"),
        ],
    },
    Listing {
        args: &["query-audit", "list"],
        key: "query_audit",
        id: "audit_id",
        fields: &[
            ("--tenant", "tenant_id"),
            ("--principal", "principal"),
            ("--capability", "capability"),
            ("--object-id", "object_id"),
            ("--source", "source_id"),
            ("--table", "table_name"),
            ("--outcome", "outcome"),
            ("--evidence", "evidence_bundle_id"),
            ("--proposal", "proposal_id"),
            ("--query-fingerprint", "query_fingerprint"),
        ],
    },
    Listing {
        args: &["receipts", "list"],
        key: "receipts",
        id: "receipt_id",
        fields: &[
            ("--status", "status"),
            ("--proposal", "proposal_id"),
            ("--idempotency-key", "idempotency_key"),
            ("--writeback-job", "writeback_job_id"),
        ],
    },
];

/// The ids of `records`; a search hit's id is unique only with its kind.
fn ids(records: &[Value], id: &str) -> Vec<String> {
    records
        .iter()
        .map(|r| match r.get("kind") {
            Some(kind) if id == "id" => format!("{kind}:{}", r[id]),
            _ => r[id].to_string(),
        })
        .collect()
}

#[test]
fn every_filter_returns_exactly_the_matching_records_of_every_listing() {
    let story = Story::new();
    for listing in LISTINGS {
        let all = story.all(listing.args, listing.key);
        assert!(all.len() >= 2, "{:?}: {all:#?}", listing.args);
        // Newest first, by the time then the id.
        let times: Vec<&str> = all
            .iter()
            .map(|r| r["created_at"].as_str().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        for (flag, field) in listing.fields {
            let values: HashSet<String> = all
                .iter()
                .filter_map(|r| r[field].as_str().map(str::to_owned))
                .collect();
            assert!(!values.is_empty(), "{:?} {field}", listing.args);
            for value in values {
                let expected: Vec<Value> = all
                    .iter()
                    .filter(|r| r[field].as_str() == Some(value.as_str()))
                    .cloned()
                    .collect();
                let mut args = listing.args.to_vec();
                args.extend_from_slice(&[flag, &value, "--limit", "1000"]);
                let got = story.json(&args)[listing.key].as_array().unwrap().clone();
                assert_eq!(
                    ids(&got, listing.id),
                    ids(&expected, listing.id),
                    "{args:?}"
                );
            }
        }
    }
    // Tenants never leak: each tenant's listing holds only its records, and together they are
    // all of them.
    for listing in LISTINGS.iter().filter(|l| l.key != "receipts") {
        let all = story.all(listing.args, listing.key);
        let mut seen = 0;
        for tenant in ["northwind", "globex"] {
            let mut args = listing.args.to_vec();
            args.extend_from_slice(&["--tenant", tenant, "--limit", "1000"]);
            let got = story.json(&args)[listing.key].as_array().unwrap().clone();
            assert!(got.iter().all(|r| r["tenant_id"] == tenant), "{args:?}");
            seen += got.len();
        }
        assert_eq!(seen, all.len(), "{:?}", listing.args);
    }
    // A bare table name matches it in any schema; an unknown value matches nothing.
    let audit = story.all(&["query-audit", "list"], "query_audit");
    let tickets = story.json(&[
        "query-audit",
        "list",
        "--table",
        "tickets",
        "--limit",
        "1000",
    ]);
    let expected: Vec<Value> = audit
        .iter()
        .filter(|r| {
            let t = r["table_name"].as_str().unwrap();
            t == "tickets" || t.ends_with(".tickets")
        })
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        ids(tickets["query_audit"].as_array().unwrap(), "audit_id"),
        ids(&expected, "audit_id")
    );
    let none = story.json(&["evidence", "list", "--tenant", "initech"]);
    assert_eq!(none["evidence"], serde_json::json!([]));
    // --object TYPE:ID is --object-type and --object-id together.
    let by_object = story.json(&["evidence", "list", "--object", "ticket:T-901"]);
    let by_flags = story.json(&[
        "evidence",
        "list",
        "--object-type",
        "ticket",
        "--object-id",
        "T-901",
    ]);
    assert_eq!(by_object, by_flags);
    // Receipts filter by their proposal's tenant.
    let receipts = story.all(&["receipts", "list"], "receipts");
    let northwind = story.json(&["receipts", "list", "--tenant", "northwind"]);
    assert_eq!(
        northwind["receipts"].as_array().unwrap().len(),
        receipts.len()
    );
    let globex = story.json(&["receipts", "list", "--tenant", "globex"]);
    assert_eq!(globex["receipts"], serde_json::json!([]));
}

/// The original's link filters: `--receipt N` and `--replay replay_ID` select the records of
/// that receipt's (that replay's) proposal, on every listing that takes them and in
/// `activity search`; values that look like SQL are plain values.
#[test]
fn receipt_and_replay_filters_select_their_proposals_records() {
    let story = Story::new();
    let receipts = story.all(&["receipts", "list"], "receipts");
    assert!(!receipts.is_empty());
    let proposals = story.all(&["proposals", "list"], "proposals");
    assert!(proposals.len() >= 3, "{proposals:#?}");
    for receipt in &receipts {
        let number = receipt["receipt_id"].as_i64().unwrap().to_string();
        let pid = receipt["proposal_id"].as_str().unwrap();
        let replay = format!("replay_{pid}");
        let rct = format!("rct_{number:0>6}");
        for list in [["proposals", "list"], ["replay", "list"]] {
            let key = if list[0] == "replay" {
                "replays"
            } else {
                "proposals"
            };
            for (flag, value) in [
                ("--receipt", number.as_str()),
                ("--receipt", rct.as_str()),
                ("--replay", replay.as_str()),
            ] {
                let got = story.json(&[list[0], list[1], flag, value]);
                let got = got[key].as_array().unwrap();
                assert_eq!(got.len(), 1, "{list:?} {flag} {value}: {got:#?}");
                assert_eq!(got[0]["proposal_id"], pid);
            }
        }
        // activity search: the receipt itself and its proposal's records, nothing else.
        let by_receipt = story.json(&[
            "activity",
            "search",
            "--receipt",
            &number,
            "--limit",
            "1000",
        ]);
        let hits = by_receipt["interactions"].as_array().unwrap();
        assert!(
            hits.iter()
                .any(|h| h["kind"] == "receipt" && h["id"] == number.as_str())
        );
        assert!(hits.iter().any(|h| h["kind"] == "proposal"));
        for h in hits {
            assert_eq!(h["proposal_id"], pid, "{h:#}");
            if h["kind"] == "receipt" {
                assert_eq!(h["id"], number.as_str());
            }
        }
        // --replay is --proposal.
        let by_replay = story.json(&["activity", "search", "--replay", &replay, "--limit", "1000"]);
        let by_proposal = story.json(&["activity", "search", "--proposal", pid, "--limit", "1000"]);
        assert_eq!(by_replay["interactions"], by_proposal["interactions"]);
    }
    // Another tenant's proposal has no receipt: its replay with a receipt filter is empty.
    let globex: Vec<&Value> = proposals
        .iter()
        .filter(|p| p["tenant_id"] == "globex")
        .collect();
    assert!(!globex.is_empty());
    let number = receipts[0]["receipt_id"].as_i64().unwrap().to_string();
    for p in globex {
        let replay = format!("replay_{}", p["proposal_id"].as_str().unwrap());
        let got = story.json(&[
            "activity",
            "search",
            "--replay",
            &replay,
            "--receipt",
            &number,
        ]);
        assert_eq!(got["interactions"], serde_json::json!([]));
        let got = story.json(&["replay", "list", "--tenant", "globex", "--receipt", &number]);
        assert_eq!(got["replays"], serde_json::json!([]));
    }
    // A fingerprint selects the reads of that query across kinds in activity search.
    let audit = story.all(&["query-audit", "list"], "query_audit");
    let fingerprint = audit[0]["query_fingerprint"].as_str().unwrap();
    let hits = story.json(&[
        "activity",
        "search",
        "--query-fingerprint",
        fingerprint,
        "--limit",
        "1000",
    ]);
    let hits = hits["interactions"].as_array().unwrap();
    let expected = audit
        .iter()
        .filter(|a| a["query_fingerprint"] == fingerprint)
        .count();
    assert_eq!(
        hits.iter().filter(|h| h["kind"] == "query-audit").count(),
        expected
    );
    assert!(
        hits.iter()
            .all(|h| h["kind"] == "query-audit" || h["kind"] == "evidence"),
        "{hits:#?}"
    );
    // Every command that wrote indexed its records as it closed: nothing is left for search
    // to read beside the index.
    assert_eq!(
        story.json(&["ledger", "stats"])["stats"]["search_unindexed"],
        0
    );
    // Values that look like SQL match nothing and change nothing.
    let before = story.json(&["ledger", "stats"])["stats"]["counts"].clone();
    for injection in ["'; DROP TABLE events; --", "x' OR '1'='1", "%", "_"] {
        for (list, flag, key) in [
            (&["activity", "search"][..], "--replay", "interactions"),
            (
                &["activity", "search"],
                "--query-fingerprint",
                "interactions",
            ),
            (&["proposals", "list"], "--replay", "proposals"),
            (&["evidence", "list"], "--query-fingerprint", "evidence"),
            (
                &["query-audit", "list"],
                "--query-fingerprint",
                "query_audit",
            ),
            (&["receipts", "list"], "--idempotency-key", "receipts"),
            (&["receipts", "list"], "--writeback-job", "receipts"),
        ] {
            let mut args = list.to_vec();
            args.extend_from_slice(&[flag, injection]);
            assert_eq!(story.json(&args)[key], serde_json::json!([]), "{args:?}");
        }
        for list in [
            &["activity", "search"][..],
            &["proposals", "list"],
            &["replay", "list"],
        ] {
            let mut args = list.to_vec();
            args.extend_from_slice(&["--receipt", injection]);
            refused(&story.run(&args), "FILTER_BAD_RECEIPT");
        }
    }
    for bad in ["0", "-3", "rct_", "3 OR 1=1"] {
        let flag = format!("--receipt={bad}");
        refused(
            &story.run(&["activity", "search", &flag]),
            "FILTER_BAD_RECEIPT",
        );
    }
    assert_eq!(story.json(&["ledger", "stats"])["stats"]["counts"], before);
    assert_eq!(story.json(&["ledger", "verify"])["ok"], true);
}

#[test]
fn time_ranges_select_by_instant() {
    let story = Story::new();
    let all = story.all(&["query-audit", "list"], "query_audit");
    let times: Vec<String> = all
        .iter()
        .map(|r| r["created_at"].as_str().unwrap().to_owned())
        .collect();
    let (newest, oldest) = (&times[0], &times[times.len() - 1]);
    let middle = &times[times.len() / 2];
    for (from, to) in [
        (oldest, newest),
        (middle, newest),
        (oldest, middle),
        (middle, middle),
    ] {
        let got = story.json(&[
            "query-audit",
            "list",
            "--from",
            from,
            "--to",
            to,
            "--limit",
            "1000",
        ]);
        let expected: Vec<Value> = all
            .iter()
            .filter(|r| {
                let t = r["created_at"].as_str().unwrap();
                t >= from.as_str() && t <= to.as_str()
            })
            .cloned()
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            ids(got["query_audit"].as_array().unwrap(), "audit_id"),
            ids(&expected, "audit_id"),
            "{from}..{to}"
        );
    }
    // The same instant written with an offset selects the same records.
    let shifted = chrono::DateTime::parse_from_rfc3339(middle)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339();
    assert_eq!(
        story.json(&["query-audit", "list", "--from", &shifted, "--limit", "1000"]),
        story.json(&["query-audit", "list", "--from", middle, "--limit", "1000"])
    );
    // Everything was written in the last hour; nothing in the future.
    assert_eq!(
        story.json(&["query-audit", "list", "--since", "1h", "--limit", "1000"])["query_audit"]
            .as_array()
            .unwrap()
            .len(),
        all.len()
    );
    let later = story.json(&["query-audit", "list", "--from", "2999-01-01T00:00:00Z"]);
    assert_eq!(later["query_audit"], serde_json::json!([]));
}

/// Pages through `list` two at a time, calling `between` after each page.
fn page_through(
    story: &Story,
    list: &[&str],
    key: &str,
    id: &str,
    mut between: impl FnMut(),
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = list.to_vec();
        args.extend_from_slice(&["--limit", "2"]);
        if let Some(c) = &cursor {
            args.extend_from_slice(&["--cursor", c]);
        }
        let page = story.json(&args);
        seen.extend(ids(page[key].as_array().unwrap(), id));
        between();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
}

#[test]
fn paging_visits_each_record_once_while_records_arrive() {
    let story = Story::new();
    for (list, key, id) in [
        (&["query-audit", "list"][..], "query_audit", "audit_id"),
        (&["evidence", "list"][..], "evidence", "evidence_bundle_id"),
        (&["proposals", "list"][..], "proposals", "proposal_id"),
        (&["activity", "search"][..], "interactions", "id"),
        // A --since window moves with the clock; its token still continues it.
        (
            &["receipts", "list", "--since", "1h"][..],
            "receipts",
            "receipt_id",
        ),
    ] {
        let before = ids(&story.all(list, key), id);
        let mut n = 0;
        let seen = page_through(&story, list, key, id, || {
            // A new read (evidence, audit and events) lands between every two pages.
            n += 1;
            let ticket = if n % 2 == 0 { "T-501" } else { "T-502" };
            story.call(
                "airlock.json",
                "smoke",
                "support.inspect_ticket",
                &format!(r#"{{"ticket_id":"{ticket}"}}"#),
            );
        });
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{list:?}: a record came twice: {seen:?}"
        );
        assert_eq!(seen, before, "{list:?}");
    }
}

#[test]
fn search_finds_text_literally_and_links_each_hit_to_its_replay() {
    let story = Story::new();
    let hits = |text: &str| -> Vec<Value> {
        story.json(&["activity", "search", text, "--limit", "1000"])["interactions"]
            .as_array()
            .unwrap()
            .clone()
    };
    // The globex proposal's resolution holds every character LIKE would treat specially.
    for text in ["50%_off", "'; DROP TABLE", "50%_OFF"] {
        let found = hits(text);
        assert!(!found.is_empty(), "{text}");
        for h in &found {
            assert_eq!(h["tenant_id"], "globex", "{h:#}");
            assert!(h["replay_id"].as_str().unwrap().starts_with("replay_wrp_"));
            assert!(!h["matched"].as_array().unwrap().is_empty());
            assert!(
                h["snippet"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(&text.to_lowercase()),
                "{h:#}"
            );
        }
        assert!(found.iter().any(|h| h["kind"] == "proposal"));
    }
    // `%` and `_` are characters, not wildcards: each hit holds them, and `T-9_1` (which LIKE
    // would match to T-901) matches nothing.
    for text in ["%", "_off"] {
        let found = hits(text);
        assert!(!found.is_empty(), "{text}");
        for h in found {
            assert!(h["snippet"].as_str().unwrap().contains(text), "{h:#}");
        }
    }
    assert!(hits("T-9_1").is_empty(), "`_` must not match any character");
    // An object id finds its reads and its proposal, of the right tenant only.
    let t901 = hits("T-901");
    let kinds: HashSet<&str> = t901.iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains("evidence") && kinds.contains("query-audit") && kinds.contains("proposal"),
        "{kinds:?}"
    );
    let scoped = story.json(&["activity", "search", "T-901", "--tenant", "northwind"]);
    // northwind asked for T-901 never; nothing of globex leaks.
    assert!(
        scoped["interactions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["tenant_id"] == "northwind"),
        "{scoped:#}"
    );
    // A decision's reason is found in the proposal's events, linked to its replay.
    let approvals = hits("dana");
    assert!(
        approvals.iter().any(|h| h["kind"] == "event"),
        "{approvals:#?}"
    );
    // Search only reads.
    let verify = story.json(&["ledger", "verify"]);
    assert_eq!(verify["ok"], true);
    // Outcome filters leave out kinds without one; filters alone list every kind.
    let applied = story.json(&[
        "activity",
        "search",
        "--outcome",
        "applied",
        "--limit",
        "1000",
    ]);
    for h in applied["interactions"].as_array().unwrap() {
        assert!(h["kind"] == "proposal" || h["kind"] == "receipt", "{h:#}");
    }
    let everything = story.json(&["activity", "search", "--limit", "1000"]);
    let kinds: HashSet<&str> = everything["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
}

/// The structure of a JSON document: every leaf replaced by its type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

#[test]
fn json_shapes_are_stable() {
    let story = Story::new();
    for (name, args) in [
        ("proposals", &["proposals", "list", "--limit", "1"][..]),
        ("replays", &["replay", "list", "--limit", "1"][..]),
        ("evidence", &["evidence", "list", "--limit", "1"][..]),
        ("query_audit", &["query-audit", "list", "--limit", "1"][..]),
        ("receipts", &["receipts", "list", "--limit", "1"][..]),
        (
            "activity",
            &["activity", "search", "T-501", "--limit", "1"][..],
        ),
        ("query_audit_show", &["query-audit", "show", "1"][..]),
    ] {
        insta::assert_json_snapshot!(format!("browse_shape_{name}"), shape(&story.json(args)));
    }
}

#[test]
fn query_audit_show_and_export_and_tables_that_fit() {
    let story = Story::new();
    let first = story.json(&["query-audit", "show", "1"]);
    assert_eq!(first["audit_id"], 1);
    let out = story.dir.join("exports/audit-1.json");
    let run = story.run(&[
        "query-audit",
        "export",
        "1",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written, first);
    let missing = story.run(&["query-audit", "show", "999999"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);

    for list in [
        &["proposals", "list"][..],
        &["replay", "list"],
        &["evidence", "list"],
        &["query-audit", "list"],
        &["receipts", "list"],
        &["activity", "search", "ticket"],
    ] {
        let run = airlock(&story.dir, list, &[("COLUMNS", "70")]);
        assert_eq!(run.code, 0, "{list:?}: {}", run.stderr);
        for line in run.stdout.lines().filter(|l| !l.starts_with("More: ")) {
            assert!(line.chars().count() <= 70, "{list:?}: {line}");
        }
        assert!(
            run.stdout.contains('…'),
            "{list:?}: nothing was cut at 70 columns?\n{}",
            run.stdout
        );
        // Piped without COLUMNS, no cell is cut (a search snippet is cut on its own).
        if list[0] != "activity" {
            let whole = story.run(list);
            assert!(!whole.stdout.contains('…'), "{list:?}:\n{}", whole.stdout);
        }
    }
}

fn refused(run: &Run, code: &str) {
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(code), "want {code}: {}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn bad_input_is_refused_by_code_with_exit_2() {
    let story = Story::new();
    let before = story.json(&["ledger", "stats"])["stats"]["counts"].clone();
    for list in [
        &["proposals", "list"][..],
        &["evidence", "list"],
        &["query-audit", "list"],
        &["receipts", "list"],
        &["replay", "list"],
        &["activity", "search"],
    ] {
        let with = |extra: &[&str]| {
            let mut args = list.to_vec();
            args.extend_from_slice(extra);
            story.run(&args)
        };
        refused(&with(&["--since", "3 fortnights"]), "BAD_DURATION");
        refused(&with(&["--from", "2026-12-01"]), "FILTER_BAD_TIME");
        refused(
            &with(&[
                "--from",
                "2026-12-02T00:00:00Z",
                "--to",
                "2026-12-01T00:00:00Z",
            ]),
            "FILTER_EMPTY_RANGE",
        );
        refused(&with(&["--object", "INV-1"]), "FILTER_BAD_OBJECT");
        refused(&with(&["--cursor", "not-a-token"]), "CURSOR_MALFORMED");
        refused(
            &with(&["--cursor", "'; DROP TABLE events; --"]),
            "CURSOR_MALFORMED",
        );
        // A real token, edited, or reused with other filters.
        let mut args = list.to_vec();
        args.extend_from_slice(&["--limit", "1", "--json"]);
        let page: Value = serde_json::from_str(&story.run(&args).stdout).unwrap();
        let token = page["next_cursor"].as_str().unwrap().to_owned();
        let (body, sum) = token.split_once('.').unwrap();
        let flipped: String = body
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 20 {
                    if c == '0' { '1' } else { '0' }
                } else {
                    c
                }
            })
            .collect();
        refused(
            &with(&["--cursor", &format!("{flipped}.{sum}")]),
            "CURSOR_TAMPERED",
        );
        refused(
            &with(&["--cursor", &token, "--tenant", "globex"]),
            "CURSOR_MISMATCH",
        );
        let ok = with(&["--cursor", &token, "--limit", "1"]);
        assert_eq!(ok.code, 0, "{}", ok.stderr);
    }
    // A token of one listing does not continue another.
    let page = story.json(&["evidence", "list", "--limit", "1"]);
    let token = page["next_cursor"].as_str().unwrap();
    refused(
        &story.run(&["query-audit", "list", "--cursor", token]),
        "CURSOR_MISMATCH",
    );
    refused(&story.run(&["activity", "search", ""]), "SEARCH_EMPTY_TEXT");
    refused(
        &story.run(&["activity", "search", "   "]),
        "SEARCH_EMPTY_TEXT",
    );
    refused(
        &story.run(&["activity", "search", &"x".repeat(257)]),
        "SEARCH_TEXT_TOO_LONG",
    );
    let limit = story.run(&["query-audit", "list", "--limit", "0"]);
    assert_eq!(limit.code, 2, "{}", limit.stderr);
    // Nothing was written by any of it.
    assert_eq!(story.json(&["ledger", "stats"])["stats"]["counts"], before);
    assert_eq!(story.json(&["ledger", "verify"])["ok"], true);
}
