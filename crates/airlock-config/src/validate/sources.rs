//! `storage`, `cloud` and `sources`.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::{Ctx, Path, SourceFacts, bounded_positive, env_name_hint, kind_of, non_empty_str};
use crate::names::{is_env_name, is_safe_identifier};
use crate::types::{
    DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, IDLE_TIMEOUT_RANGE_MS,
    MAX_CONNECT_TIMEOUT_MS, MAX_POOL_CONNECTIONS,
};

/// Longest accepted `statement_timeout_ms` (10 minutes).
pub(crate) const MAX_TIMEOUT_MS: u64 = 600_000;

const STORAGE_KEYS: &[&str] = &["sqlite_path", "retention", "ledger"];
const SOURCE_KEYS: &[&str] = &[
    "engine",
    "read_url_env",
    "write_url_env",
    "path",
    "read_only",
    "statement_timeout_ms",
    "connect_timeout_ms",
    "max_connections",
    "idle_timeout_ms",
    "ssl",
];
const CLOUD_KEYS: &[&str] = &[
    "base_url_env",
    "runner_token_env",
    "runner_id",
    "runner_version",
    "project_id",
    "adapter_id",
    "source_id",
    "engines",
    "capabilities",
    "session",
];

pub(super) fn storage(ctx: &mut Ctx, root: &Map<String, Value>) {
    let Some(v) = root.get("storage") else {
        return;
    };
    let path = Path::root().key("storage");
    let Some(obj) = v.as_object() else {
        ctx.error(
            "STORAGE_NOT_OBJECT",
            &path,
            format!("storage must be an object, found {}", kind_of(v)),
            "use {\"sqlite_path\": \"./.airlock/ledger.db\"} or remove `storage` to use the default ledger path",
        );
        return;
    };
    ctx.unknown_keys(obj, STORAGE_KEYS, &path);
    let engine = ledger(ctx, obj.get("ledger"), &path.key("ledger"));
    let postgres = engine == LedgerKind::Postgres;
    match (engine, obj.get("sqlite_path")) {
        (LedgerKind::Unknown, _) => {}
        (LedgerKind::Postgres, Some(_)) => ctx.error(
            "SQLITE_PATH_WITH_POSTGRES_LEDGER",
            &path.key("sqlite_path"),
            "storage.sqlite_path names a SQLite ledger, but storage.ledger.engine is postgres",
            "remove sqlite_path: the ledger lives in the Postgres database storage.ledger.url_env points at",
        ),
        (LedgerKind::Postgres, None) => {}
        (LedgerKind::Sqlite, v) => {
            if non_empty_str(v).is_none() {
                ctx.error(
                    "INVALID_SQLITE_PATH",
                    &path.key("sqlite_path"),
                    "storage.sqlite_path must be a non-empty string",
                    "set it to a file path such as \"./.airlock/ledger.db\", relative to the working directory",
                );
            }
        }
    }
    if postgres && obj.contains_key("retention") {
        ctx.error(
            "RETENTION_WITH_POSTGRES_LEDGER",
            &path.key("retention"),
            "storage.retention drives `airlock ledger prune`, which only prunes a SQLite ledger",
            "remove retention and keep the Postgres ledger's size with your database's own tooling (docs/fleet.md)",
        );
    }
    if let Some(r) = obj.get("retention") {
        let ok = r.as_str().is_some_and(|t| {
            let digits = t.trim_end_matches(['s', 'm', 'h', 'd', 'S', 'M', 'H', 'D']);
            t.len() == digits.len() + 1
                && !digits.is_empty()
                && digits.len() <= 6
                && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if !ok {
            ctx.error(
                "INVALID_RETENTION",
                &path.key("retention"),
                format!("storage.retention must be a duration such as \"90d\", found {r}"),
                "a whole number and a unit: s, m, h or d (e.g. \"90d\"), used by `airlock ledger prune`",
            );
        }
    }
}

const LEDGER_KEYS: &[&str] = &["engine", "url_env", "schema", "max_connections"];
/// Keys of `storage.ledger` that only mean something for the Postgres ledger.
const POSTGRES_LEDGER_KEYS: &[&str] = &["url_env", "schema", "max_connections"];

/// A Postgres schema name the ledger can use unquoted: lowercase, at most 63 bytes.
fn is_ledger_schema(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= 63
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The ledger engine `storage.ledger` selects, as far as validation can tell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LedgerKind {
    Sqlite,
    Postgres,
    /// `engine` is invalid (already reported): what depends on it is not checked.
    Unknown,
}

/// Checks `storage.ledger` and says which engine it selects.
fn ledger(ctx: &mut Ctx, v: Option<&Value>, path: &Path) -> LedgerKind {
    let Some(v) = v else {
        return LedgerKind::Sqlite;
    };
    let Some(obj) = v.as_object() else {
        ctx.error(
            "LEDGER_STORAGE_NOT_OBJECT",
            path,
            format!("storage.ledger must be an object, found {}", kind_of(v)),
            "use {\"engine\": \"postgres\", \"url_env\": \"AIRLOCK_LEDGER_URL\"}, or remove it for the SQLite ledger",
        );
        return LedgerKind::Unknown;
    };
    ctx.unknown_keys(obj, LEDGER_KEYS, path);
    let kind = match obj.get("engine") {
        None => LedgerKind::Sqlite,
        Some(Value::String(e)) if e == "sqlite" => LedgerKind::Sqlite,
        Some(Value::String(e)) if e == "postgres" => LedgerKind::Postgres,
        Some(other) => {
            ctx.error(
                "INVALID_LEDGER_ENGINE",
                &path.key("engine"),
                format!("storage.ledger.engine must be sqlite or postgres, found {other}"),
                "use \"postgres\" for a ledger shared by several servers, or \"sqlite\" (the default) for one file",
            );
            LedgerKind::Unknown
        }
    };
    if kind == LedgerKind::Sqlite {
        for key in POSTGRES_LEDGER_KEYS {
            if obj.contains_key(*key) {
                ctx.error(
                    "LEDGER_KEY_NEEDS_POSTGRES",
                    &path.key(key),
                    format!("storage.ledger.{key} only applies to the Postgres ledger"),
                    "set \"engine\": \"postgres\", or remove the key",
                );
            }
        }
        return kind;
    }
    // An unknown engine still gets its Postgres keys checked: their errors are true either way.
    if let Some(e) = obj.get("url_env")
        && !e.as_str().is_some_and(is_env_name)
    {
        ctx.error(
            "INVALID_LEDGER_URL_ENV",
            &path.key("url_env"),
            "storage.ledger.url_env must name an environment variable",
            env_name_hint(Some(e), crate::env_vars::LEDGER_URL),
        );
    }
    if let Some(s) = obj.get("schema")
        && !s.as_str().is_some_and(is_ledger_schema)
    {
        ctx.error(
            "INVALID_LEDGER_SCHEMA",
            &path.key("schema"),
            format!(
                "storage.ledger.schema must be a lowercase identifier of at most 63 characters, found {s}"
            ),
            "use lowercase letters, digits and _ (not starting with a digit), such as \"airlock\"",
        );
    }
    if obj
        .get("max_connections")
        .is_some_and(|v| bounded_positive(v, MAX_POOL_CONNECTIONS).is_none())
    {
        ctx.error(
            "INVALID_LEDGER_MAX_CONNECTIONS",
            &path.key("max_connections"),
            format!(
                "storage.ledger.max_connections must be an integer from 1 to {MAX_POOL_CONNECTIONS}"
            ),
            "size it so every server's pool fits the Postgres server's max_connections, or remove the key",
        );
    }
    kind
}

pub(super) fn cloud(ctx: &mut Ctx, root: &Map<String, Value>, mode: Option<&str>) {
    let path = Path::root().key("cloud");
    let block = root.get("cloud");
    if mode != Some("cloud") {
        if block.is_some() {
            ctx.error(
                "CLOUD_CONFIG_ONLY_FOR_CLOUD_MODE",
                &path,
                "a cloud block is only meaningful with mode cloud",
                "remove the `cloud` block",
            );
        }
        return;
    }
    let Some(obj) = block.and_then(Value::as_object) else {
        ctx.error(
            "CLOUD_CONFIG_REQUIRED",
            &path,
            "mode cloud needs a cloud object",
            "Airlock runs locally: switch mode to read_only, shadow or review instead",
        );
        return;
    };
    ctx.unknown_keys(obj, CLOUD_KEYS, &path);
    for (key, code, example) in [
        (
            "base_url_env",
            "CLOUD_BASE_URL_ENV_REQUIRED",
            crate::env_vars::SYNAPSOR_CLOUD_URL,
        ),
        (
            "runner_token_env",
            "CLOUD_RUNNER_TOKEN_ENV_REQUIRED",
            crate::env_vars::SYNAPSOR_RUNNER_TOKEN,
        ),
    ] {
        if !obj
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(is_env_name)
        {
            ctx.error(
                code,
                &path.key(key),
                format!("cloud.{key} must name an environment variable"),
                env_name_hint(obj.get(key), example),
            );
        }
    }
    if non_empty_str(obj.get("adapter_id")).is_none() {
        ctx.error(
            "CLOUD_ADAPTER_ID_REQUIRED",
            &path.key("adapter_id"),
            "cloud.adapter_id must be a non-empty string",
            "copy the adapter id from the cloud console",
        );
    }
    for (key, code) in [
        ("source_id", "INVALID_CLOUD_SOURCE_ID"),
        ("runner_id", "INVALID_CLOUD_RUNNER_ID"),
        ("runner_version", "INVALID_CLOUD_RUNNER_VERSION"),
        ("project_id", "INVALID_CLOUD_PROJECT_ID"),
    ] {
        if obj.contains_key(key) && non_empty_str(obj.get(key)).is_none() {
            ctx.error(
                code,
                &path.key(key),
                format!("cloud.{key} must be a non-empty string when present"),
                format!("set cloud.{key} to a non-empty string or remove it"),
            );
        }
    }
    if let Some(v) = obj.get("engines") {
        let ok = v.as_array().is_some_and(|a| {
            !a.is_empty()
                && a.iter()
                    .all(|e| matches!(e.as_str(), Some("postgres" | "mysql")))
        });
        if !ok {
            ctx.error(
                "INVALID_CLOUD_ENGINES",
                &path.key("engines"),
                "cloud.engines must be a non-empty array of \"postgres\" and \"mysql\"",
                "list the engines, e.g. [\"postgres\"], or remove the key",
            );
        }
    }
    if let Some(v) = obj.get("capabilities") {
        let ok = v
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|e| non_empty_str(Some(e)).is_some()));
        if !ok {
            ctx.error(
                "INVALID_CLOUD_CAPABILITIES",
                &path.key("capabilities"),
                "cloud.capabilities must be a non-empty array of non-empty strings",
                "list capability names, e.g. [\"billing.inspect_invoice\"], or remove the key",
            );
        }
    }
    if let Some(v) = obj.get("session").filter(|v| !v.is_object()) {
        ctx.error(
            "INVALID_CLOUD_SESSION",
            &path.key("session"),
            format!("cloud.session must be an object, found {}", kind_of(v)),
            "use an object or remove the key",
        );
    }
}

pub(super) fn sources<'a>(
    ctx: &mut Ctx,
    root: &'a Map<String, Value>,
    mode: Option<&str>,
) -> IndexMap<&'a str, SourceFacts> {
    let mut facts = IndexMap::new();
    let path = Path::root().key("sources");
    let map = match root.get("sources") {
        Some(Value::Object(m)) if !m.is_empty() => m,
        None => {
            if mode != Some("cloud") {
                sources_required(ctx, &path);
            }
            return facts;
        }
        Some(Value::Object(_)) if mode == Some("cloud") => return facts,
        Some(_) => {
            sources_required(ctx, &path);
            return facts;
        }
    };
    for (name, v) in map {
        let p = path.key(name);
        if !is_safe_identifier(name) {
            ctx.error(
                "UNSAFE_SOURCE_NAME",
                &p,
                format!(
                    "source name `{name}` is not a safe identifier: it must match ^[A-Za-z_][A-Za-z0-9_]*$ (letters, digits and underscores, not starting with a digit)"
                ),
                "rename the source, e.g. `app_postgres`, and update every capability's `source`",
            );
        }
        let Some(obj) = v.as_object() else {
            ctx.error(
                "SOURCE_NOT_OBJECT",
                &p,
                format!("source `{name}` must be an object, found {}", kind_of(v)),
                "use {\"engine\": \"postgres\", \"read_url_env\": \"APP_READ_URL\"}",
            );
            facts.insert(name.as_str(), SourceFacts::default());
            continue;
        };
        facts.insert(name.as_str(), source(ctx, obj, &p));
    }
    facts
}

