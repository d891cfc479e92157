//! `airlock shadow record-human-action`: what a person actually did for one object, checked
//! and chained into the ledger.

use std::path::Path;

use airlock_cli::RecordHumanActionArgs;
use airlock_config::{CapabilityKind, is_capability_name, is_safe_identifier, is_secret_name};
use airlock_ledger::{HumanAction, NewHumanAction};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::open_ledger::{Access, OpenLedger};
use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

/// Value of [`ActionFile::format`].
pub const ACTION_FORMAT: &str = "airlock.human-action.v1";

/// Limits on what one action may carry.
const MAX_FILE_BYTES: u64 = 256 * 1024;
const MAX_NAME: usize = 128;
const MAX_OBJECT_ID: usize = 256;
const MAX_NOTES: usize = 2000;
const MAX_COLUMNS: usize = 64;
const MAX_VALUE_BYTES: usize = 4096;

/// A human-action file (`--file`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionFile {
    format: String,
    capability: String,
    tenant_id: String,
    object_id: String,
    patch: Map<String, Value>,
    #[serde(default)]
    proposal_id: Option<String>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

fn refused(code: &str, message: impl std::fmt::Display, hint: &str) -> anyhow::Error {
    hinted(
        format!("[{code}] {message}; nothing was recorded"),
        hint.to_owned(),
    )
}

pub async fn run(settings: &Settings, args: &RecordHumanActionArgs) -> anyhow::Result<ExitStatus> {
    let config = settings.load_config().ok();
    let target = settings.ledger_target(config.as_ref())?;
    if let Some(store) = target.sqlite_path()
        && !store.exists()
    {
        return Err(hinted(
            format!("[SHADOW_NO_LEDGER] no ledger at {}", store.display()),
            "record human actions into the ledger your shadow-mode server writes (--store PATH, or the config's storage.sqlite_path)",
        ));
    }
    let ledger = OpenLedger::open(&target, Access::Write).await?;
    let action = match &args.file {
        Some(file) => from_file(settings, args, &ledger, file).await?,
        None => from_flags(settings, args, &ledger).await?,
    };
    check(&action)?;
    if let Some(loaded) = &config {
        let known = loaded
            .config
            .capabilities
            .iter()
            .any(|c| c.name == action.capability && c.kind == CapabilityKind::Proposal);
        if !known {
            return Err(refused(
                "SHADOW_UNKNOWN_CAPABILITY",
                format!(
                    "{} is not a proposal capability of {}",
                    action.capability,
                    loaded.path.display()
                ),
                "name the proposal tool whose job the person did (`airlock tools list`)",
            ));
        }
    }
    let stored = ledger.record_human_action(&action).await?;
    if args.json {
        output::json(&stored)?;
    } else {
        summary(&stored);
    }
    Ok(ExitStatus::Success)
}

fn summary(a: &HumanAction) {
    output::line(&format!(
        "recorded human action {} for {} {} (tenant {}){}",
        a.action_id,
        a.capability,
        a.object_id,
        a.tenant_id,
        a.proposal_id
            .as_deref()
            .map(|p| format!(", answering {p}"))
            .unwrap_or_default()
    ));
    output::line("compare: airlock shadow report (or airlock shadow compare PROPOSAL_ID)");
}

fn actor(settings: &Settings, flag: Option<&str>) -> String {
    settings.actor(flag).name
}

async fn from_flags(
    settings: &Settings,
    args: &RecordHumanActionArgs,
    ledger: &OpenLedger,
) -> anyhow::Result<NewHumanAction> {
    let mut patch = match &args.patch {
        Some(file) => {
            let v = read_json(settings, file)?;
            match v {
                Value::Object(m) => m,
                _ => {
                    return Err(refused(
                        "SHADOW_PATCH_INVALID",
                        format!("{} is not a JSON object of column → value", file.display()),
                        "write the columns the person changed, e.g. {\"late_fee_cents\": 0}",
                    ));
                }
            }
        }
        None => Map::new(),
    };
    for set in &args.set {
        let Some((col, raw)) = set.split_once('=') else {
            return Err(refused(
                "SHADOW_PATCH_INVALID",
                format!("--set {set}: expected COLUMN=VALUE"),
                "e.g. --set late_fee_cents=0 --set waiver_reason='goodwill'",
            ));
        };
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        patch.insert(col.trim().to_owned(), value);
    }
    let mut action = NewHumanAction {
        capability: args.capability.clone().unwrap_or_default(),
        tenant_id: args.tenant.clone().unwrap_or_default(),
        object_id: args.object_id.clone().unwrap_or_default(),
        proposal_id: None,
        actor: actor(settings, args.actor.as_deref()),
        patch,
        notes: args.notes.clone(),
    };
    match &args.proposal {
        Some(id) => {
            let p = super::shadow_proposal(&**ledger, id).await?;
            bind(&mut action, &p)?;
        }
        None if action.capability.is_empty()
            || action.tenant_id.is_empty()
            || action.object_id.is_empty() =>
        {
            return Err(refused(
                "SHADOW_ACTION_INCOMPLETE",
                "which object did the person act on?",
                "pass a shadow proposal's id, or --capability, --tenant and --object-id (or --file FILE)",
            ));
        }
        None => {}
    }
    Ok(action)
}

