//! `CREDENTIAL_INPUT`: the model passes a credential or a connection string.
//!
//! **Why it is risky.** A password, API key or database URL in a tool argument passes through
//! the model's context (and its logs and transcripts), and a connection-string argument lets
//! the model point the server at any database it can name.
//!
//! **Found by** argument names that look secret (Airlock's `is_secret_name`: `password`,
//! `api_key`, `token`, `secret`, …) or name a connection (`connection_string`, `dsn`,
//! `database_url`, `host`).
//!
//! **Use instead** credentials in the server's environment, never in the model's hands.

use super::facts::{Facts, words};
use super::{Hit, Rule, args_hit};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "CREDENTIAL_INPUT",
    severity: Severity::High,
    title: "The model passes a credential or picks the connection",
    fix: "Keep credentials out of the model's surface: an Airlock source names the environment variable holding its URL (`read_url_env`), the read credential is checked to be read-only by `airlock doctor`, and no tool argument reaches the connection.",
};

const CONNECTION_ARGS: &[&str] = &[
    "connectionstring",
    "connstr",
    "connectionurl",
    "dsn",
    "databaseurl",
    "dburl",
    "jdbcurl",
    "password",
    "passwd",
    "host",
    "hostname",
];

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let args: Vec<_> = f
        .args
        .iter()
        .filter(|a| {
            airlock_config::is_secret_name(&words(&a.name).join("_"))
                || CONNECTION_ARGS.contains(&a.folded.as_str())
        })
        .collect();
    args_hit(
        &RULE,
        &args,
        |names| format!("The model supplies credentials or connection details ({names})."),
        "credential or connection argument",
    )
}
