#!/usr/bin/env bash
# Soak: MINUTES of mixed MCP calls (4 reads : 1 proposal) from CLIENTS HTTP clients against the
# demo app (embedded SQLite, no services), while a reviewer loop approves and applies proposals
# from the CLI every few seconds. Prints one line per WINDOW: calls/s, p50, p99, errors (HTTP,
# transport or tool errors), server RSS, and the reviewer loop's approvals/applies/failures.
# Exit 1 when any error was seen.
#
#   scripts/soak.sh [--bin target/release/airlock] [--minutes 10] [--clients 32] [--window 30]
#
# Needs wrk (apt-get install wrk) and curl. Targets: 0 errors; p99 and RSS flat over time.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/target/release/airlock"; MINUTES=10; CLIENTS=32; WINDOW=30
PORT="${AIRLOCK_SOAK_PORT:-18769}"
while [[ $# -gt 0 ]]; do case "$1" in
  --bin) BIN=$2; shift 2;; --minutes) MINUTES=$2; shift 2;; --clients) CLIENTS=$2; shift 2;;
  --window) WINDOW=$2; shift 2;;
  *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2;; esac; done
[[ -x "$BIN" ]] || { echo "no binary at $BIN: cargo build --release -p airlock" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }

WORK="$(mktemp -d)"; SERVER=""; REVIEWER=""
cleanup() { kill $SERVER $REVIEWER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN" demo --dir "$WORK/demo" --json --no-pause >/dev/null
export SOAK_TOKEN="soak-local-token-$RANDOM$RANDOM"
cd "$WORK/demo"
"$BIN" mcp serve-streamable-http --host 127.0.0.1 --port "$PORT" --config airlock.json \
  --auth-token-env SOAK_TOKEN 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
kill -0 "$SERVER" 2>/dev/null || { echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }

# The reviewer: approve the newest pending proposal and apply it. A conflict (exit 1 with a
# conflict receipt) is a normal outcome under load; anything else counts as a failure.
reviewer() {
  local approved=0 applied=0 failed=0
  while true; do
    local id
    id=$("$BIN" proposals list --config airlock.json --json 2>/dev/null \
      | python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin).get("proposals",[]) if x.get("state")=="pending_review"]; print(p[0]["proposal_id"] if p else "")' || true)
    if [[ -n "$id" ]]; then
      if "$BIN" proposals approve "$id" --config airlock.json --actor dana --reason soak --yes --json >/dev/null 2>>"$WORK/reviewer.log"; then
        approved=$((approved + 1))
        out=$("$BIN" apply "$id" --config airlock.json --actor dana --json 2>>"$WORK/reviewer.log" || true)
        case "$out" in
          *'"applied"'*|*'"already_applied"'*|*'"conflict"'*) applied=$((applied + 1));;
          *) failed=$((failed + 1)); echo "apply $id: $out" >>"$WORK/reviewer.log";;
        esac
      else
        failed=$((failed + 1))
      fi
    fi
    echo "$approved $applied $failed" >"$WORK/reviewer.counts"
    sleep 2
  done
}
echo "0 0 0" >"$WORK/reviewer.counts"
reviewer &
REVIEWER=$!

rss() { awk '/VmRSS/{printf "%d", $2/1024}' "/proc/$SERVER/status"; }
windows=$(( MINUTES * 60 / WINDOW ))
total_errors=0
printf '%-7s %10s %9s %9s %7s %8s %s\n' window calls/s p50_ms p99_ms errors rss_MiB "approved/applied/failed"
printf '%-7s %10s %9s %9s %7s %8s\n' idle - - - - "$(rss)"
for w in $(seq 1 "$windows"); do
  read -r rate p50 p99 errors < <(MCP_TOKEN="$SOAK_TOKEN" wrk -s "$ROOT/scripts/wrk/mixed.lua" \
    -c "$CLIENTS" -t 2 -d "${WINDOW}s" "http://127.0.0.1:$PORT/mcp" | tail -1)
  total_errors=$((total_errors + errors))
  printf '%-7s %10s %9s %9s %7s %8s %s\n' "$w" "$rate" "$p50" "$p99" "$errors" "$(rss)" "$(tr ' ' / <"$WORK/reviewer.counts")"
done
read -r _ _ review_failed <"$WORK/reviewer.counts"
# Verified while the server is still writing: verify reads one consistent snapshot.
echo "ledger (server running): $("$BIN" ledger verify --config airlock.json 2>&1 | head -3 | tr '\n' ' ')"
kill $REVIEWER $SERVER 2>/dev/null || true; wait 2>/dev/null || true; REVIEWER=""; SERVER=""
echo "ledger (server stopped): $("$BIN" ledger verify --config airlock.json 2>&1 | head -3 | tr '\n' ' ')"
if [[ "$total_errors" != 0 || "$review_failed" != 0 ]]; then
  echo "FAIL: $total_errors call errors, $review_failed reviewer failures (log: $WORK/reviewer.log)" >&2
  tail -5 "$WORK/reviewer.log" >&2 || true
  exit 1
fi
echo "ok: 0 errors"
