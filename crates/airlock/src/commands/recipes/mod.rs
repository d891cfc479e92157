//! `airlock recipes`: reviewed starting capabilities (`airlock_db::onboard::recipes`), listed,
//! shown, or written as a config through `airlock init`'s writer.

pub mod init;
pub mod list;
pub mod show;

use std::path::Path;

use airlock_config::Engine;
use airlock_db::onboard::recipes::{self, Recipe};

use crate::output::hinted;
use crate::settings::Settings;

/// Largest recipe file read (a recipe is a few kilobytes).
const MAX_RECIPE_BYTES: u64 = 1024 * 1024;

/// A built-in recipe by id, or a recipe file when the name looks like a path (ends in
/// `.json` or holds a path separator). Built-ins are never looked up on disk.
pub fn load(settings: &Settings, name: &str) -> anyhow::Result<Recipe> {
    let looks_like_path = name.ends_with(".json") || name.contains('/') || name.contains('\\');
    if !looks_like_path {
        return recipes::find(name).ok_or_else(|| {
            hinted(
                format!(
                    "[RECIPE_NOT_FOUND] no recipe `{}`",
                    name.escape_default()
                ),
                format!(
                    "the built-in recipes are {} (`airlock recipes list`); a recipe file of your own is named by its path (ending in .json)",
                    recipes::ids().join(", ")
                ),
            )
        });
    }
    let path = settings.cwd.join(name);
    let text = super::read_user_file(
        settings,
        Path::new(name),
        MAX_RECIPE_BYTES,
        "RECIPE_TOO_LARGE",
        "a recipe describes one table and its tools; check that this is the right file",
    )?;
    recipes::parse(&text).map_err(|p| {
        hinted(
            format!("[{}] {}: {}: {}", p.code, path.display(), p.path, p.message),
            p.hint,
        )
    })
}

/// The engine a `--engine` flag names.
pub fn engine(flag: &str) -> Engine {
    match flag {
        "mysql" | "mariadb" => Engine::Mysql,
        "sqlite" => Engine::Sqlite,
        _ => Engine::Postgres,
    }
}
