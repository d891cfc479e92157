//! Runs the example handler:
//!
//! ```text
//! APP_DB=./app.db HANDLER_TOKEN=… HANDLER_SIGNING_SECRET=… PORT=8787 \
//!   cargo run -p rust-axum-handler
//! ```
//!
//! and point the executor's `url_env` at `http://127.0.0.1:8787/airlock/writeback`.

use std::path::PathBuf;
use std::sync::Arc;

use airlock_handler::Verifier;
use rust_axum_handler::{AppState, init_db, router};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = env("HANDLER_TOKEN").ok_or("HANDLER_TOKEN is not set")?;
    let secret = env("HANDLER_SIGNING_SECRET").ok_or("HANDLER_SIGNING_SECRET is not set")?;
    let db_path = PathBuf::from(env("APP_DB").unwrap_or_else(|| "app.db".into()));
    let port: u16 = env("PORT").map_or(Ok(8787), |p| p.parse())?;
    init_db(&db_path)?;
    let state = Arc::new(AppState {
        verifier: Verifier::new().bearer_token(token).signing_secret(secret),
        db_path,
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "listening on http://{}{}",
        listener.local_addr()?,
        rust_axum_handler::PATH
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
