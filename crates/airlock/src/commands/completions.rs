//! `airlock completions <shell>`: a completion script generated from the command-line types.

use clap::CommandFactory;

use crate::output::{self, ExitStatus};

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut airlock_cli::Cli::command(),
        "airlock",
        &mut script,
    );
    output::bytes(&script);
    Ok(ExitStatus::Success)
}
