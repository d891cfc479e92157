//! Resource bounds of the HTTP servers, applied in this order after authentication:
//!
//! 1. [`credential_layer`]: one credential may have at most N requests in progress (429
//!    beyond), counted from the end of its headers until its response body ends. With
//!    HTTP/1.1 a request in progress occupies its connection, so this also caps the
//!    connections one token can keep busy; idle keep-alive connections are closed by the
//!    header timeout.
//! 2. [`body_layer`]: the whole body must arrive within the body timeout (408) and fit the
//!    size limit (413). No in-flight slot is held while it arrives, so clients that stall
//!    mid-body cannot starve the others.
//! 3. [`limit_layer`]: a global bound on requests being handled (503 beyond) and a deadline
//!    to the response head (504). Both permits live until the response body ends, so
//!    streamed replies count too.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::auth::Caller;
use crate::transport::net::{HttpOptions, json_response, jsonrpc_error};

/// Shared counters and settings of the bounds.
pub(crate) struct Limits {
    in_flight: Arc<Semaphore>,
    request_timeout: Duration,
    body_timeout: Duration,
    max_body_bytes: usize,
    per_credential: usize,
    /// Credential identity → requests in progress.
    busy: Arc<Mutex<HashMap<String, usize>>>,
}

impl Limits {
    pub(crate) fn new(opts: &HttpOptions) -> Arc<Limits> {
        Arc::new(Limits {
            in_flight: Arc::new(Semaphore::new(opts.max_in_flight.max(1))),
            request_timeout: opts.request_timeout,
            body_timeout: opts.body_timeout,
            max_body_bytes: opts.max_body_bytes,
            per_credential: opts.max_in_flight_per_credential.max(1),
            busy: Arc::new(Mutex::new(HashMap::new())),
        })
    }
}

/// One request counted against its credential; uncounted when dropped.
struct CredentialSlot {
    busy: Arc<Mutex<HashMap<String, usize>>>,
    identity: String,
}

impl Drop for CredentialSlot {
    fn drop(&mut self) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = busy.get_mut(&self.identity) {
            *n -= 1;
            if *n == 0 {
                busy.remove(&self.identity);
            }
        }
    }
}

/// Caps the requests one credential has in progress (429 beyond). Runs after `auth_layer`.
pub(crate) async fn credential_layer(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    let identity = request
        .extensions()
        .get::<Caller>()
        .map(|c| c.identity.clone())
        .unwrap_or_default();
    let slot = {
        let mut busy = limits.busy.lock().unwrap_or_else(|p| p.into_inner());
        let n = busy.entry(identity.clone()).or_insert(0);
        if *n >= limits.per_credential {
            None
        } else {
            *n += 1;
            Some(CredentialSlot {
                busy: limits.busy.clone(),
                identity,
            })
        }
    };
    let Some(slot) = slot else {
        tracing::warn!(
            max = limits.per_credential,
            "request refused: too many requests in progress for this credential"
        );
        let mut response = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"ok": false, "error": "too_many_requests", "retryable": true}),
        );
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        return close_after(response);
    };
    hold_until_sent(next.run(request).await, slot)
}

/// Reads the whole body within the body timeout and size limit, then passes the request on
/// with the bytes in memory.
pub(crate) async fn body_layer(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    let max = limits.max_body_bytes;
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(max);
    }
    let (parts, body) = request.into_parts();
    let read = http_body_util::Limited::new(body, max).collect();
    let bytes = match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(max),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "request body could not be read");
            return close_after(jsonrpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32700,
                "The request body could not be read completely.",
            ));
        }
        Err(_) => {
            tracing::warn!(
                secs = limits.body_timeout.as_secs_f64(),
                "request refused: body not received in time"
            );
            return close_after(jsonrpc_error(
                StatusCode::REQUEST_TIMEOUT,
                Value::Null,
                -32600,
                format!(
                    "The request body did not arrive within {} s; send it at once.",
                    limits.body_timeout.as_secs_f64()
                ),
            ));
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn too_large(max: usize) -> Response {
    close_after(jsonrpc_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        Value::Null,
        -32600,
        format!("The request body exceeds {max} bytes."),
    ))
}

/// Marks a response as the last on its connection (its request body was not consumed).
fn close_after(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Bounds requests in flight (503 beyond) and the time to a response head (504). The permit
/// is held until the response body ends, so streamed replies count as in flight too.
pub(crate) async fn limit_layer(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(permit) = limits.in_flight.clone().try_acquire_owned() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ok": false, "error": "overloaded", "retryable": true}),
        );
    };
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => hold_until_sent(response, permit),
        Err(_) => json_response(
            StatusCode::GATEWAY_TIMEOUT,
            json!({"ok": false, "error": "request_timeout"}),
        ),
    }
}

/// Keeps `hold` alive until the response body is fully sent or dropped.
fn hold_until_sent<T: Send + Sync + Unpin + 'static>(response: Response, hold: T) -> Response {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::new(HoldBody { body, _hold: hold }))
}

struct HoldBody<T> {
    body: Body,
    _hold: T,
}

impl<T: Unpin> http_body::Body for HoldBody<T> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
