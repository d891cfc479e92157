//! `review` (Airlock extension): how reviewers work in `airlock ui`.
//!
//! ```json
//! "review": { "apply": "with_approval" }
//! ```
//! `apply`: `separate` (default) keeps apply a second, explicit action after approval;
//! `with_approval` makes the UI's approve button apply too. Either way the decision and the
//! apply run the CLI's rules.

use serde_json::{Map, Value};

use super::{Ctx, Path, kind_of};

const REVIEW_KEYS: &[&str] = &["apply"];

pub(super) fn review(ctx: &mut Ctx, root: &Map<String, Value>) {
    let path = Path::root().key("review");
    let Some(v) = root.get("review") else {
        return;
    };
    let Some(map) = v.as_object() else {
        ctx.error(
            "REVIEW_NOT_OBJECT",
            &path,
            format!("review must be an object, found {}", kind_of(v)),
            "use {\"apply\": \"separate\"} or {\"apply\": \"with_approval\"}, or remove it",
        );
        return;
    };
    ctx.unknown_keys(map, REVIEW_KEYS, &path);
    if let Some(apply) = map.get("apply")
        && !matches!(apply.as_str(), Some("separate" | "with_approval"))
    {
        ctx.error(
            "INVALID_REVIEW_APPLY",
            &path.key("apply"),
            format!("review.apply must be \"separate\" or \"with_approval\", found {apply}"),
            "use \"separate\" (apply is its own action, the default) or \"with_approval\" (approve and apply in one step in the UI)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use serde_json::json;

    #[test]
    fn review_apply_is_one_of_two_words() {
        let mut doc = fixtures::valid();
        for ok in ["separate", "with_approval"] {
            doc["review"] = json!({"apply": ok});
            let r = crate::validate(&doc);
            assert!(r.ok, "{ok}: {:?}", r.errors);
            let (config, _) = crate::parse(&doc).unwrap();
            assert_eq!(
                config.apply_step() == crate::ApplyStep::WithApproval,
                ok == "with_approval"
            );
        }
        for (bad, code) in [
            (json!({"apply": "later"}), "INVALID_REVIEW_APPLY"),
            (json!({"apply": true}), "INVALID_REVIEW_APPLY"),
            (json!({"apply": "separate", "when": 1}), "UNKNOWN_FIELD"),
            (json!("with_approval"), "REVIEW_NOT_OBJECT"),
        ] {
            doc["review"] = bad.clone();
            let r = crate::validate(&doc);
            assert!(
                r.errors.iter().any(|e| e.code == code),
                "{bad}: {:?}",
                r.errors
            );
        }
        doc.as_object_mut().unwrap().remove("review");
        let (config, _) = crate::parse(&doc).unwrap();
        assert_eq!(config.apply_step(), crate::ApplyStep::Separate);
    }
}
