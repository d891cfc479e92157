//! `airlock ui` end to end in a real headless browser (Debian's chromium through
//! chromedriver), on an SQLite app: an agent proposes through the real binary while the queue
//! is open → the queue shows it without a reload → an operator without the role is refused →
//! the right operator approves with a reason → dry run → apply → receipt and replay on the
//! page; a second tab sees the change. Plain HTTP checks: CSRF-less, cross-origin and
//! wrong-Host requests are refused and change nothing. Bind refusals need no browser.
//!
//! `AIRLOCK_UPDATE_SCREENSHOTS=1` also writes the queue and proposal screenshots to docs/img/.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::webdriver::{Driver, browser};
use common::{airlock, clean_command};
use serde_json::json;

const APP: &str = "
CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, status TEXT NOT NULL,
  late_fee_cents INTEGER NOT NULL, waiver_reason TEXT, updated_at TEXT NOT NULL);
INSERT INTO invoices VALUES ('INV-3001', 'acme', 'open', 2500, NULL, '2026-11-01T10:00:00.000Z');
";

const DANA_SECRET: &str = "dana-secret-7f1c2e";
const SAM_SECRET: &str = "sam-secret-90ab33";

fn setup(dir: &Path) {
    setup_with(dir, json!({}));
}

/// [`setup`] with extra top-level config keys.
fn setup_with(dir: &Path, extra: serde_json::Value) {
    rusqlite::Connection::open(dir.join("app.db"))
        .unwrap()
        .execute_batch(APP)
        .unwrap();
    let config = json!({
        "version": 1, "mode": "review", "result_format": 2,
        "storage": {"sqlite_path": "ledger.db"},
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "environment"},
        "operators": {"dana": {"roles": ["billing_lead"]}, "sam": {"roles": ["support_lead"]}},
        "capabilities": [{
            "name": "billing.waive_late_fee", "kind": "proposal", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}, "reason": {"type": "string", "max_length": 200}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "status", "late_fee_cents", "waiver_reason", "updated_at"],
            "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"from_arg": "reason"}},
            "allowed_columns": ["late_fee_cents", "waiver_reason"],
            "conflict_guard": {"column": "updated_at", "bump": true},
            "approval": {"mode": "human", "required_role": "billing_lead"}
        }]
    });
    let mut config = config;
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    std::fs::write(
        dir.join("airlock.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
}

/// The agent proposes to waive INV-3001's fee, from its own process.
fn agent_proposes(dir: &Path, reason: &str) {
    let args = json!({"invoice_id": "INV-3001", "reason": reason}).to_string();
    let run = airlock(
        dir,
        &["propose", "billing.waive_late_fee", "--json", &args],
        &[
            ("SYNAPSOR_TENANT_ID", "acme"),
            ("SYNAPSOR_PRINCIPAL", "agent_7"),
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

fn fee(dir: &Path) -> i64 {
    rusqlite::Connection::open(dir.join("app.db"))
        .unwrap()
        .query_row(
            "SELECT late_fee_cents FROM invoices WHERE id = 'INV-3001'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn state(dir: &Path, id: &str) -> String {
    let run = airlock(dir, &["proposals", "show", id, "--json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    v["proposal"]["state"].as_str().unwrap().to_owned()
}

/// A running `airlock ui`, stopped on drop.
struct UiServer {
    child: Child,
    url: String,
    origin: String,
}

impl UiServer {
    fn start(dir: &Path) -> UiServer {
        let mut child = clean_command(dir)
            .args(["ui", "--port", "0"])
            .env("AIRLOCK_UI_SECRET_DANA", DANA_SECRET)
            .env("AIRLOCK_UI_SECRET_SAM", SAM_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("airlock ui starts");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep reading, so the server's later lines never meet a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        let origin = url.split("/?").next().unwrap().to_owned();
        UiServer { child, url, origin }
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn save_screenshot(name: &str, png: &[u8]) {
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let out = std::env::temp_dir().join(format!("airlock-ui-{name}"));
    std::fs::write(&out, png).unwrap();
    if std::env::var("AIRLOCK_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(name), png).unwrap();
    }
}

async fn sign_in(d: &Driver, origin: &str, operator: &str, secret: &str) {
    d.goto(&format!("{origin}/login")).await;
    d.click(&format!("select[name=operator] option[value={operator}]"))
        .await;
    d.type_into("input[name=secret]", secret).await;
    d.click("#login-form button[type=submit]").await;
    d.wait_text("#who", operator, Duration::from_secs(5)).await;
}

async fn sign_out(d: &Driver) {
    d.click("header form.inline button").await;
    d.wait_text("header", "Sign in", Duration::from_secs(5))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn review_in_a_real_browser() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    let ui = UiServer::start(dir);
    let d = Driver::start(&chromium, &chromedriver).await;

    // The run's link trades its token for a cookie and leaves the address bar.
    d.goto(&ui.url).await;
    assert!(!d.url().await.contains("token="), "{}", d.url().await);
    d.wait_text("#heading", "0 pending", Duration::from_secs(5))
        .await;

    // An agent proposes from another process; the open queue shows it without a reload.
    agent_proposes(dir, "customer was double-billed");
    let listed = d
        .wait_text("#list", "INV-3001", Duration::from_secs(5))
        .await;
    assert!(
        listed.contains("agent_7") && listed.contains("late_fee_cents → 0"),
        "{listed}"
    );
    assert!(
        d.title().await.starts_with("(1) pending"),
        "{}",
        d.title().await
    );
    save_screenshot("ui-queue.png", &d.screenshot().await);

    d.click("a.pid").await;
    let diff = d.wait_text("#diff", "2500", Duration::from_secs(5)).await;
    assert!(
        diff.contains("late_fee_cents") && diff.contains('0'),
        "{diff}"
    );
    let id = d.text("#proposal-id").await;
    let proposal_url = d.url().await;
    let page = d.source().await;
    for part in [
        "Evidence the agent saw",
        "Conflict guard",
        "billing_lead",
        "proposal_created",
    ] {
        assert!(page.contains(part), "{part} missing");
    }
    // Not signed in: no decision form.
    assert!(!page.contains("approve-form"));

    // sam holds support_lead, not billing_lead: refused, nothing recorded.
    sign_in(&d, &ui.origin, "sam", SAM_SECRET).await;
    d.goto(&proposal_url).await;
    d.type_into("#approve-form textarea[name=reason]", "looks fine")
        .await;
    d.type_into("#approve-form input[name=confirm]", "INV-3001")
        .await;
    d.click("#approve-form button").await;
    let refused = d
        .wait_text("#outcome", "Refused", Duration::from_secs(5))
        .await;
    assert!(
        refused.contains("does not hold role `billing_lead`"),
        "{refused}"
    );
    assert_eq!(state(dir, &id), "pending_review");
    sign_out(&d).await;

    // A wrong secret does not sign in.
    d.goto(&format!("{}/login", ui.origin)).await;
    d.click("select[name=operator] option[value=dana]").await;
    d.type_into("input[name=secret]", "guess").await;
    d.click("#login-form button[type=submit]").await;
    d.wait_text("main", "do not match", Duration::from_secs(5))
        .await;

    // dana approves; a wrong confirmation first.
    sign_in(&d, &ui.origin, "dana", DANA_SECRET).await;
    d.goto(&proposal_url).await;
    save_screenshot("ui-proposal.png", &d.screenshot().await);
    d.type_into(
        "#approve-form textarea[name=reason]",
        "double billing confirmed in ticket 4411",
    )
    .await;
    d.type_into("#approve-form input[name=confirm]", "INV-9999")
        .await;
    d.click("#approve-form button").await;
    d.wait_text(
        "#outcome",
        "confirmation does not match",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(state(dir, &id), "pending_review");
    d.type_into(
        "#approve-form textarea[name=reason]",
        "double billing confirmed in ticket 4411",
    )
    .await;
    d.type_into("#approve-form input[name=confirm]", "INV-3001")
        .await;
    d.click("#approve-form button").await;
    let approved = d
        .wait_text("#outcome", "Approved", Duration::from_secs(5))
        .await;
    assert!(
        approved.contains("dana") && approved.contains("billing_lead"),
        "{approved}"
    );
    assert_eq!(state(dir, &id), "approved");
    let decisions = d.text("#approvals").await;
    assert!(decisions.contains("ticket 4411"), "{decisions}");

    // Dry run: rolled back, nothing written.
    d.click("#dry-run-form button").await;
    let dry = d
        .wait_text("#outcome", "Dry run passed", Duration::from_secs(10))
        .await;
    assert!(dry.contains("rolled back"), "{dry}");
    assert_eq!(fee(dir), 2500);
    assert_eq!(state(dir, &id), "approved");

    // Apply: a separate, explicit action.
    d.click("#apply-form input[name=confirm]").await;
    d.click("#apply-form button").await;
    d.wait_text("#outcome", "Applied.", Duration::from_secs(10))
        .await;
    assert_eq!(fee(dir), 0);
    assert_eq!(state(dir, &id), "applied");
    let receipts = d.text("#receipts").await;
    assert!(
        receipts.contains("applied") && receipts.contains("rct_"),
        "{receipts}"
    );
    let timeline = d.text("#timeline").await;
    assert!(
        timeline.contains("proposal_approved") && timeline.contains("dana"),
        "{timeline}"
    );

    // A second tab sees the empty queue and the applied proposal.
    d.new_tab().await;
    d.goto(&format!("{}/", ui.origin)).await;
    d.wait_text("#heading", "0 pending", Duration::from_secs(5))
        .await;
    d.goto(&format!("{}/history?state=applied", ui.origin))
        .await;
    d.wait_text("#list", &id, Duration::from_secs(5)).await;

    // History search: a word of the approval's reason, the approver, the object; literal text
    // (wildcards and SQL are just characters), one page at a time.
    for needle in ["TICKET 4411", "dana", "inv-3001", &id[..10]] {
        d.goto(&format!("{}/history", ui.origin)).await;
        d.type_into("#search", needle).await;
        d.click("form.search button").await;
        d.wait_text("#heading", "1 proposal matching", Duration::from_secs(5))
            .await;
        d.wait_text("#list", &id, Duration::from_secs(5)).await;
    }
    for needle in ["%", "' OR 1=1 --", "<script>alert(1)</script>"] {
        d.goto(&format!("{}/history", ui.origin)).await;
        d.type_into("#search", needle).await;
        d.click("form.search button").await;
        let heading = d
            .wait_text("#heading", "0 proposals matching", Duration::from_secs(5))
            .await;
        assert!(heading.contains(needle), "{heading}");
    }
    d.goto(&format!("{}/ledger", ui.origin)).await;
    d.wait_text("#verify", "Verified", Duration::from_secs(10))
        .await;
    d.quit().await;
}

/// `review.apply: with_approval`: one button approves and applies, through the same rules
/// (a wrong role is still refused, and nothing is applied).
#[tokio::test(flavor = "multi_thread")]
async fn one_step_approve_and_apply_when_the_config_asks_for_it() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup_with(dir, json!({"review": {"apply": "with_approval"}}));
    agent_proposes(dir, "goodwill");
    let ui = UiServer::start(dir);
    let d = Driver::start(&chromium, &chromedriver).await;
    d.goto(&ui.url).await;
    d.wait_text("#list", "INV-3001", Duration::from_secs(5))
        .await;
    d.click("a.pid").await;
    let proposal_url = d.url().await;
    let id = d.text("#proposal-id").await;

    // sam lacks the role: refused, nothing approved, nothing written.
    sign_in(&d, &ui.origin, "sam", SAM_SECRET).await;
    d.goto(&proposal_url).await;
    let form = d.text("#approve-form").await;
    assert!(form.contains("Approve and apply"), "{form}");
    d.type_into("#approve-form textarea[name=reason]", "fine")
        .await;
    d.type_into("#approve-form input[name=confirm]", "INV-3001")
        .await;
    d.click("#approve-and-apply").await;
    d.wait_text("#outcome", "Refused", Duration::from_secs(5))
        .await;
    assert_eq!(
        (state(dir, &id).as_str(), fee(dir)),
        ("pending_review", 2500)
    );
    sign_out(&d).await;

    // dana: approved and applied in one step, with the receipt on the page.
    sign_in(&d, &ui.origin, "dana", DANA_SECRET).await;
    d.goto(&proposal_url).await;
    d.type_into("#approve-form textarea[name=reason]", "goodwill, ticket 77")
        .await;
    d.type_into("#approve-form input[name=confirm]", "INV-3001")
        .await;
    d.click("#approve-and-apply").await;
    let outcome = d
        .wait_text("main", "Applied.", Duration::from_secs(10))
        .await;
    assert!(outcome.contains("Approved by dana"), "{outcome}");
    assert_eq!((state(dir, &id).as_str(), fee(dir)), ("applied", 0));
    let receipts = d.text("#receipts").await;
    assert!(receipts.contains("rct_"), "{receipts}");
    d.quit().await;
}

/// Extracts the first `name="csrf" value="…"` of a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_cross_origin_posts_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    agent_proposes(dir, "x");
    let ui = UiServer::start(dir);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // No session: refused.
    let r = http.get(format!("{}/", ui.origin)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // A wrong token: refused.
    let r = http
        .get(format!("{}/?token={}", ui.origin, "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The right token: a strict, HttpOnly cookie and a redirect without the token.
    let r = http.get(&ui.url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();

    // Sign in as dana over plain HTTP to get a session that could decide.
    let page = http
        .get(format!("{}/login", ui.origin))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let csrf = csrf_of(&page.text().await.unwrap());
    let r = http
        .post(format!("{}/login", ui.origin))
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("operator", "dana"),
            ("secret", DANA_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let queue = http
        .get(format!("{}/", ui.origin))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = queue.split("/proposals/").nth(1).unwrap()[..24].to_owned();
    let page = http
        .get(format!("{}/proposals/{id}", ui.origin))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let reject = format!("{}/proposals/{id}/reject", ui.origin);
    let hash = page
        .split("name=\"proposal_hash\" value=\"")
        .nth(1)
        .unwrap()[..71]
        .to_owned();

    // Without the CSRF token: refused.
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[("reason", "forged"), ("proposal_hash", hash.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("CSRF"));
    // Another session's token is not this one's.
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[
            ("csrf", "f".repeat(64).as_str()),
            ("reason", "forged"),
            ("proposal_hash", hash.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // From another origin, even with the token: refused.
    for origin in ["http://evil.example", "null"] {
        let r = http
            .post(&reject)
            .header("cookie", &cookie)
            .header("origin", origin)
            .form(&[
                ("csrf", csrf.as_str()),
                ("reason", "forged"),
                ("proposal_hash", hash.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "origin {origin}");
    }
    // No Origin at all: refused.
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", "forged"),
            ("proposal_hash", hash.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Cross-site fetch metadata: refused.
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", "forged"),
            ("proposal_hash", hash.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A rebinding host name: refused before anything else.
    let r = http
        .get(format!("{}/", ui.origin))
        .header("host", "attacker.example:80")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421);
    assert_eq!(state(dir, &id), "pending_review");

    // Bad inputs to a real session: reasons missing, oversize, unknown ids, bad filters.
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", "  "),
            ("proposal_hash", hash.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("needs a reason"));
    let long = "x".repeat(3000);
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", long.as_str()),
            ("proposal_hash", hash.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", "stale"),
            ("proposal_hash", "sha256:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("changed since"));
    assert_eq!(state(dir, &id), "pending_review");
    for (path, status) in [
        ("/proposals/wrp_00000000000000000000", 404),
        ("/proposals/%27%20OR%201=1--", 404),
        ("/?page=abc", 400),
        ("/?older_than=-5", 400),
        ("/history?state=drop_table", 400),
        ("/?tenant=%27%20OR%20%271%27=%271", 200),
    ] {
        let r = http
            .get(format!("{}{path}", ui.origin))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    // An apply of a proposal that is not approved: refused, named.
    let r = http
        .post(format!("{}/proposals/{id}/apply", ui.origin))
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[("csrf", csrf.as_str()), ("confirm", "apply")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("only an approved proposal can be applied")
    );
    assert_eq!(fee(dir), 2500);
    // And the real rejection works with all of it right.
    let r = http
        .post(&reject)
        .header("cookie", &cookie)
        .header("origin", &ui.origin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", "not our customer"),
            ("proposal_hash", hash.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(state(dir, &id), "rejected");
}

#[test]
fn binding_beyond_loopback_is_refused_without_operators_who_can_sign_in() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    let run = airlock(
        dir,
        &["ui", "--host", "0.0.0.0", "--allow-remote-bind"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("every interface"), "{}", run.stderr);
    let run = airlock(dir, &["ui", "--host", "192.0.2.10"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--allow-remote-bind"), "{}", run.stderr);
    let run = airlock(
        dir,
        &["ui", "--host", "192.0.2.10", "--allow-remote-bind"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("AIRLOCK_UI_SECRET_DANA"),
        "{}",
        run.stderr
    );
    let run = airlock(dir, &["ui", "--host", "not-an-ip"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not an IP address"), "{}", run.stderr);
}
