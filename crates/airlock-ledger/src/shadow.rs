//! Shadow-mode comparisons: an agent's shadow proposal against what a person actually did for
//! the same object. Pure: works on records already read.
//!
//! Rules:
//! - A human action answers a proposal when it names that proposal, or names none and has the
//!   same capability, tenant and object id. Tenants never mix: an action of another tenant
//!   never answers a proposal, whatever its object id.
//! - The latest answering action counts (a person may correct what they recorded).
//! - Values compare as JSON, except that numbers compare by value (`5500` equals `5500.0`).

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::{HumanAction, StoredProposal};

/// Format of [`ShadowReport`] as `--json` prints it.
pub const REPORT_FORMAT: &str = "airlock.shadow-report.v1";

/// How a proposal compared with the person's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowStatus {
    /// Same columns, same values.
    ExactMatch,
    /// At least one column the same, something else not.
    PartialMatch,
    /// No column the same.
    Mismatch,
    /// Nobody recorded what they did for this object yet.
    NoHumanAction,
}

impl ShadowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShadowStatus::ExactMatch => "exact_match",
            ShadowStatus::PartialMatch => "partial_match",
            ShadowStatus::Mismatch => "mismatch",
            ShadowStatus::NoHumanAction => "no_human_action",
        }
    }
}

/// One proposal against the latest human action for its object.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowComparison {
    pub proposal_id: String,
    pub capability: String,
    pub tenant_id: String,
    pub object_id: String,
    pub status: ShadowStatus,
    pub agent_patch: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub human_patch: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub human_action_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub human_actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Agent columns the person set to the same value.
    pub matching_columns: Vec<String>,
    /// Agent columns the person set to another value.
    pub differing_columns: Vec<String>,
    /// Agent columns the person did not change.
    pub missing_from_human: Vec<String>,
    /// Columns the person changed that the agent did not.
    pub extra_human_columns: Vec<String>,
}

/// Whether two values are the same for a comparison.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

/// Whether `action` answers `proposal` (see the module docs).
pub fn answers(action: &HumanAction, proposal: &StoredProposal) -> bool {
    if action.tenant_id != proposal.tenant_id {
        return false;
    }
    match &action.proposal_id {
        Some(id) => *id == proposal.proposal_id,
        None => action.capability == proposal.action && action.object_id == proposal.object_id,
    }
}

/// The latest action that answers the proposal.
pub fn latest_for<'a>(
    proposal: &StoredProposal,
    actions: &'a [HumanAction],
) -> Option<&'a HumanAction> {
    actions
        .iter()
        .filter(|a| answers(a, proposal))
        .max_by_key(|a| a.action_id)
}

/// Compares a proposal's patch with a human action's.
pub fn compare(p: &StoredProposal, human: Option<&HumanAction>) -> ShadowComparison {
    let agent = &p.change_set.patch;
    let mut c = ShadowComparison {
        proposal_id: p.proposal_id.clone(),
        capability: p.action.clone(),
        tenant_id: p.tenant_id.clone(),
        object_id: p.object_id.clone(),
        status: ShadowStatus::NoHumanAction,
        agent_patch: agent.clone(),
        human_patch: human.map(|h| h.patch.clone()),
        human_action_id: human.map(|h| h.action_id),
        human_actor: human.map(|h| h.actor.clone()),
        notes: human.and_then(|h| h.notes.clone()),
        matching_columns: Vec::new(),
        differing_columns: Vec::new(),
        missing_from_human: Vec::new(),
        extra_human_columns: Vec::new(),
    };
    let Some(h) = human else {
        c.missing_from_human = agent.keys().cloned().collect();
        return c;
    };
    for (col, value) in agent {
        match h.patch.get(col) {
            Some(v) if same_value(v, value) => c.matching_columns.push(col.clone()),
            Some(_) => c.differing_columns.push(col.clone()),
            None => c.missing_from_human.push(col.clone()),
        }
    }
    c.extra_human_columns = h
        .patch
        .keys()
        .filter(|k| !agent.contains_key(*k))
        .cloned()
        .collect();
    c.status = if c.matching_columns.len() == agent.len()
        && c.differing_columns.is_empty()
        && c.missing_from_human.is_empty()
        && c.extra_human_columns.is_empty()
    {
        ShadowStatus::ExactMatch
    } else if !c.matching_columns.is_empty() {
        ShadowStatus::PartialMatch
    } else {
        ShadowStatus::Mismatch
    };
    c
}

/// Counts of comparisons by status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub shadow_proposals: u64,
    pub with_human_action: u64,
    pub exact_matches: u64,
    pub partial_matches: u64,
    pub mismatches: u64,
    pub no_human_action: u64,
    /// exact_matches / with_human_action (none before any human action).
    pub exact_match_rate: Option<f64>,
}

