//! The report `airlock inspect` prints: one shape for every engine, serialised as the stable
//! JSON documented in `docs/onboarding.md` (format `airlock.inspect.v1`).
//!
//! Every field is always present (`null` or `[]` when there is nothing to say), lists are in a
//! fixed order (tables by schema then name, columns by position, constraints, indexes and
//! triggers by name), and nothing depends on the clock, so two runs over an unchanged schema
//! print the same bytes.

use serde::{Deserialize, Serialize};

/// Value of [`SchemaReport::format`].
pub const REPORT_FORMAT: &str = "airlock.inspect.v1";

/// What one inspection found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaReport {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// `postgres`, `mysql` or `sqlite`.
    pub engine: String,
    /// The server's version string (`sqlite_version()` for SQLite).
    pub server_version: String,
    /// The role / user the inspection ran as; `null` for SQLite.
    pub current_user: Option<String>,
    /// The schemas inspected (Postgres schemas, MySQL databases, SQLite attached databases).
    pub schemas: Vec<String>,
    pub tables: Vec<TableReport>,
    /// Limits of what this engine's catalog shows, and the reminder that candidates are
    /// suggestions.
    pub notes: Vec<String>,
}

/// A table or view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableReport {
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    /// The catalog's row estimate (Postgres `reltuples`, MySQL `TABLE_ROWS`, SQLite
    /// `sqlite_stat1`); `null` when the catalog has none (views, never-analysed tables).
    /// Never a count: inspection does not read rows.
    pub row_estimate: Option<i64>,
    /// Whether the inspecting credential may `SELECT` from it (Postgres checks the privilege;
    /// MySQL/MariaDB list only tables the user has a privilege on; SQLite: always).
    pub readable: bool,
    pub columns: Vec<ColumnReport>,
    /// Primary key columns in key order; empty when there is none.
    pub primary_key: Vec<String>,
    pub unique_constraints: Vec<UniqueConstraint>,
    pub foreign_keys: Vec<ForeignKey>,
    pub check_constraints: Vec<CheckConstraint>,
    pub indexes: Vec<IndexReport>,
    pub triggers: Vec<TriggerReport>,
    pub candidates: Candidates,
    /// Columns a read tool could show by default: all except sensitive and binary ones, in
    /// column order.
    pub visible_columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    Table,
    View,
    MaterializedView,
    ForeignTable,
}

impl RelationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized_view",
            RelationKind::ForeignTable => "foreign_table",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnReport {
    pub name: String,
    /// The type as the catalog spells it (`character varying(80)`, `enum('a','b')`, `TEXT`).
    pub data_type: String,
    /// Engine-neutral family of the type (domains as their base type).
    pub category: TypeCategory,
    pub nullable: bool,
    /// The default expression as the catalog shows it.
    pub default: Option<String>,
    /// Computed from other columns (`GENERATED ALWAYS AS`); a `DEFAULT CURRENT_TIMESTAMP` is not.
    pub generated: bool,
    /// Filled by the database: identity, `serial`, `AUTO_INCREMENT`, SQLite rowid alias.
    pub auto_increment: bool,
    /// What the database itself writes on every UPDATE (MySQL/MariaDB
    /// `ON UPDATE CURRENT_TIMESTAMP`); `null` elsewhere.
    pub on_update: Option<String>,
    /// Allowed values of an enum type (Postgres enum, MySQL `ENUM`), in declared order.
    pub enum_values: Vec<String>,
    /// Why the column looks sensitive, when it does; such columns are left out of
    /// `visible_columns`.
    pub sensitive: Option<SensitiveKind>,
}

/// Engine-neutral type families, enough to judge guard and key candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeCategory {
    Integer,
    Decimal,
    Float,
    Boolean,
    Text,
    Uuid,
    Date,
    Time,
    Timestamp,
    Json,
    Binary,
    Enum,
    Other,
}

/// Why a column name looks like it holds data a model should not see by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveKind {
    /// Passwords, hashes of them, tokens, API and private keys, secrets.
    Credential,
    /// Social security, national id, passport, tax id, driving licence numbers.
    GovernmentId,
    /// Card numbers, CVV, IBAN, bank account and routing numbers.
    Payment,
    /// E-mail, phone, fax, postal address.
    Contact,
    /// Date of birth.
    BirthDate,
    /// IP addresses.
    Network,
}

impl SensitiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SensitiveKind::Credential => "credential",
            SensitiveKind::GovernmentId => "government_id",
            SensitiveKind::Payment => "payment",
            SensitiveKind::Contact => "contact",
            SensitiveKind::BirthDate => "birth_date",
            SensitiveKind::Network => "network",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UniqueConstraint {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// `null` on SQLite, whose catalog does not keep constraint names.
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub referenced_schema: String,
    pub referenced_table: String,
    /// Paired with `columns` position by position.
    pub referenced_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckConstraint {
    pub name: Option<String>,
    /// The condition as the catalog prints it.
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexReport {
    pub name: String,
    /// Key columns in order; an expression key is shown as its text (Postgres) or
    /// `(expression)`.
    pub columns: Vec<String>,
    pub unique: bool,
    pub primary: bool,
    /// The `WHERE` of a partial index (Postgres); `"(partial)"` on SQLite, which does not
    /// expose it.
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerReport {
    pub name: String,
    /// `before`, `after` or `instead_of`.
    pub timing: String,
    /// Some of `insert`, `update`, `delete`, `truncate`.
    pub events: Vec<String>,
    /// Columns of this table the trigger body appears to assign (`NEW.col = …`,
    /// `SET col = …`). A reading of the body text, not a proof.
    pub sets_columns: Vec<String>,
}

/// Suggestions for the config's `tenant_column`, principal scoping and `conflict_guard`,
/// best first. Each carries why it was suggested.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Candidates {
    pub tenant: Vec<Candidate>,
    pub principal: Vec<Candidate>,
    pub conflict_guard: Vec<GuardCandidate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub column: String,
    pub confidence: Confidence,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardCandidate {
    pub column: String,
    /// `version` (a counter) or `timestamp`.
    pub kind: GuardKind,
    pub confidence: Confidence,
    pub reason: String,
    /// What keeps it current without the app: `trigger <name>` or
    /// `ON UPDATE CURRENT_TIMESTAMP`; `null` when only the application does.
    pub maintained_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    Version,
    Timestamp,
}

impl GuardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardKind::Version => "version",
            GuardKind::Timestamp => "timestamp",
        }
    }
}

impl TableReport {
    /// A table with its identity only; engines fill the rest, then [`super::annotate`] adds
    /// the classification.
    pub(crate) fn new(schema: &str, name: &str, kind: RelationKind) -> TableReport {
        TableReport {
            schema: schema.to_owned(),
            name: name.to_owned(),
            kind,
            row_estimate: None,
            readable: true,
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique_constraints: Vec::new(),
            foreign_keys: Vec::new(),
            check_constraints: Vec::new(),
            indexes: Vec::new(),
            triggers: Vec::new(),
            candidates: Candidates::default(),
            visible_columns: Vec::new(),
        }
    }
}
