//! `Engine::inspect` against real Postgres, MariaDB and SQLite, on sample schemas published by
//! others (Pagila/Sakila, Chinook, Django's auth tables; DDL in `inspect_schemas/`), with
//! least-privilege credentials, and on bad input.

mod common;

use airlock_db::inspect::{
    Confidence, GuardKind, RelationKind, SchemaReport, SensitiveKind, TableReport, TypeCategory,
};
use airlock_db::{DbErrorKind, EngineKind};
use airlock_testkit::{fresh_mysql, fresh_postgres, fresh_sqlite, with_user};
use common::*;

const PAGILA: &str = include_str!("inspect_schemas/pagila.pg.sql");
const DJANGO_PG: &str = include_str!("inspect_schemas/django_auth.pg.sql");
const DJANGO_SQLITE: &str = include_str!("inspect_schemas/django_auth.sqlite.sql");
const CHINOOK: &str = include_str!("inspect_schemas/chinook.sql");
const SAKILA: &str = include_str!("inspect_schemas/sakila.mysql.sql");

/// Identifiers no config could use: quotes, spaces, unicode, reserved words, a composite
/// foreign key.
const WEIRD_PG: &str = r#"
CREATE TABLE "Weird ""Quoted"" Tåble" ("select" int, "from" text, "ÿ col" text, email text,
    PRIMARY KEY ("select", "from"));
CREATE TABLE "order" (id int PRIMARY KEY, s int, f text, "Tenant_ID" text NOT NULL,
    FOREIGN KEY (s, f) REFERENCES "Weird ""Quoted"" Tåble" ("select", "from"));
"#;

fn table<'a>(r: &'a SchemaReport, schema: &str, name: &str) -> &'a TableReport {
    r.tables
        .iter()
        .find(|t| t.schema == schema && t.name == name)
        .unwrap_or_else(|| panic!("no table {schema}.{name} in {:?}", names(r)))
}

fn names(r: &SchemaReport) -> Vec<String> {
    r.tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.name))
        .collect()
}

fn sensitive(t: &TableReport) -> Vec<(&str, SensitiveKind)> {
    t.columns
        .iter()
        .filter_map(|c| c.sensitive.map(|k| (c.name.as_str(), k)))
        .collect()
}

fn first_tenant(t: &TableReport) -> Option<(&str, Confidence)> {
    t.candidates
        .tenant
        .first()
        .map(|c| (c.column.as_str(), c.confidence))
}

fn principals(t: &TableReport) -> Vec<&str> {
    t.candidates
        .principal
        .iter()
        .map(|c| c.column.as_str())
        .collect()
}

fn column<'a>(t: &'a TableReport, name: &str) -> &'a airlock_db::inspect::ColumnReport {
    t.columns
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no column {name} in {}", t.name))
}

/// The report survives a JSON round trip unchanged (the documented shape is the struct's).
fn round_trips(r: &SchemaReport) {
    let text = serde_json::to_string(r).unwrap();
    let back: SchemaReport = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, r);
}

// ---------------------------------------------------------------------------------------------
// Postgres

