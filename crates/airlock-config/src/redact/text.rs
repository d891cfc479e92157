//! Redaction of free text: handler stderr and `details`, database driver messages.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use super::REDACTED;

/// Secret values to be replaced wherever they occur, longest first (so a secret containing
/// another is replaced whole). Values shorter than 4 bytes are not kept: replacing every `a`
/// of a message would make it useless, and such a value is not a secret worth the name.
#[derive(Clone, Default)]
pub struct KnownSecrets {
    values: Vec<String>,
}

impl KnownSecrets {
    /// A connection URL, its password, and the password percent-decoded.
    pub fn for_url(url: &str) -> KnownSecrets {
        let mut secrets = KnownSecrets::default();
        secrets.add(url);
        if let Some((_, rest)) = url.split_once("://") {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            // userinfo ends at the last '@' of the authority; passwords may contain '@' only
            // percent-encoded, but be lenient and use the last one in the whole rest.
            let userinfo = rest
                .rsplit_once('@')
                .map(|(u, _)| u)
                .or_else(|| authority.rsplit_once('@').map(|(u, _)| u));
            if let Some((_, pw)) = userinfo.and_then(|u| u.split_once(':')) {
                secrets.add(pw);
                secrets.add(&percent_decode(pw));
            }
        }
        secrets
    }

    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.values.iter().any(|s| s == secret) {
            self.values.push(secret.to_owned());
            self.values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `s` with every known secret replaced by [`REDACTED`].
    pub fn replace_in(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

/// `%XX` sequences decoded as bytes (lossy UTF-8); anything else kept.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces secret material in free text (handler stderr, handler `details`): the values of
/// the executor's own secrets, the values of environment variables named like secrets, URLs
/// with credentials or of databases, and `Bearer …` credentials.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: KnownSecrets,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// `explicit` values plus every value in `env` whose name looks like a secret
    /// (`*_TOKEN`, `*_SECRET`, `*_PASSWORD`, `*_URL`, …).
    pub fn new(explicit: &[&str], env: &HashMap<String, String>) -> Redactor {
        let mut secrets = KnownSecrets::default();
        for s in explicit {
            secrets.add(s);
        }
        for (k, v) in env {
            let upper = k.to_ascii_uppercase();
            let secret_name = [
                "TOKEN",
                "SECRET",
                "PASSWORD",
                "PASSWD",
                "CREDENTIAL",
                "API_KEY",
                "PRIVATE_KEY",
                "_URL",
                "DSN",
            ]
            .iter()
            .any(|w| upper.contains(w));
            if secret_name && v.len() >= 6 {
                secrets.add(v);
            }
        }
        Redactor { secrets }
    }

    pub fn text(&self, s: &str) -> String {
        redact_patterns(&self.secrets.replace_in(s))
    }

    /// A JSON value with secret-looking keys and values redacted, then serialized compactly
    /// and passed through [`Redactor::text`].
    pub fn json(&self, v: &Value) -> String {
        let v = super::redacted(v);
        self.text(&serde_json::to_string(&v).unwrap_or_default())
    }
}

/// URLs with credentials or database URLs, and `Bearer` credentials.
fn redact_patterns(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    // Bearer credentials: the word after `Bearer `.
    loop {
        let Some(i) = find_ci(rest, "bearer ") else {
            out.push_str(rest);
            break;
        };
        let (head, tail) = rest.split_at(i + "bearer ".len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &tail[end..];
    }
    // URLs: any token containing `://` that carries `@` or names a database scheme.
    let mut result = String::with_capacity(out.len());
    for (i, token) in out.split(' ').enumerate() {
        if i > 0 {
            result.push(' ');
        }
        let lower = token.to_ascii_lowercase();
        let db = [
            "postgres://",
            "postgresql://",
            "mysql://",
            "mariadb://",
            "mongodb://",
            "redis://",
        ]
        .iter()
        .any(|p| lower.contains(p));
        let creds = lower.split_once("://").is_some_and(|(_, after)| {
            after
                .split(['/', '?', '#'])
                .next()
                .unwrap_or("")
                .contains('@')
        });
        if db || creds {
            result.push_str(REDACTED);
        } else {
            result.push_str(token);
        }
    }
    result
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.to_ascii_lowercase().find(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_loses_known_env_url_and_bearer_secrets() {
        let env: HashMap<String, String> =
            [("APP_DB_PASSWORD".to_owned(), "hunter22".to_owned())].into();
        let r = Redactor::new(&[], &env);
        let t = r.text("auth: Bearer xyz123 at https://user:pw@h/x and mysql://h/db pw=hunter22");
        assert_eq!(
            t,
            "auth: Bearer <redacted> at <redacted> and <redacted> pw=<redacted>"
        );
    }

    #[test]
    fn url_secrets_cover_the_password_raw_and_decoded() {
        let s = KnownSecrets::for_url("postgres://app:p%40ss-word@db/app");
        let t = s.replace_in("auth failed for p@ss-word / p%40ss-word");
        assert_eq!(t, "auth failed for <redacted> / <redacted>");
        let whole = s.replace_in("dial postgres://app:p%40ss-word@db/app failed");
        assert_eq!(whole, "dial <redacted> failed");
    }

    #[test]
    fn short_values_are_not_secrets() {
        let mut s = KnownSecrets::default();
        s.add("abc");
        assert!(s.is_empty());
        assert_eq!(s.replace_in("abcabc"), "abcabc");
        let r = Redactor::new(&["abc", "longer-secret"], &HashMap::new());
        assert_eq!(r.text("abc longer-secret"), "abc <redacted>");
    }
}
