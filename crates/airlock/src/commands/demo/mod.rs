//! `airlock demo`: the whole story on an embedded SQLite app, no services needed.
//!
//! Creates `<dir>/app.db` (a two-tenant subscription business), `<dir>/airlock.json` and a
//! ledger, then walks through: list tools → inspect → cross-tenant and forged-tenant attempts →
//! propose → a proposal outside policy → prove the database did not change → verify the ledger
//! → approval outside MCP (with refused approvers) → dry run → apply → idempotent retry → a
//! conflict → replay.

use std::io::BufRead;
use std::path::Path;

use airlock_capability::envelope::{self, Outcome};
use airlock_capability::{AliasMode, Catalog};
use airlock_cli::DemoArgs;
use airlock_ledger::{Actor, Ledger, Review, SqliteLedger};
use airlock_runtime::Runtime;
use airlock_writeback::apply;
use airlock_writeback::approval::{self, DecideError, Verdict};
use serde_json::{Map, Value, json};

use crate::demo_app::DemoApp;
use crate::output::{self, ExitStatus, hinted};
use crate::settings::{Settings, absolute};

const CONFIG: &str = include_str!("airlock.json");
/// Marks a folder as created by `airlock demo`, so a rerun may reset it.
const MARKER: &str = ".airlock-demo";

pub async fn run(settings: &Settings, args: &DemoArgs) -> anyhow::Result<ExitStatus> {
    let dir = absolute(&settings.cwd, &args.dir);
    prepare(&dir)?;
    let demo_settings = Settings {
        cwd: settings.cwd.clone(),
        env: settings.env.clone(),
        config: Some(dir.join("airlock.json")),
        store: None,
    };
    let loaded = demo_settings.load_config()?;
    let runtime = demo_settings
        .runtime(&loaded, AliasMode::Canonical, None)
        .await?;
    // The review side: a ledger on the same file, changed only through airlock-writeback's
    // `approval::decide` and `apply::apply` (the runtime's ledger can only record and read).
    // The demo writes its own config (always the SQLite ledger in its folder).
    let review = SqliteLedger::open(&demo_settings.store_path(Some(&loaded)))?;
    let mut story = Story {
        json: args.json,
        pause: !args.no_pause && !args.json && output::interactive(),
        steps: Vec::new(),
    };
    let ok = walk(&mut story, &runtime, &review, &dir).await?;
    if story.json {
        output::json(&json!({"ok": ok, "dir": dir, "steps": story.steps}))?;
    } else if output::interactive() && offer_ui()? {
        drop(review);
        open_ui(&demo_settings).await?;
    }
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// On a terminal, the demo ends by offering the review UI on its ledger.
fn offer_ui() -> anyhow::Result<bool> {
    Ok(inquire::Confirm::new("Open the review UI now?")
        .with_default(true)
        .with_help_message("it serves this demo's ledger on 127.0.0.1 until Ctrl-C")
        .prompt()?)
}

/// Serves `airlock ui --open` on the demo's ledger, with a fresh sign-in secret for the demo's
/// operator `dana`, printed once (it lives only in this process).
async fn open_ui(demo: &Settings) -> anyhow::Result<()> {
    let secret = airlock_review_ui::generate_secret();
    let mut env = demo.env.clone();
    env.insert(
        airlock_review_ui::operator_secret_var("dana"),
        secret.clone(),
    );
    let settings = Settings {
        env,
        cwd: demo.cwd.clone(),
        config: demo.config.clone(),
        store: None,
    };
    output::line(&format!(
        "Sign in as operator dana with this secret (shown once, valid while the UI runs): {secret}"
    ));
    let args = airlock_cli::UiArgs {
        host: "127.0.0.1".into(),
        port: 0,
        open: true,
        allow_remote_bind: false,
        runner: "airlock-ui".into(),
        project: "local".into(),
        tour: false,
    };
    crate::commands::ui::run(&settings, &args).await?;
    Ok(())
}

/// Creates the folder, or resets one an earlier demo created. Refuses anything else.
fn prepare(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            return Err(hinted(
                format!(
                    "{} exists and was not created by `airlock demo`",
                    dir.display()
                ),
                "pass --dir with a new folder name",
            ));
        }
        for f in ["app.db", "ledger.db", "ledger.db-wal", "ledger.db-shm"] {
            let p = dir.join(f);
            if p.exists() {
                fs_err::remove_file(p)?;
            }
        }
    }
    fs_err::create_dir_all(dir)?;
    fs_err::write(
        dir.join(MARKER),
        "created by airlock demo; safe to delete\n",
    )?;
    fs_err::write(dir.join("airlock.json"), CONFIG)?;
    DemoApp::create(&dir.join("app.db"))?;
    Ok(())
}

