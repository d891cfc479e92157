use std::fmt;

/// A connection URL. `Debug` and `Display` never show it: they print the scheme and host only.
#[derive(Clone)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(s: impl Into<String>) -> SecretUrl {
        SecretUrl(s.into())
    }

    /// The full URL, for handing to a driver. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]/…` with credentials, path and query removed.
    pub fn redacted(&self) -> String {
        airlock_config::redact::url_for_display(&self.0)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_credentials() {
        let u = SecretUrl::new("postgres://app:hunter2@db.internal:5432/prod?sslmode=require");
        for shown in [format!("{u}"), format!("{u:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("app:"), "{shown}");
            assert!(shown.contains("db.internal:5432"), "{shown}");
        }
    }
}
