"""Airlock app-owned writeback handler (Python + FastAPI).

IMPORTANT: your app handler owns the final business write. Airlock has checked the proposal,
its approval and its guards; this handler must still make the write in ONE transaction that
(1) refuses a repeated idempotency key, (2) finds the row by primary key AND tenant, and
(3) checks the version the agent saw. Never trust the request to choose tables or columns:
map the action to the write you allow.

    pip install fastapi uvicorn
    AIRLOCK_HANDLER_TOKEN=... AIRLOCK_HANDLER_SIGNING_SECRET=... PORT=8787 \
        python airlock_writeback_handler.py

Executor config: {"type": "http_handler", "url_env": "APP_HANDLER_URL",
  "auth": {"type": "bearer_env", "token_env": "APP_HANDLER_TOKEN"},
  "signing_secret_env": "APP_HANDLER_SIGNING_SECRET"}
with APP_HANDLER_URL=http://127.0.0.1:8787/airlock/writeback. Contract: docs/handlers.md.
"""

import hashlib
import hmac
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TOKEN = os.environ.get("AIRLOCK_HANDLER_TOKEN", "")
SECRET = os.environ.get("AIRLOCK_HANDLER_SIGNING_SECRET", "")
WINDOW_SECONDS = 300  # issued-at may differ from now by at most this much

if not TOKEN and not SECRET:
    sys.exit("set AIRLOCK_HANDLER_TOKEN and/or AIRLOCK_HANDLER_SIGNING_SECRET")

_lock = threading.Lock()
# Signed requests already seen (replay protection), until their window ends.
# Several processes? Keep these in a shared store (Redis, a table).
_seen: dict[str, float] = {}
# DEMO ONLY: applied idempotency keys. Replace with a table written in the SAME transaction
# as the business change.
_applied: dict[str, dict] = {}

app = FastAPI()


def receipt(job, status, **extra):
    r = {
        "status": status,
        "rows_affected": 0,
        "source_database_mutated": False,
        "safe_error_code": None,
    }
    if job:
        r["proposal_id"] = job["proposal_id"]
        r["idempotency_key"] = job["idempotency_key"]
    r.update(extra)
    return r


def probe_answer(probe):
    """The answer to a verified probe (`airlock doctor --check-handlers`)."""
    return {"kind": "probe", "status": "ok", "probe_id": probe["probe_id"],
            "protocol_version": "1.0", "source_database_mutated": False}


def reject(http_status, code):
    return JSONResponse(receipt(None, "failed", safe_error_code=code), status_code=http_status)


def _hmac(data: bytes) -> str:
    return hmac.new(SECRET.encode(), data, hashlib.sha256).hexdigest()


def _eq(a, b) -> bool:
    return hmac.compare_digest(str(a).encode(), str(b).encode())


