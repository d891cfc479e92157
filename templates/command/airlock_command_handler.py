#!/usr/bin/env python3
"""Airlock app-owned writeback command handler (Python 3, standard library only).

IMPORTANT: your app handler owns the final business write. Airlock has checked the proposal,
its approval and its guards; this program must still make the write in ONE transaction that
(1) refuses a repeated idempotency key, (2) finds the row by primary key AND tenant, and
(3) checks the version the agent saw. Never trust the request to choose tables or columns:
map the action to the write you allow.

Contract (docs/handlers.md): Airlock runs the command from the executor's `command_env`
(split into words like a shell, but no shell runs), writes ONE JSON line (the request) to
stdin and closes it, and reads ONE JSON receipt from stdout. Exit 0 whenever you printed a
receipt, including failed and conflict ones; a non-zero exit is recorded as
HANDLER_EXIT_<code>. Logs go to stderr (kept, redacted, with the apply report). Past the
executor's timeout_ms the whole process group is killed.

    chmod +x airlock_command_handler.py
    APP_APPLY_COMMAND="python3 /path/to/airlock_command_handler.py"
"""

import json
import os
import sys
from datetime import datetime, timezone

# DEMO ONLY: applied idempotency keys in a JSON file. Replace with a table written in the
# SAME transaction as the business change.
STATE_FILE = os.environ.get("AIRLOCK_COMMAND_HANDLER_STATE", "airlock-command-handler-state.json")


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


def normalize(body):
    """Accepts both shapes: the nested `change_set` and the flat Synapsor one."""
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


def load_state():
    try:
        with open(STATE_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def apply_change(job):
    # ===================== YOUR TRANSACTION GOES HERE =====================
    # BEGIN;
    # 1. Idempotency: SELECT receipt FROM writeback_receipts WHERE idempotency_key = ? FOR UPDATE
    #    -> found: return receipt(job, "already_applied", ...its versions) and write nothing.
    state = load_state()
    prior = state.get(job["idempotency_key"])
    if prior:
        return receipt(job, "already_applied",
                       previous_version=prior.get("previous_version"), new_version=prior.get("new_version"))
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
    state[job["idempotency_key"]] = done
    with open(STATE_FILE, "w") as f:
        json.dump(state, f)
    return done
    # ======================================================================


def main():
    try:
        body = json.loads(sys.stdin.readline() or "{}")
    except ValueError:
        print(json.dumps(receipt(None, "failed", safe_error_code="BAD_JSON")))
        return 0
    if isinstance(body, dict) and body.get("kind") == "probe":
        # `airlock doctor --check-handlers`: answer the probe; write nothing.
        if body.get("protocol_version", "1.0") != "1.0":
            print(json.dumps(receipt(None, "failed", safe_error_code="UNSUPPORTED_PROTOCOL_VERSION")))
            return 0
        print(json.dumps({"kind": "probe", "status": "ok", "probe_id": body.get("probe_id"),
                          "protocol_version": "1.0", "source_database_mutated": False}))
        return 0
    job = normalize(body)
    if job is None:
        print(json.dumps(receipt(None, "failed", safe_error_code="BAD_WRITEBACK_REQUEST")))
        return 0
    try:
        print(json.dumps(apply_change(job)))
    except Exception as e:  # the receipt carries only a safe code; details go to stderr
        print(f"handler error: {type(e).__name__}", file=sys.stderr)
        print(json.dumps(receipt(job, "failed", safe_error_code="HANDLER_EXCEPTION")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
