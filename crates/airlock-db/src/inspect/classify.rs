//! The judgement part of inspection, kept apart from the SQL: type families, sensitive-name
//! classification and the tenant / principal / conflict-guard candidates. Pure functions over
//! names, types and catalog facts; they never see a row value.
//!
//! Names are compared as lowercase *words*: `BirthDate`, `birth_date` and `birth-date` all
//! become `birth`, `date`. Matching whole words (not substrings) keeps `cardinality`,
//! `discard_reason` or `tokens_used` out of the sensitive list, and the column's type family
//! keeps flags like `password_changed_at` (a timestamp) or `email_verified` (a boolean) out.

use super::model::{
    Candidate, Candidates, ColumnReport, Confidence, GuardCandidate, GuardKind, SensitiveKind,
    TableReport, TypeCategory,
};

/// Splits an identifier into lowercase words at `_`, `-`, spaces, other punctuation and
/// camelCase boundaries (`SupportRepId` → `support`, `rep`, `id`; `SSNNumber` → `ssn`,
/// `number`).
pub fn name_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The words joined with `_`: `SupportRepId` → `support_rep_id`.
pub fn normalized_name(name: &str) -> String {
    name_words(name).join("_")
}

/// The family of a type name (lowercase or not; a length, precision or `unsigned` suffix is
/// ignored). Exact names first, then SQLite's affinity rules, so any declared type lands
/// somewhere sensible.
pub fn type_category(type_name: &str) -> TypeCategory {
    use TypeCategory as C;
    let lower = type_name.trim().to_lowercase();
    if lower.ends_with("[]") {
        return C::Other;
    }
    let base = lower.split('(').next().unwrap_or("").trim();
    let base = base
        .trim_end_matches(" zerofill")
        .trim_end_matches(" unsigned")
        .trim_end_matches(" signed")
        .trim();
    match base {
        "int" | "integer" | "int2" | "int4" | "int8" | "smallint" | "bigint" | "tinyint"
        | "mediumint" | "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "oid" => {
            C::Integer
        }
        "numeric" | "decimal" | "dec" | "fixed" => C::Decimal,
        "real" | "float" | "float4" | "float8" | "double" | "double precision" => C::Float,
        "bool" | "boolean" => C::Boolean,
        "uuid" | "uniqueidentifier" => C::Uuid,
        "date" => C::Date,
        "time" | "timetz" | "time with time zone" | "time without time zone" => C::Time,
        "timestamp"
        | "timestamptz"
        | "timestamp with time zone"
        | "timestamp without time zone"
        | "datetime"
        | "datetime2"
        | "smalldatetime" => C::Timestamp,
        "json" | "jsonb" => C::Json,
        "bytea" | "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary"
        | "tsvector" | "vector" | "image" => C::Binary,
        "enum" => C::Enum,
        "text" | "varchar" | "character varying" | "char" | "character" | "bpchar" | "name"
        | "citext" | "tinytext" | "mediumtext" | "longtext" | "nvarchar" | "nchar" | "clob"
        | "string" | "varchar2" | "set" => C::Text,
        other => affinity_category(other),
    }
}

/// SQLite-style fallback for declared types no table above knows.
fn affinity_category(t: &str) -> TypeCategory {
    use TypeCategory as C;
    if t.contains("int") {
        C::Integer
    } else if t.contains("char") || t.contains("clob") || t.contains("text") {
        C::Text
    } else if t.contains("blob") || t.contains("binary") {
        C::Binary
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        C::Float
    } else if t.contains("bool") {
        C::Boolean
    } else if t.contains("timestamp") || t.contains("datetime") {
        C::Timestamp
    } else if t.contains("date") {
        C::Date
    } else if t.contains("numeric") || t.contains("decimal") {
        C::Decimal
    } else {
        C::Other
    }
}

/// Words that, as the last word, make a name describe a property *of* sensitive data rather
/// than the data (`password_policy`, `email_status`, `token_count`).
const DESCRIBING_SUFFIXES: &[&str] = &[
    "count", "type", "kind", "length", "status", "enabled", "verified", "required", "format",
    "policy", "expires", "expiry", "at", "on", "version", "id", "ids",
];

