//! Issue 8 against the real binary on MariaDB: with the default case-insensitive, pad-space
//! collation on the key and tenant columns, a trusted tenant or an id that differs from the
//! stored one only in case or trailing spaces reads nothing, proposes nothing, and an approved
//! change whose row moved to such a tenant writes nothing.

mod common;

use std::path::Path;

use common::airlock;
use serde_json::{Value, json};

const SCHEMA: &str = "
CREATE TABLE invoices (id VARCHAR(32) PRIMARY KEY, tenant_id VARCHAR(32) NOT NULL,
  late_fee_cents INT NOT NULL, waiver_reason VARCHAR(200) NULL, version INT NOT NULL)
  DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;
INSERT INTO invoices VALUES ('INV-1', 'acme', 500, NULL, 1), ('INV-2', 'ACME', 700, NULL, 1);
";

fn config() -> Value {
    let target = json!({"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"});
    json!({
        "version": 1, "mode": "review",
        "sources": {"app": {"engine": "mysql", "read_url_env": "APP_URL", "write_url_env": "APP_URL"}},
        "trusted_context": {"provider": "environment"},
        "operators": {"dana": {"roles": ["billing_lead"]}},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": "app",
            "target": target,
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["late_fee_cents"]
        }, {
            "name": "billing.propose_waiver", "kind": "proposal", "source": "app",
            "target": target,
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "late_fee_cents", "waiver_reason", "version"],
            "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"fixed": "goodwill"}},
            "allowed_columns": ["late_fee_cents", "waiver_reason"],
            "conflict_guard": {"column": "version"},
            "approval": {"required_role": "billing_lead"}
        }]
    })
}

fn call(dir: &Path, url: &str, verb: &[&str], invoice: &str, tenant: &str) -> (i32, Value) {
    let input = json!({"invoice_id": invoice}).to_string();
    let mut args = verb.to_vec();
    args.extend(["--json", input.as_str()]);
    let env = [
        ("APP_URL", url),
        ("SYNAPSOR_TENANT_ID", tenant),
        ("SYNAPSOR_PRINCIPAL", "agent_7"),
    ];
    let run = airlock(dir, &args, &env);
    let out = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", run.stdout, run.stderr));
    (run.code, out)
}

/// Every string anywhere in `v`.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The first object in `v` that has a `late_fee_cents` field: the row as the model sees it.
fn data(v: &Value) -> Option<&serde_json::Map<String, Value>> {
    match v {
        Value::Object(o) if o.contains_key("late_fee_cents") => Some(o),
        Value::Object(o) => o.values().find_map(data),
        Value::Array(a) => a.iter().find_map(data),
        _ => None,
    }
}

#[test]
fn case_and_padding_never_cross_the_tenant_boundary() {
    let Some(db) = airlock_testkit::fresh_mysql_blocking() else {
        return;
    };
    db.execute_batch_blocking(SCHEMA).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("airlock.json"), config().to_string()).unwrap();
    let url = db.url.as_str();
    let read = ["smoke", "call", "billing.inspect_invoice"];
    let propose = ["propose", "billing.propose_waiver"];

    // The exact values read their row. `data` carries the primary key and the tenant key even
    // though `visible_columns` lists neither (documented in docs/security.md).
    for (invoice, tenant, fee) in [("INV-1", "acme", 500), ("INV-2", "ACME", 700)] {
        let (code, out) = call(dir, url, &read, invoice, tenant);
        assert_eq!(code, 0, "{out}");
        let row = data(&out).unwrap_or_else(|| panic!("no row in {out}"));
        assert_eq!(row["late_fee_cents"], json!(fee), "{out}");
        assert_eq!(row["tenant_id"], json!(tenant), "{out}");
        assert_eq!(row["id"], json!(invoice), "{out}");
    }

    // Near misses read nothing and propose nothing.
    let near_misses = [
        ("INV-1", "ACME"),
        ("INV-1", "Acme"),
        ("INV-1", "acme "),
        ("inv-1", "acme"),
        ("INV-1 ", "acme"),
        ("INV-2", "acme"),
    ];
    for (invoice, tenant) in near_misses {
        for verb in [&read[..], &propose[..]] {
            let (code, out) = call(dir, url, verb, invoice, tenant);
            assert_eq!(code, 1, "{verb:?} {invoice:?}/{tenant:?}: {out}");
            let text = strings(&out).join(" ");
            assert!(
                text.contains("NOT_FOUND"),
                "{verb:?} {invoice:?}/{tenant:?}: {out}"
            );
            assert!(
                !text.contains("500") && !out.to_string().contains("500"),
                "{out}"
            );
        }
    }
    let listed = airlock(dir, &["proposals", "list", "--json"], &[]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(
        listed["proposals"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );

    // An approved change for `acme` whose row has since moved to tenant `Acme` writes nothing.
    let (code, out) = call(dir, url, &propose, "INV-1", "acme");
    assert_eq!(code, 0, "{out}");
    let run = airlock(
        dir,
        &["proposals", "approve", "latest", "--actor", "dana", "--yes"],
        &[("APP_URL", url)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    db.execute_batch_blocking("UPDATE invoices SET tenant_id = 'Acme' WHERE id = 'INV-1'")
        .unwrap();
    let run = airlock(
        dir,
        &["apply", "latest", "--actor", "dana", "--json"],
        &[("APP_URL", url)],
    );
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", run.stdout, run.stderr));
    assert_eq!(report["status"], "conflict", "{report}");
    assert_eq!(
        db.query_scalar_blocking(
            "SELECT GROUP_CONCAT(CONCAT(id, ':', tenant_id, ':', late_fee_cents, ':', version) ORDER BY id) FROM invoices"
        )
        .unwrap()
        .unwrap(),
        "INV-1:Acme:500:1,INV-2:ACME:700:1"
    );
}
