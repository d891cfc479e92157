//! `airlock`: parse the command line, run one command, exit with its status.

mod commands;
mod output;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = airlock_cli::Cli::parse();
    output::init_logging();
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
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.into(),
        Err(e) => {
            output::report_error(&e);
            if e.downcast_ref::<settings::InvalidConfig>().is_some() {
                output::ExitStatus::Invalid.into()
            } else {
                output::ExitStatus::Failure.into()
            }
        }
    }
}
