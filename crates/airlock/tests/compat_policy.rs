//! Compatibility tier, part two: what Airlock keeps stricter than Synapsor Runner, and the
//! original command forms it refuses, each with the message a switching user sees. Runs on an
//! embedded SQLite app (no services), from a working folder without a config file and with
//! `USER` unset.
//!
//! - A config without `operators` (every original config) approves with a warning; once a
//!   proposal was made under declared operators, no later config can approve it unchecked.
//! - Self-approval switched off when a proposal was made stays off for it.
//! - Review commands find the config the ledger remembers, and say so when it is gone.
//! - Original-only command forms are refused naming the Airlock form; the original's MCP
//!   flags are accepted.

mod compat_support;

use std::path::PathBuf;
use std::process::Command;

use compat_support::{Run, STORE, mcp_session, proposal_id};
use serde_json::{Value, json};

/// An app folder (database and config, as the original lays it out) and a separate, empty
/// working folder.
struct Local {
    _root: tempfile::TempDir,
    app: PathBuf,
    work: PathBuf,
}

impl Local {
    fn new() -> Local {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("app");
        let work = root.path().join("work");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        rusqlite::Connection::open(app.join("app.db"))
            .unwrap()
            .execute_batch(
                "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
                   late_fee_cents INTEGER NOT NULL, waiver_reason TEXT, updated_at TEXT NOT NULL);
                 INSERT INTO invoices VALUES ('INV-1', 'acme', 500, NULL, '2026-11-01T10:00:00Z');",
            )
            .unwrap();
        let local = Local {
            _root: root,
            app,
            work,
        };
        local.write_config("synapsor.runner.json", None, false);
        local
    }

    /// An original-style config: `required_role` on the proposal capability; `operators` and
    /// `allow_self_approval` only when asked for.
    fn write_config(&self, name: &str, operators: Option<Value>, allow_self: bool) -> PathBuf {
        let mut approval = json!({"mode": "human", "required_role": "billing_lead"});
        if allow_self {
            approval["allow_self_approval"] = json!(true);
        }
        let mut config = json!({
            "version": 1, "mode": "review",
            "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
            "trusted_context": {"provider": "environment", "values": {
                "tenant_id_env": "SYNAPSOR_TENANT_ID", "principal_env": "SYNAPSOR_PRINCIPAL"}},
            "capabilities": [{
                "name": "billing.propose_waiver", "kind": "proposal", "source": "app",
                "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
                "args": {"invoice_id": {"type": "string", "max_length": 64},
                         "reason": {"type": "string", "max_length": 200}},
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "late_fee_cents", "waiver_reason", "updated_at"],
                "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"from_arg": "reason"}},
                "allowed_columns": ["late_fee_cents", "waiver_reason"],
                "conflict_guard": {"column": "updated_at"},
                "approval": approval
            }]
        });
        if let Some(ops) = operators {
            config["operators"] = ops;
        }
        let path = self.app.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        path
    }

    fn config(&self) -> String {
        self.app.join("synapsor.runner.json").display().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = compat_support::airlock(&self.work, args);
        cmd.env("SYNAPSOR_TENANT_ID", "acme")
            .env("SYNAPSOR_PRINCIPAL", "agent_7");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(&mut self.command(args))
    }

    /// `proposals approve ID --store S --actor A --yes`.
    fn approve_as(&self, id: &str, actor: &str) -> Run {
        self.run(&[
            "proposals",
            "approve",
            id,
            "--store",
            STORE,
            "--actor",
            actor,
            "--yes",
        ])
    }

    /// `propose` as the original documents it; returns the proposal id.
    fn propose(&self, reason: &str) -> String {
        let config = self.config();
        let args = json!({"invoice_id": "INV-1", "reason": reason}).to_string();
        let run = self
            .run(&[
                "propose",
                "billing.propose_waiver",
                "--json",
                &args,
                "--config",
                &config,
                "--store",
                STORE,
            ])
            .ok();
        proposal_id(&run.stdout)
    }

    fn state(&self, id: &str) -> String {
        self.run(&["proposals", "show", id, "--store", STORE, "--json"])
            .ok()
            .json()["proposal"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn dana() -> Value {
    json!({"dana": {"roles": ["billing_lead"]}})
}

#[test]
fn an_original_config_approves_with_a_warning_and_records_it() {
    let l = Local::new();
    let id = l.propose("late fee waived once");
    let run = l.approve_as(&id, "lead_ana").ok();
    assert!(
        run.stderr.contains(
            "warning: role `billing_lead` required by billing.propose_waiver was not verified"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("(role billing_lead not verified)"),
        "{}",
        run.stdout
    );
    // `config validate` still says so.
    let validate = l
        .run(&["config", "validate", "--json", "--config", &l.config()])
        .ok();
    assert!(
        validate.stdout.contains("OPERATORS_MISSING"),
        "{}",
        validate.stdout
    );
}

#[test]
fn roles_enforced_when_proposed_are_never_dropped() {
    let l = Local::new();
    l.write_config("synapsor.runner.json", Some(dana()), false);
    let id = l.propose("checked");

    // Strict, as always with operators: an undeclared approver is refused.
    l.approve_as(&id, "mallory")
        .refused(1, &["`mallory` is not a declared operator"]);

    // Another config, without operators: refused, not downgraded.
    let other = l.write_config("other.json", None, false);
    let other = other.to_str().unwrap();
    let expected = [
        "was made while operators were declared",
        "removing operators never lifts a role check",
    ];
    l.run(&[
        "proposals",
        "approve",
        &id,
        "--config",
        other,
        "--store",
        STORE,
        "--actor",
        "dana",
        "--yes",
    ])
    .refused(1, &expected);

    // The remembered config with its operators deleted: refused the same way.
    l.write_config("synapsor.runner.json", None, false);
    l.approve_as(&id, "dana").refused(1, &expected);
    assert_eq!(l.state(&id), "pending_review", "a refusal records nothing");

    // Operators restored: the declared approver is verified.
    l.write_config("synapsor.runner.json", Some(dana()), false);
    let run = l
        .run(&[
            "proposals",
            "approve",
            &id,
            "--store",
            STORE,
            "--actor",
            "dana",
            "--yes",
            "--json",
        ])
        .ok();
    assert_eq!(run.json()["role_verified"], json!(true));
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn self_approval_off_when_proposed_stays_off() {
    let l = Local::new();
    l.write_config(
        "synapsor.runner.json",
        Some(json!({"agent_7": {"roles": ["billing_lead"]}})),
        false,
    );
    let id = l.propose("mine");
    l.approve_as(&id, "agent_7")
        .refused(1, &["`agent_7` created proposal", "allow_self_approval"]);
    // Turning it on later does not apply to a proposal made while it was off.
    l.write_config(
        "synapsor.runner.json",
        Some(json!({"agent_7": {"roles": ["billing_lead"]}})),
        true,
    );
    l.approve_as(&id, "agent_7").refused(
        1,
        &["made while self-approval was off", "ask another operator"],
    );
    assert_eq!(l.state(&id), "pending_review");
    // A proposal made while it is on may be self-approved.
    let l2 = Local::new();
    l2.write_config(
        "synapsor.runner.json",
        Some(json!({"agent_7": {"roles": ["billing_lead"]}})),
        true,
    );
    let id2 = l2.propose("mine, allowed");
    l2.approve_as(&id2, "agent_7").ok();
}

#[test]
fn review_commands_find_the_remembered_config_and_say_when_it_is_gone() {
    let l = Local::new();
    let id = l.propose("a");
    // No config here, none passed: the ledger's remembered config serves the writeback job.
    let job = l.run(&["proposals", "writeback-job", &id, "--store", STORE]);
    job.refused(1, &["is pending_review"]);
    // A --config that does not exist is reported, never replaced by the remembered one.
    l.run(&[
        "proposals",
        "approve",
        &id,
        "--config",
        "missing.json",
        "--store",
        STORE,
        "--yes",
    ])
    .refused(1, &["missing.json"]);
    std::fs::remove_file(l.app.join("synapsor.runner.json")).unwrap();
    l.run(&["proposals", "approve", &id, "--store", STORE, "--yes"])
        .refused(1, &["which no longer exists", "pass --config PATH"]);
    // --config still wins over the remembered one.
    let replacement = l.write_config("replacement.json", None, false);
    let run = l
        .run(&[
            "proposals",
            "approve",
            &id,
            "--config",
            replacement.to_str().unwrap(),
            "--store",
            STORE,
            "--yes",
            "--json",
        ])
        .ok();
    assert_eq!(run.json()["actor"], json!("local_operator"));
    // A ledger that does not record its config (e.g. one written before Airlock did) says so.
    rusqlite::Connection::open(l.work.join(STORE))
        .unwrap()
        .execute("DELETE FROM ledger_meta", [])
        .unwrap();
    l.run(&[
        "proposals",
        "reject",
        &id,
        "--store",
        STORE,
        "--reason",
        "r",
        "--yes",
    ])
    .refused(
        1,
        &[
            "does not record which config served it",
            "pass --config PATH",
        ],
    );
}

#[test]
fn actor_comes_from_flag_then_airlock_actor_then_user_then_default() {
    let l = Local::new();
    /// (environment, --actor, expected name, expected source)
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a str, &'a str);
    let cases: [Case; 4] = [
        (
            &[("AIRLOCK_ACTOR", "ann"), ("USER", "uma")],
            Some("fay"),
            "fay",
            "flag",
        ),
        (
            &[("AIRLOCK_ACTOR", "ann"), ("USER", "uma")],
            None,
            "ann",
            "env:AIRLOCK_ACTOR",
        ),
        (&[("USER", "uma")], None, "uma", "env:USER"),
        (&[], None, "local_operator", "default"),
    ];
    for (env, flag, name, source) in cases {
        let id = l.propose(&format!("case {name}"));
        let mut args = vec![
            "proposals",
            "reject",
            &id,
            "--store",
            STORE,
            "--reason",
            "r",
            "--yes",
            "--json",
        ];
        if let Some(f) = flag {
            args.extend(["--actor", f]);
        }
        let out = l.command(&args).envs(env.iter().copied()).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["actor"].as_str(), v["actor_source"].as_str()),
            (Some(name), Some(source))
        );
    }
}

#[test]
fn original_only_forms_name_the_airlock_form() {
    let l = Local::new();
    for (args, airlock_form) in [
        (
            &["validate", "--job", "job.json"][..],
            "airlock apply --job FILE --dry-run",
        ),
        (&["demo", "--quick"][..], "airlock demo"),
        (
            &["writeback", "doctor", "--config", "x.json"][..],
            "airlock doctor",
        ),
        (&["smoke", "boundary"][..], "airlock tools list"),
        (&["mcp", "smoke"][..], "airlock smoke call"),
        (
            &["query-audit", "list", "--primary-key", "t"][..],
            "--object-id is the key looked up",
        ),
        (
            &[
                "mcp",
                "configure",
                "--client",
                "cursor",
                "--transport",
                "http",
            ][..],
            "airlock mcp config CLIENT --write",
        ),
    ] {
        l.run(args).refused(
            2,
            &[
                "is a Synapsor Runner command that Airlock does not have",
                airlock_form,
            ],
        );
    }
    // JSON and Markdown are the export formats.
    l.run(&[
        "replay", "export", "latest", "--output", "r.pdf", "--format", "pdf",
    ])
    .refused(2, &["invalid value 'pdf'", "json", "markdown"]);
    // An unknown command exits 2, as in the original.
    assert_eq!(l.run(&["no-such-command"]).code, 2);
}

#[test]
fn the_originals_mcp_flags_are_accepted() {
    let l = Local::new();
    let config = l.config();
    // `mcp config <client>`: the positional form.
    let snippet = l
        .run(&["mcp", "config", "cursor", "--config", &config])
        .ok();
    assert!(
        snippet.json()["mcpServers"].is_object(),
        "{}",
        snippet.stdout
    );
    l.run(&["mcp", "config", "--config", &config]).ok();
    l.run(&["mcp", "client-config", "--config", &config])
        .refused(1, &["needs --client", "airlock mcp config CLIENT"]);
    // --openai-tool-aliases and --allow-concurrent-store on stdio.
    let (tools, stderr) = tools_list(&l, &["--openai-tool-aliases", "--allow-concurrent-store"]);
    assert!(
        tools.contains(&"billing__propose_waiver".to_owned()),
        "{tools:?}"
    );
    assert!(
        stderr.contains("--allow-concurrent-store is not needed"),
        "{stderr}"
    );
    let (tools, _) = tools_list(&l, &[]);
    assert!(
        tools.contains(&"billing.propose_waiver".to_owned()),
        "{tools:?}"
    );
    l.run(&[
        "mcp",
        "serve",
        "--config",
        &config,
        "--openai-tool-aliases",
        "--alias-mode",
        "canonical",
    ])
    .refused(1, &["--openai-tool-aliases cannot be combined"]);
}

/// Tool names from `mcp serve --config C --store S EXTRA` over stdio, and its stderr.
fn tools_list(l: &Local, extra: &[&str]) -> (Vec<String>, String) {
    let config = l.config();
    let mut args = vec!["mcp", "serve", "--config", &config, "--store", STORE];
    args.extend_from_slice(extra);
    let list = json!({"jsonrpc":"2.0","id":2,"method":"tools/list"});
    let (replies, stderr) = mcp_session(l.command(&args), &[list], &[2]);
    let names = replies[0]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    (names, stderr)
}

#[test]
fn cors_origin_is_taken_as_an_allowed_origin_and_said_once() {
    use std::io::{BufRead, BufReader, Write};
    let l = Local::new();
    let config = l.config();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut child = l
        .command(&[
            "mcp",
            "serve-streamable-http",
            "--config",
            &config,
            "--store",
            STORE,
            "--port",
            &port,
            "--dev-no-auth",
            "--cors-origin",
            "https://app.example",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr to the end on a thread, so the server never writes into a closed pipe;
    // the banner ends with "Press Ctrl+C".
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut banner = Vec::new();
    while banner
        .last()
        .is_none_or(|l: &String| !l.starts_with("Press Ctrl+C"))
    {
        banner.push(rx.recv().expect("the server prints its banner"));
    }
    let notes = banner
        .iter()
        .filter(|l| l.contains("--cors-origin"))
        .count();
    // One initialize request from each origin: the named one passes, another is refused.
    let status = |origin: &str| {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"cors","version":"0"}}}"#;
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        BufReader::new(s).read_line(&mut reply).unwrap();
        reply
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let (named, other) = (
        status("https://app.example"),
        status("https://evil.example"),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    assert_eq!(notes, 1, "{banner:?}");
    assert_eq!(
        (named.as_str(), other.as_str()),
        ("200", "403"),
        "{banner:?}"
    );
}
