//! Every environment variable Airlock reads, named once. Crates that read the environment
//! (the binary, the runtime, writeback) use these constants; docs list the same names.
//!
//! `SYNAPSOR_*` names are Synapsor Runner's, kept so an unchanged original setup works.

/// Config file path (`--config`).
pub const CONFIG: &str = "AIRLOCK_CONFIG";
/// Ledger file path (`--store`).
pub const STORE: &str = "AIRLOCK_STORE";
/// Who approves or rejects from the CLI (`--actor`), before `USER`.
pub const ACTOR: &str = "AIRLOCK_ACTOR";
/// The login name, the last source of an actor before `local_operator`.
pub const USER: &str = "USER";
/// Home folder: where `mcp config --write` finds user-wide client configs (Cursor,
/// Windsurf, Claude Desktop on macOS and Linux).
pub const HOME: &str = "HOME";
/// Home folder on Windows, when `HOME` is unset.
pub const USERPROFILE: &str = "USERPROFILE";
/// Windows roaming app data: Claude Desktop's config folder.
pub const APPDATA: &str = "APPDATA";
/// Linux config folder (Claude Desktop), before `~/.config`.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Log filter for stderr logs (`tracing` env-filter syntax).
pub const LOG: &str = "AIRLOCK_LOG";
/// Default variable holding the Postgres ledger's URL (`storage.ledger.url_env`).
pub const LEDGER_URL: &str = "AIRLOCK_LEDGER_URL";
/// `apply --dry-run`.
pub const DRY_RUN: &str = "AIRLOCK_DRY_RUN";
/// Runner id sent to handlers as `runner_hint` (`apply --runner-id`).
pub const RUNNER_ID: &str = "AIRLOCK_RUNNER_ID";

/// The original's ledger path variable, read when `AIRLOCK_STORE` is unset.
pub const SYNAPSOR_LOCAL_STORE: &str = "SYNAPSOR_LOCAL_STORE";
/// The original's config path variable for `mcp` commands.
pub const SYNAPSOR_MCP_CONFIG: &str = "SYNAPSOR_MCP_CONFIG";
/// The original's runner id variable, read when `AIRLOCK_RUNNER_ID` is unset.
pub const SYNAPSOR_RUNNER_ID: &str = "SYNAPSOR_RUNNER_ID";
/// Default variable holding the tenant for the `environment` trusted-context provider.
pub const SYNAPSOR_TENANT_ID: &str = "SYNAPSOR_TENANT_ID";
/// Default variable holding the principal for the `environment` trusted-context provider.
pub const SYNAPSOR_PRINCIPAL: &str = "SYNAPSOR_PRINCIPAL";
/// Default variable holding the bearer token of the HTTP transports.
pub const SYNAPSOR_RUNNER_HTTP_TOKEN: &str = "SYNAPSOR_RUNNER_HTTP_TOKEN";
/// Example variable names a `cloud` source's config points at (not read by Airlock).
pub const SYNAPSOR_CLOUD_URL: &str = "SYNAPSOR_CLOUD_URL";
/// See [`SYNAPSOR_CLOUD_URL`].
pub const SYNAPSOR_RUNNER_TOKEN: &str = "SYNAPSOR_RUNNER_TOKEN";
/// Prefix of each operator's sign-in secret for `airlock ui` (`AIRLOCK_UI_SECRET_<NAME>`, the
/// name upper-cased, other characters than letters and digits as `_`).
pub const UI_SECRET_PREFIX: &str = "AIRLOCK_UI_SECRET_";

/// Variable names `airlock init` writes into a generated config when none is chosen (the
/// original's defaults). Airlock reads them only through the config that names them.
pub const SYNAPSOR_DATABASE_WRITE_URL: &str = "SYNAPSOR_DATABASE_WRITE_URL";
/// See [`SYNAPSOR_DATABASE_WRITE_URL`]: an http_handler executor's URL.
pub const SYNAPSOR_APP_WRITEBACK_URL: &str = "SYNAPSOR_APP_WRITEBACK_URL";
/// See [`SYNAPSOR_DATABASE_WRITE_URL`]: an http_handler executor's bearer token.
pub const SYNAPSOR_APP_WRITEBACK_TOKEN: &str = "SYNAPSOR_APP_WRITEBACK_TOKEN";
/// See [`SYNAPSOR_DATABASE_WRITE_URL`]: an http_handler executor's signing secret.
pub const SYNAPSOR_APP_WRITEBACK_SIGNING_SECRET: &str = "SYNAPSOR_APP_WRITEBACK_SIGNING_SECRET";
/// See [`SYNAPSOR_DATABASE_WRITE_URL`]: a command_handler executor's command.
pub const SYNAPSOR_APP_WRITEBACK_COMMAND: &str = "SYNAPSOR_APP_WRITEBACK_COMMAND";

/// Bearer token for `airlock audit --url` when `--bearer-env` names no other variable.
pub const AUDIT_BEARER: &str = "AIRLOCK_AUDIT_BEARER";
/// The original's audit bearer variable, read when `AIRLOCK_AUDIT_BEARER` is unset.
pub const SYNAPSOR_MCP_AUDIT_BEARER: &str = "SYNAPSOR_MCP_AUDIT_BEARER";
/// The terminal width list commands fit their tables to (set by shells; tests set it too).
pub const COLUMNS: &str = "COLUMNS";

/// Threads `airlock ledger verify` reads and hashes with on a SQLite ledger (default: one per
/// core).
pub const VERIFY_THREADS: &str = "AIRLOCK_VERIFY_THREADS";

/// Stderr log format: `text` (default) or `json` (one JSON object per line).
pub const LOG_FORMAT: &str = "AIRLOCK_LOG_FORMAT";

/// OpenTelemetry's standard variables, read when traces are configured (docs/tracing.md).
/// Base URL of an OTLP/HTTP receiver; traces go to `<base>/v1/traces`. Setting it switches
/// traces on for the commands that emit them.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The full traces URL, used as is; wins over [`OTEL_EXPORTER_OTLP_ENDPOINT`].
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// Only `http/protobuf` is spoken; another value is warned about.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// Milliseconds allowed for one export request (default 10000).
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// `service.name` of the spans (default `airlock`).
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// `always_on`, `always_off`, `traceidratio`, `parentbased_always_on` (default),
/// `parentbased_always_off`, `parentbased_traceidratio`.
pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// The ratio of the `*traceidratio` samplers (0 to 1).
pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// `none` switches traces off whatever else is set.
pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// `true` switches traces off whatever else is set.
pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
