pub mod grants;
pub mod migration;

use airlock_cli::EngineArg;
use airlock_db::{EngineKind, Ident};

use crate::output::hinted;

pub fn engine(e: EngineArg) -> EngineKind {
    match e {
        EngineArg::Postgres => EngineKind::Postgres,
        EngineArg::Mysql => EngineKind::Mysql,
        EngineArg::Sqlite => EngineKind::Sqlite,
    }
}

pub fn ident(what: &str, s: &str) -> anyhow::Result<Ident> {
    Ident::new(s).ok_or_else(|| {
        hinted(
            format!("{what} `{s}` is not a plain SQL identifier"),
            "use letters, digits and underscores, starting with a letter",
        )
    })
}
