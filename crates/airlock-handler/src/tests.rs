use super::*;
use serde_json::json;

const TOKEN: &str = "handler-token";
const SECRET: &str = "signing-secret";

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A flat (Synapsor Runner) body with a nested change_set too, as Airlock sends.
fn body(issued_at: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "protocol_version": "1.0",
        "schema_version": "synapsor.handler-writeback.v1",
        "writeback_job_id": "wbj_wrp_1",
        "proposal_id": "wrp_1",
        "proposal_version": 1,
        "proposal_hash": "sha256:00",
        "action": "billing.propose_account_credit",
        "runner_hint": "airlock-local",
        "idempotency_key": "wrp_1:INV-1",
        "source": {"kind": "external_sqlite", "source_id": "app", "schema": "main", "table": "invoices",
                   "primary_key": {"column": "id", "value": "INV-1"}},
        "target": {"schema": "main", "table": "invoices", "primary_key": {"column": "id", "value": "INV-1"}},
        "tenant_guard": {"column": "tenant_id", "value": "acme"},
        "allowed_columns": ["credit_requested_cents"],
        "before": {"credit_requested_cents": 0},
        "patch": {"credit_requested_cents": 500},
        "after": {"credit_requested_cents": 500},
        "guards": {"tenant": {"column": "tenant_id", "value": "acme"}, "allowed_columns": ["credit_requested_cents"],
                   "expected_version": {"column": "updated_at", "value": "2026-06-20T14:31:08Z"}},
        "evidence": {"bundle_id": "ev_1", "query_fingerprint": "sha256:00", "items": []},
        "approval": {"status": "approved"},
        "source_database_mutated": false,
        "issued_at": issued_at,
        "executor": "app",
        "dry_run": false,
        "change_set": {
            "action": "billing.propose_account_credit",
            "scope": {"tenant_id": "acme", "object_id": "INV-1"},
            "principal": {"id": "agent_7", "source": "environment"},
            "target": {"schema": "main", "table": "invoices", "primary_key": {"column": "id", "value": "INV-1"}},
            "before": {"credit_requested_cents": 0},
            "patch": {"credit_requested_cents": 500},
            "after": {"credit_requested_cents": 500},
            "guards": {"tenant": {"column": "tenant_id", "value": "acme"}, "allowed_columns": ["credit_requested_cents"],
                       "expected_version": {"column": "updated_at", "value": "2026-06-20T14:31:08Z"}},
            "evidence": {"bundle_id": "ev_1", "query_fingerprint": "sha256:00", "items": []}
        }
    }))
    .unwrap()
}

fn verifier() -> Verifier {
    Verifier::new().bearer_token(TOKEN).signing_secret(SECRET)
}

fn set(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(k, _)| k != name);
    headers.push((name.to_owned(), value.to_owned()));
}

fn code(r: Result<WritebackRequest, Rejection>) -> &'static str {
    r.map(|_| "OK").unwrap_or_else(|e| e.code)
}

#[test]
fn a_signed_request_verifies_and_parses() {
    let b = body(&stamp(now()));
    let req = verifier()
        .verify(&sign_for_tests(&b, TOKEN, SECRET), &b)
        .unwrap();
    assert_eq!(req.proposal_id, "wrp_1");
    assert_eq!(req.tenant_id, "acme");
    assert_eq!(req.object_id, "INV-1");
    assert_eq!(req.principal.as_deref(), Some("agent_7"));
    assert_eq!(req.expected_version.column, "updated_at");
    assert_eq!(req.patch["credit_requested_cents"], json!(500));
    assert!(req.airlock_request().is_some());
}

