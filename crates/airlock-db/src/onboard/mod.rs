//! From an inspection report and a person's choices to a config: the generator behind
//! `airlock init` and `airlock onboard db`.
//!
//! - [`Answers`] is Airlock's own answers format (`airlock.answers.v1`, schema in
//!   `schemas/answers.v1.schema.json`): several tables, each with a read tool and any number
//!   of proposal tools.
//! - [`original::from_flat`] reads Synapsor Runner's two flat forms, the `--answers` file and
//!   the onboarding-selection v1 document, into [`Answers`].
//! - [`suggested`] builds the answers `onboard db --yes` uses: sensible defaults from the
//!   report alone.
//! - [`generate`] turns answers plus a report into a [`airlock_config::Config`] that passes
//!   validation, the environment variables it names, and notes for the next steps. Every
//!   name is checked against the report (unknown table or column, unsafe identifier, a
//!   sensitive column made visible without `include_sensitive`), and every problem is
//!   reported at once.
//!
//! Pure: no I/O, no environment.

mod answers;
mod generate;
pub mod original;
pub mod recipes;
pub mod suggest;

pub use answers::*;
pub use generate::{
    DEFAULT_READ_URL_ENV, EnvVarDoc, Generated, SuggestOptions, generate, suggested,
};

/// One problem with the answers, with the path of the field and what to do.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    /// Stable code, e.g. `ANSWERS_UNKNOWN_TABLE`.
    pub code: &'static str,
    /// Where, e.g. `tables[0].visible_columns[2]`.
    pub path: String,
    pub message: String,
    pub hint: String,
}

impl Problem {
    pub fn new(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Problem {
            code,
            path: path.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {} (hint: {})",
            self.code, self.path, self.message, self.hint
        )
    }
}

/// JSON Schema of [`Answers`], published as `schemas/answers.v1.schema.json`.
pub fn answers_schema() -> serde_json::Value {
    schemars::schema_for!(Answers).to_value()
}