/// Whether a column name (and type) looks like data a model should not see by default.
pub fn sensitive_kind(name: &str, category: TypeCategory) -> Option<SensitiveKind> {
    let w = name_words(name);
    let has = |x: &str| w.iter().any(|v| v == x);
    let pair = |a: &str, b: &str| w.windows(2).any(|p| p[0] == a && p[1] == b);
    let joined = w.concat();
    use SensitiveKind as S;
    let kind = if has("ssn")
        || pair("social", "security")
        || pair("national", "id")
        || pair("tax", "id")
        || has("taxid")
        || has("passport")
        || (pair("driver", "license") || pair("drivers", "license") || pair("driving", "licence"))
    {
        S::GovernmentId
    } else if has("cvv")
        || has("cvc")
        || has("iban")
        || pair("card", "number")
        || pair("credit", "card")
        || pair("cc", "number")
        || pair("account", "number")
        || pair("routing", "number")
        || pair("bank", "account")
    {
        S::Payment
    } else if [
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "salt",
        "otp",
        "totp",
        "credential",
        "credentials",
    ]
    .iter()
    .any(|x| has(x))
        || [
            "api",
            "access",
            "private",
            "secret",
            "signing",
            "encryption",
            "session",
        ]
        .iter()
        .any(|a| pair(a, "key"))
    {
        S::Credential
    } else if has("ip") || has("ipaddress") || joined.contains("ipaddr") {
        S::Network
    } else if has("dob")
        || has("birthday")
        || has("birthdate")
        || pair("birth", "date")
        || joined.contains("dateofbirth")
    {
        S::BirthDate
    } else if has("email")
        || pair("e", "mail")
        || has("phone")
        || has("telephone")
        || has("mobile")
        || has("fax")
        || w.iter().any(|v| v.starts_with("address"))
        || has("street")
        || pair("postal", "code")
        || has("postcode")
        || has("zip")
        || has("zipcode")
    {
        S::Contact
    } else {
        return None;
    };
    // A property of the data, not the data (`password_changed_at`, `email_verified`,
    // `address_id`). Identifier numbers issued by a government keep their `_id`.
    let last = w.last().map(String::as_str).unwrap_or("");
    if kind != S::GovernmentId && DESCRIBING_SUFFIXES.contains(&last) {
        return None;
    }
    use TypeCategory as C;
    let fits = match category {
        C::Boolean => false,
        C::Date | C::Timestamp | C::Time => kind == S::BirthDate,
        C::Integer | C::Decimal | C::Float => kind != S::Credential && kind != S::BirthDate,
        _ => true,
    };
    fits.then_some(kind)
}

/// Tenant-like column names, by how strongly the name alone suggests a tenant.
const TENANT_NAMES_HIGH: &[&str] = &[
    "tenant",
    "tenant_id",
    "tenant_uuid",
    "tenant_key",
    "org_id",
    "organization_id",
    "organisation_id",
    "workspace_id",
];
const TENANT_NAMES_MEDIUM: &[&str] = &[
    "account_id",
    "company_id",
    "team_id",
    "merchant_id",
    "store_id",
    "shop_id",
    "site_id",
];
/// Tables whose rows are tenants (singular form), for foreign keys.
const TENANT_TABLES_HIGH: &[&str] = &["tenant", "organization", "organisation", "org", "workspace"];
const TENANT_TABLES_MEDIUM: &[&str] = &["account", "company", "team", "merchant", "store", "shop"];

const PRINCIPAL_NAMES_HIGH: &[&str] = &[
    "user_id",
    "owner_id",
    "owner_user_id",
    "created_by",
    "created_by_id",
    "author_id",
];
const PRINCIPAL_NAMES_MEDIUM: &[&str] = &[
    "assignee_id",
    "assigned_to",
    "assigned_to_id",
    "customer_id",
    "member_id",
    "employee_id",
    "staff_id",
    "person_id",
    "profile_id",
    "requester_id",
    "reporter_id",
    "support_rep_id",
];
const PRINCIPAL_TABLES_HIGH: &[&str] = &["user", "auth_user", "app_user"];
const PRINCIPAL_TABLES_MEDIUM: &[&str] = &[
    "customer", "member", "employee", "staff", "person", "people", "profile",
];

