//! `airlock shadow` through the real binary: a shadow-mode config (the late-fee recipe) on
//! SQLite, agent proposals for two tenants, what people did recorded three ways, the
//! comparison and report, the ledger chain over human actions, and bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, airlock, json_of, ok};
use serde_json::{Value, json};

const CAP: &str = "billing.propose_late_fee_waiver";

fn env(tenant: &str) -> [(&'static str, String); 2] {
    [
        ("SYNAPSOR_TENANT_ID", tenant.to_owned()),
        ("SYNAPSOR_PRINCIPAL", "agent_one".to_owned()),
    ]
}

fn run(dir: &Path, tenant: &str, args: &[&str]) -> Run {
    let e = env(tenant);
    let pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
    airlock(dir, args, &pairs)
}

/// A shadow-mode app: the recipe's config and table, three agent proposals (two tenants).
/// Returns the app folder and the proposal ids (acme INV-1001, acme INV-1002, globex INV-2001).
fn shadow_app(tmp: &Path) -> (PathBuf, [String; 3]) {
    ok(&airlock(
        tmp,
        &[
            "recipes",
            "init",
            "billing.late_fee_waiver",
            "--engine",
            "sqlite",
            "--mode",
            "shadow",
            "--out",
            "app/",
        ],
        &[],
    ));
    let app = tmp.join("app");
    let sql = std::fs::read_to_string(app.join("schema.sql")).unwrap();
    rusqlite::Connection::open(app.join("app.db"))
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
    let propose = |tenant: &str, invoice: &str, reason: &str| {
        let args = json!({"invoice_id": invoice, "reason": reason}).to_string();
        let v = json_of(&run(&app, tenant, &["propose", CAP, "--json", &args]));
        assert_eq!(v["ok"], true, "{v}");
        v["proposal"]["id"].as_str().unwrap().to_owned()
    };
    let ids = [
        propose("acme", "INV-1001", "charged twice"),
        propose("acme", "INV-1002", "loyal customer"),
        propose("globex", "INV-2001", "bank delay"),
    ];
    (app, ids)
}

fn report(app: &Path) -> Value {
    json_of(&airlock(app, &["shadow", "report", "--json"], &[]))
}

#[test]
fn shadow_comparisons_count_each_field_and_never_cross_tenants() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, [p1, p2, p3]) = shadow_app(tmp.path());

    let listed = json_of(&airlock(&app, &["shadow", "list", "--json"], &[]));
    assert_eq!(listed["proposals"].as_array().unwrap().len(), 3);
    // Shadow proposals can never be approved.
    let approve = airlock(
        &app,
        &["proposals", "approve", &p1, "--actor", "dana", "--yes"],
        &[],
    );
    assert_ne!(approve.code, 0);

    // 1. The original's form: a shadow proposal's id and a patch file. Same values as the
    //    agent (5500 → 0, the same reason): an exact match.
    std::fs::write(
        app.join("human.json"),
        json!({"late_fee_cents": 0.0, "waiver_reason": "charged twice"}).to_string(),
    )
    .unwrap();
    let a1 = json_of(&airlock(
        &app,
        &[
            "shadow",
            "record-human-action",
            &p1,
            "--patch",
            "human.json",
            "--actor",
            "dana",
            "--notes",
            "checked the March statement",
            "--json",
        ],
        &[],
    ));
    assert_eq!(a1["proposal_id"], p1.as_str());
    assert_eq!(a1["tenant_id"], "acme");
    assert_eq!(a1["object_id"], "INV-1001");

    // 2. Flags: the person kept part of the fee and wrote another reason: a mismatch.
    ok(&airlock(
        &app,
        &[
            "shadow",
            "record-human-action",
            "--capability",
            CAP,
            "--tenant",
            "acme",
            "--object-id",
            "INV-1002",
            "--set",
            "late_fee_cents=2500",
            "--set",
            "waiver_reason=half waived",
            "--actor",
            "ines",
        ],
        &[],
    ));

    // 3. A file naming another tenant's object with the same id as acme's: recorded for
    //    globex, answers nothing of acme's.
    std::fs::write(
        app.join("globex.json"),
        json!({"format": "airlock.human-action.v1", "capability": CAP, "tenant_id": "globex",
               "object_id": "INV-1001", "patch": {"late_fee_cents": 0}})
        .to_string(),
    )
    .unwrap();
    ok(&airlock(
        &app,
        &["shadow", "record-human-action", "--file", "globex.json"],
        &[],
    ));

    let c1 = json_of(&airlock(&app, &["shadow", "compare", &p1, "--json"], &[]));
    assert_eq!(c1["status"], "exact_match", "{c1}");
    assert_eq!(
        c1["matching_columns"],
        json!(["late_fee_cents", "waiver_reason"])
    );
    let c2 = json_of(&airlock(&app, &["shadow", "compare", &p2, "--json"], &[]));
    assert_eq!(c2["status"], "mismatch", "{c2}");
    assert_eq!(
        c2["differing_columns"],
        json!(["late_fee_cents", "waiver_reason"])
    );
    let c3 = json_of(&airlock(&app, &["shadow", "compare", &p3, "--json"], &[]));
    assert_eq!(c3["status"], "no_human_action", "{c3}");
    let text = airlock(&app, &["shadow", "compare", &p2], &[]);
    ok(&text);
    assert!(
        text.stdout.contains("late_fee_cents: agent 0 / human 2500"),
        "{}",
        text.stdout
    );

    let r = report(&app);
    assert_eq!(r["format"], "airlock.shadow-report.v1");
    assert_eq!(r["shadow_proposals"], 3);
    assert_eq!(r["with_human_action"], 2);
    assert_eq!(r["exact_matches"], 1);
    assert_eq!(r["mismatches"], 1);
    assert_eq!(r["no_human_action"], 1);
    assert_eq!(r["exact_match_rate"], 0.5);
    assert_eq!(r["unanswered_human_actions"], 1);
    let cap = &r["capabilities"][0];
    assert_eq!(cap["capability"], CAP);
    let fee = cap["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["column"] == "late_fee_cents")
        .unwrap();
    assert_eq!(
        (fee["compared"].as_u64(), fee["matched"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(fee["match_rate"], 0.5);
    let example = &cap["mismatch_examples"][0];
    assert_eq!(example["object_id"], "INV-1002");
    assert_eq!(example["human"], 2500);

    // Filters and the other formats.
    let globex = json_of(&airlock(
        &app,
        &["shadow", "report", "--tenant", "globex", "--json"],
        &[],
    ));
    assert_eq!(globex["shadow_proposals"], 1);
    assert_eq!(globex["unanswered_human_actions"], 1);
    let md = airlock(&app, &["shadow", "report", "--format", "markdown"], &[]);
    ok(&md);
    assert!(
        md.stdout.starts_with("# Shadow mode report"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| `late_fee_cents` | 2 | 1 | 50% |"),
        "{}",
        md.stdout
    );
    let text = airlock(&app, &["shadow", "report"], &[]);
    ok(&text);
    assert!(
        text.stdout
            .contains("field waiver_reason: 1 of 2 matched (50%)"),
        "{}",
        text.stdout
    );

    // Every human action is in the chain.
    let v = json_of(&airlock(&app, &["ledger", "verify", "--json"], &[]));
    assert_eq!(v["ok"], true, "{v}");
}

#[test]
fn ledger_verify_finds_an_edited_removed_or_unchained_human_action() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, [p1, _, _]) = shadow_app(tmp.path());
    ok(&airlock(
        &app,
        &[
            "shadow",
            "record-human-action",
            &p1,
            "--set",
            "late_fee_cents=0",
        ],
        &[],
    ));
    let ledger = app.join(".airlock/ledger.db");
    assert!(ledger.exists());
    let copy = |name: &str| {
        let to = tmp.path().join(name);
        std::fs::copy(&ledger, &to).unwrap();
        to
    };
    let verify = |db: &Path| {
        let run = airlock(
            &app,
            &[
                "--store",
                db.to_str().unwrap(),
                "ledger",
                "verify",
                "--json",
            ],
            &[],
        );
        serde_json::from_str::<Value>(&run.stdout).unwrap_or_else(|_| panic!("{}", run.stderr))
    };
    for (name, sql, code) in [
        (
            "edited.db",
            "UPDATE human_actions SET patch_json = '{\"late_fee_cents\":5500}'",
            "RECORD_HASH_MISMATCH",
        ),
        ("removed.db", "DELETE FROM human_actions", "RECORD_MISSING"),
        (
            "unchained.db",
            "INSERT INTO human_actions (capability, tenant_id, object_id, actor, patch_json, created_at)
             VALUES ('billing.propose_late_fee_waiver', 'acme', 'INV-1002', 'mallory', '{}', '2026-01-01T00:00:00Z')",
            "UNCHAINED_RECORD",
        ),
    ] {
        let db = copy(name);
        // The anchor of the original ledger is not beside the copy; the chain alone decides.
        rusqlite::Connection::open(&db).unwrap().execute_batch(sql).unwrap();
        let v = verify(&db);
        assert_eq!(v["ok"], false, "{name}: {v}");
        assert_eq!(v["first_break"]["code"], code, "{name}: {v}");
    }
}

#[test]
fn bad_human_actions_are_refused_and_nothing_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, [p1, _, p3]) = shadow_app(tmp.path());
    let file = |name: &str, v: Value| {
        std::fs::write(app.join(name), v.to_string()).unwrap();
        name.to_owned()
    };
    let good = json!({"format": "airlock.human-action.v1", "capability": CAP,
                      "tenant_id": "acme", "object_id": "INV-1001",
                      "patch": {"late_fee_cents": 0}});
    let with = |k: &str, v: Value| {
        let mut d = good.clone();
        d[k] = v;
        d
    };
    let many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("c{i}"), json!(1))).collect();
    let cases: Vec<(Vec<String>, &str)> = vec![
        // Tampered or malformed files.
        (
            vec![
                "--file".into(),
                file("f1.json", with("format", json!("synapsor.human.v0"))),
            ],
            "SHADOW_FILE_INVALID",
        ),
        (
            vec![
                "--file".into(),
                file("f2.json", with("approved", json!(true))),
            ],
            "SHADOW_FILE_INVALID",
        ),
        (
            vec![
                "--file".into(),
                file("f3.json", with("patch", json!(["late_fee_cents", 0]))),
            ],
            "SHADOW_FILE_INVALID",
        ),
        (
            vec![
                "--file".into(),
                file("f4.json", with("tenant_id", json!(7))),
            ],
            "SHADOW_FILE_INVALID",
        ),
        (
            vec!["--file".into(), {
                std::fs::write(
                    app.join("f5.json"),
                    "{\"format\": \"airlock.human-action.v1\",",
                )
                .unwrap();
                "f5.json".into()
            }],
            "SHADOW_FILE_INVALID",
        ),
        // A file that ties itself to acme's proposal but names another tenant.
        (
            vec![
                "--file".into(),
                file("f6.json", {
                    let mut d = with("proposal_id", json!(p1));
                    d["tenant_id"] = json!("globex");
                    d
                }),
            ],
            "SHADOW_SCOPE_MISMATCH",
        ),
        (
            vec![
                p3.clone(),
                "--tenant".into(),
                "acme".into(),
                "--set".into(),
                "late_fee_cents=0".into(),
            ],
            "SHADOW_SCOPE_MISMATCH",
        ),
        (
            vec![
                p1.clone(),
                "--object-id".into(),
                "INV-2001".into(),
                "--set".into(),
                "late_fee_cents=0".into(),
            ],
            "SHADOW_SCOPE_MISMATCH",
        ),
        // Oversize fields.
        (
            vec![
                p1.clone(),
                "--set".into(),
                "late_fee_cents=0".into(),
                "--notes".into(),
                "n".repeat(2001),
            ],
            "SHADOW_FIELD_TOO_LARGE",
        ),
        (
            vec![
                p1.clone(),
                "--set".into(),
                format!("waiver_reason={}", "x".repeat(5000)),
            ],
            "SHADOW_FIELD_TOO_LARGE",
        ),
        (
            vec![
                "--file".into(),
                file("f7.json", with("patch", Value::Object(many))),
            ],
            "SHADOW_FIELD_TOO_LARGE",
        ),
        (
            vec![
                "--file".into(),
                file("f8.json", with("object_id", json!("I".repeat(300)))),
            ],
            "SHADOW_FIELD_TOO_LARGE",
        ),
        (
            vec!["--file".into(), {
                std::fs::write(app.join("big.json"), " ".repeat(300 * 1024)).unwrap();
                "big.json".into()
            }],
            "SHADOW_FIELD_TOO_LARGE",
        ),
        // Names that are not columns, secrets, incomplete or unknown targets.
        (
            vec![
                p1.clone(),
                "--set".into(),
                "a; DROP TABLE invoices--=1".into(),
            ],
            "SHADOW_PATCH_INVALID",
        ),
        (
            vec![p1.clone(), "--set".into(), "password=hunter2".into()],
            "SHADOW_SECRET_MATERIAL",
        ),
        (
            vec![
                p1.clone(),
                "--set".into(),
                "waiver_reason=postgres://app:s3cret@db/prod".into(),
            ],
            "SHADOW_SECRET_MATERIAL",
        ),
        (vec![p1.clone()], "SHADOW_PATCH_INVALID"),
        (
            vec![
                "--capability".into(),
                CAP.into(),
                "--set".into(),
                "late_fee_cents=0".into(),
            ],
            "SHADOW_ACTION_INCOMPLETE",
        ),
        (
            vec![
                "--capability".into(),
                "billing.execute_sql".into(),
                "--tenant".into(),
                "acme".into(),
                "--object-id".into(),
                "INV-1".into(),
                "--set".into(),
                "a=1".into(),
            ],
            "SHADOW_UNKNOWN_CAPABILITY",
        ),
        (
            vec![
                "wrp_00000000000000000000".into(),
                "--set".into(),
                "late_fee_cents=0".into(),
            ],
            "not found",
        ),
    ];
    for (args, code) in cases {
        let mut full: Vec<&str> = vec!["shadow", "record-human-action"];
        full.extend(args.iter().map(String::as_str));
        let run = airlock(&app, &full, &[]);
        assert_ne!(run.code, 0, "{code}: {args:?}");
        assert!(run.stderr.contains(code), "{code}: {}", run.stderr);
    }
    let r = report(&app);
    assert_eq!(r["with_human_action"], 0, "{r}");
    assert_eq!(r["unanswered_human_actions"], 0, "{r}");
    let v = json_of(&airlock(&app, &["ledger", "verify", "--json"], &[]));
    assert_eq!(v["ok"], true);
    // A proposal made in review mode is not a shadow proposal.
    let compare = airlock(
        &app,
        &["shadow", "compare", "wrp_00000000000000000000"],
        &[],
    );
    assert_ne!(compare.code, 0);
}
