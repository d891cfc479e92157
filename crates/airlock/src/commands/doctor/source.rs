//! A source's read connection: it answers, how it is protected, that its credential cannot
//! change anything (from the catalog, nothing is written), and that the writer is another one.

use std::sync::Arc;

use airlock_config::{Engine as EngineKind, Source};
use airlock_db::privileges::Privileges;
use airlock_db::{Access, Engine};
use serde_json::json;

use super::check::{Check, Code};
use crate::settings::{LoadedConfig, Settings};

/// What the source checks found, for the checks that follow.
pub struct Reached {
    pub engine: Arc<dyn Engine>,
    pub privileges: Option<Privileges>,
}

/// Connects on the read credential and checks it. `None` when it cannot be reached (the
/// failure is in `out`).
pub async fn read_side(
    name: &str,
    source: &Source,
    loaded: &LoadedConfig,
    settings: &Settings,
    out: &mut Vec<Check>,
) -> Option<Reached> {
    let check = format!("source:{name}");
    // An unset variable was reported by the env checks already.
    let settings_ = airlock_db::resolve_source(
        name,
        source,
        Access::Read,
        &settings.env,
        &loaded.dir(&settings.cwd),
        1,
    )
    .ok()?;
    let engine = match connect(&settings_).await {
        Ok(e) => e,
        Err(e) => {
            out.push(Check::fail(
                Code::SourceUnreachable,
                check,
                format!("source `{name}` does not answer on its read connection: {e}"),
                match source.engine {
                    EngineKind::Sqlite => "check that the file exists and is readable by this user",
                    _ => "check that the server is running, the host and port in the URL, and the credentials",
                },
            ));
            return None;
        }
    };
    let transport = engine.transport().await.ok();
    let protection = transport.as_ref().map_or_else(String::new, describe);
    out.push(
        Check::pass(
            Code::SourceReachable,
            check,
            format!(
                "source `{name}` answers ({}); {protection}",
                source.engine.as_str()
            ),
        )
        .data(json!({"transport": transport.as_ref().map(|t| json!({
            "requested": t.requested, "encrypted": t.encrypted, "tls_version": t.tls_version,
            "cipher": t.cipher, "certificate_verified": t.certificate_verified,
        }))})),
    );
    let privileges = read_only_check(name, source, engine.as_ref(), out).await;
    Some(Reached { engine, privileges })
}

async fn connect(s: &airlock_db::SourceSettings) -> Result<Arc<dyn Engine>, airlock_db::DbError> {
    let engine = airlock_db::connect(s).await?;
    engine.ping().await?;
    Ok(engine)
}

fn describe(t: &airlock_db::Transport) -> String {
    match (&t.tls_version, &t.cipher) {
        _ if t.requested == "local file" => "a local file".to_owned(),
        (Some(version), Some(cipher)) if t.encrypted => format!(
            "TLS {version} {cipher}, certificate {} ({})",
            if t.certificate_verified {
                "verified"
            } else {
                "NOT verified"
            },
            t.requested
        ),
        _ if t.encrypted => format!("encrypted ({})", t.requested),
        _ => format!("NOT encrypted ({})", t.requested),
    }
}

