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
#                          [--tool inspect|propose] [--observability ROUNDS]
#
# --observability ROUNDS replaces the three setups with ROUNDS pairs of runs on one replica,
# alternating observability off and on (`--metrics-listen`, scraped once a second, and traces
# sent over OTLP/HTTP to a sink that HAProxy answers with 200), to show what metrics and
# tracing cost in throughput.
#
# Every run also prints the CPU each part used per call (airlock, Postgres, wrk, HAProxy):
# on a machine where everything shares two cores, per-call CPU says what a replica would
# serve with cores of its own, and whether adding replicas made each call dearer.
#
# Needs wrk, haproxy, psql, curl and a local Postgres (FLEET_PG_ADMIN, default
# postgresql://postgres@127.0.0.1:5432/postgres). Build the binary in release mode first: a
# debug build measures the debug build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EXAMPLE="$ROOT/examples/fleet"
BIN="$ROOT/target/release/airlock"; CLIENTS=32; DURATION=10s; TOOL=inspect; OBS_ROUNDS=0
while [[ $# -gt 0 ]]; do case "$1" in
  --bin) BIN=$2; shift 2;; --clients) CLIENTS=$2; shift 2;; --duration) DURATION=$2; shift 2;;
  --tool) TOOL=$2; shift 2;; --observability) OBS_ROUNDS=$2; shift 2;;
  *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2;; esac; done
[[ -x "$BIN" ]] || { echo "no binary at $BIN: cargo build --release --workspace --bin airlock" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
for tool in wrk haproxy psql curl bc /usr/bin/time; do
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
LB_PORT=18900; PORTS=(18901 18902 18903); SINK_PORT=18904; METRICS_PORT=18905
WORK="$(mktemp -d)"
PIDS=(); LB=""; SINK=""; SCRAPER=""
cleanup() {
  for pid in "${PIDS[@]}" $LB $SINK $SCRAPER; do kill "$pid" 2>/dev/null || true; done
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

start_replica() {  # start_replica INDEX [EXTRA SERVE FLAGS…]
  local i=$1; shift
  (cd "$WORK" && exec "$BIN" --config airlock.json mcp serve-streamable-http --host 127.0.0.1 \
     --port "${PORTS[$i]}" --auth-token-env FLEET_TOKEN --max-in-flight 1024 \
     --max-in-flight-per-credential 1024 "$@" 2>"$WORK/replica$i.log") &
  PIDS[$i]=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:${PORTS[$i]}/readyz" >/dev/null && return; sleep 0.1; done
  echo "replica $i did not become ready:" >&2; cat "$WORK/replica$i.log" >&2; exit 1
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
  local lb_before=0; [[ -n "$LB" ]] && lb_before=$(cpu_s "$LB")
  local line times="$WORK/wrk.times"
  line=$(/usr/bin/time -f '%U %S' -o "$times" wrk -s "$ROOT/scripts/wrk/stateless.lua" \
      -c "$CLIENTS" -t 2 -d "$DURATION" "$url" | tail -1)
  printf '%-34s %s\n' "$label" "$line"
  local calls airlock pg lb client
  calls=$(awk -v d="${DURATION%s}" '{print int($2 * d)}' <<<"$line")
  airlock=$(echo "$(cpu_s "$@") - $before" | bc)
  pg=$(echo "$(pg_cpu) - $pg_before" | bc)
  lb=0; [[ -n "$LB" ]] && lb=$(echo "$(cpu_s "$LB") - $lb_before" | bc)
  client=$(awk '{print $1 + $2}' "$times")
  printf '%-34s CPU s: airlock %s, postgres %s, wrk %s, HAProxy %s\n' "" "$airlock" "$pg" "$client" "$lb"
  if [[ "$calls" -gt 0 ]]; then
    printf '%-34s CPU µs per call: airlock %s, postgres %s, wrk %s, HAProxy %s\n' "" \
      "$(echo "$airlock * 1000000 / $calls" | bc)" "$(echo "$pg * 1000000 / $calls" | bc)" \
      "$(echo "$client * 1000000 / $calls" | bc)" "$(echo "$lb * 1000000 / $calls" | bc)"
  fi
}

echo "== $MCP_TOOL, $CLIENTS clients, $DURATION each, $(basename "$(dirname "$BIN")") build, $(nproc) cores"
if [[ "$OBS_ROUNDS" -gt 0 ]]; then
  # The trace sink: HAProxy answering every OTLP POST with 200 at almost no CPU.
  cat > "$WORK/sink.cfg" <<EOF
global
    nbthread 1
defaults
    mode http
    timeout client 60s
frontend otlp
    bind 127.0.0.1:$SINK_PORT
    http-request return status 200
EOF
  haproxy -db -f "$WORK/sink.cfg" 2>"$WORK/sink.log" & SINK=$!
  for _ in $(seq 1 50); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$SINK_PORT/v1/traces")" == 200 ]] && break
    sleep 0.1
  done
  [[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$SINK_PORT/v1/traces")" == 200 ]] \
    || { echo "the trace sink did not answer:" >&2; cat "$WORK/sink.log" >&2; exit 1; }
  for round in $(seq 1 "$OBS_ROUNDS"); do
    for mode in off on; do
      if [[ $mode == on ]]; then
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT" \
          start_replica 0 --metrics-listen "127.0.0.1:$METRICS_PORT"
        ( while sleep 1; do curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null || true; done ) &
        SCRAPER=$!
      else
        start_replica 0
      fi
      wrk -s "$ROOT/scripts/wrk/stateless.lua" -c 4 -t 1 -d 2s "http://127.0.0.1:${PORTS[0]}/mcp" >/dev/null
      run "round $round, observability $mode" "http://127.0.0.1:${PORTS[0]}/mcp" "${PIDS[0]}"
      if [[ -n "$SCRAPER" ]]; then
        kill "$SCRAPER" 2>/dev/null || true; wait "$SCRAPER" 2>/dev/null || true; SCRAPER=""
        # Proof the "on" run exported: the receiver's count of accepted spans.
        printf '%-34s %s\n' "" "$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" \
          | grep -E '^airlock_trace_spans_(exported|dropped)_total' | tr '\n' ' ')"
      fi
      kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
    done
  done
  (cd "$WORK" && "$BIN" --config airlock.json ledger verify | head -2)
  exit 0
fi
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
