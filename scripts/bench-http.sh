#!/usr/bin/env bash
# Streamable HTTP throughput at N concurrent clients, measured with wrk (the Python harness
# saturates its own core long before the server does), on the support-billing-agent example
# against local Postgres. Prints one wrk summary line per tool: calls/s, p50, p99, errors.
#
#   scripts/bench-http.sh [--bin target/release/airlock] [--clients 32] [--duration 10s]
#                         [--sessions 32] [--skip-db-setup] [--perf FILE]
#
# A side-by-side figure with the original, so it runs on the original's example app and wrk
# harness: it needs ../shared beside the repo (compatibility tier; it exits 2 with a message
# without it), plus wrk (apt-get install wrk), curl and psql as the postgres superuser. --sessions 0 measures the stateless 2026-07-28 revision instead of sessions.
# --perf FILE records the server with `perf record -g` during the inspect run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="$ROOT/../shared"
BIN="$ROOT/target/release/airlock"; CLIENTS=32; DURATION=10s; SESSIONS=32; SETUP=1; PERF=""
PORT="${AIRLOCK_BENCH_PORT:-18767}"
while [[ $# -gt 0 ]]; do case "$1" in
  --bin) BIN=$2; shift 2;; --clients) CLIENTS=$2; shift 2;; --duration) DURATION=$2; shift 2;;
  --sessions) SESSIONS=$2; shift 2;; --skip-db-setup) SETUP=0; shift;; --perf) PERF=$2; shift 2;;
  *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2;; esac; done
[[ -x "$BIN" ]] || { echo "no binary at $BIN: cargo build --release -p airlock" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
[[ -d "$SHARED/conformance" && -d "$SHARED/bench" ]] || {
  echo "$SHARED/conformance and $SHARED/bench are absent: this side-by-side benchmark runs on the original's example app and harness" >&2
  exit 2
}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }

EXAMPLE="$SHARED/conformance/examples/support-billing-agent"
DB=airlock_bench_billing
psql_admin() { su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -d '$1'"; }
if [[ "$SETUP" == 1 ]]; then
  printf 'DROP DATABASE IF EXISTS %s;\nCREATE DATABASE %s;\n' "$DB" "$DB" | psql_admin postgres
  sed "s/synapsor_support_billing_agent/$DB/g" "$EXAMPLE/db/schema.sql" | psql_admin "$DB"
  psql_admin "$DB" < "$EXAMPLE/db/seed.sql"
fi

WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp "$EXAMPLE/synapsor.runner.json" "$WORK/"
export REFERENCE_POSTGRES_READ_URL="postgresql://synapsor_reader:synapsor_reader_password@127.0.0.1:5432/$DB"
export REFERENCE_POSTGRES_WRITE_URL="postgresql://synapsor_writer:synapsor_writer_password@127.0.0.1:5432/$DB"
export SYNAPSOR_TENANT_ID=acme SYNAPSOR_PRINCIPAL=bench_operator BENCH_TOKEN=bench-local-token

(cd "$WORK" && exec "$BIN" mcp serve-streamable-http --host 127.0.0.1 --port "$PORT" \
  --config synapsor.runner.json --store "$WORK/local.db" --auth-token-env BENCH_TOKEN \
  --max-sessions 256 2>"$WORK/server.log") &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
kill -0 "$SERVER" 2>/dev/null || { echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }

run() {  # run TOOL ARGS
  if [[ "$SESSIONS" == 0 ]]; then
    # The shared wrk script's stateless mode omits the _meta 2026-07-28 requires; ours sends it.
    MCP_TOKEN="$BENCH_TOKEN" MCP_TOOL="$1" MCP_ARGS="$2" wrk -s "$ROOT/scripts/wrk/stateless.lua" \
      -c "$CLIENTS" -t 2 -d "$DURATION" "http://127.0.0.1:$PORT/mcp" | tail -1
  else
    "$SHARED/bench/wrk/wrk_mcp.sh" --url "http://127.0.0.1:$PORT/mcp" --token-env BENCH_TOKEN \
      --tool "$1" --args "$2" --sessions "$SESSIONS" -c "$CLIENTS" -t 2 -d "$DURATION"
  fi
}
rss() { awk '/VmRSS|VmHWM/{printf "%s %d MiB  ", $1, $2/1024}' "/proc/$SERVER/status"; echo; }

echo "== idle: $(rss)"
if [[ -n "$PERF" ]]; then
  perf record -q -g -p "$SERVER" -o "$PERF" -- sleep "${DURATION%s}" 2>/dev/null &
  PERF_PID=$!
fi
echo "== billing.inspect_invoice, $CLIENTS clients, sessions=$SESSIONS"
run billing.inspect_invoice '{"invoice_id":"INV-3001"}'
[[ -n "$PERF" ]] && wait "$PERF_PID"
echo "== after inspect: $(rss)"
echo "== billing.propose_late_fee_waiver, $CLIENTS clients, sessions=$SESSIONS"
run billing.propose_late_fee_waiver '{"invoice_id":"INV-3001","reason":"wrk {seq}"}'
echo "== after proposals: $(rss)"
# How far the search index is behind right after the load stops (SQLite ledger, schema 9).
UNINDEXED="$("$BIN" ledger stats --store "$WORK/local.db" --json 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"].get("search_unindexed", "n/a"))' 2>/dev/null || echo n/a)"
echo "== search index: $UNINDEXED records not indexed yet"
