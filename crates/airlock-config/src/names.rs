//! Name rules shared by validation, redaction and other crates.
//!
//! Hand-written matchers instead of regexes: each rule is one line of a regex in the original
//! and small enough to state directly, and the crate stays free of a regex engine.

/// Model-facing argument names that would let the model choose trust scope, identifiers or
/// approval identity. Trusted values come from config, environment or verified HTTP claims.
///
/// The first two groups are the original's list (kept for compatibility); the last group is
/// Airlock's addition. Matching is by [`is_reserved_arg_name`], which also catches case and
/// separator variants (`Tenant_ID`, `tenant-id`). This is the one list: config validation
/// refuses these as declared arguments, the call-time argument check refuses them as
/// undeclared keys (`MODEL_CANNOT_OVERRIDE_BINDING`), and `airlock tools list` checks the
/// served schemas against it.
pub const RESERVED_ARG_NAMES: &[&str] = &[
    // trust scope (original)
    "tenant_id",
    "tenantId",
    "principal",
    "principal_id",
    "principalId",
    "project_id",
    "projectId",
    "source_id",
    "sourceId",
    "allowed_columns",
    "allowedColumns",
    "row_version",
    "rowVersion",
    "current_version",
    "currentVersion",
    "expected_version",
    "expectedVersion",
    "approval_identity",
    "approvalIdentity",
    // dynamic identifiers (original)
    "table",
    "table_name",
    "tableName",
    "schema",
    "schema_name",
    "schemaName",
    "column",
    "columns",
    "column_name",
    "columnName",
    "database",
    "database_name",
    "databaseName",
    // identity and authority (Airlock)
    "tenant",
    "tenant_key",
    "tenantKey",
    "role",
    "roles",
    "actor",
    "approver",
    "approved_by",
    "approvedBy",
    "account_id_scope",
    "accountIdScope",
];

/// Keys that would hold a database URL inline (forbidden at any depth).
pub(crate) const INLINE_URL_KEYS: &[&str] = &[
    "url",
    "database_url",
    "databaseUrl",
    "read_url",
    "readUrl",
    "write_url",
    "writeUrl",
    "connection_string",
    "connectionString",
];

/// Keys that would hold SQL text (forbidden at any depth).
pub(crate) const SQL_KEYS: &[&str] = &[
    "sql",
    "raw_sql",
    "rawSql",
    "statement",
    "query_sql",
    "querySql",
];

/// `^[A-Za-z_][A-Za-z0-9_]*$`: table, column, source and argument names.
pub fn is_safe_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `^[A-Z_][A-Z0-9_]*$`: names of environment variables.
pub fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `^[A-Za-z_][A-Za-z0-9_.-]*$`: names of contexts and executors.
pub fn is_safe_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `namespace.name`: two safe identifiers joined by exactly one dot.
pub fn is_capability_name(s: &str) -> bool {
    match s.split_once('.') {
        Some((ns, name)) => is_safe_identifier(ns) && is_safe_identifier(name),
        None => false,
    }
}

/// Whether `name` is a reserved model-facing argument name, ignoring case and `_`/`-`
/// separators, so `TenantID` and `tenant-id` are caught as well as `tenant_id`.
pub fn is_reserved_arg_name(name: &str) -> bool {
    let wanted = fold(name);
    RESERVED_ARG_NAMES.iter().any(|r| fold(r) == wanted)
}

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "cookie",
    "credential",
];
const SECRET_PAIRS: &[(&str, &str)] = &[("api", "key"), ("access", "key"), ("private", "key")];

/// Whether a column or key name looks like it holds secret material. Equivalent to the
/// case-insensitive regex
/// `(^|_)(password|passwd|secret|token|api_?key|access_?key|private_?key|cookie|credential)s?($|_)`.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('_').collect();
    segments
        .iter()
        .any(|s| SECRET_WORDS.iter().any(|w| word_or_plural(s, w)))
        || segments.windows(2).any(|pair| {
            SECRET_PAIRS
                .iter()
                .any(|(a, b)| pair[0] == *a && word_or_plural(pair[1], b))
        })
}

/// Narrower than [`is_secret_name`]: the name *ends* in a secret word (`db_password`,
/// `client_secret`, `access_token`), so `token_claim` or `password_policy` do not match.
pub(crate) fn ends_with_secret_word(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('_').collect();
    let Some(last) = segments.last() else {
        return false;
    };
    if SECRET_WORDS.iter().any(|w| word_or_plural(last, w)) {
        return true;
    }
    segments.len() >= 2 && {
        let before = segments[segments.len() - 2];
        SECRET_PAIRS
            .iter()
            .any(|(a, b)| before == *a && word_or_plural(last, b))
    }
}

fn word_or_plural(segment: &str, word: &str) -> bool {
    segment == word || segment.strip_suffix('s') == Some(word)
}

/// Whether a key names an environment variable rather than holding a value (`read_url_env`,
/// `token_env`, `signing_secret_env`).
pub(crate) fn is_env_key(key: &str) -> bool {
    key.len() > 4 && key.to_ascii_lowercase().ends_with("_env")
}