#[test]
fn wrong_or_missing_token_is_unauthorized() {
    let b = body(&stamp(now()));
    let mut h = sign_for_tests(&b, TOKEN, SECRET);
    set(&mut h, "authorization", "Bearer nope");
    assert_eq!(code(verifier().verify(&h, &b)), "UNAUTHORIZED");
    h.retain(|(k, _)| k != "authorization");
    assert_eq!(code(verifier().verify(&h, &b)), "UNAUTHORIZED");
    set(&mut h, "authorization", &format!("bearer {TOKEN}"));
    assert_eq!(code(verifier().verify(&h, &b)), "UNAUTHORIZED");
}

#[test]
fn a_tampered_body_fails_both_signatures() {
    let b = body(&stamp(now()));
    let h = sign_for_tests(&b, TOKEN, SECRET);
    let tampered = String::from_utf8(b.clone())
        .unwrap()
        .replace("500", "900")
        .into_bytes();
    assert_eq!(code(verifier().verify(&h, &tampered)), "INVALID_SIGNATURE");
    // Without v1 the v2 signature (over the body hash) still catches it.
    let mut only_v2 = h.clone();
    only_v2.retain(|(k, _)| k != "x-synapsor-signature");
    assert_eq!(
        code(verifier().verify(&only_v2, &tampered)),
        "INVALID_SIGNATURE"
    );
}

#[test]
fn a_captured_body_with_a_fresh_timestamp_is_refused() {
    // Captured ten minutes ago, within no window any more.
    let old = stamp(now() - Duration::minutes(10));
    let b = body(&old);
    let mut h = sign_for_tests(&b, TOKEN, SECRET);
    assert_eq!(code(verifier().verify(&h, &b)), "INVALID_ISSUED_AT");
    // The attacker refreshes the header: v2 covers it.
    set(&mut h, "x-synapsor-issued-at", &stamp(now()));
    assert_eq!(code(verifier().verify(&h, &b)), "INVALID_SIGNATURE");
    // Even a verifier accepting v1-only requests refuses, because the body's issued_at is
    // under the v1 signature and must equal the header.
    h.retain(|(k, _)| k != "x-airlock-signature");
    let v1 = verifier().allow_v1_only(true);
    assert_eq!(code(v1.verify(&h, &b)), "INVALID_ISSUED_AT");
}

#[test]
fn stale_and_future_requests_are_refused() {
    for at in [
        now() - Duration::seconds(301),
        now() + Duration::seconds(301),
    ] {
        let b = body(&stamp(at));
        let h = sign_for_tests(&b, TOKEN, SECRET);
        assert_eq!(code(verifier().verify(&h, &b)), "INVALID_ISSUED_AT");
    }
    let b = body(&stamp(now() - Duration::seconds(200)));
    let h = sign_for_tests(&b, TOKEN, SECRET);
    assert_eq!(code(verifier().verify(&h, &b)), "OK");
    let narrow = verifier().freshness_window(std::time::Duration::from_secs(60));
    let b = body(&stamp(now() - Duration::seconds(200)));
    let h = sign_for_tests(&b, TOKEN, SECRET);
    assert_eq!(code(narrow.verify(&h, &b)), "INVALID_ISSUED_AT");
    let mut h = sign_for_tests(&body("yesterday"), TOKEN, SECRET);
    set(&mut h, "x-synapsor-issued-at", "yesterday");
    assert_eq!(
        code(verifier().verify(&h, &body("yesterday"))),
        "INVALID_ISSUED_AT"
    );
}

#[test]
fn a_replayed_request_is_refused_but_a_re_signed_retry_is_not() {
    let v = verifier();
    let b = body(&stamp(now()));
    let h = sign_for_tests(&b, TOKEN, SECRET);
    assert_eq!(code(v.verify(&h, &b)), "OK");
    let again = v.verify(&h, &b).unwrap_err();
    assert_eq!((again.code, again.http_status), ("REPLAYED_REQUEST", 409));
    // Airlock re-stamps and re-signs every attempt.
    std::thread::sleep(std::time::Duration::from_millis(2));
    let b2 = body(&stamp(now()));
    assert_eq!(
        code(v.verify(&sign_for_tests(&b2, TOKEN, SECRET), &b2)),
        "OK"
    );
}

