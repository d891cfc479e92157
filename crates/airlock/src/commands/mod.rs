//! One file per command verb. This module is the table of contents and the dispatcher.

mod activity;
mod apply;
mod audit;
mod benchmark;
mod completions;
mod config;
mod demo;
mod doctor;
mod events;
mod evidence;
mod handler;
mod init;
mod inspect;
mod ledger;
mod man;
mod mcp;
mod onboard;
mod proposals;
mod propose;
mod query_audit;
mod receipts;
pub mod recipes;
mod replay;
mod shadow;
mod smoke;
mod tools;
mod ui;
mod up;
mod writeback;

use std::path::Path;

use airlock_cli::{
    ActivityCommand, Cli, Command, ConfigCommand, EventsCommand, EvidenceCommand, HandlerCommand,
    LedgerCommand, ProposalsCommand, QueryAuditCommand, ReceiptsCommand, ReplayCommand,
    SmokeCommand, StoreCommand, ToolsCommand, WritebackCommand,
};

use crate::output::ExitStatus;
use crate::settings::Settings;

pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let settings = Settings::new(&cli.global)?;
    crate::telemetry::start(&cli, &settings.env)?;
    match cli.command {
        Command::Config(ConfigCommand::Validate(a)) => config::validate::run(&settings, a.json),
        Command::Config(ConfigCommand::Show { redacted }) => config::show::run(&settings, redacted),
        Command::Config(ConfigCommand::Schema) => config::schema::run(),
        Command::Tools(ToolsCommand::List(a)) => tools::list::run(&settings, &a),
        Command::Smoke(SmokeCommand::Call(a)) => {
            smoke::call::run(&settings, &a, smoke::call::Kind::Any).await
        }
        Command::Propose(a) => propose::run(&settings, &a).await,
        Command::Proposals(ProposalsCommand::List(a)) => proposals::list::run(&settings, &a).await,
        Command::Proposals(ProposalsCommand::Show(a)) => {
            proposals::show::run(&settings, &a.id, a.json).await
        }
        Command::Proposals(ProposalsCommand::Latest(a)) => {
            proposals::show::run(&settings, "latest", a.json).await
        }
        Command::Proposals(ProposalsCommand::Approve(a)) => {
            proposals::approve::run(&settings, &a).await
        }
        Command::Proposals(ProposalsCommand::Reject(a)) => {
            proposals::reject::run(&settings, &a).await
        }
        Command::Proposals(ProposalsCommand::WritebackJob(a)) => {
            proposals::writeback_job::run(&settings, &a).await
        }
        Command::Evidence(EvidenceCommand::List(a)) => evidence::list::run(&settings, &a).await,
        Command::Evidence(EvidenceCommand::Show(a)) => evidence::show::run(&settings, &a).await,
        Command::Evidence(EvidenceCommand::Export(a)) => evidence::export::run(&settings, &a).await,
        Command::Apply(a) => apply::run(&settings, &a).await,
        Command::Replay(a) => match a.command {
            Some(ReplayCommand::Show(show)) => replay::show::run(&settings, &show).await,
            Some(ReplayCommand::List(list)) => replay::list::run(&settings, &list).await,
            Some(ReplayCommand::Export(e)) => replay::export::run(&settings, &e).await,
            None => replay::show::run(&settings, &a.show).await,
        },
        Command::Receipts(ReceiptsCommand::List(a)) => receipts::list::run(&settings, &a).await,
        Command::Receipts(ReceiptsCommand::Show(a)) => receipts::show::run(&settings, &a).await,
        Command::Writeback(WritebackCommand::Migration(a)) => writeback::migration::run(&a),
        Command::Writeback(WritebackCommand::Grants(a)) => writeback::grants::run(&settings, &a),
        Command::QueryAudit(QueryAuditCommand::List(a)) => {
            query_audit::list::run(&settings, &a).await
        }
        Command::QueryAudit(QueryAuditCommand::Show(a)) => {
            query_audit::show::run(&settings, &a).await
        }
        Command::QueryAudit(QueryAuditCommand::Export(a)) => {
            query_audit::export::run(&settings, &a).await
        }
        Command::Activity(ActivityCommand::Search(a)) => activity::search::run(&settings, &a).await,
        Command::Ledger(LedgerCommand::Verify(a)) => ledger::verify::run(&settings, &a).await,
        Command::Ledger(LedgerCommand::Stats(a)) => ledger::stats::run(&settings, a.json).await,
        Command::Ledger(LedgerCommand::Import(a)) => ledger::import::run(&settings, a.json),
        Command::Ledger(LedgerCommand::Backup(a)) => ledger::backup::run(&settings, &a).await,
        Command::Ledger(LedgerCommand::Vacuum(a)) => ledger::vacuum::run(&settings, a.json),
        Command::Ledger(LedgerCommand::Migrate(a)) => ledger::migrate::run(&settings, &a),
        Command::Ledger(LedgerCommand::Prune(a)) => {
            ledger::prune::run(&settings, &a, ledger::prune::Flavor::Ledger)
        }
        Command::Ledger(LedgerCommand::Reset(a)) => ledger::reset::run(&settings, &a),
        Command::Ledger(LedgerCommand::Export(a)) => ledger::export::run(&settings, &a),
        Command::Store(StoreCommand::Stats(a)) => ledger::stats::run(&settings, a.json).await,
        Command::Store(StoreCommand::Vacuum(a)) => ledger::vacuum::run(&settings, a.json),
        Command::Store(StoreCommand::Prune(a)) => {
            ledger::prune::run(&settings, &a, ledger::prune::Flavor::Store)
        }
        Command::Store(StoreCommand::Reset(a)) => ledger::reset::run(&settings, &a),
        Command::Demo(a) => demo::run(&settings, &a).await,
        Command::Ui(a) => ui::run(&settings, &a).await,
        Command::Mcp(airlock_cli::McpCommand::Serve(a)) => mcp::serve::run(&settings, &a).await,
        Command::Mcp(airlock_cli::McpCommand::ServeStreamableHttp(a)) => {
            mcp::serve_streamable_http::run(&settings, &a.common, &a.http).await
        }
        Command::Mcp(airlock_cli::McpCommand::ServeHttp(a)) => {
            mcp::serve_jsonrpc_bridge::run(&settings, &a.common, &a.http).await
        }
        Command::Mcp(airlock_cli::McpCommand::ClientConfig(a)) => {
            mcp::client_config::run(&settings, &a)
        }
        Command::Mcp(airlock_cli::McpCommand::Config(a)) => {
            mcp::client_config::run_positional(&settings, &a)
        }
        Command::Handler(HandlerCommand::Template(a)) => handler::template::run(&settings, &a),
        Command::Doctor(a) => doctor::run(&settings, &a).await,
        Command::Up(a) => up::run(&settings, &a).await,
        Command::Completions(a) => completions::run(a.shell),
        Command::Man(a) => man::run(a.out_dir.as_deref()),
        Command::Inspect(a) => inspect::run(&settings, &a).await,
        Command::Init(a) => init::run(&settings, &a).await,
        Command::Onboard(airlock_cli::OnboardCommand::Db(a)) => {
            onboard::db::run(&settings, &a).await
        }
        Command::Events(EventsCommand::Tail(a)) => events::tail::run(&settings, &a).await,
        Command::Events(EventsCommand::Webhook(a)) => events::webhook::run(&settings, &a).await,
        Command::Events(EventsCommand::Status(a)) => events::status::run(&settings, &a).await,
        Command::Recipes(airlock_cli::RecipesCommand::List(a)) => recipes::list::run(&a),
        Command::Recipes(airlock_cli::RecipesCommand::Show(a)) => recipes::show::run(&settings, &a),
        Command::Recipes(airlock_cli::RecipesCommand::Init(a)) => {
            recipes::init::run(&settings, &a).await
        }
        Command::Shadow(airlock_cli::ShadowCommand::List(a)) => {
            shadow::list::run(&settings, &a).await
        }
        Command::Shadow(airlock_cli::ShadowCommand::RecordHumanAction(a)) => {
            shadow::record_human_action::run(&settings, &a).await
        }
        Command::Shadow(airlock_cli::ShadowCommand::Compare(a)) => {
            shadow::compare::run(&settings, &a).await
        }
        Command::Shadow(airlock_cli::ShadowCommand::Report(a)) => {
            shadow::report::run(&settings, &a).await
        }
        Command::Benchmark(airlock_cli::BenchmarkCommand::McpEfficiency(a)) => {
            benchmark::mcp_efficiency::run(&a).await
        }
        Command::Audit(a) | Command::Mcp(airlock_cli::McpCommand::Audit(a)) => {
            audit::run(&settings, &a).await
        }
    }
}