#[tokio::test]
async fn postgres_pagila_and_django() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    db.execute_batch(PAGILA).await.unwrap();
    db.execute_batch(&format!(
        "CREATE SCHEMA dj; SET search_path TO dj; {DJANGO_PG}"
    ))
    .await
    .unwrap();
    db.execute_batch("ANALYZE").await.unwrap();
    let e = engine(EngineKind::Postgres, &db.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    assert_eq!(r.format, "airlock.inspect.v1");
    assert_eq!(r.engine, "postgres");
    assert_eq!(r.schemas, ["dj", "public"]);
    assert_eq!(r.tables.len(), 14 + 9);
    round_trips(&r);

    // Pagila
    let customer = table(&r, "public", "customer");
    assert_eq!(customer.primary_key, ["customer_id"]);
    assert!(column(customer, "customer_id").auto_increment);
    assert_eq!(
        first_tenant(customer),
        Some(("store_id", Confidence::Medium))
    );
    assert_eq!(customer.row_estimate, Some(0));
    let guard = &customer.candidates.conflict_guard[0];
    assert_eq!(
        (guard.column.as_str(), guard.kind, guard.confidence),
        ("last_update", GuardKind::Timestamp, Confidence::High)
    );
    assert_eq!(guard.maintained_by.as_deref(), Some("trigger last_updated"));
    assert_eq!(sensitive(customer), [("email", SensitiveKind::Contact)]);
    assert!(!customer.visible_columns.contains(&"email".to_owned()));
    assert!(customer.visible_columns.contains(&"address_id".to_owned()));

    let staff = table(&r, "public", "staff");
    assert_eq!(
        sensitive(staff),
        [
            ("email", SensitiveKind::Contact),
            ("password", SensitiveKind::Credential)
        ]
    );
    assert_eq!(column(staff, "picture").category, TypeCategory::Binary);
    assert!(!staff.visible_columns.contains(&"picture".to_owned()));

    let film = table(&r, "public", "film");
    let rating = column(film, "rating");
    assert_eq!(rating.category, TypeCategory::Enum);
    assert_eq!(rating.enum_values, ["G", "PG", "PG-13", "R", "NC-17"]);
    assert_eq!(column(film, "release_year").category, TypeCategory::Integer);
    assert_eq!(column(film, "special_features").data_type, "text[]");
    assert!(film.indexes.iter().any(|i| i.name == "film_fulltext_idx"));
    assert_eq!(film.foreign_keys.len(), 2);

    let film_actor = table(&r, "public", "film_actor");
    assert_eq!(film_actor.primary_key, ["actor_id", "film_id"]);

    let payment = table(&r, "public", "payment");
    assert_eq!(payment.check_constraints.len(), 1);
    assert!(
        payment.check_constraints[0]
            .expression
            .contains("amount >= "),
        "{:?}",
        payment.check_constraints
    );
    assert_eq!(principals(payment), ["customer_id", "staff_id"]);
    assert!(payment.candidates.conflict_guard.is_empty());

    let rental = table(&r, "public", "rental");
    let unique = rental
        .indexes
        .iter()
        .find(|i| i.name == "idx_unq_rental_rental_date_inventory_id_customer_id")
        .unwrap();
    assert!(unique.unique && !unique.primary);
    assert_eq!(
        unique.columns,
        ["rental_date", "inventory_id", "customer_id"]
    );

    let address = table(&r, "public", "address");
    assert_eq!(
        sensitive(address),
        [
            ("address", SensitiveKind::Contact),
            ("address2", SensitiveKind::Contact),
            ("postal_code", SensitiveKind::Contact),
            ("phone", SensitiveKind::Contact),
        ]
    );
    let view = table(&r, "public", "actor_info");
    assert_eq!(view.kind, RelationKind::View);
    assert_eq!(view.row_estimate, None);
    assert_eq!(view.columns.len(), 3);

    // Django
    let user = table(&r, "dj", "auth_user");
    assert!(column(user, "id").auto_increment);
    assert_eq!(
        sensitive(user),
        [
            ("password", SensitiveKind::Credential),
            ("email", SensitiveKind::Contact)
        ]
    );
    assert_eq!(user.unique_constraints.len(), 1);
    assert_eq!(user.unique_constraints[0].columns, ["username"]);
    let groups = table(&r, "dj", "auth_user_groups");
    assert_eq!(principals(groups), ["user_id"]);
    assert_eq!(groups.candidates.principal[0].confidence, Confidence::High);
    assert_eq!(groups.foreign_keys.len(), 2);
    let log = table(&r, "dj", "django_admin_log");
    assert_eq!(log.check_constraints.len(), 1);
    let session = table(&r, "dj", "django_session");
    assert_eq!(
        sensitive(session),
        [("session_key", SensitiveKind::Credential)]
    );

    // One schema only
    let only = e.inspect(Some("dj")).await.unwrap();
    assert_eq!(only.schemas, ["dj"]);
    assert_eq!(only.tables.len(), 9);
    // Same catalog, same bytes.
    let again = e.inspect(None).await.unwrap();
    assert_eq!(
        serde_json::to_string(&again).unwrap(),
        serde_json::to_string(&r).unwrap()
    );
}

#[tokio::test]
async fn postgres_role_without_table_rights_inspects() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    db.execute_batch(PAGILA).await.unwrap();
    let user = db.fresh_user().await.unwrap();
    // Only the right to connect and to see the schema: not one table may be read.
    db.execute_batch(&format!(
        "GRANT CONNECT ON DATABASE \"{}\" TO \"{}\"; GRANT USAGE ON SCHEMA public TO \"{}\";
         GRANT SELECT ON actor TO \"{}\";",
        db.name, user.name, user.name, user.name
    ))
    .await
    .unwrap();
    let e = engine(EngineKind::Postgres, &user.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    assert_eq!(r.current_user.as_deref(), Some(user.name.as_str()));
    assert_eq!(r.tables.len(), 14);
    assert!(table(&r, "public", "actor").readable);
    assert!(!table(&r, "public", "customer").readable);
    assert_eq!(
        table(&r, "public", "customer").candidates.conflict_guard[0]
            .maintained_by
            .as_deref(),
        Some("trigger last_updated")
    );
}

