//! `airlock man [--out-dir DIR]`: roff man pages generated from the command-line types.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::output::{self, ExitStatus};

pub fn run(out_dir: Option<&Path>) -> anyhow::Result<ExitStatus> {
    let command = airlock_cli::Cli::command();
    match out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            output::bytes(&page);
        }
        Some(dir) => {
            fs_err::create_dir_all(dir)?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            let written = fs_err::read_dir(dir)?
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
                .count();
            output::line(&format!("wrote {written} man pages into {}", dir.display()));
        }
    }
    Ok(ExitStatus::Success)
}