/// The id an export names, positional or as a flag (clap requires one of them).
pub fn export_id(args: &airlock_cli::ExportArgs) -> &str {
    args.id
        .as_deref()
        .or(args.id_flag.as_deref())
        .unwrap_or_default()
}

/// Writes pretty JSON to a file, creating its folder.
pub fn write_json_file(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)?;
    }
    fs_err::write(path, serde_json::to_string_pretty(value)? + "\n")?;
    Ok(())
}

/// Reads a file a person named (relative to the working folder), at most `max` bytes, so a
/// huge file, a FIFO or a device cannot stall the command. Over `max`: `[code] …` with `hint`.
pub fn read_user_file(
    settings: &Settings,
    file: &Path,
    max: u64,
    code: &str,
    hint: &str,
) -> anyhow::Result<String> {
    let path = settings.cwd.join(file);
    let bytes = airlock_config::read_bounded(&path, max, std::time::Duration::from_secs(10))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::FileTooLarge => crate::output::hinted(
                format!("[{code}] {} is larger than {max} bytes", path.display()),
                hint.to_owned(),
            ),
            _ => anyhow::Error::new(e).context(format!("could not read {}", path.display())),
        })?;
    String::from_utf8(bytes).map_err(|_| {
        crate::output::hinted(
            format!("{} is not UTF-8 text", path.display()),
            "save the file as UTF-8 JSON",
        )
    })
}