/// The read credential may change nothing: privileges from the catalog, no write attempted.
async fn read_only_check(
    name: &str,
    source: &Source,
    engine: &dyn Engine,
    out: &mut Vec<Check>,
) -> Option<Privileges> {
    let check = format!("source:{name}:read-credential");
    let p = match engine.privileges(&[]).await {
        Ok(p) => p,
        Err(e) => {
            out.push(Check::warn(
                Code::PrivilegesUnknown,
                check,
                format!("could not read the read credential's privileges: {e}"),
                "grant the read user access to the catalog, or check its privileges by hand",
            ));
            return None;
        }
    };
    let who = p
        .user
        .as_deref()
        .map_or_else(String::new, |u| format!("`{u}` "));
    let data = serde_json::to_value(&p).ok();
    let c = if p.superuser {
        Some(Check::fail(
            Code::ReadCredentialCanWrite,
            check.clone(),
            format!("the read credential {who}of `{name}` is a superuser: it can change anything"),
            read_hint(source.engine),
        ))
    } else if !p.writable.is_empty() {
        let n = p.writable.len();
        let shown: Vec<&str> = p.writable.iter().take(5).map(String::as_str).collect();
        Some(Check::fail(
            Code::ReadCredentialCanWrite,
            check.clone(),
            format!(
                "the read credential {who}of `{name}` can change data ({n} grant{}: {}{})",
                if n == 1 { "" } else { "s" },
                shown.join("; "),
                if n > 5 { "; …" } else { "" }
            ),
            read_hint(source.engine),
        ))
    } else if !p.can_create.is_empty() {
        Some(Check::warn(
            Code::ReadCredentialCanCreate,
            check.clone(),
            format!(
                "the read credential {who}of `{name}` can create objects in: {}",
                p.can_create.join(", ")
            ),
            "REVOKE CREATE ON SCHEMA ... FROM the read role (and from PUBLIC)",
        ))
    } else {
        None
    };
    out.push(
        c.unwrap_or_else(|| {
            Check::pass(
                Code::ReadCredentialReadOnly,
                check,
                format!(
                    "the read credential {who}of `{name}` cannot change anything ({})",
                    p.method
                ),
            )
        })
        .data(data.unwrap_or_default()),
    );
    Some(p)
}

fn read_hint(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Postgres => {
            "use a role with only SELECT on the tables the capabilities read (GRANT SELECT ON ... TO reader; REVOKE INSERT, UPDATE, DELETE, TRUNCATE ... FROM reader), and put the writer in write_url_env"
        }
        _ => {
            "use a user with only SELECT on the tables the capabilities read (GRANT SELECT ON db.table TO 'reader'@'%'; REVOKE the rest), and put the writer in write_url_env"
        }
    }
}

/// The writer is a different credential from the reader.
pub async fn separation(
    name: &str,
    source: &Source,
    reader: Option<&Privileges>,
    settings: &Settings,
    loaded: &LoadedConfig,
    allow_shared: bool,
) -> Option<Check> {
    let check = format!("source:{name}:credential-separation");
    if source.engine == EngineKind::Sqlite {
        return None;
    }
    let (Some(read_var), Some(write_var)) = (&source.read_url_env, &source.write_url_env) else {
        return Some(Check::fail(
            Code::WriteUrlMissing,
            check,
            format!(
                "source `{name}` has proposal capabilities applied by sql_update but no write_url_env"
            ),
            "add \"write_url_env\": \"APP_DATABASE_WRITE_URL\" to the source, holding a separate writer credential (see `airlock writeback grants`)",
        ));
    };
    let (Some(read), Some(write)) = (settings.env.get(read_var), settings.env.get(write_var))
    else {
        return None; // reported by the env checks
    };
    let shared = |why: String| {
        let hint = "give the writer its own user with only the grants `airlock writeback grants` prints, and keep the reader SELECT-only";
        if allow_shared {
            Check::warn(Code::CredentialShared, check.clone(), why, hint)
        } else {
            Check::fail(Code::CredentialShared, check.clone(), why, hint)
        }
    };
    if read == write {
        return Some(shared(format!(
            "{read_var} and {write_var} hold the same URL: the model-facing read path and the writer share one credential"
        )));
    }
    let writer_user = match airlock_db::resolve_source(
        name,
        source,
        Access::Write,
        &settings.env,
        &loaded.dir(&settings.cwd),
        1,
    ) {
        Ok(s) => match connect(&s).await {
            Ok(e) => e.privileges(&[]).await.ok().and_then(|p| p.user),
            Err(_) => None,
        },
        Err(_) => None,
    };
    let reader_user = reader.and_then(|p| p.user.clone());
    match (reader_user, writer_user) {
        (Some(r), Some(w)) if r == w => Some(shared(format!(
            "{read_var} and {write_var} differ but both log in as `{r}`"
        ))),
        (Some(r), Some(w)) => Some(Check::pass(
            Code::CredentialSeparate,
            check,
            format!("reads run as `{r}`, writes as `{w}`"),
        )),
        _ => Some(Check::pass(
            Code::CredentialSeparate,
            check,
            format!("{read_var} and {write_var} hold different URLs"),
        )),
    }
}
