#!/usr/bin/env bash
# Runs every `airlock handler template` against real signed requests from the real `airlock`
# binary: generate the template, start it, propose → approve → apply --dry-run → apply through
# it (and, for HTTP templates, a wrong token refused and `doctor --check-handlers`).
#   python-fastapi  in a venv with fastapi + uvicorn (pip)
#   node-fastify    with `npm install fastify`
#   command         python3 (standard library)
#   rust-axum       the template compiled by the workspace (bin rust-axum-template), after
#                   checking the generated src/main.rs is that same file
# Outside CI, a missing python3/npm prints "SKIP ..." and the rest continues; under CI=true
# every template must run, and any problem fails loudly.
#   AIRLOCK_BIN   binary to test (default: build it into $CARGO_TARGET_DIR or ./target)
#   AIRLOCK_AXUM_TEMPLATE_BIN  the rust-axum template binary (default: build it likewise)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IN_CI="${CI:-}"
PASSED=0
FAILED=0
SKIPPED=0

skip_or_fail() {
  if [[ "$IN_CI" == "true" ]]; then
    echo "FAIL: $1 (required under CI=true)" >&2
    exit 1
  fi
  echo "SKIP $1"
  SKIPPED=$((SKIPPED + 1))
}

target="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$target" = /* ]] || target="$ROOT/$target"
if [[ -z "${AIRLOCK_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build -q -p airlock --bin airlock)
  export AIRLOCK_BIN="$target/debug/airlock"
fi
echo "== handler templates against $AIRLOCK_BIN"

if ! command -v python3 >/dev/null 2>&1; then
  skip_or_fail "templates: python3 not found (needed to set up the app database)"
  echo "0 passed, 0 failed, $SKIPPED skipped"
  exit 0
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

TOKEN="template-test-token"
SECRET="template-test-signing-secret"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
  local port="$1" pid="$2"
  for _ in $(seq 1 150); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}

# A project folder: app.db (SQLite) and airlock.json with one proposal capability using
# executor $2 (http or command).
setup_project() {
  local dir="$1" kind="$2"
  mkdir -p "$dir"
  python3 - "$dir/app.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, status TEXT NOT NULL,
  credit_requested_cents INTEGER NOT NULL DEFAULT 0, credit_reason TEXT, updated_at TEXT NOT NULL);
INSERT INTO invoices VALUES ('INV-1', 'acme', 'overdue', 0, NULL, '2026-06-20T14:31:08.000Z');
INSERT INTO invoices VALUES ('INV-2', 'acme', 'overdue', 0, NULL, '2026-06-20T14:31:08.000Z');
""")
c.commit()
PY
  local executor
  if [[ "$kind" == "http" ]]; then
    executor='{"type": "http_handler", "url_env": "HANDLER_URL", "method": "POST",
      "auth": {"type": "bearer_env", "token_env": "HANDLER_TOKEN"},
      "signing_secret_env": "HANDLER_SIGNING_SECRET", "timeout_ms": 5000}'
  else
    executor='{"type": "command_handler", "command_env": "HANDLER_COMMAND", "timeout_ms": 10000}'
  fi
  cat >"$dir/airlock.json" <<JSON
{
  "version": 1, "mode": "review",
  "storage": {"sqlite_path": "ledger.db"},
  "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
  "trusted_context": {"provider": "environment"},
  "operators": {"dana": {"roles": ["billing_lead"]}},
  "executors": {"app_handler": $executor},
  "capabilities": [{
    "name": "billing.propose_account_credit", "kind": "proposal", "source": "app",
    "executor": "app_handler",
    "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
    "args": {"invoice_id": {"type": "string", "max_length": 64},
             "amount_cents": {"type": "number", "minimum": 1, "maximum": 10000},
             "reason": {"type": "string", "max_length": 200}},
    "lookup": {"id_from_arg": "invoice_id"},
    "visible_columns": ["id", "status", "credit_requested_cents", "credit_reason", "updated_at"],
    "patch": {"credit_requested_cents": {"from_arg": "amount_cents"}, "credit_reason": {"from_arg": "reason"}},
    "allowed_columns": ["credit_requested_cents", "credit_reason"],
    "conflict_guard": {"column": "updated_at"},
    "approval": {"required_role": "billing_lead"}
  }]
}
JSON
}

# airlock in a project folder, with the agent's and the operator's environment.
al() {
  local dir="$1"
  shift
  (cd "$dir" && env SYNAPSOR_TENANT_ID=acme SYNAPSOR_PRINCIPAL=agent_7 AIRLOCK_ACTOR=dana "$AIRLOCK_BIN" "$@")
}

json_field() {
  python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k]
print(v if not isinstance(v,bool) else str(v).lower())' "$1"
}

propose_and_approve() {
  local dir="$1" invoice="$2" id
  id="$(al "$dir" propose billing.propose_account_credit --json "{\"invoice_id\":\"$invoice\",\"amount_cents\":1200,\"reason\":\"outage credit\"}" | json_field proposal_id)"
  al "$dir" proposals approve "$id" --actor dana --yes >/dev/null
  echo "$id"
}

# The code of doctor's handler check in a --json report.
handler_code() {
  echo "$1" | python3 -c 'import json,sys; v=json.load(sys.stdin)
print(next((c["code"] for c in v["checks"] if c["name"].startswith("handler:") and ":" not in c["name"][8:]), "none"))'
}

check() {
  local name="$1" want="$2" got="$3"
  if [[ "$want" == "$got" ]]; then
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name: expected $want, got $got" >&2
    FAILED=$((FAILED + 1))
  fi
}

# The flow every template must pass. $1 name, $2 project dir (env already exported).
exercise() {
  local t="$1" dir="$2" id out
  id="$(propose_and_approve "$dir" INV-1)"
  out="$(al "$dir" apply "$id" --dry-run --json)" || true
  check "$t dry run" "applied/true/false" \
    "$(echo "$out" | json_field status)/$(echo "$out" | json_field dry_run)/$(echo "$out" | json_field receipt.source_database_mutated)"
  out="$(al "$dir" apply "$id" --json)" || true
  check "$t apply" "applied/applied/true" \
    "$(echo "$out" | json_field status)/$(echo "$out" | json_field state)/$(echo "$out" | json_field receipt.source_database_mutated)"
  out="$(al "$dir" apply "$id" --json)" || true
  check "$t apply again" "already_applied" "$(echo "$out" | json_field status)"
  if [[ "${HANDLER_URL:-}" != "" ]]; then
    id="$(propose_and_approve "$dir" INV-2)"
    out="$(HANDLER_TOKEN=wrong-token al "$dir" apply "$id" --json)" || true
    check "$t wrong token" "failed/HANDLER_HTTP_401" \
      "$(echo "$out" | json_field status)/$(echo "$out" | json_field receipt.safe_error_code)"
    if echo "$out" | grep -q -e "$TOKEN" -e "$SECRET" -e wrong-token; then
      check "$t secrets stay out of output" "absent" "present"
    fi
  fi
  # doctor sends a signed probe (and one with a wrong secret the template must refuse).
  out="$(al "$dir" doctor --check-handlers --json)" || true
  check "$t doctor" "true/handler_probe_ok" "$(echo "$out" | json_field ok)/$(handler_code "$out")"
  if [[ "${HANDLER_URL:-}" != "" ]]; then
    out="$(HANDLER_SIGNING_SECRET=wrong-secret al "$dir" doctor --check-handlers --json)" || true
    check "$t doctor wrong secret" "false/handler_signature_refused" "$(echo "$out" | json_field ok)/$(handler_code "$out")"
  fi
  echo "ok   $t"
}

run_http() {
  local t="$1" dir="$2" port="$3"
  shift 3
  export HANDLER_URL="http://127.0.0.1:$port/airlock/writeback" HANDLER_TOKEN="$TOKEN" HANDLER_SIGNING_SECRET="$SECRET"
  AIRLOCK_HANDLER_TOKEN="$TOKEN" AIRLOCK_HANDLER_SIGNING_SECRET="$SECRET" PORT="$port" "$@" >"$dir/handler.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  if wait_port "$port" "$pid"; then
    exercise "$t" "$dir"
  else
    echo "FAIL $t: the handler did not start" >&2
    cat "$dir/handler.log" >&2
    FAILED=$((FAILED + 1))
  fi
  kill "$pid" 2>/dev/null || true
  unset HANDLER_URL HANDLER_TOKEN HANDLER_SIGNING_SECRET
}

# ------------------------------------------------------------------ python-fastapi
dir="$WORK/python-fastapi"
setup_project "$dir" http
al "$dir" handler template python-fastapi --output "$dir/handler.py" >/dev/null
venv="$HERE/python/.venv"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import fastapi, uvicorn' 2>/dev/null; then
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q -r "$HERE/python/requirements.txt"; }; then
    skip_or_fail "python-fastapi template: could not create the venv or install fastapi/uvicorn"
  fi
fi
if "$venv/bin/python" -c 'import fastapi, uvicorn' 2>/dev/null; then
  run_http python-fastapi "$dir" "$(free_port)" "$venv/bin/python" "$dir/handler.py"
fi

# ------------------------------------------------------------------ node-fastify
dir="$WORK/node-fastify"
setup_project "$dir" http
al "$dir" handler template node-fastify --output "$dir/handler.mjs" >/dev/null
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  if [[ ! -d "$HERE/node/node_modules/fastify" ]]; then
    if ! (cd "$HERE/node" && npm install --no-audit --no-fund --no-package-lock --loglevel=error fastify); then
      skip_or_fail "node-fastify template: npm install fastify failed"
    fi
  fi
  if [[ -d "$HERE/node/node_modules/fastify" ]]; then
    ln -s "$HERE/node/node_modules" "$dir/node_modules"
    run_http node-fastify "$dir" "$(free_port)" node "$dir/handler.mjs"
    # `init --emit-handler` for an http_handler: the config it writes and the handler it emits
    # (started with the variables .env.example names) pass doctor's signed probe.
    idir="$WORK/init-emit-http"
    setup_project "$idir" http
    rm "$idir/airlock.json"
    ln -s "$HERE/node/node_modules" "$idir/node_modules"
    al "$idir" init --url "$idir/app.db" --table invoices --mode review \
      --patch credit_reason=arg:reason --writeback http_handler --emit-handler \
      --single-tenant-dev --non-interactive --json >"$idir/init.json"
    port="$(free_port)"
    AIRLOCK_HANDLER_TOKEN="$TOKEN" AIRLOCK_HANDLER_SIGNING_SECRET="$SECRET" PORT="$port" \
      node "$idir/airlock-writeback-handler.mjs" >"$idir/handler.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if wait_port "$port" "$pid"; then
      out="$(cd "$idir" && env DATABASE_URL="$idir/app.db" SYNAPSOR_TENANT_ID=acme SYNAPSOR_PRINCIPAL=agent_7 \
        SYNAPSOR_APP_WRITEBACK_URL="http://127.0.0.1:$port/airlock/writeback" \
        SYNAPSOR_APP_WRITEBACK_TOKEN="$TOKEN" SYNAPSOR_APP_WRITEBACK_SIGNING_SECRET="$SECRET" \
        "$AIRLOCK_BIN" doctor --check-handlers --json)" || true
      check "init --emit-handler http doctor" "handler_probe_ok" "$(handler_code "$out")"
      echo "ok   init --emit-handler (http)"
    else
      echo "FAIL init --emit-handler: the emitted handler did not start" >&2
      cat "$idir/handler.log" >&2
      FAILED=$((FAILED + 1))
    fi
    kill "$pid" 2>/dev/null || true
  fi
else
  skip_or_fail "node-fastify template: node/npm not found"
fi

# ------------------------------------------------------------------ command
dir="$WORK/command"
setup_project "$dir" command
al "$dir" handler template command --output "$dir/handler.py" >/dev/null
[[ -x "$dir/handler.py" ]] || { echo "FAIL command: template not executable" >&2; FAILED=$((FAILED + 1)); }
HANDLER_COMMAND="python3 '$dir/handler.py'" AIRLOCK_COMMAND_HANDLER_STATE="$dir/state.json" exercise command "$dir"

# ------------------------------------------------------------------ rust-axum
dir="$WORK/rust-axum"
setup_project "$dir" http
al "$dir" handler template rust-axum --output "$dir/handler" >/dev/null
if cmp -s "$dir/handler/src/main.rs" "$ROOT/templates/rust-axum/main.rs" \
  && cmp -s "$dir/handler/Cargo.toml" "$ROOT/templates/rust-axum/Cargo.toml"; then
  PASSED=$((PASSED + 1))
else
  echo "FAIL rust-axum: the generated project differs from templates/rust-axum" >&2
  FAILED=$((FAILED + 1))
fi
if [[ -z "${AIRLOCK_AXUM_TEMPLATE_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build -q -p rust-axum-handler --bin rust-axum-template)
  AIRLOCK_AXUM_TEMPLATE_BIN="$target/debug/rust-axum-template"
fi
run_http rust-axum "$dir" "$(free_port)" "$AIRLOCK_AXUM_TEMPLATE_BIN"

echo "templates: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[[ "$FAILED" == 0 ]]
