//! `MODEL_CONTROLLED_TRUST_SCOPE`: the model says whose data it is acting on.
//!
//! **Why it is risky.** A `tenant_id`, `principal`, `role` or `approved_by` argument lets the
//! model (or whoever steers it) claim another tenant or identity. Trust scope must come from
//! the session, not from the request.
//!
//! **Found by** argument names in Airlock's own reserved list (`airlock_config::RESERVED_ARG_NAMES`,
//! the list Airlock refuses in its configs and at call time), other than the identifier names
//! `ARBITRARY_IDENTIFIER_INPUT` reports.
//!
//! **Use instead** trusted context: tenant and principal from config, environment or verified
//! HTTP claims.

use super::arbitrary_identifier::IDENTIFIER_ARGS;
use super::facts::Facts;
use super::{Hit, Rule, args_hit};
use crate::report::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "MODEL_CONTROLLED_TRUST_SCOPE",
    severity: Severity::High,
    title: "The model supplies tenant, principal, role or approval identity",
    fix: "Take trust scope from trusted context: Airlock binds tenant and principal from its config, environment or verified HTTP token claims (`trusted_context`), scopes every query by them, and refuses any tool argument named like them.",
};

pub(crate) fn check(f: &Facts) -> Option<Hit> {
    let args: Vec<_> = f
        .args
        .iter()
        .filter(|a| {
            airlock_config::is_reserved_arg_name(&a.name)
                && !IDENTIFIER_ARGS.contains(&a.folded.as_str())
        })
        .collect();
    args_hit(
        &RULE,
        &args,
        |names| {
            format!(
                "The model supplies trust scope ({names}): it can act as another tenant or identity."
            )
        },
        "trust-scope argument",
    )
}
