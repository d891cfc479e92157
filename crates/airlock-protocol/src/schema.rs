//! JSON Schemas (draft 2020-12) of the protocol objects, generated from the types in this
//! crate. The repository publishes them under `schemas/`; a test in the `airlock` crate fails
//! when a checked-in file differs from what [`published`] generates.

use schemars::JsonSchema;
use serde_json::Value;

use crate::handler::{
    HANDLER_PROBE_V1, HANDLER_WRITEBACK_V1, HandlerProbe, HandlerReceipt, HandlerRequest,
    ProbeAnswer,
};
use crate::{
    CHANGE_SET_V1, ChangeSet, EXECUTION_RECEIPT_V1, ExecutionReceipt, WRITEBACK_JOB_V1,
    WritebackJob,
};

/// One schema: its file name under `schemas/` and its content.
pub struct Published {
    pub file: &'static str,
    pub schema: Value,
}

/// Every protocol object's schema, in a stable order.
pub fn published() -> Vec<Published> {
    vec![
        of::<ChangeSet>(
            "change-set.v1.schema.json",
            Some(CHANGE_SET_V1),
            "What a proposal would change, captured when it was proposed.",
        ),
        of::<WritebackJob>(
            "writeback-job.v1.schema.json",
            Some(WRITEBACK_JOB_V1),
            "What an approved proposal's apply writes, and the guards it checks first.",
        ),
        of::<ExecutionReceipt>(
            "execution-receipt.v1.schema.json",
            Some(EXECUTION_RECEIPT_V1),
            "The outcome of one apply attempt.",
        ),
        of::<HandlerRequest>(
            "handler-request.v1.schema.json",
            Some(HANDLER_WRITEBACK_V1),
            "The body Airlock sends to an app-owned handler (HTTP body or command stdin).",
        ),
        of::<HandlerReceipt>(
            "handler-receipt.v1.schema.json",
            None,
            "What an app-owned handler answers.",
        ),
        of::<HandlerProbe>(
            "handler-probe.v1.schema.json",
            Some(HANDLER_PROBE_V1),
            "A signed no-op probe Airlock sends to a handler (`airlock doctor --check-handlers`).",
        ),
        of::<ProbeAnswer>(
            "handler-probe-answer.v1.schema.json",
            None,
            "What a handler answers to a verified probe.",
        ),
    ]
}

fn of<T: JsonSchema>(file: &'static str, version: Option<&str>, about: &str) -> Published {
    let mut schema = schemars::schema_for!(T).to_value();
    if let Value::Object(top) = &mut schema {
        top.insert("description".into(), about.into());
        // The wire name where the object carries one, else the file's own name.
        let title = version.unwrap_or(file.trim_end_matches(".schema.json"));
        top.insert("title".into(), title.into());
        if let Some(version) = version {
            // The one value `schema_version` may hold.
            if let Some(Value::Object(prop)) = top
                .get_mut("properties")
                .and_then(|p| p.get_mut("schema_version"))
            {
                prop.insert("const".into(), version.into());
            }
        }
    }
    Published { file, schema }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_draft_2020_12_and_pins_its_version() {
        for p in published() {
            assert_eq!(
                p.schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{}",
                p.file
            );
            jsonschema::validator_for(&p.schema).unwrap_or_else(|e| panic!("{}: {e}", p.file));
        }
        let cs = &published()[0].schema;
        assert_eq!(cs["properties"]["schema_version"]["const"], CHANGE_SET_V1);
    }
}
