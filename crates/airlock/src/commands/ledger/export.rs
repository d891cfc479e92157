//! `airlock ledger export`: a range of the chain, verifiable offline with
//! `airlock ledger verify --file`.

use std::io::Write;

use airlock_cli::LedgerExportArgs;

use crate::output::{self, ExitStatus};
use crate::settings::{Settings, absolute};

pub fn run(settings: &Settings, args: &LedgerExportArgs) -> anyhow::Result<ExitStatus> {
    let since = match (&args.since, &args.from) {
        (Some(age), _) => {
            let age = super::prune::parse_age_of(age, "--since")?;
            Some((chrono::Utc::now() - age).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        }
        (None, Some(from)) => {
            let t = chrono::DateTime::parse_from_rfc3339(from).map_err(|e| {
                output::hinted(
                    format!("--from {from:?} is not an RFC 3339 time: {e}"),
                    "for example --from 2026-12-01T00:00:00Z",
                )
            })?;
            Some(
                t.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )
        }
        (None, None) => None,
    };
    let ledger = settings.open_ledger_read_only()?;
    match &args.output {
        Some(path) => {
            let path = absolute(&settings.cwd, path);
            let partial = path.with_extension("partial");
            let file = fs_err::File::create(&partial)?;
            let mut out = std::io::BufWriter::new(file);
            let header = ledger.export(since.as_deref(), &mut out)?;
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
            ledger.export(since.as_deref(), &mut out)?;
        }
    }
    Ok(ExitStatus::Success)
}
