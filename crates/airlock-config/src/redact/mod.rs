//! Every form of redaction Airlock does, with one placeholder, [`REDACTED`]:
//!
//! - [`json`]: a JSON document (config display, handler `details`), by key name and by value;
//! - [`text`]: free text (handler stderr, driver messages): known secret values, values of
//!   secret-named environment variables, credential-bearing or database URLs, `Bearer …`;
//! - [`url_for_display`]: a connection URL cut to `scheme://host/…` for logs and `Debug`;
//! - [`Secret`]: a credential in memory whose `Debug` is the placeholder.
//!
//! Pure: callers pass the environment in.

pub mod json;
mod secret;
pub mod text;

pub use json::redacted;
pub use secret::Secret;
pub use text::{KnownSecrets, Redactor};

/// The placeholder for redacted values, everywhere.
pub const REDACTED: &str = "<redacted>";

/// `scheme://host[:port]/…`: credentials, path and query removed. A value without a scheme
/// (a SQLite file path) shows as `<sqlite file>`.
pub fn url_for_display(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let host = host.split(['/', '?']).next().unwrap_or("");
            format!("{scheme}://{host}/…")
        }
        None => "<sqlite file>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_urls_keep_scheme_and_host_only() {
        assert_eq!(
            url_for_display("postgres://app:hunter2@db.internal:5432/prod?sslmode=require"),
            "postgres://db.internal:5432/…"
        );
        assert_eq!(url_for_display("mysql://h"), "mysql://h/…");
        assert_eq!(url_for_display("/srv/app.db"), "<sqlite file>");
    }
}
