use std::fmt;

/// A safe SQL identifier: `^[A-Za-z_][A-Za-z0-9_]*$`, at most 63 bytes.
///
/// Only config validation produces identifiers; the model never does. Engines still quote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident(String);

impl Ident {
    pub fn new(s: &str) -> Option<Ident> {
        is_safe_identifier(s).then(|| Ident(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `^[A-Za-z_][A-Za-z0-9_]*$` and at most 63 bytes (the Postgres identifier limit).
pub fn is_safe_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && s.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names_and_rejects_everything_else() {
        for ok in ["id", "_x", "tenant_id", "A1"] {
            assert!(Ident::new(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "a-b",
            "a.b",
            "a b",
            "a\"b",
            "a;drop",
            "é",
            &"a".repeat(64),
        ] {
            assert!(Ident::new(bad).is_none(), "{bad}");
        }
    }
}
