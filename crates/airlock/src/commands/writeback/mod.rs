pub mod grants;
pub mod migration;

use airlock_db::Ident;

use crate::output::hinted;

pub fn ident(what: &str, s: &str) -> anyhow::Result<Ident> {
    Ident::new(s).ok_or_else(|| {
        hinted(
            format!("{what} `{s}` is not a plain SQL identifier"),
            "use letters, digits and underscores, starting with a letter",
        )
    })
}