impl Tally {
    fn add(&mut self, s: ShadowStatus) {
        self.shadow_proposals += 1;
        match s {
            ShadowStatus::ExactMatch => self.exact_matches += 1,
            ShadowStatus::PartialMatch => self.partial_matches += 1,
            ShadowStatus::Mismatch => self.mismatches += 1,
            ShadowStatus::NoHumanAction => self.no_human_action += 1,
        }
        if s != ShadowStatus::NoHumanAction {
            self.with_human_action += 1;
        }
        self.exact_match_rate = rate(self.exact_matches, self.with_human_action);
    }
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// How one column fared across the proposals that have a human action.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldStats {
    pub column: String,
    /// Comparisons where the agent or the person changed it.
    pub compared: u64,
    pub matched: u64,
    pub differed: u64,
    /// The agent changed it, the person did not.
    pub missing_from_human: u64,
    /// The person changed it, the agent did not.
    pub extra_in_human: u64,
    /// matched / compared.
    pub match_rate: Option<f64>,
}

/// One mismatching column of one proposal.
#[derive(Debug, Clone, Serialize)]
pub struct MismatchExample {
    pub proposal_id: String,
    pub tenant_id: String,
    pub object_id: String,
    pub column: String,
    /// What the agent proposed (`null` when it did not touch the column).
    pub agent: Option<Value>,
    /// What the person set (`null` when they did not touch the column).
    pub human: Option<Value>,
}

/// One capability's part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CapabilityReport {
    pub capability: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub fields: Vec<FieldStats>,
    pub mismatch_examples: Vec<MismatchExample>,
}

/// `airlock shadow report`.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowReport {
    pub format: &'static str,
    #[serde(flatten)]
    pub tally: Tally,
    /// Human actions that answer no shadow proposal (the agent proposed nothing for that
    /// object).
    pub unanswered_human_actions: u64,
    pub capabilities: Vec<CapabilityReport>,
    pub comparisons: Vec<ShadowComparison>,
}

/// Adds one outcome to a field's counters.
type Count = fn(&mut FieldStats);

/// Compares every shadow proposal with its latest human action; `examples` mismatching
/// columns are kept per capability.
pub fn report(
    proposals: &[StoredProposal],
    actions: &[HumanAction],
    examples: usize,
) -> ShadowReport {
    let mut tally = Tally::default();
    let mut per_cap: BTreeMap<String, CapabilityReport> = BTreeMap::new();
    let mut fields: BTreeMap<String, BTreeMap<String, FieldStats>> = BTreeMap::new();
    let mut comparisons = Vec::new();
    let mut used = std::collections::HashSet::new();
    for p in proposals {
        let human = latest_for(p, actions);
        if let Some(h) = human {
            used.insert(h.action_id);
        }
        let c = compare(p, human);
        tally.add(c.status);
        let cap = per_cap
            .entry(c.capability.clone())
            .or_insert_with(|| CapabilityReport {
                capability: c.capability.clone(),
                tally: Tally::default(),
                fields: Vec::new(),
                mismatch_examples: Vec::new(),
            });
        cap.tally.add(c.status);
        if let Some(h) = human {
            let stats = fields.entry(c.capability.clone()).or_default();
            let outcomes: [(&[String], Count); 4] = [
                (&c.matching_columns, |s| s.matched += 1),
                (&c.differing_columns, |s| s.differed += 1),
                (&c.missing_from_human, |s| s.missing_from_human += 1),
                (&c.extra_human_columns, |s| s.extra_in_human += 1),
            ];
            for (columns, count) in outcomes {
                for col in columns {
                    let s = stats.entry(col.clone()).or_insert_with(|| FieldStats {
                        column: col.clone(),
                        ..FieldStats::default()
                    });
                    s.compared += 1;
                    count(s);
                }
            }
            let wrong = c
                .differing_columns
                .iter()
                .chain(&c.missing_from_human)
                .chain(&c.extra_human_columns);
            for col in wrong {
                if cap.mismatch_examples.len() >= examples {
                    break;
                }
                cap.mismatch_examples.push(MismatchExample {
                    proposal_id: c.proposal_id.clone(),
                    tenant_id: c.tenant_id.clone(),
                    object_id: c.object_id.clone(),
                    column: col.clone(),
                    agent: c.agent_patch.get(col).cloned(),
                    human: h.patch.get(col).cloned(),
                });
            }
        }
        comparisons.push(c);
    }
    let mut capabilities: Vec<CapabilityReport> = per_cap.into_values().collect();
    for cap in &mut capabilities {
        cap.fields = fields
            .remove(&cap.capability)
            .unwrap_or_default()
            .into_values()
            .map(|mut f| {
                f.match_rate = rate(f.matched, f.compared);
                f
            })
            .collect();
    }
    ShadowReport {
        format: REPORT_FORMAT,
        tally,
        unanswered_human_actions: actions
            .iter()
            .filter(|a| !used.contains(&a.action_id))
            .count() as u64,
        capabilities,
        comparisons,
    }
}
