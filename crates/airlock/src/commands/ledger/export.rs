//! `airlock ledger export`: a range of the chain, verifiable offline with
//! `airlock ledger verify --file`.

use std::io::Write;

use airlock_cli::LedgerExportArgs;

use crate::output::ExitStatus;
use crate::settings::{Settings, absolute};

pub fn run(settings: &Settings, args: &LedgerExportArgs) -> anyhow::Result<ExitStatus> {
    let (since, _) = crate::listing::filter::time_range(
        args.since.as_deref(),
        args.from.as_deref(),
        None,
        chrono::Utc::now(),
    )?;
    let since = since.as_ref().map(airlock_ledger::LedgerTime::as_str);
    let path = super::sqlite_file(
        settings,
        "`airlock ledger export`",
        super::EXPORT_ON_POSTGRES,
    )?;
    let ledger = airlock_ledger::SqliteLedger::open_read_only(&path)?;
    match &args.output {
        Some(path) => {
            let path = absolute(&settings.cwd, path);
            let partial = path.with_extension("partial");
            let file = fs_err::File::create(&partial)?;
            let mut out = std::io::BufWriter::new(file);
            let header = ledger.export(since, &mut out)?;
            out.flush()?;
            drop(out);
            fs_err::rename(&partial, &path)?;
            eprintln!(
                "exported events #{}..#{} ({} events) to {}",
                header.first_seq,
                header.last_seq,
                header.events,
                path.display()
            );
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            ledger.export(since, &mut out)?;
        }
    }
    Ok(ExitStatus::Success)
}