#[test]
fn v1_only_requests_need_opting_in() {
    let b = body(&stamp(now()));
    let mut h = sign_for_tests(&b, TOKEN, SECRET);
    h.retain(|(k, _)| k != "x-airlock-signature");
    assert_eq!(code(verifier().verify(&h, &b)), "INVALID_SIGNATURE");
    assert_eq!(code(verifier().allow_v1_only(true).verify(&h, &b)), "OK");
    h.retain(|(k, _)| k != "x-synapsor-signature");
    assert_eq!(
        code(verifier().allow_v1_only(true).verify(&h, &b)),
        "INVALID_SIGNATURE"
    );
}

#[test]
fn headers_must_match_the_body() {
    let b = body(&stamp(now()));
    // A v2 signature made over other ids fails; unsigned mode checks the ids directly.
    let mut h = sign_for_tests(&b, TOKEN, SECRET);
    set(&mut h, "idempotency-key", "wrp_1:INV-2");
    assert_eq!(code(verifier().verify(&h, &b)), "INVALID_SIGNATURE");
    let unsigned = Verifier::new().bearer_token(TOKEN);
    assert_eq!(code(unsigned.verify(&h, &b)), "BAD_WRITEBACK_REQUEST");
}

#[test]
fn bad_bodies() {
    let t = Verifier::new().bearer_token(TOKEN);
    let auth = [("Authorization", "Bearer handler-token")];
    assert_eq!(code(t.verify(&auth, b"<xml/>")), "BAD_JSON");
    assert_eq!(code(t.verify(&auth, b"")), "BAD_WRITEBACK_REQUEST");
    let mut v: Value = serde_json::from_slice(&body("x")).unwrap();
    v.as_object_mut().unwrap().remove("issued_at");
    v["protocol_version"] = json!("2.0");
    assert_eq!(
        code(t.verify(&auth, &serde_json::to_vec(&v).unwrap())),
        "UNSUPPORTED_PROTOCOL_VERSION"
    );
    v["protocol_version"] = json!("1.0");
    v["change_set"]["patch"] = json!({"x; DROP": 1});
    assert_eq!(
        code(t.verify(&auth, &serde_json::to_vec(&v).unwrap())),
        "BAD_WRITEBACK_REQUEST"
    );
}

#[test]
fn the_documented_nested_shape_alone_is_accepted() {
    let v = json!({
        "proposal_id": "wrp_9", "idempotency_key": "wrp_9:7",
        "change_set": {"action": "a.b", "scope": {"tenant_id": "t1", "object_id": 7},
            "target": {"schema": "public", "table": "t", "primary_key": {"column": "id", "value": 7}},
            "patch": {"x": 1},
            "guards": {"tenant": {"column": "tenant_id", "value": "t1"}, "expected_version": {"column": "v", "value": 1}}}
    });
    let r = WritebackRequest::from_value(v).unwrap();
    assert_eq!((r.tenant_id.as_str(), r.object_id.as_str()), ("t1", "7"));
    assert!(r.airlock_request().is_none());
}

#[test]
fn handle_applies_once_and_receipts_validate() {
    let v = verifier();
    let mut calls = 0;
    for i in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = body(&stamp(now()));
        let (status, answer) = v.handle(&sign_for_tests(&b, TOKEN, SECRET), &b, |req| {
            calls += 1;
            req.applied(1, Some(json!("v1")), Some(json!("v2")))
        });
        assert_eq!(status, 200);
        let r = answer.receipt().unwrap();
        let want = if i == 0 {
            HandlerStatus::Applied
        } else {
            HandlerStatus::AlreadyApplied
        };
        assert_eq!(r.status, want);
        assert_eq!(r.new_version, Some(json!("v2")));
        assert_eq!(r.idempotency_key.as_deref(), Some("wrp_1:INV-1"));
    }
    assert_eq!(calls, 1);
    let (status, r) = v.handle(&[("authorization", "Bearer x")], b"{}", |_| unreachable!());
    let r = r.receipt().unwrap();
    assert_eq!(
        (status, r.safe_error_code.as_deref()),
        (401, Some("UNAUTHORIZED"))
    );
}

