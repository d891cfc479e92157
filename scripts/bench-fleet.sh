#!/usr/bin/env bash
# Fleet throughput: stateless (2026-07-28) inspect calls at N clients with wrk, on the
# examples/fleet app with the Postgres ledger, against
#   1. one replica directly,
#   2. one replica behind HAProxy (the balancer's own cost),
#   3. three replicas behind HAProxy.
# Prints one wrk summary line per run (calls/s, p50, p99, errors) and the CPU seconds each
# process used, so it shows whether the replicas, the balancer or Postgres ran out first.
#
#   scripts/bench-fleet.sh [--bin target/release/airlock] [--clients 32] [--duration 10s]
#                          [--tool inspect|propose]
#
# Needs wrk, haproxy, psql, curl and a local Postgres (FLEET_PG_ADMIN, default
# postgresql://postgres@127.0.0.1:5432/postgres). Build the binary in release mode first: a
# debug build measures the debug build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EXAMPLE="$ROOT/examples/fleet"
BIN="$ROOT/target/release/airlock"; CLIENTS=32; DURATION=10s; TOOL=inspect
while [[ $# -gt 0 ]]; do case "$1" in
  --bin) BIN=$2; shift 2;; --clients) CLIENTS=$2; shift 2;; --duration) DURATION=$2; shift 2;;
  --tool) TOOL=$2; shift 2;;
  *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2;; esac; done
[[ -x "$BIN" ]] || { echo "no binary at $BIN: cargo build --release --workspace --bin airlock" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
for tool in wrk haproxy psql curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install -y $tool)" >&2; exit 2; }
done
case "$TOOL" in
  inspect) MCP_TOOL=billing.inspect_invoice; MCP_ARGS='{"invoice_id":"INV-3"}';;
  propose) MCP_TOOL=billing.propose_late_fee_waiver; MCP_ARGS='{"invoice_id":"INV-3","reason":"wrk {seq}"}';;
  *) echo "--tool is inspect or propose" >&2; exit 2;;
esac
export MCP_TOOL MCP_ARGS

ADMIN="${FLEET_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"
DB=airlock_fleet_bench
DB_URL="${ADMIN%/*}/$DB"
LB_PORT=18900; PORTS=(18901 18902 18903)
WORK="$(mktemp -d)"
PIDS=(); LB=""
cleanup() {
  for pid in "${PIDS[@]}" $LB; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -X -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" -f "$EXAMPLE/app.sql"
export AIRLOCK_LEDGER_URL="$DB_URL" BILLING_READ_URL="$DB_URL" BILLING_WRITE_URL="$DB_URL"
export FLEET_TOKEN=fleet-bench-token FLEET_TENANT=acme FLEET_AGENT=bench MCP_TOKEN=fleet-bench-token
cp "$EXAMPLE/airlock.json" "$WORK/airlock.json"

start_replica() {  # start_replica INDEX
  (cd "$WORK" && exec "$BIN" --config airlock.json mcp serve-streamable-http --host 127.0.0.1 \
     --port "${PORTS[$1]}" --auth-token-env FLEET_TOKEN --max-in-flight 1024 \
     --max-in-flight-per-credential 1024 2>"$WORK/replica$1.log") &
  PIDS[$1]=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:${PORTS[$1]}/readyz" >/dev/null && return; sleep 0.1; done
  echo "replica $1 did not become ready:" >&2; cat "$WORK/replica$1.log" >&2; exit 1
}
start_lb() {  # start_lb N: HAProxy over the first N replicas
  local servers=""
  for i in $(seq 0 $(($1 - 1))); do
    servers+="    server r$i 127.0.0.1:${PORTS[$i]} check"$'\n'
  done
  cat > "$WORK/haproxy.cfg" <<EOF
global
    maxconn 4096
    nbthread 1
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
frontend mcp
    bind 127.0.0.1:$LB_PORT
    default_backend airlock
backend airlock
    balance roundrobin
    option httpchk
    # HTTP/1.1 with a Host header: Airlock refuses requests without an allowed Host.
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server inter 2s fall 3 rise 1
$servers
EOF
  [[ -n "$LB" ]] && { kill "$LB" 2>/dev/null || true; wait "$LB" 2>/dev/null || true; }
  haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log" &
  LB=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$LB_PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "HAProxy did not answer:" >&2; cat "$WORK/haproxy.log" >&2; exit 1
}
cpu_s() {  # cpu_s PID…: user+system CPU seconds so far
  local total=0
  for pid in "$@"; do
    [[ -r "/proc/$pid/stat" ]] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "scale=1; $total / $(getconf CLK_TCK)" | bc
}
pg_cpu() { cpu_s $(pgrep -x postgres); }
run() {  # run LABEL URL PIDS…
  local label=$1 url=$2; shift 2
  local before pg_before
  before=$(cpu_s "$@"); pg_before=$(pg_cpu)
  local line
  line=$(wrk -s "$ROOT/scripts/wrk/stateless.lua" -c "$CLIENTS" -t 2 -d "$DURATION" "$url" | tail -1)
  printf '%-34s %s\n' "$label" "$line"
  printf '%-34s airlock CPU %ss, postgres CPU %ss, HAProxy CPU %ss\n' "" \
    "$(echo "$(cpu_s "$@") - $before" | bc)" "$(echo "$(pg_cpu) - $pg_before" | bc)" \
    "$( [[ -n "$LB" ]] && cpu_s "$LB" || echo 0)"
}

echo "== $MCP_TOOL, $CLIENTS clients, $DURATION each, $(basename "$(dirname "$BIN")") build, $(nproc) cores"
start_replica 0
# Warm the pools and the ledger's first writer chain.
wrk -s "$ROOT/scripts/wrk/stateless.lua" -c 4 -t 1 -d 2s "http://127.0.0.1:${PORTS[0]}/mcp" >/dev/null
run "1 replica, direct" "http://127.0.0.1:${PORTS[0]}/mcp" "${PIDS[0]}"
start_lb 1
run "1 replica behind HAProxy" "http://127.0.0.1:$LB_PORT/mcp" "${PIDS[0]}"
start_replica 1
start_replica 2
start_lb 3
run "3 replicas behind HAProxy" "http://127.0.0.1:$LB_PORT/mcp" "${PIDS[@]}"
(cd "$WORK" && "$BIN" --config airlock.json ledger stats | sed -n '1,4p')
(cd "$WORK" && "$BIN" --config airlock.json ledger verify | head -2)
