//! `airlock`: parse the command line, run one command, exit with its status.

mod commands;
mod demo_app;
mod listing;
mod open_ledger;
mod original_forms;
mod output;
mod settings;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: a tool call allocates on one runtime thread and
/// frees on another, which glibc's malloc handles with locks and consolidation passes
/// (measured in docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = original_forms::forwarded(std::env::args_os().skip(1).collect());
    if let Some(refused) = original_forms::refusal(&args) {
        output::report_error(&output::hinted(
            format!(
                "`{}` is a Synapsor Runner command that Airlock does not have",
                refused.form
            ),
            refused.instead,
        ));
        return output::ExitStatus::Invalid.into();
    }
    let argv0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| "airlock".into());
    let cli = airlock_cli::Cli::parse_from(std::iter::once(argv0).chain(args));
    output::init_logging(telemetry::json_logs(&cli));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::report_error(
                &anyhow::Error::new(e).context("could not start the async runtime"),
            );
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(commands::run(cli));
    telemetry::flush();
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            output::report_error(&e);
            let unreadable_config = e
                .downcast_ref::<airlock_config::LoadError>()
                .is_some_and(|l| !matches!(l, airlock_config::LoadError::NotFound { .. }));
            if e.downcast_ref::<settings::InvalidConfig>().is_some()
                || unreadable_config
                || output::is_invalid_input(&e)
            {
                output::ExitStatus::Invalid.into()
            } else {
                output::ExitStatus::Failure.into()
            }
        }
    }
}
