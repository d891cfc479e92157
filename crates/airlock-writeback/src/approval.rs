//! Who may approve. Pure: decided from the config, the proposal and the operator's name.

use airlock_config::{Capability, Config};
use airlock_ledger::StoredProposal;

/// Why an approval is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error(
        "proposal {proposal} needs an approver with role `{role}`, and no operators are declared in the config"
    )]
    NoOperators { proposal: String, role: String },
    #[error("`{actor}` is not a declared operator, and proposal {proposal} needs role `{role}`")]
    UnknownOperator {
        actor: String,
        proposal: String,
        role: String,
    },
    #[error("operator `{actor}` does not hold role `{role}` required by {capability}")]
    MissingRole {
        actor: String,
        role: String,
        capability: String,
    },
    #[error("`{actor}` created proposal {proposal} and cannot approve it")]
    SelfApproval { actor: String, proposal: String },
    #[error(
        "proposal {proposal} belongs to capability {capability}, which is no longer in the config"
    )]
    UnknownCapability {
        proposal: String,
        capability: String,
    },
}

impl ApprovalError {
    pub fn hint(&self) -> String {
        match self {
            ApprovalError::NoOperators { role, .. } | ApprovalError::UnknownOperator { role, .. } => {
                format!("declare the approver in the config: \"operators\": {{\"<name>\": {{\"roles\": [\"{role}\"]}}}}, then pass --actor <name>")
            }
            ApprovalError::MissingRole { role, .. } => format!("ask an operator with role `{role}` to approve"),
            ApprovalError::SelfApproval { .. } => {
                "ask another operator, or set \"allow_self_approval\": true in the capability's approval block".into()
            }
            ApprovalError::UnknownCapability { .. } => "restore the capability in the config, or reject the proposal".into(),
        }
    }
}

/// The capability a stored proposal came from.
pub fn capability_of<'a>(
    config: &'a Config,
    p: &StoredProposal,
) -> Result<&'a Capability, ApprovalError> {
    config
        .capabilities
        .iter()
        .find(|c| c.name == p.action)
        .ok_or_else(|| ApprovalError::UnknownCapability {
            proposal: p.proposal_id.clone(),
            capability: p.action.clone(),
        })
}

/// Checks that `actor` may approve `p`. Returns the role that satisfied `required_role`.
pub fn authorize(
    config: &Config,
    p: &StoredProposal,
    actor: &str,
) -> Result<Option<String>, ApprovalError> {
    let cap = capability_of(config, p)?;
    let approval = cap.approval.as_ref();
    if actor == p.principal && approval.and_then(|a| a.allow_self_approval) != Some(true) {
        return Err(ApprovalError::SelfApproval {
            actor: actor.into(),
            proposal: p.proposal_id.clone(),
        });
    }
    // The role recorded in the proposal at creation and the one in today's config must both be
    // satisfied: the stricter wins.
    let roles: Vec<&str> = [
        p.change_set.approval.required_role.as_deref(),
        approval.and_then(|a| a.required_role.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let Some(first) = roles.first() else {
        return Ok(None);
    };
    let Some(operators) = &config.operators else {
        return Err(ApprovalError::NoOperators {
            proposal: p.proposal_id.clone(),
            role: (*first).into(),
        });
    };
    let Some(op) = operators.get(actor) else {
        return Err(ApprovalError::UnknownOperator {
            actor: actor.into(),
            proposal: p.proposal_id.clone(),
            role: (*first).into(),
        });
    };
    for role in &roles {
        if !op.roles.iter().any(|r| r == role) {
            return Err(ApprovalError::MissingRole {
                actor: actor.into(),
                role: (*role).into(),
                capability: cap.name.clone(),
            });
        }
    }
    Ok(Some((*first).to_owned()))
}