#[tokio::test]
async fn postgres_weird_identifiers_and_composite_keys() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    db.execute_batch(WEIRD_PG).await.unwrap();
    let e = engine(EngineKind::Postgres, &db.url, Some(10_000), 1).await;
    let r = e.inspect(Some("public")).await.unwrap();
    let weird = table(&r, "public", "Weird \"Quoted\" Tåble");
    assert_eq!(weird.primary_key, ["select", "from"]);
    assert_eq!(
        weird
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["select", "from", "ÿ col", "email"]
    );
    let order = table(&r, "public", "order");
    let fk = &order.foreign_keys[0];
    assert_eq!(fk.columns, ["s", "f"]);
    assert_eq!(fk.referenced_table, "Weird \"Quoted\" Tåble");
    assert_eq!(fk.referenced_columns, ["select", "from"]);
    assert_eq!(first_tenant(order), Some(("Tenant_ID", Confidence::High)));
    round_trips(&r);
}

#[tokio::test]
async fn postgres_bad_input() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let e = engine(EngineKind::Postgres, &db.url, Some(10_000), 1).await;
    // An empty schema is a report with no tables and a note saying so.
    db.execute_batch("CREATE SCHEMA empty").await.unwrap();
    let r = e.inspect(Some("empty")).await.unwrap();
    assert!(r.tables.is_empty());
    assert!(
        r.notes.iter().any(|n| n.contains("No tables")),
        "{:?}",
        r.notes
    );
    // Unknown schema, and a system one, are NotFound.
    for name in ["nope", "pg_catalog", "x'; DROP TABLE y; --"] {
        let err = e.inspect(Some(name)).await.unwrap_err();
        assert_eq!(err.kind, DbErrorKind::NotFound, "{name}: {err}");
    }
    // Unknown role (the test server trusts local connections, so a wrong password alone
    // would pass): Permission, and the password is not in the message.
    let bad = with_user(&db.url, "airlock_u_no_such_role", "wrong-secret-pw");
    let e = engine(EngineKind::Postgres, &bad, Some(10_000), 1).await;
    let err = e.inspect(None).await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Permission, "{err}");
    assert!(!err.to_string().contains("wrong-secret-pw"));
    // Unreachable: Connection.
    let e = engine(
        EngineKind::Postgres,
        "postgres://u:hunter22@127.0.0.1:1/db?connect_timeout=2",
        Some(10_000),
        1,
    )
    .await;
    let err = e.inspect(None).await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
    assert!(!err.to_string().contains("hunter22"));
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

