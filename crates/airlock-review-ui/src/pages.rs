//! The pages (GET): queue, proposal, history, ledger, sign-in, assets.

use std::sync::Arc;

use airlock_config::ApplyStep;
use airlock_ledger::{LedgerError, LedgerTime, RecordFilter, Replay, StoredProposal};
use airlock_protocol::ProposalState;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::security::Session;
use crate::views::{self, Viewer, error_response, json_block, page, show, state_chip};
use crate::{PAGE_SIZE, Reviewers, Ui};

/// Filters of the queue and history pages (all optional; blank means no filter).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub capability: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    /// Only proposals at least this many minutes old.
    #[serde(default)]
    pub older_than: Option<String>,
    /// History only: one state.
    #[serde(default)]
    pub state: Option<String>,
    /// History only: jump to a proposal id.
    #[serde(default)]
    pub id: Option<String>,
    /// History only: free text searched in ids, capabilities, tenants, object ids, principals,
    /// decision reasons and actors (the other filters then do not apply).
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
}

/// Longest search text, in bytes.
pub(crate) const MAX_SEARCH_BYTES: usize = 200;

/// Choices of the age filter, in minutes.
const AGES: [(&str, &str); 5] = [
    ("", "any age"),
    ("15", "older than 15 min"),
    ("60", "older than 1 hour"),
    ("1440", "older than 1 day"),
    ("10080", "older than 7 days"),
];

impl ListQuery {
    fn page(&self) -> Result<u32, String> {
        match self.page.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(1),
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| format!("page `{p}` is not a page number")),
        }
    }

    fn filter(&self, state: Option<String>) -> Result<RecordFilter, String> {
        let to = match self.older_than.as_deref().filter(|v| !v.is_empty()) {
            None => None,
            Some(m) => {
                let minutes = m
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 5_256_000)
                    .ok_or_else(|| format!("age `{m}` is not a number of minutes"))?;
                let cutoff = chrono::Utc::now() - chrono::Duration::minutes(i64::from(minutes));
                Some(LedgerTime::from_utc(cutoff))
            }
        };
        let page = self.page()?;
        Ok(RecordFilter {
            tenant: self.tenant.clone().filter(|v| !v.trim().is_empty()),
            outcome: state,
            capability: self.capability.clone().filter(|v| !v.is_empty()),
            to,
            limit: PAGE_SIZE,
            offset: (page - 1) * PAGE_SIZE,
            ..RecordFilter::default()
        })
    }

    /// This query as a URL query string, on page `page`.
    fn with_page(&self, page: u32) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("capability", &self.capability),
            ("tenant", &self.tenant),
            ("older_than", &self.older_than),
            ("state", &self.state),
            ("q", &self.q),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        parts.push(format!("page={page}"));
        parts.join("&")
    }
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn viewer<'a>(ui: &Ui, session: &'a Session) -> Viewer<'a> {
    let apply_with_approval = ui.opts.config.apply_step() == ApplyStep::WithApproval;
    match &ui.opts.reviewers {
        Reviewers::Single(actor) => Viewer {
            session,
            acting_as: Some(actor.name.clone()),
            operators: false,
            apply_with_approval,
        },
        Reviewers::Operators(_) => Viewer {
            session,
            acting_as: session.operator.clone(),
            operators: true,
            apply_with_approval,
        },
    }
}

fn ledger_error(viewer: &Viewer<'_>, e: &LedgerError) -> Response {
    let status = match e {
        LedgerError::NotFound { .. } | LedgerError::NoProposals => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_response(status, viewer, &e.to_string(), e.hint().unwrap_or_default())
}

/// The queue: proposals waiting for a decision.
pub(crate) async fn queue(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Query(q): Query<ListQuery>,
) -> Response {
    let viewer = viewer(&ui, &session);
    render_list(&ui, &viewer, &q, true).await
}

/// Every proposal, any state, filterable.
pub(crate) async fn history(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Query(q): Query<ListQuery>,
) -> Response {
    let viewer = viewer(&ui, &session);
    if let Some(id) = q.id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        return Redirect::to(&format!("/proposals/{}", encode(id))).into_response();
    }
    render_list(&ui, &viewer, &q, false).await
}

