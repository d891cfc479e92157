//! Resources: evidence bundles, proposals and replays from the ledger, each read scoped to
//! the caller's trusted tenant. A record of another tenant reads exactly like a missing one.
//! Reading never writes: a replay is assembled on the fly from proposal, events, evidence and
//! query audit.

use airlock_capability::plan::TrustedScope;
use airlock_ledger::{LedgerError, MAX_PAGE, RecordFilter};
use serde_json::{Value, json};

use crate::McpServer;

/// URI scheme kept from Synapsor Runner so prompts and clients keep working.
pub const SCHEME: &str = "synapsor";

/// `(name, uriTemplate, title, description)` of each resource template.
pub const TEMPLATES: [(&str, &str, &str, &str); 3] = [
    (
        "synapsor-proposals",
        "synapsor://proposals/{proposal_id}",
        "Synapsor proposal",
        "A proposal with its change set and event history, in the caller's tenant.",
    ),
    (
        "synapsor-evidence",
        "synapsor://evidence/{evidence_bundle_id}",
        "Synapsor evidence bundle",
        "What a read returned, with the query audit of the reads behind it, in the caller's tenant.",
    ),
    (
        "synapsor-replay",
        "synapsor://replay/{replay_id}",
        "Synapsor replay record",
        "A proposal's full story (proposal, events, evidence, query audit); replay_id is replay_<proposal_id>.",
    ),
];

/// Why a resource could not be read. Messages are safe to show a model.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("Resource not found: {uri}")]
    NotFound { uri: String },
    #[error("{0}")]
    NoTrustedScope(String),
    #[error("The ledger is temporarily unavailable; retry later.")]
    LedgerUnavailable,
}

/// Longest id accepted in a resource URI.
const MAX_ID_LEN: usize = 128;

/// Which record a URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Evidence(String),
    Proposal(String),
    Replay(String),
}

/// Parses `synapsor://<collection>/<id>`. Anything else is `None`.
pub fn parse(uri: &str) -> Option<Target> {
    let rest = uri.strip_prefix(SCHEME)?.strip_prefix("://")?;
    let (collection, id) = rest.split_once('/')?;
    let id = id.split(['/', '?', '#']).next().unwrap_or_default();
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if !valid {
        return None;
    }
    let id = id.to_owned();
    match collection {
        "evidence" => Some(Target::Evidence(id)),
        "proposals" => Some(Target::Proposal(id)),
        "replay" => Some(Target::Replay(id)),
        _ => None,
    }
}

/// Reads one resource as the caller. `claims` is the verified HTTP scope, if any; without it
/// the tenant comes from the environment / static_dev context of the config.
pub async fn read(
    server: &McpServer,
    uri: &str,
    claims: Option<&TrustedScope>,
) -> Result<Value, ResourceError> {
    let not_found = || ResourceError::NotFound {
        uri: crate::server::short_name(uri),
    };
    let target = parse(uri).ok_or_else(not_found)?;
    let scope = server.runtime().session_scope(claims).map_err(|e| {
        tracing::warn!(code = e.code.as_str(), detail = ?e.detail, "resource read without a trusted scope");
        ResourceError::NoTrustedScope(e.model_message().to_owned())
    })?;
    let ledger = server.runtime().ledger();
    let tenant = scope.tenant_id.as_str();
    match target {
        Target::Evidence(id) => {
            let ev = ledger.evidence(&id).await.map_err(ledger_error(uri))?;
            if ev.bundle.tenant_id != tenant {
                return Err(not_found());
            }
            serde_json::to_value(&ev).map_err(|_| ResourceError::LedgerUnavailable)
        }
        Target::Proposal(id) => {
            let proposal = own_proposal(server, &id, tenant, uri).await?;
            let events = ledger
                .proposal_events(&id)
                .await
                .map_err(ledger_error(uri))?;
            let mut receipts = ledger
                .receipt_page(&RecordFilter {
                    proposal: Some(id.clone()),
                    limit: MAX_PAGE,
                    ..RecordFilter::default()
                })
                .await
                .map_err(ledger_error(uri))?
                .items;
            receipts.reverse();
            Ok(json!({"proposal": proposal, "events": events, "receipts": receipts}))
        }
        Target::Replay(replay_id) => {
            let id = replay_id.strip_prefix("replay_").ok_or_else(not_found)?;
            own_proposal(server, id, tenant, uri).await?;
            // Built on read (events, approvals, attempts, receipts, evidence, audit); never stored.
            let replay = ledger.replay(id).await.map_err(ledger_error(uri))?;
            serde_json::to_value(&replay).map_err(|_| ResourceError::LedgerUnavailable)
        }
    }
}

async fn own_proposal(
    server: &McpServer,
    id: &str,
    tenant: &str,
    uri: &str,
) -> Result<airlock_ledger::StoredProposal, ResourceError> {
    // `latest` is a ledger shortcut for people, not an id.
    if id == "latest" {
        return Err(ResourceError::NotFound {
            uri: crate::server::short_name(uri),
        });
    }
    let proposal = server
        .runtime()
        .ledger()
        .proposal(id)
        .await
        .map_err(ledger_error(uri))?;
    if proposal.tenant_id != tenant {
        return Err(ResourceError::NotFound {
            uri: crate::server::short_name(uri),
        });
    }
    Ok(proposal)
}

fn ledger_error(uri: &str) -> impl Fn(LedgerError) -> ResourceError + '_ {
    move |e| match e {
        LedgerError::NotFound { .. } | LedgerError::NoProposals => ResourceError::NotFound {
            uri: crate::server::short_name(uri),
        },
        other => {
            tracing::error!(error = %other, "resource read failed");
            ResourceError::LedgerUnavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_collections_and_nothing_else() {
        assert_eq!(
            parse("synapsor://evidence/ev_1"),
            Some(Target::Evidence("ev_1".into()))
        );
        assert_eq!(
            parse("synapsor://proposals/wrp_1"),
            Some(Target::Proposal("wrp_1".into()))
        );
        assert_eq!(
            parse("synapsor://replay/replay_wrp_1"),
            Some(Target::Replay("replay_wrp_1".into()))
        );
        assert_eq!(parse("synapsor://other/x"), None);
        assert_eq!(parse("file:///etc/passwd"), None);
        assert_eq!(parse("synapsor://evidence/"), None);
        assert_eq!(parse("synapsor://evidence/a b"), None);
        assert_eq!(parse("synapsor://evidence/../x"), None);
        assert_eq!(
            parse(&format!("synapsor://evidence/{}", "a".repeat(200))),
            None
        );
    }
}