#[cfg(feature = "http")]
#[test]
fn header_map_lookup() {
    let mut m = http::HeaderMap::new();
    m.insert("X-Synapsor-Issued-At", "t".parse().unwrap());
    assert_eq!(m.header("x-synapsor-issued-at"), Some("t"));
}

/// A signed probe as Airlock sends it (`airlock doctor --check-handlers`).
fn probe_body(protocol: &str) -> (String, Vec<u8>) {
    let p = HandlerProbe::new("app", "airlock-local").with_issued_at(&stamp(now()));
    let mut v = serde_json::to_value(&p).unwrap();
    v["protocol_version"] = json!(protocol);
    (p.probe_id.clone(), serde_json::to_vec(&v).unwrap())
}

#[test]
fn probes_are_verified_and_answered_without_touching_the_app() {
    let v = verifier();
    let (id, b) = probe_body("1.0");
    let headers = sign_for_tests(&b, TOKEN, SECRET);
    match v.verify_incoming(&headers, &b).unwrap() {
        Incoming::Probe(p) => {
            assert_eq!(p.probe_id, id);
            let a = p.answer();
            let bytes = serde_json::to_vec(&a).unwrap();
            assert_eq!(
                airlock_protocol::handler::ProbeAnswer::check(&bytes, &id),
                Ok(a)
            );
        }
        other => panic!("{other:?}"),
    }
    // The same signed probe again is a replay; a wrong secret or token is refused.
    assert_eq!(
        v.verify_incoming(&headers, &b).unwrap_err().code,
        "REPLAYED_REQUEST"
    );
    let (_, b) = probe_body("1.0");
    for (token, secret, code) in [
        (TOKEN, "wrong", "INVALID_SIGNATURE"),
        ("wrong", SECRET, "UNAUTHORIZED"),
    ] {
        let e = v
            .verify_incoming(&sign_for_tests(&b, token, secret), &b)
            .unwrap_err();
        assert_eq!((e.http_status, e.code), (401, code));
    }
    // Another protocol version is refused as such.
    let (_, b) = probe_body("2.0");
    let e = v
        .verify_incoming(&sign_for_tests(&b, TOKEN, SECRET), &b)
        .unwrap_err();
    assert_eq!(
        (e.http_status, e.code),
        (400, "UNSUPPORTED_PROTOCOL_VERSION")
    );
    // `verify` (writebacks only) refuses a probe; `handle` answers it without applying.
    let (_, b) = probe_body("1.0");
    let e = v
        .verify(&sign_for_tests(&b, TOKEN, SECRET), &b)
        .unwrap_err();
    assert_eq!(e.code, "BAD_WRITEBACK_REQUEST");
    let (id, b) = probe_body("1.0");
    let (status, answer) = v.handle(&sign_for_tests(&b, TOKEN, SECRET), &b, |_| {
        unreachable!("a probe never reaches the app")
    });
    assert_eq!(status, 200);
    match answer {
        Answer::Probe(a) => assert_eq!(a.probe_id, id),
        other => panic!("{other:?}"),
    }
    // A probe whose ids disagree is malformed.
    let mut bad: Value = serde_json::from_slice(&probe_body("1.0").1).unwrap();
    bad["proposal_id"] = json!("wrp_1");
    let b = serde_json::to_vec(&bad).unwrap();
    assert_eq!(
        v.verify_incoming(&sign_for_tests(&b, TOKEN, SECRET), &b)
            .unwrap_err()
            .code,
        "BAD_WRITEBACK_REQUEST"
    );
}