/// The queue (pending only) or the history (any state) page.
pub async fn render_list(ui: &Ui, viewer: &Viewer<'_>, q: &ListQuery, queue: bool) -> Response {
    let state = if queue {
        Some(ProposalState::PendingReview.as_str().to_owned())
    } else {
        q.state.clone().filter(|s| !s.is_empty())
    };
    if let Some(s) = &state
        && !ProposalState::ALL.iter().any(|k| k.as_str() == s)
    {
        return error_response(
            StatusCode::BAD_REQUEST,
            viewer,
            &format!("unknown state `{s}`"),
            "pick a state from the list",
        );
    }
    let filter = match q.filter(state) {
        Ok(f) => f,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                viewer,
                &e,
                "clear the filter and try again",
            );
        }
    };
    let ledger = &ui.opts.ledger;
    let search =
        q.q.as_deref()
            .map(str::trim)
            .filter(|t| !queue && !t.is_empty());
    if search.is_some_and(|t| t.len() > MAX_SEARCH_BYTES) {
        return error_response(
            StatusCode::BAD_REQUEST,
            viewer,
            &format!("the search text is longer than {MAX_SEARCH_BYTES} bytes"),
            "search for a shorter piece: an id, a name, a word of a reason",
        );
    }
    let found = match search {
        Some(text) => {
            ledger
                .search_proposals(text, filter.limit, filter.offset)
                .await
        }
        None => match (
            ledger.proposal_count(&filter).await,
            ledger.proposal_page(&filter).await.map(|p| p.items),
        ) {
            (Ok(t), Ok(r)) => Ok((t, r)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
    };
    let (total, rows) = match found {
        Ok(found) => found,
        Err(e) => return ledger_error(viewer, &e),
    };
    let page_no = q.page().unwrap_or(1);
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let (title, heading, path) = if queue {
        (
            format!("({total}) pending · Airlock review"),
            format!(
                "{total} pending proposal{}",
                if total == 1 { "" } else { "s" }
            ),
            "/",
        )
    } else {
        (
            "History · Airlock review".to_owned(),
            match search {
                Some(text) => format!(
                    "{total} proposal{} matching “{text}”",
                    if total == 1 { "" } else { "s" }
                ),
                None => format!("{total} proposal{}", if total == 1 { "" } else { "s" }),
            },
            "/history",
        )
    };
    let capabilities: Vec<&str> = ui
        .opts
        .config
        .capabilities
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let selected = |v: &Option<String>, want: &str| v.as_deref().unwrap_or("") == want;
    let body = html! {
        h1 #heading { (heading) }
        @if !queue {
            form.search method="get" action="/history" role="search" {
                label { "Search "
                    input #search name="q" type="search" maxlength=(MAX_SEARCH_BYTES) size="32"
                        value=(search.unwrap_or(""))
                        placeholder="proposal id, capability, tenant, object, reason, actor";
                }
                button type="submit" { "Search" }
                @if search.is_some() { " " a href="/history" { "clear" } }
            }
        }
        form.filters method="get" action=(path) {
            label { "Capability "
                select name="capability" {
                    option value="" { "any" }
                    @for c in &capabilities {
                        option value=(c) selected[selected(&q.capability, c)] { (c) }
                    }
                }
            }
            label { "Tenant " input name="tenant" value=(q.tenant.as_deref().unwrap_or("")) size="12"; }
            label { "Age "
                select name="older_than" {
                    @for (v, label) in AGES {
                        option value=(v) selected[selected(&q.older_than, v)] { (label) }
                    }
                }
            }
            @if !queue {
                label { "State "
                    select name="state" {
                        option value="" { "any" }
                        @for s in ProposalState::ALL {
                            option value=(s.as_str()) selected[selected(&q.state, s.as_str())] { (s.as_str()) }
                        }
                    }
                }
                label { "Proposal id " input name="id" size="24"; }
            }
            button type="submit" { "Filter" }
        }
        div #list data-live=[queue.then_some("queue")] {
            @if rows.is_empty() {
                p.empty { "Nothing here." @if queue { " Proposals an agent makes appear here." } }
            } @else {
                table.list {
                    thead { tr { th { "Proposal" } th { "State" } th { "Capability" } th { "Tenant" } th { "Object" } th { "Change" } th { "Proposed by" } th { "Created" } } }
                    tbody {
                        @for p in &rows { (row(p)) }
                    }
                }
            }
            nav.pages {
                @if page_no > 1 {
                    a rel="prev" href={(path) "?" (q.with_page(page_no - 1))} { "← newer" }
                }
                span { "page " (page_no) " of " (pages) }
                @if u64::from(page_no) < pages {
                    a rel="next" href={(path) "?" (q.with_page(page_no + 1))} { "older →" }
                }
            }
        }
    };
    page(&title, Some(viewer), body).into_response()
}

