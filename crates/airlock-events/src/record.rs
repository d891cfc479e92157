//! One chain event as Airlock hands it out: the stable JSON record, the line a person reads
//! in a terminal, and the one-sentence summary a team channel hears.

use airlock_ledger::{ScopedEvent, StoredProposal};
use airlock_protocol::events::{EventRecord, event_id};
use serde_json::Value;

/// The stable record of a chain event (`airlock events tail --json`, webhook bodies).
pub fn record(e: &ScopedEvent) -> EventRecord {
    let ev = &e.event;
    EventRecord {
        event_id: event_id(ev.seq, &ev.hash),
        seq: ev.seq,
        kind: ev.kind.clone(),
        created_at: ev.created_at.clone(),
        actor: ev.actor.clone(),
        proposal_id: ev.proposal_id.clone(),
        tenant_id: e.tenant_id.clone(),
        capability: e.capability.clone(),
        subject_kind: ev.subject_kind.clone(),
        subject_id: ev.subject_id.clone(),
        payload: ev.payload.clone(),
        hash: ev.hash.clone(),
    }
}

/// One terminal line: time, sequence, kind, what it is about, and who.
///
/// `2026-06-20T14:31:08.123Z  #42  proposal_created  wrp_…  billing.waive_fee  tenant acme  by agent_7`
pub fn line(r: &EventRecord) -> String {
    let about = r
        .proposal_id
        .clone()
        .unwrap_or_else(|| format!("{} {}", r.subject_kind, r.subject_id));
    let mut out = format!(
        "{}  #{:<6} {:<26} {}",
        r.created_at,
        r.seq,
        r.kind,
        printable(&about, 64)
    );
    if let Some(c) = &r.capability {
        out.push_str("  ");
        out.push_str(&printable(c, 80));
    }
    if let Some(t) = &r.tenant_id {
        out.push_str("  tenant ");
        out.push_str(&printable(t, 64));
    }
    out.push_str("  by ");
    out.push_str(&printable(&r.actor, 64));
    out
}

/// The review UI's page of a proposal under `base` (no trailing slash needed).
pub fn review_link(base: &str, proposal_id: &str) -> String {
    format!("{}/proposals/{proposal_id}", base.trim_end_matches('/'))
}

/// One sentence about the event for a person in a team channel, e.g.
/// `proposal waiting: billing.waive_fee on invoice INV-3001: late_fee 25 → 0 (tenant acme), review at http://…`.
/// `proposal` is the event's proposal when it has one.
pub fn summary(
    r: &EventRecord,
    proposal: Option<&StoredProposal>,
    review_url: Option<&str>,
) -> String {
    let what = proposal.map(|p| {
        format!(
            "{} on {} {}",
            printable(&p.action, 80),
            printable(&p.business_object, 64),
            printable(&p.object_id, 64)
        )
    });
    let tenant = r
        .tenant_id
        .as_deref()
        .map(|t| format!(" (tenant {})", printable(t, 64)))
        .unwrap_or_default();
    let actor = printable(&r.actor, 64);
    let field = |k: &str| {
        r.payload
            .get(k)
            .and_then(Value::as_str)
            .map(|s| printable(s, 200))
    };
    let mut text = match (r.kind.as_str(), &what) {
        ("proposal_created", Some(w)) => {
            let changes = proposal.map(changes).unwrap_or_default();
            format!("proposal waiting: {w}{changes}{tenant}")
        }
        ("proposal_approved", Some(w)) => format!("approved by {actor}: {w}{tenant}"),
        ("proposal_rejected", Some(w)) => match field("reason") {
            Some(reason) => format!("rejected by {actor}: {w}{tenant}: {reason}"),
            None => format!("rejected by {actor}: {w}{tenant}"),
        },
        ("writeback_job_recorded", Some(w)) => format!("apply started by {actor}: {w}{tenant}"),
        ("writeback_applied", Some(w)) => format!("applied: {w}{tenant}"),
        ("writeback_already_applied", Some(w)) => format!("already applied: {w}{tenant}"),
        ("writeback_conflict", Some(w)) => {
            format!(
                "apply blocked by the conflict guard (the row changed since it was read): {w}{tenant}"
            )
        }
        ("writeback_failed", Some(w)) => match field("safe_error_code") {
            Some(code) => format!("apply failed ({code}), nothing to review yet: {w}{tenant}"),
            None => format!("apply failed: {w}{tenant}"),
        },
        ("writeback_canceled", Some(w)) => format!("apply canceled: {w}{tenant}"),
        (kind, _) => {
            let cap = r
                .capability
                .as_deref()
                .map(|c| format!(" {}", printable(c, 80)))
                .unwrap_or_default();
            format!("{kind}{cap}{tenant} by {actor}")
        }
    };
    if let (Some(base), Some(id)) = (review_url, &r.proposal_id) {
        text.push_str(", review at ");
        text.push_str(&review_link(base, id));
    }
    text
}

/// `: col before → after, …` (at most three columns).
fn changes(p: &StoredProposal) -> String {
    let cs = &p.change_set;
    let mut parts: Vec<String> = cs
        .patch
        .iter()
        .take(3)
        .map(|(col, after)| {
            let before = cs
                .before
                .get(col)
                .map_or_else(|| "unset".to_owned(), scalar);
            format!("{} {before} → {}", printable(col, 64), scalar(after))
        })
        .collect();
    if cs.patch.len() > 3 {
        parts.push(format!("and {} more", cs.patch.len() - 3));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => printable(s, 60),
        other => printable(&other.to_string(), 60),
    }
}

/// `s` without control characters (a value cannot break a line or a terminal), cut to `max`
/// characters.
fn printable(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// Text for a Slack-compatible `{"text": …}` body: `&`, `<` and `>` escaped, so a value from
/// an agent cannot become a mention (`<!channel>`) or a disguised link.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: &str) -> EventRecord {
        EventRecord {
            event_id: "evt_1_00".into(),
            seq: 1,
            kind: kind.into(),
            created_at: "2026-06-20T14:31:08.123Z".into(),
            actor: "dana\nevil".into(),
            proposal_id: None,
            tenant_id: Some("acme".into()),
            capability: Some("billing.read".into()),
            subject_kind: "query_audit".into(),
            subject_id: "7".into(),
            payload: serde_json::json!({}),
            hash: "sha256:00".into(),
        }
    }

    #[test]
    fn lines_are_one_line_and_name_the_scope() {
        let l = line(&rec("query_audited"));
        assert!(!l.contains('\n'), "{l}");
        assert!(l.contains("#1") && l.contains("query_audited") && l.contains("tenant acme"));
        assert!(l.contains("query_audit 7") && l.contains("billing.read"));
        let s = summary(&rec("query_audited"), None, Some("http://x"));
        assert_eq!(s, "query_audited billing.read (tenant acme) by dana evil");
    }

    #[test]
    fn slack_text_cannot_mention_or_link() {
        assert_eq!(
            slack_escape("<!channel> & <http://x|y>"),
            "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
        assert_eq!(
            review_link("http://h:1/", "wrp_1"),
            "http://h:1/proposals/wrp_1"
        );
    }
}
