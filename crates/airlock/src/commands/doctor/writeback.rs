//! `--check-writeback` (`--check-db`): on the writer credential, the receipts table exists with
//! the columns of `airlock writeback migration`, and the writer holds the grants `airlock
//! writeback grants` prints (SELECT/INSERT on receipts, SELECT and column UPDATE on each
//! target). Read from the catalog: nothing is created, inserted or locked.

use airlock_config::{Config, Engine as EngineKind, Source};
use airlock_db::privileges::TableRef;
use airlock_db::{Access, RECEIPT_COLUMNS, RECEIPTS_TABLE};

use super::check::{Check, Code};
use crate::settings::{LoadedConfig, Settings};

pub async fn checks(
    name: &str,
    source: &Source,
    config: &Config,
    loaded: &LoadedConfig,
    settings: &Settings,
    out: &mut Vec<Check>,
) {
    let engine_name = source.engine.as_str();
    let check = format!("source:{name}:writer");
    let Ok(write) = airlock_db::resolve_source(
        name,
        source,
        Access::Write,
        &settings.env,
        &loaded.dir(&settings.cwd),
        1,
    ) else {
        return; // the env / write_url_env checks said why
    };
    let engine = match airlock_db::connect(&write).await {
        Ok(e) => match e.ping().await {
            Ok(()) => e,
            Err(err) => return out.push(unreachable(&check, name, &err.to_string())),
        },
        Err(err) => return out.push(unreachable(&check, name, &err.to_string())),
    };
    // The receipts table, in the writer's default schema.
    let report = match engine.inspect(None).await {
        Ok(r) => r,
        Err(e) => return out.push(unreachable(&check, name, &e.to_string())),
    };
    let receipts = report
        .tables
        .iter()
        .filter(|t| t.name == RECEIPTS_TABLE)
        .min_by_key(|t| t.schema != "public");
    let migration = format!("airlock writeback migration --engine {engine_name}");
    match receipts {
        None => out.push(Check::fail(
            Code::ReceiptsTableMissing,
            format!("source:{name}:receipts-table"),
            format!("the receipts table {RECEIPTS_TABLE} does not exist where the writer of `{name}` looks for it"),
            format!("have a DBA run the DDL `{migration}` prints, in the writer's default schema"),
        )),
        Some(t) => {
            let missing: Vec<&str> = RECEIPT_COLUMNS
                .iter()
                .copied()
                .filter(|c| !t.columns.iter().any(|x| x.name == *c))
                .collect();
            out.push(if missing.is_empty() {
                Check::pass(
                    Code::ReceiptsTableOk,
                    format!("source:{name}:receipts-table"),
                    format!("{}.{RECEIPTS_TABLE} has every receipt column", t.schema),
                )
            } else {
                Check::fail(
                    Code::ReceiptsTableIncomplete,
                    format!("source:{name}:receipts-table"),
                    format!(
                        "{}.{RECEIPTS_TABLE} lacks column(s) {}",
                        t.schema,
                        missing.join(", ")
                    ),
                    format!("compare it with the DDL `{migration}` prints and migrate it"),
                )
            });
        }
    }
    if source.engine == EngineKind::Sqlite {
        let path = std::path::Path::new(write.url.expose());
        let writable = std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly());
        out.push(if writable {
            Check::pass(
                Code::WriterGrantsOk,
                check,
                "the database file is writable (SQLite has no SQL privileges)",
            )
        } else {
            Check::fail(
                Code::WriterGrantsMissing,
                check,
                "the database file is not writable by this user",
                "give the airlock user write access to the file and its folder",
            )
        });
        return;
    }
    grants(
        name,
        engine.as_ref(),
        config,
        source,
        receipts.is_some(),
        out,
    )
    .await;
}

fn unreachable(check: &str, name: &str, e: &str) -> Check {
    Check::fail(
        Code::WriterUnreachable,
        check,
        format!("the writer of `{name}` does not answer: {e}"),
        "check the URL in write_url_env: host, port and credentials",
    )
}

async fn grants(
    name: &str,
    engine: &dyn airlock_db::Engine,
    config: &Config,
    source: &Source,
    receipts_exist: bool,
    out: &mut Vec<Check>,
) {
    let check = format!("source:{name}:writer");
    let mut only_this = config.clone();
    only_this.capabilities.retain(|c| c.source == name);
    let targets = airlock_writeback::grants::write_targets(&only_this, source.engine, None, &[])
        .unwrap_or_default();
    let mut asked = vec![TableRef {
        schema: None,
        table: RECEIPTS_TABLE.to_owned(),
    }];
    asked.extend(targets.iter().map(|t| TableRef {
        schema: t.schema.as_ref().map(|s| s.as_str().to_owned()),
        table: t.table.as_str().to_owned(),
    }));
    let p = match engine.privileges(&asked).await {
        Ok(p) => p,
        Err(e) => {
            return out.push(Check::warn(
                Code::PrivilegesUnknown,
                check,
                format!("could not read the writer's privileges: {e}"),
                "check the writer's grants by hand against `airlock writeback grants`",
            ));
        }
    };
    let mut missing = Vec::new();
    let receipts = &p.tables[0];
    // A missing table was reported above; its grants come with the migration.
    if receipts_exist && !receipts.select {
        missing.push(format!("SELECT on {RECEIPTS_TABLE}"));
    }
    if receipts_exist && !receipts.insert {
        missing.push(format!("INSERT on {RECEIPTS_TABLE}"));
    }
    for (t, got) in targets.iter().zip(&p.tables[1..]) {
        if !got.select {
            missing.push(format!("SELECT on {}", t.table.as_str()));
        }
        for c in &t.update_columns {
            if !got.may_update(c.as_str()) {
                missing.push(format!("UPDATE ({}) on {}", c.as_str(), t.table.as_str()));
            }
        }
    }
    let who = p.user.clone().unwrap_or_else(|| "the writer".into());
    let role = who.split('@').next().unwrap_or(&who).to_owned();
    let data = serde_json::to_value(&p).unwrap_or_default();
    out.push(if missing.is_empty() {
        Check::pass(
            Code::WriterGrantsOk,
            check,
            format!(
                "writer `{who}` holds SELECT/INSERT on {RECEIPTS_TABLE} and SELECT/UPDATE on {} target table(s)",
                targets.len()
            ),
        )
    } else {
        Check::fail(
            Code::WriterGrantsMissing,
            check,
            format!("writer `{who}` lacks {}", missing.join(", ")),
            format!(
                "run the grants `airlock writeback grants --engine {} --writer-role {role}` prints",
                source.engine.as_str()
            ),
        )
    }
    .data(data));
}