fn row(p: &StoredProposal) -> Markup {
    let change: Vec<String> = p
        .change_set
        .patch
        .iter()
        .map(|(c, v)| format!("{c} → {}", show(v)))
        .collect();
    html! {
        tr {
            td { a.pid href={"/proposals/" (p.proposal_id)} { (p.proposal_id) } }
            td { (state_chip(p.state.as_str())) }
            td { (p.action) }
            td { (p.tenant_id) }
            td { (p.business_object) ":" (p.object_id) }
            td { (change.join(", ")) }
            td { (p.principal) }
            td { time { (p.created_at) } }
        }
    }
}

/// One proposal.
pub(crate) async fn proposal(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let viewer = viewer(&ui, &session);
    proposal_page(&ui, &viewer, &id, StatusCode::OK, None).await
}

/// The proposal page, with the outcome of an action on top when there is one.
pub(crate) async fn proposal_page(
    ui: &Ui,
    viewer: &Viewer<'_>,
    id: &str,
    status: StatusCode,
    banner: Option<Markup>,
) -> Response {
    let replay = match ui.opts.ledger.replay(id).await {
        Ok(r) => r,
        Err(e) => return ledger_error(viewer, &e),
    };
    let p = &replay.proposal;
    let title = format!("{} · {} · Airlock review", p.action, p.object_id);
    (
        status,
        page(&title, Some(viewer), proposal_body(viewer, &replay, banner)),
    )
        .into_response()
}