const DATABASE_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "sqlserver",
    "mssql",
];

/// A connection URL that must not be stored inline: any `postgres://`, `mysql://`,
/// `mariadb://` (and a few other database schemes) URL, or any `scheme://user:password@…`.
pub(crate) fn looks_like_secret_url(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if DATABASE_SCHEMES.iter().any(|s| {
        lower
            .strip_prefix(s)
            .is_some_and(|rest| rest.starts_with("://"))
    }) {
        return true;
    }
    // Any URL anywhere in the string that carries a password in its userinfo.
    let mut rest = v;
    while let Some(at) = rest.find("://") {
        let scheme_ok = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let after = &rest[at + 3..];
        let authority_end = after.find(['/', '?', '#', ' ']).unwrap_or(after.len());
        let authority = &after[..authority_end];
        let has_password = authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _host)| userinfo.contains(':'));
        if scheme_ok && has_password {
            return true;
        }
        rest = after;
    }
    false
}

/// Secret material recognisable by its value alone: bearer/basic credentials, PEM private
/// keys, and the original's writeback tokens (`syn_wbr_…`).
pub(crate) fn looks_like_secret_value(value: &str) -> bool {
    let v = value.trim_start();
    let lower: String = v.chars().take(16).collect::<String>().to_ascii_lowercase();
    (lower.starts_with("bearer ") && v.len() > 7)
        || (lower.starts_with("basic ") && v.len() > 6)
        || lower.starts_with("syn_wbr_")
        || (value.contains("-----BEGIN") && value.contains("PRIVATE KEY"))
}

/// Edit distance, for "did you mean" hints on unknown keys.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.min(c.len() / 2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_identifier() {
        for ok in ["a", "_", "tenant_id", "T1", "_x9"] {
            assert!(is_safe_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "a b", "é", "a;"] {
            assert!(!is_safe_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn env_name() {
        for ok in ["A", "_", "DATABASE_URL", "X1_2"] {
            assert!(is_env_name(ok), "{ok}");
        }
        for bad in ["", "a", "Database", "1X", "A-B", "postgres://x"] {
            assert!(!is_env_name(bad), "{bad}");
        }
    }

    #[test]
    fn safe_name_and_capability_name() {
        assert!(is_safe_name("local.operator-1"));
        assert!(!is_safe_name("-x"));
        assert!(is_capability_name("billing.inspect_invoice"));
        for bad in ["billing", "a.b.c", ".a", "a.", "a-b.c"] {
            assert!(!is_capability_name(bad), "{bad}");
        }
    }

    #[test]
    fn reserved_args_ignore_case_and_separators() {
        for r in [
            "tenant_id",
            "TenantId",
            "tenant-id",
            "TENANT",
            "roles",
            "approver",
            "schema",
        ] {
            assert!(is_reserved_arg_name(r), "{r}");
        }
        for ok in ["invoice_id", "reason", "amount_cents", "status"] {
            assert!(!is_reserved_arg_name(ok), "{ok}");
        }
    }

    #[test]
    fn secret_names_follow_the_regex() {
        for s in [
            "password",
            "PASSWORD_HASH",
            "user_passwd",
            "secrets",
            "api_key",
            "apikey",
            "api_keys",
            "stripe_access_key",
            "private_key",
            "session_cookie",
            "credentials",
            "refresh_token",
        ] {
            assert!(is_secret_name(s), "{s}");
        }
        for s in [
            "tenant_key",
            "primary_key",
            "keyboard",
            "tokenizer",
            "status",
        ] {
            assert!(!is_secret_name(s), "{s}");
        }
    }

    #[test]
    fn narrower_secret_suffix() {
        assert!(ends_with_secret_word("db_password"));
        assert!(ends_with_secret_word("client_api_key"));
        assert!(!ends_with_secret_word("token_claim"));
        assert!(!ends_with_secret_word("tenant_key"));
    }

    #[test]
    fn secret_urls_and_values() {
        assert!(looks_like_secret_url("postgres://localhost/db"));
        assert!(looks_like_secret_url("  MySQL://u@h/db"));
        assert!(looks_like_secret_url("see https://user:pw@example.com/x"));
        assert!(!looks_like_secret_url("https://user@example.com/x"));
        assert!(!looks_like_secret_url("https://example.com/a@b"));
        assert!(!looks_like_secret_url("DATABASE_URL"));
        assert!(looks_like_secret_value("Bearer abc.def"));
        assert!(looks_like_secret_value(
            "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----"
        ));
        assert!(!looks_like_secret_value("-----BEGIN CERTIFICATE-----"));
        assert!(!looks_like_secret_value("bearer_env"));
    }

    #[test]
    fn closest_suggests_typos_only() {
        assert_eq!(
            closest("visible_column", &["visible_columns", "patch"]),
            Some("visible_columns")
        );
        assert_eq!(closest("xyz", &["visible_columns", "patch"]), None);
    }
}