struct Story {
    json: bool,
    pause: bool,
    steps: Vec<Value>,
}

impl Story {
    fn heading(&self, n: usize, title: &str) {
        if !self.json {
            output::line("");
            output::line(&format!("── {n}. {title}"));
        }
    }

    fn say(&self, text: &str) {
        if !self.json {
            output::line(text);
        }
    }

    fn wait(&self) {
        if self.pause {
            output::line("   (press Enter)");
            let _ = std::io::stdin().lock().read_line(&mut String::new());
        }
    }
}

async fn call(
    story: &mut Story,
    rt: &Runtime,
    title: &str,
    tool: &str,
    args: Value,
) -> Result<Outcome, Value> {
    let map: Map<String, Value> = args.as_object().cloned().unwrap_or_default();
    let result = rt.call(tool, &map, None).await;
    let shown = match &result {
        Ok(o) => envelope::render(o, rt.result_format()),
        Err(f) => f.render(rt.result_format()),
    };
    story.say(&format!("   agent calls {tool} {args}"));
    story.say(&format!("   model sees: {}", summary(&shown)));
    story
        .steps
        .push(json!({"step": title, "tool": tool, "arguments": args, "result": shown}));
    result.map_err(|_| shown)
}

fn summary(v: &Value) -> String {
    let mut s = v["summary"].as_str().unwrap_or("").to_owned();
    if let Some(code) = v["error"]["code"].as_str() {
        s = format!("refused [{code}] {s}");
    }
    if let Some(data) = v["data"].as_object() {
        s.push_str(&format!("\n   data: {}", Value::Object(data.clone())));
    }
    if let Some(diff) = v["proposal"]["diff"].as_object() {
        s.push_str(&format!("\n   diff: {}", Value::Object(diff.clone())));
    }
    s
}