fn proposal_body(viewer: &Viewer<'_>, replay: &Replay, banner: Option<Markup>) -> Markup {
    let p = &replay.proposal;
    let cs = &p.change_set;
    let created = replay.events.iter().find(|e| e.kind == "proposal_created");
    html! {
        @if let Some(b) = banner { (b) }
        h1 { (p.action) " " small { (p.business_object) ":" (p.object_id) } }
        p.meta {
            (state_chip(p.state.as_str())) " "
            code #proposal-id { (p.proposal_id) }
            " · tenant " strong { (p.tenant_id) }
            " · created " time { (p.created_at) }
        }
        section #diff {
            h2 { "The change" }
            p { (cs.source.schema) "." (cs.source.table) " where " code { (cs.source.primary_key.column) " = " (show(&cs.source.primary_key.value)) } }
            table.diff {
                thead { tr { th { "Column" } th { "Before (as the agent read it)" } th { "Proposed" } } }
                tbody {
                    @for (column, proposed) in &cs.patch {
                        @let before = cs.before.get(column).cloned().unwrap_or(Value::Null);
                        tr {
                            th { (column) }
                            td.before { del { (show(&before)) } }
                            td.after { ins { (show(proposed)) } }
                        }
                    }
                }
            }
            p { "Source database changed: " strong #mutated { @if p.source_database_mutated { "yes" } @else { "no" } } }
        }
        section #decide { (decision_forms(viewer, p)) }
        section #who {
            h2 { "Who proposed it" }
            dl {
                dt { "Principal" } dd { (cs.principal.id) " (" (cs.principal.source) ")" }
                @if let Some(e) = created {
                    dt { "Recorded by" } dd { (e.actor) }
                    @if let Some(client) = e.payload.get("client") {
                        dt { "Client" } dd { (show(client)) }
                    }
                }
                dt { "Mode" } dd { (cs.mode) }
            }
        }
        section #guards {
            h2 { "Guards checked again at apply" }
            dl {
                dt { "Tenant" } dd { code { (cs.guards.tenant.column) " = " (show(&cs.guards.tenant.value)) } }
                dt { "Allowed columns" } dd { (cs.guards.allowed_columns.join(", ")) }
                dt { "Conflict guard" } dd { code { (cs.guards.expected_version.column) " = " (show(&cs.guards.expected_version.value)) } " (the row must still hold this value)" }
                dt { "Primary key" } dd { code { (cs.source.primary_key.column) " = " (show(&cs.source.primary_key.value)) } }
                dt { "Approver role" } dd { (cs.approval.required_role.as_deref().unwrap_or("none required")) }
                dt { "Executor" } dd { (cs.writeback.executor) " (" (cs.writeback.mode) ")" }
                dt { "Proposal hash" } dd { code { (p.proposal_hash) } }
            }
        }
        section #evidence {
            h2 { "Evidence the agent saw" }
            @for ev in &replay.evidence {
                h3 { code { (ev.bundle.evidence_bundle_id) } " · " (ev.bundle.created_at) }
                p { "Row(s) as read:" }
                (json_block(&ev.bundle.items))
                details { summary { "Read context" } (json_block(&ev.bundle.payload)) }
                @for a in &ev.query_audit {
                    p.audit { "Query " code { (a.query_fingerprint) } " on " (a.table_name) ": " (a.row_count) " row(s) in " (a.duration_us) " µs" }
                }
            }
        }
        section #approvals {
            h2 { "Decisions" }
            @if replay.approvals.is_empty() { p { "None yet." } }
            ul {
                @for a in &replay.approvals {
                    li { strong { (a.status) } " by " (a.approver)
                        @if let Some(r) = &a.role { " (role " (r) ")" }
                        " at " time { (a.created_at) }
                        @if let Some(r) = &a.reason { ": " q { (r) } } }
                }
            }
        }
        section #receipts {
            h2 { "Receipts" }
            @if replay.receipts.is_empty() { p { "No apply yet." } }
            @for r in &replay.receipts {
                div.receipt {
                    p { (state_chip(r.status.as_str())) " receipt " code { "rct_" (format!("{:06}", r.receipt_id)) } " · " (r.receipt.rows_affected) " row(s) · source changed: " (if r.source_database_mutated { "yes" } else { "no" }) " · " time { (r.created_at) } }
                    p.small { "idempotency key " code { (r.idempotency_key) } }
                }
            }
        }
        section #timeline {
            h2 { "Replay timeline" }
            ol.timeline {
                @for e in &replay.events {
                    li { span.seq { "#" (e.seq) } " " time { (e.created_at) } " " strong { (e.kind) } " by " (e.actor) }
                }
            }
        }
    }
}

/// The forms a proposal in this state offers to this viewer.
fn decision_forms(viewer: &Viewer<'_>, p: &StoredProposal) -> Markup {
    let decidable = matches!(
        p.state,
        ProposalState::PendingReview | ProposalState::Conflict | ProposalState::Failed
    );
    let appliable = matches!(
        p.state,
        ProposalState::Approved | ProposalState::PendingWorker
    );
    let csrf = &viewer.session.csrf;
    let id = &p.proposal_id;
    html! {
        @if viewer.acting_as.is_none() && (decidable || appliable) {
            p.notice { "Sign in as an operator to decide on this proposal. " a href="/login" { "Sign in" } }
        } @else if decidable {
            h2 { "Decide" }
            div.forms {
                form #approve-form method="post" action={"/proposals/" (id) "/approve"} {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="proposal_hash" value=(p.proposal_hash);
                    label { "Reason (recorded) " textarea name="reason" required rows="2" {} }
                    label { "Type " code { (p.object_id) } " to confirm " input name="confirm" required autocomplete="off"; }
                    @if viewer.apply_with_approval {
                        p.note { "This team approves and applies in one step (review.apply: with_approval): the change is written to the source database right after the approval is recorded." }
                        button.approve #approve-and-apply type="submit" { "Approve and apply" }
                    } @else {
                        button.approve type="submit" { "Approve" }
                    }
                }
                form #reject-form method="post" action={"/proposals/" (id) "/reject"} {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="proposal_hash" value=(p.proposal_hash);
                    label { "Reason (recorded) " textarea name="reason" required rows="2" {} }
                    button.reject type="submit" { "Reject" }
                }
            }
        } @else if appliable {
            h2 { "Apply" }
            p { "Approved. Rehearse first: a dry run executes the update inside a transaction that is rolled back, and records nothing." }
            div.forms {
                form #dry-run-form method="post" action={"/proposals/" (id) "/dry-run"} {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Dry run" }
                }
                form #apply-form method="post" action={"/proposals/" (id) "/apply"} {
                    input type="hidden" name="csrf" value=(csrf);
                    label { input type="checkbox" name="confirm" value="apply" required; " write this change to the source database" }
                    button.approve type="submit" { "Apply" }
                }
            }
        }
    }
}

