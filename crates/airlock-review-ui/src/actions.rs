//! The actions (POST): approve, reject, dry run, apply, sign in, sign out. Each checks the
//! session's CSRF token first; decisions and applies run the CLI's functions
//! (`approval::decide`, `apply::run`), never a copy of their rules.

use std::sync::Arc;

use airlock_ledger::{Actor, LedgerError};
use airlock_writeback::apply::{self, ApplyError, ApplyReport};
use airlock_writeback::approval::{self, DecideError, Verdict};
use axum::extract::{Extension, Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::pages::{login_page, proposal_page, viewer};
use crate::security::{Session, operator_secret_ok, session_cookie};
use crate::views::{Viewer, error_response};
use crate::{Reviewers, Ui};

#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    /// The hash of the proposal the person was shown.
    #[serde(default)]
    proposal_hash: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    operator: String,
    #[serde(default)]
    secret: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn csrf_refused(viewer: &Viewer<'_>) -> Response {
    error_response(
        StatusCode::FORBIDDEN,
        viewer,
        "refused: the form's CSRF token is missing or not this session's",
        "reload the page and submit its form again",
    )
}

/// The actor a decision or apply is recorded under, or the answer when there is none.
fn acting(ui: &Ui, session: &Session) -> Option<Actor> {
    match &ui.opts.reviewers {
        Reviewers::Single(actor) => Some(actor.clone()),
        Reviewers::Operators(_) => session.operator.as_ref().map(|name| Actor {
            name: name.clone(),
            source: "ui:sign-in".into(),
        }),
    }
}

fn not_signed_in(viewer: &Viewer<'_>) -> Response {
    error_response(
        StatusCode::FORBIDDEN,
        viewer,
        "sign in as an operator to decide or apply",
        "use Sign in at the top of the page",
    )
}

fn banner(good: bool, title: &str, lines: &[String]) -> maud::Markup {
    html! {
        section #outcome class={"notice " (if good { "good" } else { "bad" })} role="status" {
            p.message { strong { (title) } }
            @for l in lines { p { (l) } }
        }
    }
}

pub(crate) async fn approve(
    state: State<Arc<Ui>>,
    session: Extension<Session>,
    id: Path<String>,
    form: Form<DecisionForm>,
) -> Response {
    decide(state, session, id, form, Verdict::Approve).await
}

pub(crate) async fn reject(
    state: State<Arc<Ui>>,
    session: Extension<Session>,
    id: Path<String>,
    form: Form<DecisionForm>,
) -> Response {
    decide(state, session, id, form, Verdict::Reject).await
}

async fn decide(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
    verdict: Verdict,
) -> Response {
    let viewer = viewer(&ui, &session);
    if !session.csrf_ok(&form.csrf) {
        return csrf_refused(&viewer);
    }
    let Some(actor) = acting(&ui, &session) else {
        return not_signed_in(&viewer);
    };
    let (ui_ref, viewer_ref, id_ref) = (&*ui, &viewer, id.as_str());
    let refuse = move |message: String, hint: String| async move {
        let b = banner(false, "Nothing was recorded.", &[message, hint]);
        proposal_page(
            ui_ref,
            viewer_ref,
            id_ref,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(b),
        )
        .await
    };
    let reason = form.reason.trim().to_owned();
    if reason.is_empty() {
        return refuse(
            "a decision needs a reason".into(),
            "write why in the reason box".into(),
        )
        .await;
    }
    if reason.len() > 2000 {
        return refuse(
            format!(
                "the reason is {} bytes; at most 2000 are kept",
                reason.len()
            ),
            "shorten it".into(),
        )
        .await;
    }
    let proposal = match ui.opts.ledger.proposal(&id).await {
        Ok(p) => p,
        Err(e) => return refuse(e.to_string(), e.hint().unwrap_or_default().into()).await,
    };
    if verdict == Verdict::Approve && form.confirm.trim() != proposal.object_id {
        return refuse(
            format!(
                "the confirmation does not match: type `{}` to approve",
                proposal.object_id
            ),
            "type the object id shown next to the box".into(),
        )
        .await;
    }
    if form.proposal_hash != proposal.proposal_hash {
        return refuse(
            "the proposal changed since this page was shown".into(),
            "review the page again before deciding".into(),
        )
        .await;
    }
    let decided = approval::decide(
        ui.opts.ledger.as_ref(),
        &ui.opts.config,
        &proposal,
        &actor,
        verdict,
        Some(reason),
    )
    .await;
    match decided {
        Ok(d) => {
            let verb = match verdict {
                Verdict::Approve => "Approved",
                Verdict::Reject => "Rejected",
            };
            let mut lines = vec![format!(
                "{verb} by {}{}.",
                actor.name,
                d.authorized
                    .role
                    .as_ref()
                    .map(|r| format!(" (role {r})"))
                    .unwrap_or_default()
            )];
            if let Some(w) = &d.authorized.warning {
                lines.push(w.clone());
            }
            let approved = banner(true, verb, &lines);
            if verdict == Verdict::Approve && viewer.apply_with_approval {
                // One step (review.apply: with_approval): the same apply as the Apply button.
                let (status, applied) = apply_now(&ui, &actor, &id, false).await;
                let both = html! { (approved) (applied) };
                return proposal_page(&ui, &viewer, &id, status, Some(both)).await;
            }
            proposal_page(&ui, &viewer, &id, StatusCode::OK, Some(approved)).await
        }
        Err(DecideError::Refused(e)) => {
            let b = banner(
                false,
                "Refused; nothing was recorded.",
                &[e.to_string(), e.hint()],
            );
            proposal_page(&ui, &viewer, &id, StatusCode::FORBIDDEN, Some(b)).await
        }
        Err(DecideError::Ledger(e)) => ledger_refusal(&ui, &viewer, &id, &e).await,
    }
}

