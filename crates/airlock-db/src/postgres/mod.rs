//! PostgreSQL engine: a deadpool-postgres pool of read-only sessions.
//!
//! Every pooled connection starts with the startup options
//! `-c default_transaction_read_only=on -c statement_timeout=<ms>`, so each statement runs
//! read-only and under the timeout without extra round trips. Statements are prepared once per
//! connection (`prepare_cached`).
//!
//! # Parameters
//!
//! Model-supplied values usually arrive as [`Param::Text`](crate::Param). After preparing, the
//! engine reads the parameter types Postgres inferred from the key and tenant columns and
//! converts each value to that type on the client:
//!
//! | parameter type                         | accepted                                 | bound as            |
//! |----------------------------------------|------------------------------------------|---------------------|
//! | `bool`                                 | bool, 0/1, text `t/f/true/false/yes/no/on/off/1/0` | binary bool |
//! | `int2`, `int4`, `int8`, `oid`          | integer, integral float, integer text    | binary integer      |
//! | `float4`, `float8`                     | number, numeric text                     | binary float        |
//! | `text`, `varchar`, `bpchar`, `name`, `citext` | any scalar (numbers/bools as their text) | binary text  |
//! | anything else (`numeric`, `uuid`, `date`, `timestamp[tz]`, enums, …) | any scalar | **text format** |
//!
//! A value that does not fit (text `"abc"` for an `int8` key, `300000` for `int2`) is
//! [`DbErrorKind::InvalidValue`](crate::DbErrorKind) before anything is sent. "Text format"
//! means the parameter is sent in Postgres' text wire format, so the server parses it with the
//! column type's own input function: exact for `numeric`, and a malformed `uuid` is rejected by
//! the server with SQLSTATE 22P02, which is also `InvalidValue`. The SQL text never changes for
//! parameters (no casts are added around placeholders).
//!
//! # Result values
//!
//! | Postgres type                                  | JSON                                          |
//! |------------------------------------------------|-----------------------------------------------|
//! | NULL                                           | `null`                                        |
//! | `bool`                                         | bool                                          |
//! | `int2`, `int4`, `int8`, `oid`                  | number                                        |
//! | `float4`, `float8`                             | number; NaN/±Infinity → `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `numeric`                                      | string, exact (`"12345678901234567890.1230"`, `"NaN"`) |
//! | `text`, `varchar`, `bpchar`, `name`, `citext`, enums | string                                  |
//! | `timestamptz`                                  | RFC 3339 UTC string, `2026-06-20T14:31:08Z`, fraction kept when present (`AutoSi`) |
//! | `timestamp`                                    | `YYYY-MM-DDTHH:MM:SS[.ffffff]`                |
//! | `date`                                         | `YYYY-MM-DD`                                  |
//! | (`infinity` timestamps/dates)                  | `"infinity"`, `"-infinity"`                   |
//! | `json`, `jsonb`                                | string: the JSON text with insignificant whitespace removed (never a nested value) |
//! | `uuid`                                         | string, lowercase hyphenated                  |
//! | `bytea`                                        | string, `\x` + lowercase hex                  |
//! | domains                                        | as their base type                            |
//! | anything else (`interval`, `inet`, `time`, arrays, `money`, …) | string: the value cast `::text` (`"1 day 02:00:00"`, `"10.0.0.1/32"`, `"{1,2}"`) |
//!
//! "Anything else" works like this: the first time a statement shape runs, the engine prepares
//! it and looks at the result column types. If any has no native mapping, that column is
//! re-rendered as `"col"::text AS "col"` and the resulting SQL is cached for the shape;
//! [`Engine::render_select`](crate::Engine::render_select) returns the cached SQL from then on,
//! so it always matches what runs.
//!
//! # TLS
//!
//! From the URL's `sslmode` (and `sslrootcert`), for reads and writes alike; `require`
//! verifies the certificate. The table is in `tls.rs`.
//!
//! # Writes ([`Writer`](crate::Writer))
//!
//! A separate pool from the write URL, without the read-only startup option. Each transaction
//! is `BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SET LOCAL lock_timeout = <ms>;
//! SET LOCAL statement_timeout = <ms>`, sent with the transaction's first statement (a pooled
//! connection found closed there, before anything ran, is replaced once). `lock_rows` is the
//! read path's select with `FOR UPDATE` instead of `LIMIT` (same `::text` casts, same
//! decoding); `find_receipt` is a plain select (a row lock would need `UPDATE` on the receipts
//! table); `lock_for_apply` sends the `BEGIN`, the lock and the look-up in one round trip. SET
//! values are bound with the UPDATE's prepared parameter types exactly as keys are (table
//! above); the UPDATE is prepared fresh each time so its types match the table as it is now
//! (the exact predicates its shape needed last time are tried first and checked against those
//! types).
//!
//! Version advance: `int2/int4/int8/numeric` → `COALESCE(v, 0) + 1`; `timestamptz(p)` →
//! `GREATEST(clock_timestamp(), v + interval '<10^(6-p)> microseconds')`; `timestamp(p)` →
//! the same with `clock_timestamp() AT TIME ZONE 'UTC'`; `text`/`varchar` holding an ISO
//! timestamp → computed by Airlock under the row lock (see [`crate::writer`]). `p` comes from
//! the column's type modifier (a domain's from `pg_type.typtypmod`); unset means 6. Anything
//! else is `InvalidValue`. Integrity violations (SQLSTATE class 23) are `InvalidValue`, except
//! a unique violation on the receipts table, which is a duplicate receipt (`Conflict`).
//!
//! A dropped transaction is rolled back on a spawned task before its connection returns to
//! the pool; without a runtime (or if that fails) the connection is closed instead.

mod engine;
mod error;
mod tls;
mod types;
mod writer;

pub(crate) use engine::PostgresEngine;
pub(crate) use writer::PostgresWriter;

/// A deadpool connection manager for a `postgres://` URL, with the TLS choice the URL's
/// `sslmode`/`sslrootcert` make (see `postgres/tls.rs`) — the same rules as every source's pool. For
/// other crates that keep their own state in Postgres (the shared ledger); `configure` sets
/// what they need on the driver's config (application name, startup options) before the
/// manager is built.
pub fn pool_manager(
    url: &str,
    configure: impl FnOnce(&mut tokio_postgres::Config),
) -> Result<deadpool_postgres::Manager, crate::DbError> {
    use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
    let tls = tls::parse(url)?;
    let mut config: tokio_postgres::Config = tls.url.parse().map_err(|_| {
        crate::DbError::new(
            crate::DbErrorKind::Connection,
            "malformed postgres connection URL",
        )
    })?;
    configure(&mut config);
    let manager_config = || ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    Ok(match tls.mode {
        tls::TlsMode::Off => Manager::from_config(config, tokio_postgres::NoTls, manager_config()),
        _ => {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
            Manager::from_config(config, tls::connector(&tls)?, manager_config())
        }
    })
}
