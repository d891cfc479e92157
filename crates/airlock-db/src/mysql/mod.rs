//! MySQL / MariaDB engine: a `mysql_async` pool of read-only sessions, binary protocol
//! (prepared statements, cached per connection). TLS follows the URL's `ssl-mode` and `ssl-ca`
//! ([`tls`]); read and write pools are built by one builder (`pool.rs`) and settle TLS on their
//! first dial.
//!
//! The flavor is detected once, on first use (`SELECT VERSION()` contains `MariaDB`), then the
//! pool is built with per-connection setup statements:
//!
//! - `SET SESSION TRANSACTION READ ONLY`
//! - `SET SESSION time_zone = '+00:00', SESSION max_statement_time = <seconds>` (MariaDB) or
//!   `…, SESSION max_execution_time = <ms>` (MySQL); the timeout part only when one is set.
//!
//! They are registered as `mysql_async` *setup* statements, which run on every new connection
//! and again after any connection reset, and the pool does not reset connections on return
//! (we never change session state), so a checkout costs no extra round trip.
//! `time_zone` is UTC so `TIMESTAMP` values read the same whatever the server's zone.
//!
//! # Parameters
//!
//! MySQL compares a string with a number numerically, so `'abc' = 0` and `'2x' = 2` are true.
//! To keep model-supplied text from matching the wrong row, the engine learns the key and
//! tenant column types once per statement shape (a prepared, never executed
//! `SELECT key, tenant FROM table WHERE 1=0`) and converts:
//!
//! | column type                         | accepted                                  | bound as          |
//! |-------------------------------------|-------------------------------------------|-------------------|
//! | integer types, `YEAR`               | integer, integral float, integer text, bool | integer         |
//! | `DECIMAL`, `FLOAT`, `DOUBLE`        | number, decimal-literal text              | number / the text |
//! | string types (`CHAR`, `VARCHAR`, `TEXT`, `ENUM`, `SET`, binary strings) | any scalar | text (numbers as their decimal text, bools as `1`/`0`) |
//! | anything else (dates, `JSON`, `BIT`, …) | any scalar                            | as given          |
//!
//! Text that is not a valid integer/decimal for a numeric key is
//! [`DbErrorKind::InvalidValue`](crate::DbErrorKind) before anything is sent.
//!
//! # Result values
//!
//! | MySQL type                                    | JSON                                        |
//! |-----------------------------------------------|---------------------------------------------|
//! | NULL                                          | `null`                                      |
//! | `TINYINT`…`BIGINT` (signed or unsigned), `YEAR` | number                                    |
//! | `FLOAT`, `DOUBLE`                             | number                                      |
//! | `DECIMAL`                                     | string, exact                               |
//! | `DATE`                                        | `YYYY-MM-DD`                                |
//! | `DATETIME`, `TIMESTAMP`                       | `YYYY-MM-DD HH:MM:SS[.ffffff]` (TIMESTAMP in UTC) |
//! | `TIME`                                        | `[-]HH:MM:SS[.ffffff]` (hours may exceed 24) |
//! | `CHAR`, `VARCHAR`, `TEXT`, `JSON`, `ENUM`, `SET` | string                                   |
//! | `BINARY`, `VARBINARY`, `BLOB`, geometry (binary charset) | string, `\x` + lowercase hex     |
//! | `BIT`                                         | number (big-endian value)                   |
//!
//! # Writes ([`Writer`](crate::Writer))
//!
//! A separate pool from the write URL with `CLIENT_FOUND_ROWS` (an UPDATE reports matched
//! rows, not changed rows, so setting a value to itself still counts 1) and the setup
//! statement `SET SESSION time_zone = '+00:00', SESSION sql_mode = <current>,STRICT_ALL_TABLES`
//! (a value that does not fit is an error, never truncated). Each transaction is
//! `SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION;` then
//! `SET SESSION innodb_lock_wait_timeout = <s>, SESSION lock_wait_timeout = <s>,
//! SESSION max_statement_time = <s.mmm>` (MariaDB) / `max_execution_time = <ms>` (MySQL,
//! SELECTs only). Lock waits are whole seconds, rounded up, at least 1. `lock_rows` is the read
//! path's select with `FOR UPDATE` (no `LIMIT`); `find_receipt` is a consistent read, fresh
//! per statement under `READ COMMITTED`. SET values are converted by the kind of their column,
//! learned from a prepared `SELECT <cols> FROM t WHERE 1=0`, as keys are (table above).
//!
//! Version advance: integer types (not `YEAR`) and `DECIMAL` → `COALESCE(v, 0) + 1`;
//! `DATETIME(fsp)`/`TIMESTAMP(fsp)` → `COALESCE(GREATEST(CURRENT_TIMESTAMP(6), v + INTERVAL
//! <10^(6-fsp)> MICROSECOND), CURRENT_TIMESTAMP(6))` in UTC (`fsp` is the column's `decimals`);
//! string columns holding an ISO timestamp → computed by Airlock under the row lock. Anything
//! else is `InvalidValue`. Duplicate keys, NOT NULL, foreign key and check failures are
//! `InvalidValue`, except a duplicate on the receipts table (duplicate receipt, `Conflict`).
//!
//! A dropped transaction is rolled back by mysql_async's pool before the connection is reused.

mod engine;
mod error;
mod pool;
pub(crate) mod tls;
mod types;
mod writer;

pub(crate) use engine::MysqlEngine;
pub(crate) use writer::MysqlWriter;