async fn ledger_refusal(ui: &Ui, viewer: &Viewer<'_>, id: &str, e: &LedgerError) -> Response {
    let b = banner(
        false,
        "Nothing was recorded.",
        &[e.to_string(), e.hint().unwrap_or_default().to_owned()],
    );
    proposal_page(ui, viewer, id, StatusCode::CONFLICT, Some(b)).await
}

pub(crate) async fn dry_run(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    run_apply(&ui, &session, &id, &form.csrf, true).await
}

pub(crate) async fn apply(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Response {
    let viewer = viewer(&ui, &session);
    if form.confirm != "apply" {
        if !session.csrf_ok(&form.csrf) {
            return csrf_refused(&viewer);
        }
        let b = banner(
            false,
            "Not applied.",
            &["tick the box to confirm the write".into()],
        );
        return proposal_page(&ui, &viewer, &id, StatusCode::UNPROCESSABLE_ENTITY, Some(b)).await;
    }
    run_apply(&ui, &session, &id, &form.csrf, false).await
}

async fn run_apply(ui: &Ui, session: &Session, id: &str, csrf: &str, dry_run: bool) -> Response {
    let viewer = viewer(ui, session);
    if !session.csrf_ok(csrf) {
        return csrf_refused(&viewer);
    }
    let Some(actor) = acting(ui, session) else {
        return not_signed_in(&viewer);
    };
    let (status, b) = apply_now(ui, &actor, id, dry_run).await;
    proposal_page(ui, &viewer, id, status, Some(b)).await
}

/// Applies (or rehearses) an approved proposal as `actor` through `apply::run`, the CLI's
/// apply; the status and the banner that reports it.
async fn apply_now(ui: &Ui, actor: &Actor, id: &str, dry_run: bool) -> (StatusCode, maud::Markup) {
    let setup = &ui.opts.apply;
    let result = apply::run(
        ui.opts.ledger.as_ref(),
        &ui.opts.config,
        &setup.env,
        &setup.base_dir,
        apply::ApplyRequest {
            proposal_id: id,
            job_file: None,
            project: &setup.project,
            runner_id: &setup.runner_id,
            actor,
            dry_run,
        },
    )
    .await;
    match result {
        Ok(report) => outcome(&report),
        Err(e) => (
            StatusCode::CONFLICT,
            banner(
                false,
                if dry_run {
                    "Dry run not run."
                } else {
                    "Not applied."
                },
                &[e.to_string(), hint(&e)],
            ),
        ),
    }
}

fn hint(e: &ApplyError) -> String {
    e.hint().unwrap_or_default()
}

fn outcome(r: &ApplyReport) -> (StatusCode, maud::Markup) {
    let title = r.headline();
    let mut lines = vec![
        r.detail.clone(),
        format!(
            "Rows: {} · source database changed: {}",
            r.receipt.rows_affected,
            if r.receipt.source_database_mutated {
                "yes"
            } else {
                "no"
            }
        ),
    ];
    if let Some(code) = &r.receipt.safe_error_code {
        lines.push(format!("Code: {code}"));
    }
    if r.approval_stands() {
        lines.push("The approval stands; apply again to retry.".into());
    }
    let good = r.status.is_applied();
    (
        if good {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        },
        banner(good, &title, &lines),
    )
}

pub(crate) async fn login(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Form(form): Form<LoginForm>,
) -> Response {
    let viewer = viewer(&ui, &session);
    if !session.csrf_ok(&form.csrf) {
        return csrf_refused(&viewer);
    }
    if !operator_secret_ok(&ui.opts.reviewers, &form.operator, &form.secret) {
        tracing::warn!(operator = %form.operator, "review UI: sign-in refused");
        return login_page(
            &ui,
            &viewer,
            StatusCode::UNAUTHORIZED,
            Some("that operator and secret do not match"),
        );
    }
    // A new session on sign-in: an id seen before signing in is worth nothing after.
    ui.security.end(&session.id);
    let fresh = ui.security.start(Some(form.operator.clone()));
    tracing::info!(operator = %form.operator, "review UI: operator signed in");
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&fresh.id));
    res
}

pub(crate) async fn logout(
    State(ui): State<Arc<Ui>>,
    Extension(session): Extension<Session>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let viewer = viewer(&ui, &session);
    if !session.csrf_ok(&form.csrf) {
        return csrf_refused(&viewer);
    }
    ui.security.end(&session.id);
    // Still holding the run's link lets the person in again (read-only until signing in).
    let fresh = ui.security.start(None);
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&fresh.id));
    res
}
