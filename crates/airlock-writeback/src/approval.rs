//! Who may decide on a proposal, and the one way to record a decision.
//!
//! [`authorize`] and [`check`] are pure: decided from the config, the proposal (with the
//! approval policy it recorded) and the operator's name. [`decide`] reads the recorded policy
//! from the ledger, runs the same check and records the decision; it is the only code that can
//! record an approval or a rejection (the ledger asks for a key only this crate makes).

use airlock_config::{Capability, Config};
use airlock_ledger::{Actor, ApprovalPolicy, Decision, LedgerError, Review, StoredProposal};

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
        "`{actor}` created proposal {proposal}, which was made while self-approval was off; the config allowing it now does not apply to it"
    )]
    SelfApprovalLocked { actor: String, proposal: String },
    #[error(
        "proposal {proposal} was made while operators were declared, so its approver must be checked for role `{role}`; this config declares no operators"
    )]
    RolesWereEnforced { proposal: String, role: String },
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
            ApprovalError::SelfApprovalLocked { .. } => "ask another operator to approve it".into(),
            ApprovalError::RolesWereEnforced { role, .. } => format!(
                "approve with the config that declares operators (--config PATH) as an operator holding `{role}`; removing operators never lifts a role check a proposal was made under"
            ),
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

/// An operator cleared to decide on a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// The role `required_role` asked for, if any.
    pub role: Option<String>,
    /// Whether the operator was checked to hold `role` (None when no role was required).
    pub role_verified: Option<bool>,
    /// Set when a required role could not be checked: say so to the operator.
    pub warning: Option<String>,
}

/// Checks that `actor` may approve `p`.
///
/// `policy` is what the proposal recorded when it was made (None for proposals from before
/// Airlock recorded it, which are treated as strictly as Airlock treated them then). Today's
/// config may add requirements, never remove them:
/// - self-approval needs both the recorded policy and today's capability to allow it;
/// - a required role is checked against today's declared `operators`. A config without
///   `operators` (as every Synapsor Runner config is) approves with a warning and
///   `role_verified: false`, unless the proposal was made while operators were declared.
pub fn authorize(
    config: &Config,
    p: &StoredProposal,
    policy: Option<ApprovalPolicy>,
    actor: &str,
) -> Result<Authorized, ApprovalError> {
    let cap = capability_of(config, p)?;
    let approval = cap.approval.as_ref();
    if actor == p.principal {
        let allowed_today = approval.and_then(|a| a.allow_self_approval) == Some(true);
        let allowed_then = policy.is_none_or(|p| p.self_approval_allowed);
        if !allowed_today {
            return Err(ApprovalError::SelfApproval {
                actor: actor.into(),
                proposal: p.proposal_id.clone(),
            });
        }
        if !allowed_then {
            return Err(ApprovalError::SelfApprovalLocked {
                actor: actor.into(),
                proposal: p.proposal_id.clone(),
            });
        }
    }
    // The role recorded in the proposal at creation and the one in today's config must both be
    // satisfied: the stricter wins.
    let mut roles: Vec<&str> = [
        p.change_set.approval.required_role.as_deref(),
        approval.and_then(|a| a.required_role.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    roles.dedup();
    let Some(first) = roles.first() else {
        return Ok(Authorized {
            role: None,
            role_verified: None,
            warning: None,
        });
    };
    let Some(operators) = &config.operators else {
        return match policy {
            None => Err(ApprovalError::NoOperators {
                proposal: p.proposal_id.clone(),
                role: (*first).into(),
            }),
            Some(ApprovalPolicy {
                roles_enforced: true,
                ..
            }) => Err(ApprovalError::RolesWereEnforced {
                proposal: p.proposal_id.clone(),
                role: (*first).into(),
            }),
            Some(_) => Ok(Authorized {
                role: Some((*first).to_owned()),
                role_verified: Some(false),
                warning: Some(format!(
                    "role `{}` required by {} was not verified: the config declares no operators. \
                     To enforce it, declare who holds it: \"operators\": {{\"{actor}\": {{\"roles\": [\"{}\"]}}}}",
                    roles.join("`, `"),
                    cap.name,
                    first
                )),
            }),
        };
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
    Ok(Authorized {
        role: Some((*first).to_owned()),
        role_verified: Some(true),
        warning: None,
    })
}

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

/// Checks that `actor` may give `verdict` on `p`. Approval is [`authorize`]; a rejection
/// needs the same roles, but anyone may withdraw their own proposal (only approval needs a
/// second person).
pub fn check(
    config: &Config,
    p: &StoredProposal,
    policy: Option<ApprovalPolicy>,
    actor: &str,
    verdict: Verdict,
) -> Result<Authorized, ApprovalError> {
    match authorize(config, p, policy, actor) {
        Err(ApprovalError::SelfApproval { .. } | ApprovalError::SelfApprovalLocked { .. })
            if verdict == Verdict::Reject =>
        {
            Ok(Authorized {
                role: None,
                role_verified: None,
                warning: None,
            })
        }
        other => other,
    }
}

/// Why [`decide`] recorded nothing.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error(transparent)]
    Refused(#[from] ApprovalError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// A recorded decision.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The proposal as it is now (`approved` or `rejected`).
    pub proposal: StoredProposal,
    /// What the check found (the role, and whether it was verified).
    pub authorized: Authorized,
}

/// Checks the rules and records `actor`'s `verdict` on `proposal`, the exact content the
/// person saw (a proposal that changed since is refused by the ledger).
///
/// The approval policy the proposal was made under is read from the ledger here, never taken
/// from the caller, so no caller can check against a weaker one. Nothing is recorded when the
/// check fails.
pub async fn decide(
    ledger: &dyn Review,
    config: &Config,
    proposal: &StoredProposal,
    actor: &Actor,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<Decided, DecideError> {
    let mut span =
        crate::trace::lifecycle_span(airlock_telemetry::names::DECIDE, &proposal.proposal_id);
    let decided = decide_untraced(ledger, config, proposal, actor, verdict, reason).await;
    if let Some(span) = &mut span {
        span.set(
            "airlock.decision",
            match verdict {
                Verdict::Approve => "approve",
                Verdict::Reject => "reject",
            },
        );
        match &decided {
            Ok(d) => span.set("airlock.proposal.state", d.proposal.state.as_str()),
            Err(DecideError::Refused(_)) => span.fail("refused", "the decision was refused"),
            Err(DecideError::Ledger(_)) => span.fail("ledger_error", "the ledger failed"),
        }
    }
    decided
}

async fn decide_untraced(
    ledger: &dyn Review,
    config: &Config,
    proposal: &StoredProposal,
    actor: &Actor,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<Decided, DecideError> {
    let events = ledger.proposal_events(&proposal.proposal_id).await?;
    let policy = ApprovalPolicy::recorded(&events);
    let authorized = check(config, proposal, policy, &actor.name, verdict)?;
    let decision = Decision {
        proposal_id: proposal.proposal_id.clone(),
        actor: actor.clone(),
        role: authorized.role.clone(),
        role_verified: authorized.role_verified,
        reason,
        proposal_hash: proposal.proposal_hash.clone(),
    };
    let key = crate::review_key();
    let proposal = match verdict {
        Verdict::Approve => ledger.approve(&key, decision).await?,
        Verdict::Reject => ledger.reject(&key, decision).await?,
    };
    Ok(Decided {
        proposal,
        authorized,
    })
}
