//! `airlock ui`: serve the review UI (crate `airlock-review-ui`) on this machine.

use std::net::{IpAddr, Ipv4Addr};

use airlock_cli::UiArgs;
use airlock_review_ui::{ApplySetup, Reviewers, Ui, UiOptions, operator_secret_var};

use crate::output::{self, ExitStatus, hinted};
use crate::settings::{Settings, absolute};

pub async fn run(settings: &Settings, args: &UiArgs) -> anyhow::Result<ExitStatus> {
    let ip = bind_address(&args.host, args.allow_remote_bind)?;
    let loaded = settings.load_config_for_ledger()?;
    let reviewers = Reviewers::from_config(&loaded.config, &settings.env, settings.actor(None));
    let remote = !ip.is_loopback();
    match &reviewers {
        Reviewers::Operators(signable) if signable.is_empty() => {
            let example = loaded
                .config
                .operators
                .as_ref()
                .and_then(|o| o.keys().next())
                .map_or_else(|| operator_secret_var("<name>"), |n| operator_secret_var(n));
            if remote {
                return Err(hinted(
                    "a review UI reachable from other machines needs operators who can sign in, and no declared operator has a secret",
                    format!("set {example} (a long random value) in this environment"),
                ));
            }
            output::warn(&format!(
                "no declared operator can sign in, so the UI is read-only; set {example} to let that operator decide"
            ));
        }
        Reviewers::Operators(_) => {}
        Reviewers::Single(actor) => {
            if remote {
                return Err(hinted(
                    "a review UI reachable from other machines needs declared operators who sign in; this config declares none",
                    "declare \"operators\" in the config and set AIRLOCK_UI_SECRET_<NAME> for each",
                ));
            }
            output::warn(&format!(
                "the config declares no operators: decisions from the UI are recorded as {} ({}); declare operators to require sign-in",
                actor.name, actor.source
            ));
        }
    }
    let ledger = settings.open_ledger(&loaded).await?;
    // Shown on the ledger page: the file, or the Postgres server and schema.
    let store_path = std::path::PathBuf::from(ledger.location());
    let listener = tokio::net::TcpListener::bind((ip, args.port))
        .await
        .map_err(|e| {
            hinted(
                format!("cannot listen on {ip} port {}: {e}", args.port),
                "pick another --port, or leave it out for a free one",
            )
        })?;
    let addr = listener.local_addr()?;
    let ui = Ui::new(UiOptions {
        ledger: ledger.as_review(),
        apply: ApplySetup {
            env: settings.env.clone(),
            base_dir: loaded.dir(&settings.cwd),
            runner_id: args.runner.clone(),
            project: args.project.clone(),
        },
        config: loaded.config.clone(),
        reviewers,
        addr,
        remote,
        config_path: absolute(&settings.cwd, &loaded.path),
        store_path,
    });
    let url = ui.open_url();
    output::line(&format!("Airlock review UI: {url}"));
    output::line(
        "The link carries this run's session token; keep it to yourself. Ctrl-C stops the UI.",
    );
    if remote {
        output::warn(
            "listening beyond loopback over plain HTTP: put a TLS proxy in front unless the network is trusted",
        );
    }
    if args.open {
        open_browser(&url);
    }
    airlock_review_ui::serve(ui, listener, shutdown()).await?;
    Ok(ExitStatus::Success)
}

/// The address to bind, refusing anything beyond loopback unless allowed.
fn bind_address(host: &str, allow_remote: bool) -> anyhow::Result<IpAddr> {
    let ip = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other.trim_matches(['[', ']']).parse::<IpAddr>().map_err(|_| {
            hinted(
                format!("--host {other} is not an IP address"),
                "pass 127.0.0.1 (the default), ::1, or with --allow-remote-bind an address of this machine",
            )
        })?,
    };
    if ip.is_unspecified() {
        return Err(hinted(
            format!(
                "--host {ip} would answer on every interface, and browsers would reach it under names the UI cannot check"
            ),
            "pass the one address reviewers will use",
        ));
    }
    if !ip.is_loopback() && !allow_remote {
        return Err(hinted(
            format!(
                "the review UI binds to this machine only (127.0.0.1, localhost, ::1); {ip} is not loopback"
            ),
            "pass --allow-remote-bind to serve it to other machines (operators must sign in)",
        ));
    }
    Ok(ip)
}

/// Opens `url` in the desktop's browser; a failure only prints the URL again.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => output::line("Opened the review UI in the browser."),
        Err(e) => output::warn(&format!(
            "could not start {program} ({e}); open the URL above yourself"
        )),
    }
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