fn sources_required(ctx: &mut Ctx, path: &Path) {
    ctx.error(
        "SOURCES_REQUIRED",
        path,
        "at least one source is required",
        "add \"sources\": {\"app\": {\"engine\": \"postgres\", \"read_url_env\": \"APP_READ_URL\"}}",
    );
}

fn source(ctx: &mut Ctx, obj: &Map<String, Value>, p: &Path) -> SourceFacts {
    ctx.unknown_keys(obj, SOURCE_KEYS, p);
    let engine = obj.get("engine").and_then(Value::as_str);
    let engine = match engine {
        Some(e @ ("postgres" | "mysql" | "sqlite")) => Some(e),
        _ => {
            ctx.error(
                "INVALID_SOURCE_ENGINE",
                &p.key("engine"),
                "engine must be postgres, mysql or sqlite",
                "set \"engine\" to \"postgres\", \"mysql\" (MariaDB too) or \"sqlite\"",
            );
            None
        }
    };
    let sqlite = engine == Some("sqlite");
    let read_env = obj.get("read_url_env");
    let file = obj.get("path");

    match read_env {
        Some(v) if !v.as_str().is_some_and(is_env_name) => ctx.error(
            "READ_URL_ENV_REQUIRED",
            &p.key("read_url_env"),
            "read_url_env must name an environment variable",
            env_name_hint(Some(v), "APP_READ_URL"),
        ),
        Some(_) => {}
        None if !sqlite && file.is_none() => ctx.error(
            "READ_URL_ENV_REQUIRED",
            &p.key("read_url_env"),
            "read_url_env is required: the read connection URL comes from this environment variable",
            "add \"read_url_env\": \"APP_READ_URL\" and export APP_READ_URL=postgres://… before starting Airlock",
        ),
        None => {}
    }

    if let Some(v) = file {
        match v.as_str() {
            Some(s) if !s.is_empty() && !s.contains("://") => {}
            _ => ctx.error(
                "INVALID_SOURCE_PATH",
                &p.key("path"),
                "path must be a non-empty file path (not a URL)",
                "set it to the SQLite file, e.g. \"./data/app.db\", relative to the working directory",
            ),
        }
        if engine.is_some() && !sqlite {
            ctx.error(
                "SOURCE_PATH_ONLY_FOR_SQLITE",
                &p.key("path"),
                "path is only valid on a sqlite source",
                "remove `path` and give the connection URL through read_url_env",
            );
        }
    }
    if sqlite {
        match (read_env.is_some(), file.is_some()) {
            (false, false) => ctx.error(
                "SQLITE_SOURCE_LOCATION_REQUIRED",
                p,
                "a sqlite source needs `path` or `read_url_env`",
                "add \"path\": \"./data/app.db\" (or read_url_env naming a variable that holds the path)",
            ),
            (true, true) => ctx.error(
                "SQLITE_SOURCE_LOCATION_AMBIGUOUS",
                &p.key("path"),
                "a sqlite source has both `path` and `read_url_env`",
                "keep exactly one of them",
            ),
            _ => {}
        }
    }

    let write_env = obj.get("write_url_env");
    if let Some(v) = write_env.filter(|v| !v.as_str().is_some_and(is_env_name)) {
        ctx.error(
            "INVALID_WRITE_URL_ENV",
            &p.key("write_url_env"),
            "write_url_env must name an environment variable",
            env_name_hint(Some(v), "APP_WRITE_URL"),
        );
    }
    if obj
        .get("statement_timeout_ms")
        .is_some_and(|v| bounded_positive(v, MAX_TIMEOUT_MS).is_none())
    {
        ctx.error(
            "INVALID_TIMEOUT",
            &p.key("statement_timeout_ms"),
            format!(
                "statement_timeout_ms must be a positive integer no larger than {MAX_TIMEOUT_MS}"
            ),
            "use a value in milliseconds such as 3000, or remove the key",
        );
    }
    if obj
        .get("connect_timeout_ms")
        .is_some_and(|v| bounded_positive(v, MAX_CONNECT_TIMEOUT_MS).is_none())
    {
        ctx.error(
            "INVALID_CONNECT_TIMEOUT",
            &p.key("connect_timeout_ms"),
            format!(
                "connect_timeout_ms must be a positive integer no larger than {MAX_CONNECT_TIMEOUT_MS}"
            ),
            format!("use a value in milliseconds such as 5000, or remove the key for the default {DEFAULT_CONNECT_TIMEOUT_MS}"),
        );
    }
    if obj
        .get("max_connections")
        .is_some_and(|v| bounded_positive(v, MAX_POOL_CONNECTIONS).is_none())
    {
        ctx.error(
            "INVALID_MAX_CONNECTIONS",
            &p.key("max_connections"),
            format!("max_connections must be an integer from 1 to {MAX_POOL_CONNECTIONS}"),
            "use a pool size your database's connection limit allows, such as 4, or remove the key",
        );
    }
    if obj.get("idle_timeout_ms").is_some_and(|v| {
        !v.as_u64()
            .is_some_and(|n| IDLE_TIMEOUT_RANGE_MS.contains(&n))
    }) {
        ctx.error(
            "INVALID_IDLE_TIMEOUT",
            &p.key("idle_timeout_ms"),
            format!(
                "idle_timeout_ms must be an integer from {} to {} (one second to one day)",
                IDLE_TIMEOUT_RANGE_MS.start(),
                IDLE_TIMEOUT_RANGE_MS.end()
            ),
            format!("use a value under the server's idle limit, such as 60000, or remove the key for the default {DEFAULT_IDLE_TIMEOUT_MS}"),
        );
    }
    let read_only = match obj.get("read_only") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            ctx.error(
                "INVALID_SOURCE_READ_ONLY",
                &p.key("read_only"),
                "read_only must be true or false",
                "use true to forbid direct SQL writeback to this source, or remove the key",
            );
            false
        }
    };
    SourceFacts {
        read_only,
        writable: write_env.is_some() || (sqlite && file.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use serde_json::json;

    #[test]
    fn storage_not_object() {
        let mut doc = valid();
        set(&mut doc, "/storage", json!("./x.db"));
        only_error(&doc, "STORAGE_NOT_OBJECT", "$.storage");
    }

    #[test]
    fn invalid_retention() {
        let mut doc = valid();
        for bad in [
            json!("90"),
            json!("ninety days"),
            json!(90),
            json!("9w"),
            json!("-1d"),
        ] {
            set(
                &mut doc,
                "/storage",
                json!({"sqlite_path": "./l.db", "retention": bad}),
            );
            only_error(&doc, "INVALID_RETENTION", "$.storage.retention");
        }
        set(
            &mut doc,
            "/storage",
            json!({"sqlite_path": "./l.db", "retention": "90d"}),
        );
        assert!(super::super::validate(&doc).ok);
    }

    #[test]
    fn invalid_sqlite_path() {
        let mut doc = valid();
        set(&mut doc, "/storage", json!({"sqlite_path": ""}));
        only_error(&doc, "INVALID_SQLITE_PATH", "$.storage.sqlite_path");
        set(&mut doc, "/storage", json!({"sqlite_path": "./l.db"}));
        assert!(super::super::validate(&doc).ok);
    }

    #[test]
    fn postgres_ledger_needs_no_sqlite_path() {
        let mut doc = valid();
        for ok in [
            json!({"ledger": {"engine": "postgres"}}),
            json!({"ledger": {"engine": "postgres", "url_env": "FLEET_LEDGER_URL",
                              "schema": "airlock_prod", "max_connections": 32}}),
            json!({"sqlite_path": "./l.db", "ledger": {"engine": "sqlite"}}),
            json!({"sqlite_path": "./l.db", "ledger": {}}),
        ] {
            set(&mut doc, "/storage", ok.clone());
            let report = super::super::validate(&doc);
            assert!(report.ok, "{ok}: {:?}", report.errors);
        }
        let (config, _) = crate::parse(&doc).expect("parses");
        assert_eq!(config.ledger_engine(), crate::LedgerEngine::Sqlite);
        set(
            &mut doc,
            "/storage",
            json!({"ledger": {"engine": "postgres"}}),
        );
        let (config, _) = crate::parse(&doc).expect("parses");
        assert_eq!(config.ledger_engine(), crate::LedgerEngine::Postgres);
        let ledger = config.storage.unwrap().ledger.unwrap();
        assert_eq!(ledger.url_env(), crate::env_vars::LEDGER_URL);
        assert_eq!(ledger.schema(), "airlock");
    }

    #[test]
    fn the_ledger_url_itself_is_refused_where_its_variable_belongs() {
        let mut doc = valid();
        set(
            &mut doc,
            "/storage",
            json!({"ledger": {"engine": "postgres", "url_env": "postgres://u:p@db/ledger"}}),
        );
        let r = super::super::validate(&doc);
        assert!(!r.ok);
        let codes: Vec<&str> = r.errors.iter().map(|i| i.code).collect();
        assert!(codes.contains(&"INVALID_LEDGER_URL_ENV"), "{codes:?}");
        // The config-wide scan for inline URLs says it too.
        assert!(
            codes.contains(&"INLINE_DATABASE_URL_FORBIDDEN"),
            "{codes:?}"
        );
    }

    #[test]
    fn sqlite_ledger_still_needs_its_path() {
        let mut doc = valid();
        set(
            &mut doc,
            "/storage",
            json!({"ledger": {"engine": "sqlite"}}),
        );
        only_error(&doc, "INVALID_SQLITE_PATH", "$.storage.sqlite_path");
        set(&mut doc, "/storage", json!({}));
        only_error(&doc, "INVALID_SQLITE_PATH", "$.storage.sqlite_path");
    }

    #[test]
    fn bad_ledger_blocks() {
        let mut doc = valid();
        let cases = [
            (
                json!({"ledger": "postgres"}),
                "LEDGER_STORAGE_NOT_OBJECT",
                "$.storage.ledger",
            ),
            (
                json!({"ledger": {"engine": "mysql"}}),
                "INVALID_LEDGER_ENGINE",
                "$.storage.ledger.engine",
            ),
            (
                json!({"ledger": {"engine": 1}}),
                "INVALID_LEDGER_ENGINE",
                "$.storage.ledger.engine",
            ),
            (
                json!({"ledger": {"engine": "postgres", "url_env": "lower_case"}}),
                "INVALID_LEDGER_URL_ENV",
                "$.storage.ledger.url_env",
            ),
            // Injection through the schema name.
            (
                json!({"ledger": {"engine": "postgres", "schema": "airlock; drop schema public"}}),
                "INVALID_LEDGER_SCHEMA",
                "$.storage.ledger.schema",
            ),
            (
                json!({"ledger": {"engine": "postgres", "schema": "a\"b"}}),
                "INVALID_LEDGER_SCHEMA",
                "$.storage.ledger.schema",
            ),
            (
                json!({"ledger": {"engine": "postgres", "schema": "s".repeat(64)}}),
                "INVALID_LEDGER_SCHEMA",
                "$.storage.ledger.schema",
            ),
            (
                json!({"ledger": {"engine": "postgres", "schema": "Airlock"}}),
                "INVALID_LEDGER_SCHEMA",
                "$.storage.ledger.schema",
            ),
            (
                json!({"ledger": {"engine": "postgres", "schema": "1airlock"}}),
                "INVALID_LEDGER_SCHEMA",
                "$.storage.ledger.schema",
            ),
            (
                json!({"ledger": {"engine": "postgres", "max_connections": 0}}),
                "INVALID_LEDGER_MAX_CONNECTIONS",
                "$.storage.ledger.max_connections",
            ),
            (
                json!({"ledger": {"engine": "postgres", "max_connections": "8"}}),
                "INVALID_LEDGER_MAX_CONNECTIONS",
                "$.storage.ledger.max_connections",
            ),
            (
                json!({"sqlite_path": "./l.db", "ledger": {"url_env": "LEDGER_URL"}}),
                "LEDGER_KEY_NEEDS_POSTGRES",
                "$.storage.ledger.url_env",
            ),
            (
                json!({"sqlite_path": "./l.db", "ledger": {"engine": "sqlite", "schema": "x"}}),
                "LEDGER_KEY_NEEDS_POSTGRES",
                "$.storage.ledger.schema",
            ),
            (
                json!({"sqlite_path": "./l.db", "ledger": {"engine": "postgres"}}),
                "SQLITE_PATH_WITH_POSTGRES_LEDGER",
                "$.storage.sqlite_path",
            ),
            (
                json!({"retention": "90d", "ledger": {"engine": "postgres"}}),
                "RETENTION_WITH_POSTGRES_LEDGER",
                "$.storage.retention",
            ),
        ];
        for (storage, code, path) in cases {
            set(&mut doc, "/storage", storage);
            only_error(&doc, code, path);
        }
    }

    #[test]
    fn cloud_block_outside_cloud_mode() {
        let mut doc = valid();
        set(&mut doc, "/cloud", json!({}));
        only_error(&doc, "CLOUD_CONFIG_ONLY_FOR_CLOUD_MODE", "$.cloud");
    }

    fn cloud_doc(block: serde_json::Value) -> serde_json::Value {
        let mut doc = valid();
        set(&mut doc, "/mode", json!("cloud"));
        set(&mut doc, "/cloud", block);
        doc
    }

    fn cloud_errors(block: serde_json::Value) -> Vec<(&'static str, String)> {
        let r = super::super::validate(&cloud_doc(block));
        assert_eq!(r.errors[0].code, "CLOUD_MODE_UNSUPPORTED");
        r.errors[1..]
            .iter()
            .map(|i| (i.code, i.path.clone()))
            .collect()
    }

    fn base() -> serde_json::Value {
        json!({"base_url_env": "CLOUD_URL", "runner_token_env": "CLOUD_TOKEN", "adapter_id": "a1"})
    }

    #[test]
    fn cloud_config_required() {
        assert_eq!(
            cloud_errors(json!("yes")),
            [("CLOUD_CONFIG_REQUIRED", "$.cloud".to_string())]
        );
    }

    #[test]
    fn cloud_required_fields() {
        assert_eq!(
            cloud_errors(json!({"base_url_env": "lower", "runner_token_env": 1})),
            [
                (
                    "CLOUD_BASE_URL_ENV_REQUIRED",
                    "$.cloud.base_url_env".to_string()
                ),
                (
                    "CLOUD_RUNNER_TOKEN_ENV_REQUIRED",
                    "$.cloud.runner_token_env".to_string()
                ),
                (
                    "CLOUD_ADAPTER_ID_REQUIRED",
                    "$.cloud.adapter_id".to_string()
                ),
            ]
        );
    }

    #[test]
    fn cloud_optional_fields() {
        let mut block = base();
        for (k, v) in [
            ("source_id", json!("")),
            ("runner_id", json!(3)),
            ("runner_version", json!(null)),
            ("project_id", json!([])),
            ("engines", json!(["postgres", "sqlite"])),
            ("capabilities", json!([])),
            ("session", json!("s")),
            ("extra", json!(1)),
        ] {
            block[k] = v;
        }
        let got = cloud_errors(block);
        let got: Vec<&str> = got.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            got,
            [
                "UNKNOWN_FIELD",
                "INVALID_CLOUD_SOURCE_ID",
                "INVALID_CLOUD_RUNNER_ID",
                "INVALID_CLOUD_RUNNER_VERSION",
                "INVALID_CLOUD_PROJECT_ID",
                "INVALID_CLOUD_ENGINES",
                "INVALID_CLOUD_CAPABILITIES",
                "INVALID_CLOUD_SESSION",
            ]
        );
    }

    #[test]
    fn cloud_mode_allows_no_sources_or_capabilities() {
        let doc = json!({"version": 1, "mode": "cloud", "cloud": base()});
        let r = super::super::validate(&doc);
        assert_eq!(codes(&r.errors), [("CLOUD_MODE_UNSUPPORTED", "$.mode")]);
    }

    #[test]
    fn sources_required() {
        for v in [json!({}), json!([]), json!(null)] {
            let mut doc = valid();
            set(&mut doc, "/sources", v);
            let r = super::super::validate(&doc);
            assert_eq!(r.errors[0].code, "SOURCES_REQUIRED");
            assert_eq!(r.errors[0].path, "$.sources");
        }
    }

    #[test]
    fn unsafe_source_name_message_states_the_rule() {
        let mut doc = valid();
        let src = doc["sources"]["app"].clone();
        set(&mut doc, "/sources/app-db", src);
        let r = super::super::validate(&doc);
        let e = r
            .errors
            .iter()
            .find(|i| i.code == "UNSAFE_SOURCE_NAME")
            .unwrap();
        assert_eq!(e.path, "$.sources.app-db");
        assert!(e.message.contains("^[A-Za-z_][A-Za-z0-9_]*$"));
        assert!(!e.message.contains("dot") && !e.message.contains("dash"));
        // The invalid source is still known, so nothing else is reported about it.
        assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
    }

    #[test]
    fn source_not_object() {
        let mut doc = valid();
        set(&mut doc, "/sources/other", json!("postgres"));
        only_error(&doc, "SOURCE_NOT_OBJECT", "$.sources.other");
    }

    #[test]
    fn invalid_source_engine() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/engine", json!("oracle"));
        only_error(&doc, "INVALID_SOURCE_ENGINE", "$.sources.app.engine");
    }

    #[test]
    fn read_url_env_required() {
        let mut doc = valid();
        remove(&mut doc, "/sources/app/read_url_env");
        only_error(&doc, "READ_URL_ENV_REQUIRED", "$.sources.app.read_url_env");
        set(&mut doc, "/sources/app/read_url_env", json!("app_read_url"));
        only_error(&doc, "READ_URL_ENV_REQUIRED", "$.sources.app.read_url_env");
    }

    #[test]
    fn read_url_env_holding_a_url_gets_a_specific_hint() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app/read_url_env",
            json!("postgres://localhost/db"),
        );
        let r = super::super::validate(&doc);
        let e = r
            .errors
            .iter()
            .find(|i| i.code == "READ_URL_ENV_REQUIRED")
            .unwrap();
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .contains("looks like the URL itself")
        );
    }

    #[test]
    fn sqlite_source_with_path_is_valid_and_writable() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app",
            json!({"engine": "sqlite", "path": "./app.db"}),
        );
        let r = super::super::validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
        let (cfg, _) = super::super::parse(&doc).unwrap();
        assert_eq!(cfg.sources["app"].path.as_deref(), Some("./app.db"));
    }

    #[test]
    fn sqlite_source_location_required() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app",
            json!({"engine": "sqlite", "write_url_env": "APP_WRITE_URL"}),
        );
        only_error(&doc, "SQLITE_SOURCE_LOCATION_REQUIRED", "$.sources.app");
    }

    #[test]
    fn sqlite_source_location_ambiguous() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app",
            json!({"engine": "sqlite", "path": "./a.db", "read_url_env": "APP_DB"}),
        );
        only_error(
            &doc,
            "SQLITE_SOURCE_LOCATION_AMBIGUOUS",
            "$.sources.app.path",
        );
    }

    #[test]
    fn source_path_only_for_sqlite() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/path", json!("./app.db"));
        only_error(&doc, "SOURCE_PATH_ONLY_FOR_SQLITE", "$.sources.app.path");
    }

    #[test]
    fn invalid_source_path() {
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app",
            json!({"engine": "sqlite", "path": ""}),
        );
        only_error(&doc, "INVALID_SOURCE_PATH", "$.sources.app.path");
    }

    #[test]
    fn invalid_write_url_env() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/write_url_env", json!("write-url"));
        only_error(&doc, "INVALID_WRITE_URL_ENV", "$.sources.app.write_url_env");
    }

    #[test]
    fn invalid_timeout() {
        for v in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("3000"),
            json!(600_001),
        ] {
            let mut doc = valid();
            set(&mut doc, "/sources/app/statement_timeout_ms", v);
            only_error(
                &doc,
                "INVALID_TIMEOUT",
                "$.sources.app.statement_timeout_ms",
            );
        }
        let mut doc = valid();
        set(
            &mut doc,
            "/sources/app/statement_timeout_ms",
            json!(600_000),
        );
        assert!(super::super::validate(&doc).ok);
    }

    #[test]
    fn invalid_pool_options() {
        for (key, code, bad, good) in [
            (
                "connect_timeout_ms",
                "INVALID_CONNECT_TIMEOUT",
                vec![
                    json!(0),
                    json!(-5),
                    json!(2.5),
                    json!("1000"),
                    json!(120_001),
                ],
                vec![json!(1), json!(120_000)],
            ),
            (
                "max_connections",
                "INVALID_MAX_CONNECTIONS",
                vec![
                    json!(0),
                    json!(101),
                    json!(1_000_000),
                    json!(true),
                    json!(null),
                ],
                vec![json!(1), json!(100)],
            ),
            (
                "idle_timeout_ms",
                "INVALID_IDLE_TIMEOUT",
                vec![json!(0), json!(999), json!(86_400_001), json!("5m")],
                vec![json!(1_000), json!(86_400_000)],
            ),
        ] {
            for v in bad {
                let mut doc = valid();
                set(&mut doc, &format!("/sources/app/{key}"), v.clone());
                only_error(&doc, code, &format!("$.sources.app.{key}"));
            }
            for v in good {
                let mut doc = valid();
                set(&mut doc, &format!("/sources/app/{key}"), v);
                assert!(super::super::validate(&doc).ok, "{key}");
            }
        }
    }

    #[test]
    fn invalid_source_read_only() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/read_only", json!("yes"));
        only_error(&doc, "INVALID_SOURCE_READ_ONLY", "$.sources.app.read_only");
    }

    #[test]
    fn mysql_source_is_accepted_and_ssl_is_not_validated() {
        let mut doc = valid();
        set(&mut doc, "/sources/app/engine", json!("mysql"));
        set(
            &mut doc,
            "/sources/app/ssl",
            json!({"rejectUnauthorized": false}),
        );
        let r = super::super::validate(&doc);
        assert!(r.ok && r.warnings.is_empty(), "{r:#?}");
    }
}