async fn walk(
    story: &mut Story,
    rt: &Runtime,
    review: &SqliteLedger,
    dir: &Path,
) -> anyhow::Result<bool> {
    let mut ok = true;
    story.say(&format!("Airlock demo in {}", dir.display()));
    story.say("An agent works for the tenant `northwind`. It never sees SQL, table names it may pick, or credentials.");

    story.heading(
        1,
        "The tools the model sees (no execute_sql, no approve, no apply)",
    );
    for t in &Catalog::new(rt.config(), AliasMode::Canonical).tools {
        story.say(&format!("   - {} [{}]", t.name, t.kind.as_str()));
    }
    story.wait();

    story.heading(2, "Inspect a subscription in the agent's own tenant");
    ok &= call(
        story,
        rt,
        "inspect",
        "billing.inspect_subscription",
        json!({"subscription_id": "SUB-1001"}),
    )
    .await
    .is_ok();
    story.wait();

    story.heading(
        3,
        "Ask for another tenant's subscription (SUB-2001 belongs to globex)",
    );
    ok &= call(
        story,
        rt,
        "cross_tenant",
        "billing.inspect_subscription",
        json!({"subscription_id": "SUB-2001"}),
    )
    .await
    .is_err();
    story.say("   The read was scoped by tenant in SQL; the miss is in the query audit.");
    story.wait();

    story.heading(4, "Try to smuggle a tenant id in the arguments");
    ok &= call(
        story,
        rt,
        "forged_tenant",
        "billing.inspect_subscription",
        json!({"subscription_id": "SUB-2001", "tenant_id": "globex"}),
    )
    .await
    .is_err();
    story.wait();

    story.heading(5, "Propose a 15% loyalty discount");
    let proposal = call(story, rt, "propose", "billing.propose_discount", json!({"subscription_id": "SUB-1001", "discount_pct": 15, "reason": "three years as a customer"})).await;
    let proposal_id = match &proposal {
        Ok(Outcome::Proposal(p)) => Some(p.proposal_id.clone()),
        _ => None,
    };
    ok &= proposal_id.is_some();
    story.wait();

    story.heading(6, "Propose an 80% discount (outside the reviewed bounds)");
    ok &= call(
        story,
        rt,
        "out_of_policy",
        "billing.propose_discount",
        json!({"subscription_id": "SUB-1001", "discount_pct": 80, "reason": "please"}),
    )
    .await
    .is_err();
    story.wait();

    story.heading(7, "The database did not change");
    let (pct, version) = DemoApp::open(&dir.join("app.db"))?.subscription("SUB-1001")?;
    story.say(&format!(
        "   SUB-1001 in app.db: discount_pct = {pct}, row_version = {version} (unchanged)"
    ));
    story
        .steps
        .push(json!({"step": "database_unchanged", "discount_pct": pct, "row_version": version}));
    ok &= pct == 0 && version == 1;

    story.heading(
        8,
        "The ledger holds evidence, query audit and the proposal, hash-chained",
    );
    let ledger = rt.ledger();
    let stats = ledger.stats().await?;
    let report = ledger.verify().await?;
    story.say(&format!(
        "   {} proposals, {} evidence bundles, {} query-audit records, {} events; verify: {}",
        stats.proposals,
        stats.evidence_bundles,
        stats.query_audit,
        stats.events,
        if report.ok { "ok" } else { "BROKEN" }
    ));
    story
        .steps
        .push(json!({"step": "ledger", "stats": stats, "verify": report}));
    ok &= report.ok;

    story.wait();

    let Some(proposal_id) = proposal_id else {
        return Ok(false);
    };
    ok &= review_and_apply(story, rt, review, dir, &proposal_id).await?;

    let cfg = dir.join("airlock.json");
    story.say("");
    story.say(&format!("Demo {}.", if ok { "complete" } else { "FAILED" }));
    story.say("Look around yourself:");
    story.say(&format!(
        "   airlock --config {} replay show {proposal_id}",
        cfg.display()
    ));
    story.say(&format!(
        "   airlock --config {} receipts list",
        cfg.display()
    ));
    story.say(&format!(
        "   airlock --config {} query-audit list",
        cfg.display()
    ));
    story.say(&format!(
        "   airlock --config {} ledger verify",
        cfg.display()
    ));
    story.say(&format!(
        "Review it in a browser: {}=<a secret> airlock --config {} ui --open",
        airlock_review_ui::operator_secret_var("dana"),
        cfg.display()
    ));
    Ok(ok)
}