#[tokio::test]
async fn mysql_sakila_with_select_only_user() {
    let Some(db) = fresh_mysql().await else {
        return;
    };
    db.execute_batch(SAKILA).await.unwrap();
    let user = db.fresh_user().await.unwrap();
    db.execute_batch(&format!(
        "GRANT SELECT ON `{}`.* TO '{}'@'%'",
        db.name, user.name
    ))
    .await
    .unwrap();
    let e = engine(EngineKind::Mysql, &user.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    assert_eq!(r.engine, "mysql");
    assert_eq!(r.schemas, [db.name.as_str()]);
    assert_eq!(r.tables.len(), 7);
    round_trips(&r);

    let customer = table(&r, &db.name, "customer");
    assert_eq!(customer.primary_key, ["customer_id"]);
    assert!(column(customer, "customer_id").auto_increment);
    assert_eq!(
        first_tenant(customer),
        Some(("store_id", Confidence::Medium))
    );
    let last_update = column(customer, "last_update");
    assert!(
        !last_update.generated,
        "DEFAULT CURRENT_TIMESTAMP is not generated"
    );
    assert!(last_update.on_update.is_some());
    let guard = &customer.candidates.conflict_guard[0];
    assert_eq!(guard.column, "last_update");
    assert!(
        guard
            .maintained_by
            .as_deref()
            .is_some_and(|m| m.to_lowercase().starts_with("on update current_timestamp")),
        "{guard:?}"
    );
    assert_eq!(sensitive(customer), [("email", SensitiveKind::Contact)]);
    // The SELECT-only user does not see triggers; a note says why.
    assert!(customer.triggers.is_empty());
    assert!(r.notes.iter().any(|n| n.contains("TRIGGER privilege")));

    let film = table(&r, &db.name, "film");
    let rating = column(film, "rating");
    assert_eq!(rating.category, TypeCategory::Enum);
    assert_eq!(rating.enum_values, ["G", "PG", "PG-13", "R", "NC-17"]);
    assert_eq!(
        column(film, "special_features").category,
        TypeCategory::Text
    );

    let rental = table(&r, &db.name, "rental");
    assert_eq!(rental.unique_constraints.len(), 1);
    assert_eq!(
        rental.unique_constraints[0].columns,
        ["rental_date", "inventory_id", "customer_id"]
    );
    let payment = table(&r, &db.name, "payment");
    assert_eq!(payment.check_constraints.len(), 1);
    assert_eq!(
        payment.check_constraints[0].name.as_deref(),
        Some("chk_amount")
    );
    assert_eq!(principals(payment), ["customer_id", "staff_id"]);
    let inventory = table(&r, &db.name, "inventory");
    let idx = inventory
        .indexes
        .iter()
        .find(|i| i.name == "idx_store_id_film_id")
        .unwrap();
    assert_eq!(idx.columns, ["store_id", "film_id"]);
    assert_eq!(
        table(&r, &db.name, "customer_list").kind,
        RelationKind::View
    );

    // The admin sees the trigger (BEFORE INSERT, so it maintains nothing on update).
    let admin = engine(EngineKind::Mysql, &db.url, Some(10_000), 1).await;
    let r = admin.inspect(None).await.unwrap();
    let customer = table(&r, &db.name, "customer");
    assert_eq!(customer.triggers.len(), 1);
    assert_eq!(customer.triggers[0].timing, "before");
    assert_eq!(customer.triggers[0].events, ["insert"]);
    assert_eq!(customer.triggers[0].sets_columns, ["create_date"]);
}

#[tokio::test]
async fn mysql_chinook_and_bad_input() {
    let Some(db) = fresh_mysql().await else {
        return;
    };
    db.execute_batch(CHINOOK).await.unwrap();
    let e = engine(EngineKind::Mysql, &db.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    assert_eq!(r.tables.len(), 11);
    chinook_checks(&r, &db.name);

    for name in ["nope", "mysql", "x` DROP"] {
        let err = e.inspect(Some(name)).await.unwrap_err();
        assert_eq!(err.kind, DbErrorKind::NotFound, "{name}: {err}");
    }
    let user = db.fresh_user().await.unwrap();
    let bad = with_user(&db.url, &user.name, "wrong-secret-pw");
    let e = engine(EngineKind::Mysql, &bad, Some(10_000), 1).await;
    let err = e.inspect(None).await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Permission, "{err}");
    assert!(!err.to_string().contains("wrong-secret-pw"));
}

/// Facts about Chinook that hold on every engine.
fn chinook_checks(r: &SchemaReport, schema: &str) {
    let customer = table(r, schema, "Customer");
    // Its own key (a customer reading their row) and the support rep handling it.
    assert_eq!(principals(customer), ["CustomerId", "SupportRepId"]);
    assert_eq!(
        sensitive(customer),
        [
            ("Address", SensitiveKind::Contact),
            ("PostalCode", SensitiveKind::Contact),
            ("Phone", SensitiveKind::Contact),
            ("Fax", SensitiveKind::Contact),
            ("Email", SensitiveKind::Contact),
        ]
    );
    assert!(customer.candidates.tenant.is_empty());
    let employee = table(r, schema, "Employee");
    assert!(sensitive(employee).contains(&("BirthDate", SensitiveKind::BirthDate)));
    assert_eq!(column(employee, "HireDate").sensitive, None);
    let invoice = table(r, schema, "Invoice");
    assert_eq!(principals(invoice), ["CustomerId"]);
    assert!(sensitive(invoice).contains(&("BillingAddress", SensitiveKind::Contact)));
    let pt = table(r, schema, "PlaylistTrack");
    assert_eq!(pt.primary_key, ["PlaylistId", "TrackId"]);
    assert_eq!(pt.foreign_keys.len(), 2);
    let track = table(r, schema, "Track");
    assert_eq!(track.foreign_keys.len(), 3);
    assert_eq!(column(track, "UnitPrice").category, TypeCategory::Decimal);
    assert!(track.candidates.conflict_guard.is_empty());
}

// ---------------------------------------------------------------------------------------------
// SQLite

#[tokio::test]
async fn sqlite_chinook_and_django() {
    let chinook = fresh_sqlite();
    chinook.execute_batch(CHINOOK).await.unwrap();
    let e = engine(EngineKind::Sqlite, &chinook.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    assert_eq!(r.engine, "sqlite");
    assert_eq!(r.current_user, None);
    assert_eq!(r.schemas, ["main"]);
    assert_eq!(r.tables.len(), 11);
    chinook_checks(&r, "main");
    let album = table(&r, "main", "Album");
    assert_eq!(album.foreign_keys[0].referenced_table, "Artist");
    assert_eq!(album.foreign_keys[0].referenced_columns, ["ArtistId"]);
    assert!(
        column(album, "AlbumId").auto_increment,
        "INTEGER PRIMARY KEY is the rowid"
    );
    round_trips(&r);

    let django = fresh_sqlite();
    django.execute_batch(DJANGO_SQLITE).await.unwrap();
    django.execute_batch("ANALYZE").await.unwrap();
    let e = engine(EngineKind::Sqlite, &django.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    assert_eq!(r.tables.len(), 6, "{:?}", names(&r));
    let user = table(&r, "main", "auth_user");
    assert!(column(user, "id").auto_increment);
    assert_eq!(column(user, "is_staff").category, TypeCategory::Boolean);
    assert_eq!(column(user, "last_login").category, TypeCategory::Timestamp);
    assert_eq!(
        sensitive(user),
        [
            ("password", SensitiveKind::Credential),
            ("email", SensitiveKind::Contact)
        ]
    );
    assert_eq!(user.unique_constraints.len(), 1);
    assert_eq!(user.unique_constraints[0].columns, ["username"]);
    let groups = table(&r, "main", "auth_user_groups");
    assert_eq!(principals(groups), ["user_id"]);
    let uniq = groups
        .indexes
        .iter()
        .find(|i| i.name == "auth_user_groups_user_id_group_id_94350c0c_uniq")
        .unwrap();
    assert!(uniq.unique);
    assert_eq!(uniq.columns, ["user_id", "group_id"]);
}

#[tokio::test]
async fn sqlite_checks_triggers_weird_names_and_bad_input() {
    let db = fresh_sqlite();
    db.execute_batch(
        r#"CREATE TABLE "we""ird ✓" ([select] INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL,
               qty INT CONSTRAINT positive CHECK (qty > 0), updated_at TEXT,
               total INT GENERATED ALWAYS AS (qty * 2) STORED);
           CREATE TRIGGER touch AFTER UPDATE ON "we""ird ✓" BEGIN
               UPDATE "we""ird ✓" SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
               WHERE "select" = NEW."select"; END;
           CREATE TABLE child (a INT, b INT, FOREIGN KEY (a, b) REFERENCES parent (x, y));
           CREATE TABLE parent (x INT, y INT, PRIMARY KEY (x, y));"#,
    )
    .await
    .unwrap();
    let e = engine(EngineKind::Sqlite, &db.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    let t = table(&r, "main", "we\"ird ✓");
    assert_eq!(t.primary_key, ["select"]);
    assert_eq!(t.check_constraints.len(), 1);
    assert_eq!(t.check_constraints[0].name.as_deref(), Some("positive"));
    assert_eq!(t.check_constraints[0].expression, "qty > 0");
    assert!(column(t, "total").generated);
    assert_eq!(t.triggers[0].timing, "after");
    assert_eq!(t.triggers[0].sets_columns, ["updated_at"]);
    let g = &t.candidates.conflict_guard[0];
    assert_eq!(g.column, "updated_at");
    assert_eq!(g.maintained_by.as_deref(), Some("trigger touch"));
    let child = table(&r, "main", "child");
    assert_eq!(child.foreign_keys[0].columns, ["a", "b"]);
    assert_eq!(child.foreign_keys[0].referenced_columns, ["x", "y"]);
    assert_eq!(table(&r, "main", "parent").primary_key, ["x", "y"]);

    let err = e.inspect(Some("other")).await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::NotFound, "{err}");

    let empty = fresh_sqlite();
    let e = engine(EngineKind::Sqlite, &empty.url, Some(10_000), 1).await;
    let r = e.inspect(None).await.unwrap();
    assert!(r.tables.is_empty());
    assert!(r.notes.iter().any(|n| n.contains("No tables")));

    let missing = airlock_db::connect(&settings(
        EngineKind::Sqlite,
        "/nonexistent/dir/app.db",
        None,
        1,
    ))
    .await
    .unwrap_err();
    assert_eq!(missing.kind, DbErrorKind::Connection);
}