const VERSION_NAMES_HIGH: &[&str] = &["lock_version", "row_version", "record_version"];
const VERSION_NAMES_MEDIUM: &[&str] = &["version", "revision", "rev", "version_number"];
const UPDATED_NAMES: &[&str] = &[
    "updated_at",
    "updated_on",
    "updated",
    "modified_at",
    "modified_on",
    "modified",
    "last_modified",
    "last_modified_at",
    "last_update",
    "last_updated",
    "last_updated_at",
    "date_modified",
    "date_updated",
    "changed_at",
    "update_time",
    "mtime",
];

/// `Organizations` → `organization`, `companies` → `company`, `staff` → `staff`, in
/// normalised (lowercase, `_`) form.
pub fn singular(table: &str) -> String {
    let n = normalized_name(table);
    if let Some(stem) = n.strip_suffix("ies") {
        format!("{stem}y")
    } else if n.ends_with("ss") || n.ends_with("us") {
        n
    } else if let Some(stem) = n.strip_suffix('s') {
        stem.to_owned()
    } else {
        n
    }
}

fn lower(c: Confidence) -> Confidence {
    match c {
        Confidence::High => Confidence::Medium,
        _ => Confidence::Low,
    }
}

/// Scores one column against a name list and a referenced-table list.
fn scoped_candidate(
    table: &TableReport,
    col: &ColumnReport,
    names: (&[&str], &[&str]),
    tables: (&[&str], &[&str]),
    what: &str,
) -> Option<Candidate> {
    let norm = normalized_name(&col.name);
    let by_name = if names.0.contains(&norm.as_str()) {
        Some(Confidence::High)
    } else if names.1.contains(&norm.as_str()) {
        Some(Confidence::Medium)
    } else {
        None
    };
    let fk = table
        .foreign_keys
        .iter()
        .filter(|f| f.columns.len() == 1 && f.columns[0] == col.name)
        .find_map(|f| {
            let t = singular(&f.referenced_table);
            let c = if tables.0.contains(&t.as_str()) {
                Some(Confidence::High)
            } else if tables.1.contains(&t.as_str()) {
                Some(Confidence::Medium)
            } else {
                None
            };
            c.map(|c| (c, &f.referenced_table))
        });
    let (mut confidence, mut reason) = match (by_name, fk) {
        (Some(n), Some((f, t))) => (n.min(f), format!("{what} name, and a foreign key to {t}")),
        (Some(n), None) => (n, format!("{what} name")),
        (None, Some((f, t))) => (lower(f), format!("foreign key to {t}")),
        (None, None) => return None,
    };
    if col.nullable {
        confidence = lower(confidence);
        reason.push_str("; nullable");
    }
    Some(Candidate {
        column: col.name.clone(),
        confidence,
        reason,
    })
}

/// Columns that could scope rows to a tenant (`tenant_column`), best first.
pub fn tenant_candidates(table: &TableReport) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = table
        .columns
        .iter()
        .filter_map(|c| {
            scoped_candidate(
                table,
                c,
                (TENANT_NAMES_HIGH, TENANT_NAMES_MEDIUM),
                (TENANT_TABLES_HIGH, TENANT_TABLES_MEDIUM),
                "tenant-like",
            )
        })
        .collect();
    out.sort_by_key(|c| c.confidence);
    out
}

/// Columns naming the person a row belongs to or is handled by, best first.
pub fn principal_candidates(table: &TableReport) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = table
        .columns
        .iter()
        .filter_map(|c| {
            scoped_candidate(
                table,
                c,
                (PRINCIPAL_NAMES_HIGH, PRINCIPAL_NAMES_MEDIUM),
                (PRINCIPAL_TABLES_HIGH, PRINCIPAL_TABLES_MEDIUM),
                "owner-like",
            )
        })
        .collect();
    out.sort_by_key(|c| c.confidence);
    out
}