/// Steps 9-12: approval outside MCP, dry run, apply, idempotent retry, a conflict, replay.
async fn review_and_apply(
    story: &mut Story,
    rt: &Runtime,
    ledger: &SqliteLedger,
    dir: &Path,
    proposal_id: &str,
) -> anyhow::Result<bool> {
    let mut ok = true;
    story.heading(
        9,
        "A person approves, outside MCP (the agent has no approve tool)",
    );
    let proposal = ledger.proposal(proposal_id).await?;
    for (actor, expect) in [
        (
            "demo_support_agent",
            "refused: cannot approve its own proposal",
        ),
        ("sam", "refused: lacks role billing_lead"),
    ] {
        let refused = matches!(
            approve(rt, ledger, &proposal, actor).await,
            Err(DecideError::Refused(_))
        );
        story.say(&format!(
            "   {actor} tries to approve → {}",
            if refused {
                expect
            } else {
                "ALLOWED (unexpected)"
            }
        ));
        ok &= refused;
    }
    let role = approve(rt, ledger, &proposal, "dana")
        .await?
        .authorized
        .role;
    story.say(&format!(
        "   dana approves as {} → approved",
        role.unwrap_or_default()
    ));
    story.wait();

    story.heading(10, "Rehearse, then apply with every guard");
    let dry = apply_once(rt, ledger, dir, proposal_id, true).await?;
    story.say(&format!(
        "   dry run: {} ({}); nothing recorded",
        dry.status, dry.detail
    ));
    let applied = apply_once(rt, ledger, dir, proposal_id, false).await?;
    story.say(&format!(
        "   apply: {}, {} row, version {} → {}",
        applied.status,
        applied.receipt.rows_affected,
        applied.receipt.previous_version.clone().unwrap_or_default(),
        applied.receipt.new_version.clone().unwrap_or_default()
    ));
    let app = DemoApp::open(&dir.join("app.db"))?;
    let (pct, version) = app.subscription("SUB-1001")?;
    story.say(&format!(
        "   SUB-1001 in app.db now: discount_pct = {pct}, row_version = {version}"
    ));
    ok &= applied.status == "applied" && pct == 15 && version == 2;
    let again = apply_once(rt, ledger, dir, proposal_id, false).await?;
    story.say(&format!(
        "   apply again: {} (nothing written twice)",
        again.status
    ));
    ok &= again.status == "already_applied";
    story
        .steps
        .push(json!({"step": "apply", "dry_run": dry, "applied": applied, "again": again}));
    story.wait();

    story.heading(
        11,
        "A row that changed after the proposal is not overwritten",
    );
    let args =
        json!({"ticket_id": "T-501", "status": "resolved", "resolution": "seat count corrected"});
    match call(
        story,
        rt,
        "propose_ticket",
        "support.propose_ticket_status",
        args,
    )
    .await
    {
        Ok(Outcome::Proposal(t)) => {
            let p = ledger.proposal(&t.proposal_id).await?;
            approve(rt, ledger, &p, "sam").await?;
            story.say("   sam approves; meanwhile the app itself moves T-501 to pending");
            app.set_ticket_status("T-501", "pending", "2026-11-24T10:00:00Z")?;
            let conflict = apply_once(rt, ledger, dir, &t.proposal_id, false).await?;
            story.say(&format!(
                "   apply: {} [{}]; Airlock wrote nothing",
                conflict.status,
                conflict.receipt.safe_error_code.clone().unwrap_or_default()
            ));
            ok &= conflict.status == "conflict";
            story
                .steps
                .push(json!({"step": "conflict", "report": conflict}));
        }
        _ => ok = false,
    }
    story.wait();

    story.heading(12, "Replay the whole story from the ledger");
    let replay = ledger.replay(proposal_id).await?;
    let kinds: Vec<&str> = replay.events.iter().map(|e| e.kind.as_str()).collect();
    story.say(&format!("   {}: {}", replay.replay_id, kinds.join(" → ")));
    let report = ledger.verify().await?;
    story.say(&format!(
        "   ledger verify: {} ({} events)",
        if report.ok { "ok" } else { "BROKEN" },
        report.events_checked
    ));
    story
        .steps
        .push(json!({"step": "replay", "events": kinds, "verify": report}));
    Ok(ok && report.ok)
}

/// The demo's scripted operators; the ledger records them as named by the demo.
fn demo_actor(name: &str) -> Actor {
    Actor {
        name: name.into(),
        source: "demo".into(),
    }
}

/// `actor` approves `p` through the one path that checks the rules and records the decision.
async fn approve(
    rt: &Runtime,
    ledger: &dyn Review,
    p: &airlock_ledger::StoredProposal,
    actor: &str,
) -> Result<approval::Decided, DecideError> {
    let reason = Some("within policy".into());
    approval::decide(
        ledger,
        rt.config(),
        p,
        &demo_actor(actor),
        Verdict::Approve,
        reason,
    )
    .await
}

async fn apply_once(
    rt: &Runtime,
    ledger: &SqliteLedger,
    dir: &Path,
    proposal_id: &str,
    dry_run: bool,
) -> anyhow::Result<airlock_writeback::ApplyReport> {
    Ok(apply::run(
        ledger,
        rt.config(),
        &Default::default(),
        dir,
        apply::ApplyRequest {
            proposal_id,
            job_file: None,
            project: "demo",
            runner_id: "airlock-demo",
            actor: &demo_actor("dana"),
            dry_run,
        },
    )
    .await?)
}
