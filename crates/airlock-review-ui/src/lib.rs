//! `airlock ui`: the review UI a person opens in a browser, served by the binary.
//!
//! Pages are rendered on the server (maud) and readable with JavaScript off; the one script,
//! `assets/ui.js`, only refreshes the queue when the ledger changes. No third-party asset is
//! loaded from anywhere.
//!
//! What it can change goes through the same functions as the CLI: a decision through
//! `airlock_writeback::approval::decide` (operators, required roles, self-approval), a dry run
//! or an apply through `airlock_writeback::apply::run`. This crate cannot name the review key,
//! so it has no other way to change a proposal's state.
//!
//! Security (see `security.rs`): a per-run session token exchanged for a `SameSite=Strict`,
//! `HttpOnly` cookie; a CSRF token in every form; Host and Origin checks; a strict
//! Content-Security-Policy. When the config declares operators, each signs in with a secret
//! from their own environment variable ([`operator_secret_var`]); nobody decides as a shared
//! reviewer.

mod actions;
mod live;
mod pages;
mod security;
mod views;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use airlock_config::Config;
use airlock_ledger::{Actor, Review};
use axum::Router;
use axum::routing::{get, post};

pub use security::operator_secret_var;

/// A fresh random secret (256 bits, hex) an operator can sign in with, for a one-off UI such
/// as the one `airlock demo` opens.
pub fn generate_secret() -> String {
    security::random_token()
}

/// Rows per queue or history page.
pub const PAGE_SIZE: u32 = 50;

/// Who decides through this UI.
#[derive(Debug, Clone)]
pub enum Reviewers {
    /// The config declares operators: each signs in with the secret of their own environment
    /// variable. Operators without one cannot sign in.
    Operators(HashMap<String, String>),
    /// No operators declared (a Synapsor Runner config): decisions are made as this actor,
    /// resolved like the CLI's (`$AIRLOCK_ACTOR`, `$USER`, …), and role checks warn as there.
    Single(Actor),
}

impl Reviewers {
    /// Operators from the config with the secrets their variables hold in `env`; the single
    /// actor when the config declares none.
    pub fn from_config(config: &Config, env: &HashMap<String, String>, actor: Actor) -> Reviewers {
        match &config.operators {
            None => Reviewers::Single(actor),
            Some(ops) => Reviewers::Operators(
                ops.keys()
                    .filter_map(|name| {
                        env.get(&operator_secret_var(name))
                            .filter(|s| !s.is_empty())
                            .map(|s| (name.clone(), s.clone()))
                    })
                    .collect(),
            ),
        }
    }
}

/// What an apply needs beyond the ledger and config (the same inputs as `airlock apply`).
#[derive(Debug, Clone)]
pub struct ApplySetup {
    pub env: HashMap<String, String>,
    /// The folder relative paths in the config resolve against.
    pub base_dir: PathBuf,
    pub runner_id: String,
    pub project: String,
}

/// Everything the server needs.
pub struct UiOptions {
    pub ledger: Arc<dyn Review>,
    pub config: Config,
    pub apply: ApplySetup,
    pub reviewers: Reviewers,
    /// The address the server is bound to (its port is part of every accepted Host).
    pub addr: SocketAddr,
    /// Bound beyond loopback: every page then needs an operator signed in.
    pub remote: bool,
    /// Config and ledger paths, shown on the ledger page.
    pub config_path: PathBuf,
    pub store_path: PathBuf,
}

/// The shared state of one running UI.
pub struct Ui {
    pub(crate) opts: UiOptions,
    pub(crate) security: security::Security,
}

impl Ui {
    /// A UI with a fresh session token.
    pub fn new(opts: UiOptions) -> Arc<Ui> {
        let security = security::Security::new(&opts);
        Arc::new(Ui { opts, security })
    }

    /// The URL to open: it carries the per-run session token, which the first request trades
    /// for a cookie.
    pub fn open_url(&self) -> String {
        format!(
            "http://{}/?token={}",
            security::host_of(self.opts.addr),
            self.security.run_token()
        )
    }

    /// The operators who can sign in (empty when the config declares none).
    pub fn operators_with_secrets(&self) -> Vec<String> {
        match &self.opts.reviewers {
            Reviewers::Operators(m) => {
                let mut names: Vec<String> = m.keys().cloned().collect();
                names.sort();
                names
            }
            Reviewers::Single(_) => Vec::new(),
        }
    }
}

/// The routes, with the security layer around all of them.
pub fn router(ui: Arc<Ui>) -> Router {
    Router::new()
        .route("/", get(pages::queue))
        .route("/history", get(pages::history))
        .route("/ledger", get(pages::ledger))
        .route("/proposals/{id}", get(pages::proposal))
        .route("/proposals/{id}/approve", post(actions::approve))
        .route("/proposals/{id}/reject", post(actions::reject))
        .route("/proposals/{id}/dry-run", post(actions::dry_run))
        .route("/proposals/{id}/apply", post(actions::apply))
        .route("/login", get(pages::login).post(actions::login))
        .route("/logout", post(actions::logout))
        .route("/events", get(live::events))
        .route("/assets/ui.css", get(pages::css))
        .route("/assets/ui.js", get(pages::js))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            ui.clone(),
            security::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(ui)
}

/// How long requests in flight may finish after `shutdown` resolves. An open queue page
/// holds its event stream forever, so a graceful stop alone would never end.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves until `shutdown` resolves, then lets requests in flight finish for up to two seconds (`DRAIN`).
pub async fn serve(
    ui: Arc<Ui>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use std::future::IntoFuture as _;
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router(ui))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping.send(());
        })
        .into_future();
    let deadline = async move {
        match stopped.await {
            Ok(()) => tokio::time::sleep(DRAIN).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server => served,
        () = deadline => Ok(()),
    }
}
