//! `airlock replay export ID --output FILE [--format json|markdown]` (or `--proposal ID`): the
//! full replay as JSON, or as a Markdown page for an incident review.

use airlock_cli::ExportArgs;
use airlock_ledger::Replay;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let replay = ledger
        .replay(super::show::proposal_id(super::super::export_id(args)))
        .await?;
    if args.format == "markdown" {
        let path = &args.output;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs_err::create_dir_all(dir)?;
        }
        fs_err::write(path, markdown(&replay))?;
    } else {
        super::super::write_json_file(&args.output, &replay)?;
    }
    output::line(&format!(
        "wrote {} to {}",
        replay.replay_id,
        args.output.display()
    ));
    Ok(ExitStatus::Success)
}

/// The replay's text lines as Markdown: numbered sections become headings, indented entries
/// become list items (in code spans, so a value cannot inject Markdown), and the events form
/// a table.
fn markdown(r: &Replay) -> String {
    let mut md = String::new();
    let lines = super::show::lines(r, false);
    let mut lines = lines.iter();
    if let Some(title) = lines.next() {
        md.push_str(&format!("# {title}\n\n"));
    }
    for line in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            md.push('\n');
        } else if line.starts_with(char::is_numeric) {
            md.push_str(&format!("\n## {trimmed}\n\n"));
        } else if line.starts_with(' ') {
            md.push_str(&format!("- {}\n", code(trimmed)));
        } else {
            md.push_str(&format!("{}\n", code(trimmed)));
        }
    }
    md.push_str(
        "\n## Events (hash chain)\n\n| seq | kind | actor | at | hash |\n|---|---|---|---|---|\n",
    );
    for e in &r.events {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            e.seq,
            code(&e.kind),
            code(&e.actor),
            code(&e.created_at),
            code(&e.hash)
        ));
    }
    md.push_str(&format!(
        "\nGenerated {} by `airlock replay export`; `airlock ledger verify` proves these events are unchanged.\n",
        r.generated_at
    ));
    md
}

/// Text in a code span that no backtick or pipe inside it can break out of.
fn code(text: &str) -> String {
    let clean = text.replace('`', "'").replace('|', "\\|");
    format!("`{clean}`")
}
