//! `operators` (Airlock extension): the people who may approve, and their roles.
//!
//! ```json
//! "operators": { "dana": { "roles": ["billing_lead"] } }
//! ```
//! Once declared, a capability's `approval.required_role` can only be satisfied by an operator
//! declared here. Without `operators` (every Synapsor Runner config), the role is not checked:
//! approval warns and records `role_verified: false`.

use serde_json::{Map, Value};

use super::{Ctx, Path, kind_of, non_empty_str};
use crate::names::is_safe_name;

const OPERATOR_KEYS: &[&str] = &["roles"];

pub(super) fn operators(ctx: &mut Ctx, root: &Map<String, Value>) {
    let path = Path::root().key("operators");
    let required_roles: Vec<(usize, &str)> = root
        .get("capabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, c)| Some((i, c.get("approval")?.get("required_role")?.as_str()?)))
        .filter(|(_, role)| !role.is_empty())
        .collect();
    let Some(v) = root.get("operators") else {
        if let Some((i, role)) = required_roles.first() {
            ctx.warning(
                "OPERATORS_MISSING",
                &Path::root().key("capabilities").index(*i).key("approval").key("required_role"),
                format!("role `{role}` is required to approve, but no operators are declared, so the role is not checked: anyone running the CLI can approve (with a warning, recorded as role_verified: false)"),
                format!("add \"operators\": {{\"<name>\": {{\"roles\": [\"{role}\"]}}}} to the config to enforce it"),
            );
        }
        return;
    };
    let Some(map) = v.as_object() else {
        ctx.error(
            "OPERATORS_NOT_OBJECT",
            &path,
            format!(
                "operators must be an object of operator name → {{roles}}, found {}",
                kind_of(v)
            ),
            "use {\"dana\": {\"roles\": [\"billing_lead\"]}}",
        );
        return;
    };
    let mut held: Vec<&str> = Vec::new();
    for (name, op) in map {
        let p = path.key(name);
        if !is_safe_name(name) {
            ctx.error(
                "INVALID_OPERATOR_NAME",
                &p,
                format!("operator name `{name}` must match ^[A-Za-z_][A-Za-z0-9_.-]*$"),
                "use the name operators pass with --actor (or $AIRLOCK_ACTOR / $USER)",
            );
        }
        let Some(obj) = op.as_object() else {
            ctx.error(
                "INVALID_OPERATOR",
                &p,
                format!("operator must be an object, found {}", kind_of(op)),
                "use {\"roles\": [\"billing_lead\"]}",
            );
            continue;
        };
        ctx.unknown_keys(obj, OPERATOR_KEYS, &p);
        match obj.get("roles").and_then(Value::as_array) {
            Some(roles)
                if !roles.is_empty() && roles.iter().all(|r| non_empty_str(Some(r)).is_some()) =>
            {
                held.extend(roles.iter().filter_map(Value::as_str));
            }
            _ => ctx.error(
                "INVALID_OPERATOR_ROLES",
                &p.key("roles"),
                "roles must be a non-empty array of non-empty strings",
                "list the approval roles this operator holds, e.g. [\"billing_lead\"]",
            ),
        }
    }
    for (i, role) in required_roles {
        if !held.contains(&role) {
            ctx.warning(
                "APPROVAL_ROLE_UNASSIGNED",
                &Path::root().key("capabilities").index(i).key("approval").key("required_role"),
                format!("no operator holds role `{role}`, so proposals of this capability cannot be approved"),
                format!("give an operator the role: \"roles\": [\"{role}\"]"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::valid as valid_doc;
    use super::super::validate;
    use serde_json::json;

    #[test]
    fn declared_operators_with_roles_are_accepted() {
        let mut doc = valid_doc();
        doc["operators"] = json!({"dana": {"roles": ["billing_lead"]}});
        let r = validate(&doc);
        assert!(r.ok, "{:?}", r.errors);
        assert!(
            !r.warnings
                .iter()
                .any(|w| w.code == "OPERATORS_MISSING" || w.code == "APPROVAL_ROLE_UNASSIGNED"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn missing_operators_warn_when_a_role_is_required() {
        let mut doc = valid_doc();
        doc.as_object_mut().unwrap().remove("operators");
        let r = validate(&doc);
        assert!(
            r.warnings.iter().any(|w| w.code == "OPERATORS_MISSING"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn bad_operator_shapes_are_errors() {
        for (ops, code) in [
            (json!([]), "OPERATORS_NOT_OBJECT"),
            (json!({"dana": {"roles": []}}), "INVALID_OPERATOR_ROLES"),
            (json!({"dana": {"roles": [""]}}), "INVALID_OPERATOR_ROLES"),
            (json!({"dana": "billing_lead"}), "INVALID_OPERATOR"),
            (
                json!({"no name": {"roles": ["x"]}}),
                "INVALID_OPERATOR_NAME",
            ),
        ] {
            let mut doc = valid_doc();
            doc["operators"] = ops;
            let r = validate(&doc);
            assert!(
                r.errors.iter().any(|e| e.code == code),
                "{code}: {:?}",
                r.errors
            );
        }
    }

    #[test]
    fn an_unheld_role_warns() {
        let mut doc = valid_doc();
        doc["operators"] = json!({"dana": {"roles": ["support_lead"]}});
        let r = validate(&doc);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.code == "APPROVAL_ROLE_UNASSIGNED"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn allow_self_approval_must_be_boolean() {
        let mut doc = valid_doc();
        doc["capabilities"][1]["approval"]["allow_self_approval"] = json!("yes");
        let r = validate(&doc);
        assert!(
            r.errors.iter().any(|e| e.code == "INVALID_APPROVAL_SELF"),
            "{:?}",
            r.errors
        );
        doc["capabilities"][1]["approval"]["allow_self_approval"] = json!(true);
        assert!(
            !validate(&doc)
                .errors
                .iter()
                .any(|e| e.code == "INVALID_APPROVAL_SELF")
        );
    }
}