/// The ledger's verify status and counts.
pub(crate) async fn ledger(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
) -> Response {
    let viewer = viewer(&ui, &session);
    let l = &ui.opts.ledger;
    let (report, stats) = match (l.verify().await, l.stats().await) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => return ledger_error(&viewer, &e),
    };
    let body = html! {
        h1 { "Ledger" }
        @if report.ok {
            p.notice.good #verify { "Verified: " (report.events_checked) " events and " (report.records_checked) " records re-hashed; " (report.anchors_checked) " anchor(s) checked." }
        } @else {
            p.notice.bad #verify role="alert" { "Verification FAILED." }
        }
        @if let Some(b) = &report.first_break {
            p { "First break at event #" (b.seq) ": " code { (b.code) } " " (b.detail) }
        }
        dl {
            dt { "Ledger" } dd { code { (ui.opts.store_path.display()) } }
            dt { "Config" } dd { code { (ui.opts.config_path.display()) } }
            @if let Some(h) = &report.head { dt { "Chain head" } dd { "#" (h.seq) " " code { (h.hash) } } }
        }
        h2 { "Records" }
        (json_block(&stats))
    };
    page("Ledger · Airlock review", Some(&viewer), body).into_response()
}

/// The sign-in form.
pub(crate) async fn login(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
) -> Response {
    let viewer = viewer(&ui, &session);
    login_page(&ui, &viewer, StatusCode::OK, None)
}

pub(crate) fn login_page(
    ui: &Ui,
    viewer: &Viewer<'_>,
    status: StatusCode,
    problem: Option<&str>,
) -> Response {
    let names = ui.operators_with_secrets();
    let body = html! {
        h1 { "Sign in" }
        @if let Some(p) = problem { p.notice.bad role="alert" { (p) } }
        @match &ui.opts.reviewers {
            Reviewers::Single(actor) => {
                p { "The config declares no operators, so there is nothing to sign in to: decisions are recorded as " strong { (actor.name) } " (" (actor.source) ")." }
            }
            Reviewers::Operators(_) => {
                @if names.is_empty() {
                    p.notice.bad { "No declared operator has a sign-in secret. Set "
                        code { (crate::operator_secret_var("<name>")) } " for an operator in the environment of "
                        code { "airlock ui" } " and restart it." }
                } @else {
                    form #login-form method="post" action="/login" {
                        input type="hidden" name="csrf" value=(viewer.session.csrf);
                        label { "Operator "
                            select name="operator" { @for n in &names { option value=(n) { (n) } } }
                        }
                        label { "Secret " input type="password" name="secret" required autocomplete="current-password"; }
                        button type="submit" { "Sign in" }
                    }
                    p.small { "Each operator's secret is the value of " code { (crate::operator_secret_var("<name>")) } " in the environment of " code { "airlock ui" } "." }
                }
            }
        }
    };
    (status, page("Sign in · Airlock review", Some(viewer), body)).into_response()
}

pub(crate) async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/ui.css"),
    )
        .into_response()
}

pub(crate) async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/ui.js"),
    )
        .into_response()
}

pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        views::error_page(
            StatusCode::NOT_FOUND,
            "no such page",
            "start from the queue: /",
        ),
    )
        .into_response()
}