def _parse_time(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()


def normalize(body):
    """Accepts both shapes Airlock sends: the nested `change_set` and the flat Synapsor one."""
    if not isinstance(body, dict):
        return None
    cs = body["change_set"] if isinstance(body.get("change_set"), dict) else body
    target = cs.get("target") or body.get("target") or {}
    guards = cs.get("guards") or body.get("guards") or {}
    tenant = guards.get("tenant") or body.get("tenant_guard") or {}
    expected = guards.get("expected_version") or {}
    patch = cs.get("patch") or body.get("patch")
    scope = cs.get("scope") or {}
    pk = target.get("primary_key") or {}
    if not isinstance(body.get("proposal_id"), str) or not body["proposal_id"]:
        return None
    if not isinstance(body.get("idempotency_key"), str) or not body["idempotency_key"]:
        return None
    if not target.get("table") or not pk.get("column") or not tenant.get("column") or not expected.get("column"):
        return None
    if not isinstance(patch, dict) or not patch:
        return None
    return {
        "proposal_id": body["proposal_id"],
        "idempotency_key": body["idempotency_key"],
        "action": cs.get("action") or body.get("action"),
        "dry_run": body.get("dry_run") is True,
        "tenant_id": str(scope.get("tenant_id", tenant.get("value"))),
        "object_id": str(scope.get("object_id", pk.get("value"))),
        "target": target,
        "tenant": tenant,
        "expected": expected,
        "patch": patch,
    }


def verify(headers, raw: bytes):
    """Returns (job, None) or (None, rejection response)."""
    if TOKEN and not _eq(headers.get("authorization", ""), f"Bearer {TOKEN}"):
        return None, reject(401, "UNAUTHORIZED")
    issued = headers.get("x-synapsor-issued-at")
    pid = headers.get("x-synapsor-proposal-id")
    key = headers.get("idempotency-key")
    v2 = headers.get("x-airlock-signature")
    if SECRET:
        v1 = headers.get("x-synapsor-signature")
        if v1 is not None and not _eq(v1, "sha256=" + _hmac(raw)):
            return None, reject(401, "INVALID_SIGNATURE")
        if not (v2 and issued and pid and key):
            return None, reject(401, "INVALID_SIGNATURE")
        to_sign = "\n".join(["airlock-handler-v2", issued, pid, key, hashlib.sha256(raw).hexdigest()])
        if not _eq(v2, "v2=" + _hmac(to_sign.encode())):
            return None, reject(401, "INVALID_SIGNATURE")
        try:
            if abs(time.time() - _parse_time(issued)) > WINDOW_SECONDS:
                return None, reject(401, "INVALID_ISSUED_AT")
        except ValueError:
            return None, reject(401, "INVALID_ISSUED_AT")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return None, reject(400, "BAD_JSON")
    if not isinstance(body, dict):
        return None, reject(400, "BAD_WRITEBACK_REQUEST")
    if issued and body.get("issued_at") and body["issued_at"] != issued:
        return None, reject(401, "INVALID_ISSUED_AT")
    if (pid and body.get("proposal_id") != pid) or (key and body.get("idempotency_key") != key):
        return None, reject(400, "BAD_WRITEBACK_REQUEST")
    if body.get("protocol_version", "1.0") != "1.0":
        return None, reject(400, "UNSUPPORTED_PROTOCOL_VERSION")
    if body.get("kind") == "probe":
        # `airlock doctor --check-handlers`: a signed probe. Answer it; write nothing.
        probe_id = body.get("probe_id")
        if not isinstance(probe_id, str) or not probe_id or probe_id != body.get("proposal_id"):
            return None, reject(400, "BAD_WRITEBACK_REQUEST")
        job = {"probe_id": probe_id}
    else:
        job = normalize(body)
    if job is None:
        return None, reject(400, "BAD_WRITEBACK_REQUEST")
    if SECRET:
        now = time.time()
        with _lock:
            for sig in [s for s, until in _seen.items() if until < now]:
                del _seen[sig]
            if v2 in _seen:
                return None, reject(409, "REPLAYED_REQUEST")
            _seen[v2] = _parse_time(issued) + WINDOW_SECONDS
    return job, None


def apply_change(job):
    # ===================== YOUR TRANSACTION GOES HERE =====================
    # BEGIN;
    # 1. Idempotency: SELECT receipt FROM writeback_receipts WHERE idempotency_key = %s FOR UPDATE
    #    -> found: return receipt(job, "already_applied", ...its versions) and write nothing.
    with _lock:
        prior = _applied.get(job["idempotency_key"])
    if prior:
        return receipt(job, "already_applied",
                       previous_version=prior["previous_version"], new_version=prior["new_version"])
    # 2. Tenant: SELECT * FROM <table you own for job["action"]>
    #      WHERE <pk> = job["object_id"] AND <tenant column> = job["tenant_id"] FOR UPDATE
    #    -> no row: return receipt(job, "conflict", safe_error_code="ROW_NOT_FOUND_OR_WRONG_TENANT")
    # 3. Version: row[job["expected"]["column"]] must equal job["expected"]["value"]
    #    -> else: return receipt(job, "conflict", safe_error_code="ROW_CHANGED_AFTER_PROPOSAL",
    #                            previous_version=<current>)
    # 4. The business write (only the columns you allow for the action), with job["patch"].
    # 5. job["dry_run"] -> ROLLBACK and answer applied with rows_affected 0, nothing mutated.
    # 6. INSERT INTO writeback_receipts (idempotency_key, ...) ...; COMMIT;
    previous = job["expected"].get("value")
    if job["dry_run"]:
        return receipt(job, "applied", previous_version=previous, details={"dry_run": True})
    done = receipt(job, "applied", rows_affected=1, source_database_mutated=True,
                   previous_version=previous,
                   new_version=datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"))
    with _lock:
        _applied[job["idempotency_key"]] = done
    return done
    # ======================================================================


async def writeback(request: Request):
    raw = await request.body()
    if len(raw) > 1024 * 1024:
        return reject(413, "BAD_WRITEBACK_REQUEST")
    job, rejection = verify(request.headers, raw)
    if rejection is not None:
        return rejection
    if "probe_id" in job:
        return JSONResponse(probe_answer(job))
    try:
        # Every outcome is a receipt with HTTP 200, so Airlock records your safe_error_code.
        return JSONResponse(apply_change(job))
    except Exception:  # never return raw error text: it may carry data or credentials
        return JSONResponse(receipt(job, "failed", safe_error_code="HANDLER_EXCEPTION"))


app.add_api_route("/airlock/writeback", writeback, methods=["POST"])
app.add_api_route("/synapsor/writeback", writeback, methods=["POST"])  # Synapsor Runner's path


@app.get("/healthz")
def healthz():
    return {"ok": True}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8787")), log_level="warning")
