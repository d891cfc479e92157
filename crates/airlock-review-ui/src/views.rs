//! The page shell and small pieces every page uses.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use crate::security::Session;

/// Who the page is shown to, for the header.
pub(crate) struct Viewer<'a> {
    pub session: &'a Session,
    /// The name decisions are recorded under, if any (signed-in operator or the single actor).
    pub acting_as: Option<String>,
    /// Whether operators sign in (a sign-in / sign-out link is shown).
    pub operators: bool,
    /// `review.apply` is `with_approval`: approving also applies.
    pub apply_with_approval: bool,
}

/// A whole page.
pub(crate) fn page(title: &str, viewer: Option<&Viewer<'_>>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/ui.css";
                script src="/assets/ui.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "Airlock review" }
                    nav {
                        a href="/" { "Queue" }
                        a href="/history" { "History" }
                        a href="/ledger" { "Ledger" }
                    }
                    @if let Some(v) = viewer {
                        span.who {
                            @match &v.acting_as {
                                Some(name) => { "Reviewing as " strong #who { (name) } }
                                None => { "Not signed in" }
                            }
                            @if v.operators {
                                @if v.session.operator.is_some() {
                                    form.inline method="post" action="/logout" {
                                        input type="hidden" name="csrf" value=(v.session.csrf);
                                        button type="submit" { "Sign out" }
                                    }
                                } @else {
                                    " " a #sign-in href="/login" { "Sign in" }
                                }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string())
}

/// A page that explains a refusal or an error: what happened and what to do.
pub(crate) fn error_page(status: StatusCode, message: &str, hint: &str) -> Html<String> {
    page(
        &format!("{} · Airlock review", status.as_u16()),
        None,
        html! {
            section.notice.bad role="alert" {
                h1 { (status.canonical_reason().unwrap_or("Error")) }
                p.message { (message) }
                p.hint { (hint) }
            }
        },
    )
}

/// An error answer inside the session (with the header).
pub(crate) fn error_response(
    status: StatusCode,
    viewer: &Viewer<'_>,
    message: &str,
    hint: &str,
) -> Response {
    (
        status,
        page(
            &format!("{} · Airlock review", status.as_u16()),
            Some(viewer),
            html! {
                section.notice.bad role="alert" {
                    p.message { (message) }
                    @if !hint.is_empty() { p.hint { (hint) } }
                }
            },
        ),
    )
        .into_response()
}

/// A JSON value as a reader sees it: strings quoted, `null` spelled out.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// A state as a chip.
pub(crate) fn state_chip(state: &str) -> Markup {
    html! { span class={"chip state-" (state)} { (state) } }
}

/// Pretty JSON in a `<pre>`.
pub(crate) fn json_block(v: &impl serde::Serialize) -> Markup {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    html! { pre.json { (text) } }
}
