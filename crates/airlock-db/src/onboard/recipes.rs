//! Recipes: reviewed starting capabilities for common jobs (`airlock recipes`,
//! `airlock init --recipe`). A recipe is answers in the `airlock.answers.v1` form plus what a
//! person needs to judge it (title, summary, the table it expects, notes) and, for the
//! built-in ones, the table's DDL for each engine. The built-ins are compiled into the binary;
//! a recipe file of your own has the same form (`airlock.recipe.v1`).
//!
//! Pure: the files are embedded, nothing is read here.

use airlock_config::{Config, Engine, Mode};
use serde::{Deserialize, Serialize};

use super::{Answers, Problem};

/// Value of [`Recipe::format`].
pub const RECIPE_FORMAT: &str = "airlock.recipe.v1";

/// One recipe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Always `airlock.recipe.v1`.
    pub format: String,
    /// `namespace.job`, e.g. `billing.late_fee_waiver`.
    pub id: String,
    pub title: String,
    /// One sentence: what the agent may read and propose.
    pub summary: String,
    /// The table the recipe expects (rename with `init --recipe ID --table NAME`).
    pub table: String,
    /// What to review before using it.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The conflict column is a version Airlock advances on each apply (`conflict_guard.bump`).
    #[serde(default)]
    pub bump_version: bool,
    /// The capabilities, as `airlock init --answers` reads them (no engine, no source: those
    /// come from the run).
    pub answers: Answers,
    /// The table's DDL per engine: built-in recipes only.
    #[serde(skip)]
    ddl: Option<&'static Builtin>,
}

/// A built-in recipe's files.
#[derive(Debug)]
struct Builtin {
    json: &'static str,
    postgres: &'static str,
    mysql: &'static str,
    sqlite: &'static str,
}

macro_rules! builtin {
    ($id:literal) => {
        Builtin {
            json: include_str!(concat!("../../recipes/", $id, ".json")),
            postgres: include_str!(concat!("../../recipes/", $id, ".postgres.sql")),
            mysql: include_str!(concat!("../../recipes/", $id, ".mysql.sql")),
            sqlite: include_str!(concat!("../../recipes/", $id, ".sqlite.sql")),
        }
    };
}

/// The built-in recipes, in the order `recipes list` shows them.
const BUILTIN: &[Builtin] = &[
    builtin!("billing.late_fee_waiver"),
    builtin!("support.ticket_status"),
    builtin!("accounts.plan_credit"),
];

/// Every built-in recipe. The files are checked by this crate's tests, so parsing cannot fail
/// in a released binary.
pub fn builtin() -> Vec<Recipe> {
    BUILTIN
        .iter()
        .map(|b| Recipe {
            ddl: Some(b),
            ..parse(b.json).expect("built-in recipes are valid (tested)")
        })
        .collect()
}

/// The built-in recipe with this id.
pub fn find(id: &str) -> Option<Recipe> {
    builtin().into_iter().find(|r| r.id == id)
}

/// The ids of the built-in recipes.
pub fn ids() -> Vec<String> {
    builtin().into_iter().map(|r| r.id).collect()
}

/// Reads a recipe document (a built-in or a file of your own).
pub fn parse(text: &str) -> Result<Recipe, Problem> {
    let recipe: Recipe = serde_json::from_str(text).map_err(|e| {
        Problem::new(
            "RECIPE_INVALID",
            format!("line {}", e.line()),
            format!("not an {RECIPE_FORMAT} document: {e}"),
            "compare it with `airlock recipes show billing.late_fee_waiver --json`",
        )
    })?;
    if recipe.format != RECIPE_FORMAT {
        return Err(Problem::new(
            "RECIPE_INVALID",
            "format",
            format!("unknown recipe format `{}`", recipe.format.escape_default()),
            format!("use \"{RECIPE_FORMAT}\""),
        ));
    }
    if recipe.answers.tables.len() != 1 {
        return Err(Problem::new(
            "RECIPE_INVALID",
            "answers.tables",
            "a recipe describes exactly one table",
            "split it into one recipe per table",
        ));
    }
    Ok(recipe)
}