async fn from_file(
    settings: &Settings,
    args: &RecordHumanActionArgs,
    ledger: &OpenLedger,
    file: &Path,
) -> anyhow::Result<NewHumanAction> {
    let doc = read_json(settings, file)?;
    let f: ActionFile = serde_json::from_value(doc).map_err(|e| {
        refused(
            "SHADOW_FILE_INVALID",
            format!("{} is not an {ACTION_FORMAT} file: {e}", file.display()),
            "fields: format, capability, tenant_id, object_id, patch, and optionally proposal_id, actor, notes (docs/shadow.md)",
        )
    })?;
    if f.format != ACTION_FORMAT {
        return Err(refused(
            "SHADOW_FILE_INVALID",
            format!(
                "{}: unknown format `{}`",
                file.display(),
                f.format.escape_default()
            ),
            &format!("set \"format\": \"{ACTION_FORMAT}\""),
        ));
    }
    let mut action = NewHumanAction {
        capability: f.capability,
        tenant_id: f.tenant_id,
        object_id: f.object_id,
        proposal_id: None,
        actor: actor(settings, args.actor.as_deref().or(f.actor.as_deref())),
        patch: f.patch,
        notes: args.notes.clone().or(f.notes),
    };
    if let Some(id) = &f.proposal_id {
        let p = super::shadow_proposal(&**ledger, id).await?;
        bind(&mut action, &p)?;
    }
    Ok(action)
}

/// Ties the action to a shadow proposal: its capability, tenant and object, which the action
/// may repeat but never contradict.
fn bind(action: &mut NewHumanAction, p: &airlock_ledger::StoredProposal) -> anyhow::Result<()> {
    for (what, given, theirs) in [
        ("capability", &action.capability, &p.action),
        ("tenant", &action.tenant_id, &p.tenant_id),
        ("object id", &action.object_id, &p.object_id),
    ] {
        if !given.is_empty() && given != theirs {
            return Err(refused(
                "SHADOW_SCOPE_MISMATCH",
                format!(
                    "the action names {what} `{}` but proposal {} is for `{}`",
                    given.escape_default(),
                    p.proposal_id,
                    theirs
                ),
                "an action answers the proposal's own capability, tenant and object; record one for another object without the proposal id",
            ));
        }
    }
    action.capability = p.action.clone();
    action.tenant_id = p.tenant_id.clone();
    action.object_id = p.object_id.clone();
    action.proposal_id = Some(p.proposal_id.clone());
    Ok(())
}

fn read_json(settings: &Settings, file: &Path) -> anyhow::Result<Value> {
    let path = settings.cwd.join(file);
    let text = crate::commands::read_user_file(
        settings,
        file,
        MAX_FILE_BYTES,
        "SHADOW_FIELD_TOO_LARGE",
        "a human action is one object's changed columns; nothing was recorded",
    )?;
    serde_json::from_str(&text).map_err(|e| {
        refused(
            "SHADOW_FILE_INVALID",
            format!("{} is not JSON: {e}", path.display()),
            "fix the JSON (line and column above)",
        )
    })
}

/// Sizes, names and the secret guard: what a person records is evidence, never a credential.
fn check(a: &NewHumanAction) -> anyhow::Result<()> {
    let too_large = |what: &str, max: usize| {
        refused(
            "SHADOW_FIELD_TOO_LARGE",
            format!("{what} is longer than {max} characters"),
            "record the columns and values the person set, not documents",
        )
    };
    if !is_capability_name(&a.capability) || a.capability.chars().count() > MAX_NAME {
        return Err(refused(
            "SHADOW_UNKNOWN_CAPABILITY",
            format!(
                "`{}` is not a capability name",
                a.capability.escape_default()
            ),
            "name the proposal tool, e.g. billing.propose_late_fee_waiver",
        ));
    }
    for (what, value, max) in [
        ("the tenant", &a.tenant_id, MAX_NAME),
        ("the object id", &a.object_id, MAX_OBJECT_ID),
        ("the actor", &a.actor, MAX_NAME),
    ] {
        if value.trim().is_empty() {
            return Err(refused(
                "SHADOW_ACTION_INCOMPLETE",
                format!("{what} is empty"),
                "give every field a value",
            ));
        }
        if value.chars().count() > max {
            return Err(too_large(what, max));
        }
    }
    if a.notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES)
    {
        return Err(too_large("the notes", MAX_NOTES));
    }
    if a.patch.is_empty() {
        return Err(refused(
            "SHADOW_PATCH_INVALID",
            "the action changes no column",
            "pass the columns the person changed (--set COLUMN=VALUE or --patch FILE)",
        ));
    }
    if a.patch.len() > MAX_COLUMNS {
        return Err(refused(
            "SHADOW_FIELD_TOO_LARGE",
            format!("{} columns (at most {MAX_COLUMNS})", a.patch.len()),
            "record the columns of one object's change",
        ));
    }
    for (col, value) in &a.patch {
        if !is_safe_identifier(col) || col.len() > 64 {
            return Err(refused(
                "SHADOW_PATCH_INVALID",
                format!("`{}` is not a column name", col.escape_default()),
                "column names match ^[A-Za-z_][A-Za-z0-9_]*$",
            ));
        }
        if value.to_string().len() > MAX_VALUE_BYTES {
            return Err(refused(
                "SHADOW_FIELD_TOO_LARGE",
                format!("the value of {col} is longer than {MAX_VALUE_BYTES} bytes"),
                "record the value the person set, not a document",
            ));
        }
        if is_secret_name(col) {
            return Err(refused(
                "SHADOW_SECRET_MATERIAL",
                format!("column `{col}` looks like a secret"),
                "shadow comparisons never hold credentials; leave that column out",
            ));
        }
    }
    let patch = Value::Object(a.patch.clone());
    let notes = Value::String(a.notes.clone().unwrap_or_default());
    if airlock_config::redacted(&patch) != patch || airlock_config::redacted(&notes) != notes {
        return Err(refused(
            "SHADOW_SECRET_MATERIAL",
            "a value looks like a credential (a connection URL, bearer token or key)",
            "shadow comparisons never hold credentials; leave that value out",
        ));
    }
    Ok(())
}