/// Columns a conflict guard could compare (`conflict_guard`), best first: integer version
/// counters and last-update timestamps, stronger when the database itself keeps them current.
pub fn guard_candidates(table: &TableReport) -> Vec<GuardCandidate> {
    use TypeCategory as C;
    let mut out = Vec::new();
    for col in &table.columns {
        let norm = normalized_name(&col.name);
        let maintained = maintained_by(table, col);
        let numeric = matches!(col.category, C::Integer | C::Decimal);
        if numeric
            && (VERSION_NAMES_HIGH.contains(&norm.as_str())
                || VERSION_NAMES_MEDIUM.contains(&norm.as_str()))
        {
            let confidence = if VERSION_NAMES_HIGH.contains(&norm.as_str()) || maintained.is_some()
            {
                Confidence::High
            } else {
                Confidence::Medium
            };
            out.push(GuardCandidate {
                column: col.name.clone(),
                kind: GuardKind::Version,
                confidence,
                reason: "integer version counter".into(),
                maintained_by: maintained,
            });
            continue;
        }
        let named = UPDATED_NAMES.contains(&norm.as_str());
        let (confidence, reason) = match (col.category, named, &maintained) {
            (C::Timestamp, true, Some(_)) => (
                Confidence::High,
                "last-update timestamp kept current by the database",
            ),
            (C::Timestamp, true, None) => (
                Confidence::Medium,
                "last-update timestamp; nothing in the schema updates it, so the application must",
            ),
            (C::Timestamp, false, Some(_)) => {
                (Confidence::Medium, "timestamp the database sets on update")
            }
            (C::Text, true, _) => (
                Confidence::Low,
                "last-update name on a text column (must hold ISO timestamps)",
            ),
            _ => continue,
        };
        out.push(GuardCandidate {
            column: col.name.clone(),
            kind: GuardKind::Timestamp,
            confidence,
            reason: reason.into(),
            maintained_by: maintained,
        });
    }
    out.sort_by_key(|c| c.confidence);
    out
}

/// What keeps `col` current on UPDATE without the application, if anything.
fn maintained_by(table: &TableReport, col: &ColumnReport) -> Option<String> {
    if let Some(expr) = &col.on_update {
        return Some(format!("ON UPDATE {expr}"));
    }
    table
        .triggers
        .iter()
        .find(|t| t.events.iter().any(|e| e == "update") && t.sets_columns.contains(&col.name))
        .map(|t| format!("trigger {}", t.name))
}

/// Columns a trigger body appears to assign: `NEW.col = …`, `NEW.col := …`, `SET col = …`,
/// `, col = …` (names compared case-insensitively, quoted or not). A reading of text, used
/// only to annotate guard candidates.
pub fn assigned_columns(body: &str, columns: &[String]) -> Vec<String> {
    let text = body.to_lowercase();
    columns
        .iter()
        .filter(|c| assigns(&text, &c.to_lowercase()))
        .cloned()
        .collect()
}