/// How a run maps a recipe onto a database.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Default: the inspected engine, else Postgres.
    pub engine: Option<Engine>,
    /// Default: `review`. `read_only` drops the proposal tools.
    pub mode: Option<Mode>,
    /// Your table's name, when it is not the recipe's.
    pub table: Option<String>,
    /// Your table's schema (Postgres schema, MySQL database).
    pub schema: Option<String>,
    /// SQLite: the database file, relative to the config's folder.
    pub sqlite_path: Option<String>,
}

impl Recipe {
    /// The DDL (with example rows) of a built-in recipe's table for one engine; `None` for a
    /// recipe file of your own.
    pub fn schema_sql(&self, engine: Engine) -> Option<&'static str> {
        let b = self.ddl?;
        Some(match engine {
            Engine::Postgres => b.postgres,
            Engine::Mysql => b.mysql,
            Engine::Sqlite => b.sqlite,
        })
    }

    /// The answers for one run.
    pub fn answers(&self, at: &Placement) -> Answers {
        let mut a = self.answers.clone();
        if at.engine.is_some() {
            a.source.engine = at.engine;
        }
        if let Some(path) = &at.sqlite_path {
            a.source.path = Some(path.clone());
        }
        a.mode = Some(at.mode.unwrap_or(Mode::Review));
        for t in &mut a.tables {
            if let Some(name) = &at.table {
                t.table = name.clone();
            }
            if at.schema.is_some() {
                t.schema = at.schema.clone();
            }
            if at.mode == Some(Mode::ReadOnly) {
                t.proposals.clear();
            }
        }
        a
    }

    /// What the generator cannot say from answers alone: the version column is Airlock's to
    /// advance.
    pub fn finish(&self, config: &mut Config) {
        if !self.bump_version {
            return;
        }
        for c in &mut config.capabilities {
            if let Some(g) = c.conflict_guard.as_mut().filter(|g| g.column.is_some()) {
                g.bump = Some(true);
            }
        }
    }

    /// The proposal tools' approval roles, in order, without repeats.
    pub fn roles(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.answers.tables.iter().flat_map(|t| &t.proposals) {
            if let Some(r) = &p.approval_role
                && !out.contains(r)
            {
                out.push(r.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_generates_a_valid_config_on_every_engine() {
        assert_eq!(builtin().len(), BUILTIN.len());
        for r in builtin() {
            assert!(r.id.contains('.'), "{}", r.id);
            assert!(!r.roles().is_empty(), "{}", r.id);
            for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
                let at = Placement {
                    engine: Some(engine),
                    sqlite_path: (engine == Engine::Sqlite).then(|| "app.db".into()),
                    ..Placement::default()
                };
                let mut g = super::super::generate(&r.answers(&at), None)
                    .unwrap_or_else(|p| panic!("{} on {engine:?}: {p:?}", r.id));
                r.finish(&mut g.config);
                let doc = serde_json::to_value(&g.config).unwrap();
                let checked = airlock_config::validate(&doc);
                assert!(checked.ok, "{} on {engine:?}: {:?}", r.id, checked.errors);
                assert_eq!(g.tools.len(), 2, "{}: {:?}", r.id, g.tools);
                let sql = r.schema_sql(engine).unwrap();
                assert!(
                    sql.contains(&format!("CREATE TABLE {}", r.table)),
                    "{}",
                    r.id
                );
            }
            let read_only = r.answers(&Placement {
                mode: Some(Mode::ReadOnly),
                ..Placement::default()
            });
            let g = super::super::generate(&read_only, None).unwrap();
            assert_eq!(g.tools.len(), 1, "{}", r.id);
        }
    }

    #[test]
    fn a_recipe_file_must_be_one_table_of_our_format() {
        let mut doc: serde_json::Value = serde_json::from_str(BUILTIN[0].json).unwrap();
        doc["format"] = "synapsor.recipe".into();
        assert_eq!(parse(&doc.to_string()).unwrap_err().path, "format");
        let mut doc: serde_json::Value = serde_json::from_str(BUILTIN[0].json).unwrap();
        doc["extra"] = 1.into();
        assert_eq!(parse(&doc.to_string()).unwrap_err().code, "RECIPE_INVALID");
        assert!(parse("{").is_err());
        assert!(
            parse(BUILTIN[0].json)
                .unwrap()
                .schema_sql(Engine::Sqlite)
                .is_none()
        );
    }
}