fn assigns(text: &str, col: &str) -> bool {
    if col.is_empty() {
        return false;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(pos) = text[from..].find(col) {
        let start = from + pos;
        let end = start + col.len();
        from = end;
        let before = text[..start].trim_end_matches(['"', '`', '[']);
        let after = text[end..].trim_start_matches(['"', '`', ']']);
        if before.chars().next_back().is_some_and(is_word)
            || after.chars().next().is_some_and(is_word)
        {
            continue;
        }
        let after = after.trim_start();
        let assignment =
            (after.starts_with('=') && !after.starts_with("==")) || after.starts_with(":=");
        if !assignment {
            continue;
        }
        let before = before.trim_end();
        let introduced = before.ends_with("new.")
            || before.ends_with(',')
            || before
                .strip_suffix("set")
                .is_some_and(|b| !b.chars().next_back().is_some_and(is_word));
        if introduced {
            return true;
        }
    }
    false
}

/// Fills the classification of a table whose catalog facts are in place: each column's
/// `sensitive`, `visible_columns` and the candidates.
pub fn annotate(table: &mut TableReport) {
    for col in &mut table.columns {
        col.sensitive = sensitive_kind(&col.name, col.category);
    }
    table.visible_columns = table
        .columns
        .iter()
        .filter(|c| c.sensitive.is_none() && c.category != TypeCategory::Binary)
        .map(|c| c.name.clone())
        .collect();
    table.candidates = Candidates {
        tenant: tenant_candidates(table),
        principal: principal_candidates(table),
        conflict_guard: guard_candidates(table),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::model::{ForeignKey, RelationKind, TriggerReport};

    fn col(name: &str, ty: &str, nullable: bool) -> ColumnReport {
        ColumnReport {
            name: name.into(),
            data_type: ty.into(),
            category: type_category(ty),
            nullable,
            default: None,
            generated: false,
            auto_increment: false,
            on_update: None,
            enum_values: Vec::new(),
            sensitive: None,
        }
    }

    #[test]
    fn words_split_on_case_and_punctuation() {
        assert_eq!(name_words("SupportRepId"), ["support", "rep", "id"]);
        assert_eq!(name_words("SSNNumber"), ["ssn", "number"]);
        assert_eq!(name_words("birth-date"), ["birth", "date"]);
        assert_eq!(name_words("address2"), ["address2"]);
        assert_eq!(name_words("__x__"), ["x"]);
        assert!(name_words("").is_empty());
        assert_eq!(normalized_name("TenantID"), "tenant_id");
    }

    #[test]
    fn type_families() {
        use TypeCategory as C;
        for (t, c) in [
            ("integer", C::Integer),
            ("bigint unsigned", C::Integer),
            ("int(11)", C::Integer),
            ("numeric(12,2)", C::Decimal),
            ("double precision", C::Float),
            ("timestamp(3) with time zone", C::Timestamp),
            ("DATETIME", C::Timestamp),
            ("character varying(80)", C::Text),
            ("VARCHAR(70)", C::Text),
            ("NVARCHAR(40)", C::Text),
            ("bytea", C::Binary),
            ("tsvector", C::Binary),
            ("integer[]", C::Other),
            ("enum('a','b')", C::Enum),
            ("UNSIGNED BIG INT", C::Integer),
            ("", C::Other),
            ("mystery", C::Other),
        ] {
            assert_eq!(type_category(t), c, "{t}");
        }
    }

    #[test]
    fn sensitive_names() {
        use SensitiveKind as S;
        use TypeCategory as C;
        for (name, cat, want) in [
            ("password", C::Text, Some(S::Credential)),
            ("password_digest", C::Text, Some(S::Credential)),
            ("encrypted_password", C::Text, Some(S::Credential)),
            ("reset_password_token", C::Text, Some(S::Credential)),
            ("api_key", C::Text, Some(S::Credential)),
            ("ApiKey", C::Text, Some(S::Credential)),
            ("ssn", C::Text, Some(S::GovernmentId)),
            ("national_id", C::Text, Some(S::GovernmentId)),
            ("card_number", C::Integer, Some(S::Payment)),
            ("cvv", C::Text, Some(S::Payment)),
            ("email", C::Text, Some(S::Contact)),
            ("Phone", C::Text, Some(S::Contact)),
            ("address2", C::Text, Some(S::Contact)),
            ("PostalCode", C::Text, Some(S::Contact)),
            ("BirthDate", C::Timestamp, Some(S::BirthDate)),
            ("dob", C::Date, Some(S::BirthDate)),
            ("last_login_ip", C::Text, Some(S::Network)),
            // whole words, not substrings
            ("cardinality", C::Integer, None),
            ("discard_reason", C::Text, None),
            ("tokens_used", C::Integer, None),
            ("session_id", C::Text, None),
            ("description", C::Text, None),
            // properties of sensitive data are not the data
            ("password_changed_at", C::Timestamp, None),
            ("email_verified", C::Boolean, None),
            ("address_id", C::Integer, None),
            ("token_count", C::Integer, None),
            ("token", C::Integer, None),
        ] {
            assert_eq!(sensitive_kind(name, cat), want, "{name}");
        }
    }

    fn table(cols: Vec<ColumnReport>) -> TableReport {
        let mut t = TableReport::new("public", "orders", RelationKind::Table);
        t.columns = cols;
        t
    }

    #[test]
    fn tenant_and_principal_candidates() {
        let mut t = table(vec![
            col("id", "bigint", false),
            col("tenant_id", "text", false),
            col("account_id", "bigint", true),
            col("customer", "bigint", false),
            col("user_id", "bigint", false),
            col("note", "text", true),
        ]);
        t.foreign_keys.push(ForeignKey {
            name: Some("orders_customer_fkey".into()),
            columns: vec!["customer".into()],
            referenced_schema: "public".into(),
            referenced_table: "Customers".into(),
            referenced_columns: vec!["id".into()],
        });
        annotate(&mut t);
        let tenants: Vec<(&str, Confidence)> = t
            .candidates
            .tenant
            .iter()
            .map(|c| (c.column.as_str(), c.confidence))
            .collect();
        assert_eq!(
            tenants,
            [
                ("tenant_id", Confidence::High),
                ("account_id", Confidence::Low)
            ]
        );
        let principals: Vec<(&str, Confidence)> = t
            .candidates
            .principal
            .iter()
            .map(|c| (c.column.as_str(), c.confidence))
            .collect();
        assert_eq!(
            principals,
            [("user_id", Confidence::High), ("customer", Confidence::Low)]
        );
        assert!(t.candidates.principal[1].reason.contains("Customers"));
    }

    #[test]
    fn guard_candidates_prefer_what_the_database_maintains() {
        let mut t = table(vec![
            col("id", "bigint", false),
            col("version", "text", true),
            col("lock_version", "integer", false),
            col("updated_at", "timestamp with time zone", false),
            col("last_update", "timestamp", false),
            col("touched", "timestamptz", true),
            col("modified", "text", true),
        ]);
        t.triggers.push(TriggerReport {
            name: "bump".into(),
            timing: "before".into(),
            events: vec!["update".into()],
            sets_columns: vec!["last_update".into(), "touched".into()],
        });
        annotate(&mut t);
        let got: Vec<(&str, GuardKind, Confidence, Option<&str>)> = t
            .candidates
            .conflict_guard
            .iter()
            .map(|g| {
                (
                    g.column.as_str(),
                    g.kind,
                    g.confidence,
                    g.maintained_by.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("lock_version", GuardKind::Version, Confidence::High, None),
                (
                    "last_update",
                    GuardKind::Timestamp,
                    Confidence::High,
                    Some("trigger bump")
                ),
                ("updated_at", GuardKind::Timestamp, Confidence::Medium, None),
                (
                    "touched",
                    GuardKind::Timestamp,
                    Confidence::Medium,
                    Some("trigger bump")
                ),
                ("modified", GuardKind::Timestamp, Confidence::Low, None),
            ]
        );
    }

    #[test]
    fn visible_columns_leave_out_sensitive_and_binary() {
        let mut t = table(vec![
            col("id", "int", false),
            col("email", "varchar(50)", true),
            col("picture", "bytea", true),
            col("first_name", "text", false),
        ]);
        annotate(&mut t);
        assert_eq!(t.visible_columns, ["id", "first_name"]);
        assert_eq!(t.columns[1].sensitive, Some(SensitiveKind::Contact));
    }

    #[test]
    fn trigger_assignments() {
        let cols: Vec<String> = ["id", "last_update", "updatedAt", "note"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let pg = "BEGIN\n    NEW.last_update = CURRENT_TIMESTAMP;\n    RETURN NEW;\nEND";
        assert_eq!(assigned_columns(pg, &cols), ["last_update"]);
        let pg_quoted = "begin new.\"updatedAt\" := now(); return new; end";
        assert_eq!(assigned_columns(pg_quoted, &cols), ["updatedAt"]);
        let sqlite = "CREATE TRIGGER t AFTER UPDATE ON x BEGIN UPDATE x SET last_update = \
                      CURRENT_TIMESTAMP, note = 'n' WHERE id = NEW.id; END";
        assert_eq!(assigned_columns(sqlite, &cols), ["last_update", "note"]);
        // comparisons and other columns' names are not assignments
        assert!(assigned_columns("IF NEW.note == OLD.note THEN", &cols).is_empty());
        assert!(assigned_columns("NEW.last_update_by = 1", &cols).is_empty());
        assert!(assigned_columns("", &cols).is_empty());
    }

    #[test]
    fn singular_forms() {
        assert_eq!(singular("Organizations"), "organization");
        assert_eq!(singular("companies"), "company");
        assert_eq!(singular("staff"), "staff");
        assert_eq!(singular("address"), "address");
        assert_eq!(singular("auth_user"), "auth_user");
    }
}
