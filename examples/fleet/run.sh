#!/usr/bin/env bash
# Three Airlock replicas on one Postgres ledger behind HAProxy, on this machine.
#
#   examples/fleet/run.sh [--bin PATH] [--keep]
#
# Creates the database airlock_fleet_example (app table + the ledger's schema), starts three
# `airlock mcp serve-streamable-http` replicas and HAProxy in front of them (health checks on
# /readyz), sends stateless 2026-07-28 tool calls through the balancer and shows which replica
# answered each, approves and applies a proposal from the CLI, kills one replica with SIGKILL
# and shows the others carry on, verifies the ledger, then stops everything (and drops the
# database unless --keep).
#
# Needs: psql, curl, haproxy (Debian: apt-get install -y haproxy), a Postgres that accepts the
# admin URL in FLEET_PG_ADMIN (default postgresql://postgres@127.0.0.1:5432/postgres), and an
# airlock binary (default target/release/airlock, else target/debug/airlock).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN=""; KEEP=0
while [[ $# -gt 0 ]]; do case "$1" in
  --bin) BIN=$2; shift 2;; --keep) KEEP=1; shift;;
  *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2;; esac; done
if [[ -z "$BIN" ]]; then
  for b in "$ROOT/target/release/airlock" "$ROOT/target/debug/airlock"; do
    [[ -x "$b" ]] && { BIN=$b; break; }
  done
fi
[[ -n "$BIN" && -x "$BIN" ]] || { echo "no airlock binary: cargo build --workspace --bin airlock, or pass --bin PATH" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
for tool in psql curl haproxy; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (Debian: apt-get install -y ${tool/psql/postgresql-client})" >&2; exit 2; }
done

ADMIN="${FLEET_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"
DB=airlock_fleet_example
DB_URL="${ADMIN%/*}/$DB"
LB_PORT="${FLEET_LB_PORT:-18800}"
PORTS=("${FLEET_PORT_1:-18801}" "${FLEET_PORT_2:-18802}" "${FLEET_PORT_3:-18803}")
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ "$KEEP" == 0 ]]; then
    psql -X -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  else
    echo "kept database $DB and logs in $WORK"
  fi
  [[ "$KEEP" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

say "database $DB: the app's table and, in schema airlock, the shared ledger"
psql -X -q -v ON_ERROR_STOP=1 "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" -f "$HERE/app.sql"

# One environment for every replica and CLI command: the ledger's URL, the app's URLs, the
# bearer the replicas accept, and (for this local example) the trusted tenant.
export AIRLOCK_LEDGER_URL="$DB_URL"
export BILLING_READ_URL="$DB_URL" BILLING_WRITE_URL="$DB_URL"
export FLEET_TOKEN="fleet-example-token" FLEET_TENANT=acme FLEET_AGENT=agent_7
cp "$HERE/airlock.json" "$WORK/airlock.json"

say "three replicas, started together (the first migrates the ledger; the others wait for its lock)"
for i in 0 1 2; do
  (cd "$WORK" && exec "$BIN" --config airlock.json mcp serve-streamable-http \
     --host 127.0.0.1 --port "${PORTS[$i]}" --auth-token-env FLEET_TOKEN \
     2>"$WORK/replica$((i + 1)).log") &
  PIDS+=($!)
done
for i in 0 1 2; do
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:${PORTS[$i]}/readyz" >/dev/null && break
    sleep 0.1
  done
  printf 'replica%d on :%s  readyz %s\n' $((i + 1)) "${PORTS[$i]}" \
    "$(curl -s "http://127.0.0.1:${PORTS[$i]}/readyz" || echo "not ready, see $WORK/replica$((i + 1)).log")"
done

say "HAProxy on :$LB_PORT, round robin, a replica leaves rotation when /readyz fails"
sed -e "s/@LB_PORT@/$LB_PORT/" -e "s/@P1@/${PORTS[0]}/" -e "s/@P2@/${PORTS[1]}/" \
    -e "s/@P3@/${PORTS[2]}/" "$HERE/haproxy.cfg" > "$WORK/haproxy.cfg"
haproxy -c -q -f "$WORK/haproxy.cfg"
haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$LB_PORT/readyz" >/dev/null && break; sleep 0.1; done

call() {  # call TOOL ARGS_JSON: one stateless tools/call through the balancer
  curl -s -D "$WORK/headers" -o "$WORK/body" "http://127.0.0.1:$LB_PORT/mcp" \
    -H "Authorization: Bearer $FLEET_TOKEN" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/call' -H "Mcp-Name: $1" \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{}},\"name\":\"$1\",\"arguments\":$2}}"
  if ! grep -q '"result"' "$WORK/body"; then
    { echo "the call failed:"; cat "$WORK/headers" "$WORK/body"; echo; } >&2
    exit 1
  fi
  cat "$WORK/body"
}
served_by() { tr -d '\r' < "$WORK/headers" | awk -F': ' 'tolower($1)=="x-served-by"{print $2}'; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin)['result']['structuredContent']; print($1)"; }

say "six reads through the balancer: each lands on the next replica, all in one ledger"
for n in 1 2 3 4 5 6; do
  evidence=$(call billing.inspect_invoice "{\"invoice_id\":\"INV-$n\"}" | field "d['evidence']['bundle_id']")
  printf 'INV-%s  answered by %-9s evidence %s\n' "$n" "$(served_by)" "$evidence"
done

say "a proposal through the balancer, approved and applied from the CLI (any machine with the config)"
proposal=$(call billing.propose_late_fee_waiver '{"invoice_id":"INV-7","reason":"fleet example"}' | field "d['proposal']['id']")
echo "proposal $proposal created through $(served_by)"
(cd "$WORK" && "$BIN" --config airlock.json proposals approve "$proposal" --actor dana --yes >/dev/null)
(cd "$WORK" && "$BIN" --config airlock.json apply "$proposal" --actor dana) | head -3
psql -X -q -t -A "$DB_URL" -c "SELECT 'INV-7 now: late_fee_cents=' || late_fee_cents || ', version=' || version FROM invoices WHERE id = 'INV-7'"

say "replica2 killed with SIGKILL; HAProxy notices within two failed checks and the others answer"
kill -9 "${PIDS[1]}"
sleep 2.5
for n in 11 12 13 14; do
  evidence=$(call billing.inspect_invoice "{\"invoice_id\":\"INV-$n\"}" | field "d['evidence']['bundle_id']")
  printf 'INV-%s  answered by %-9s evidence %s\n' "$n" "$(served_by)" "$evidence"
done

say "the shared ledger: one history from every replica, and it verifies"
(cd "$WORK" && "$BIN" --config airlock.json ledger stats)
(cd "$WORK" && "$BIN" --config airlock.json ledger verify)

say "stopping the replicas and HAProxy"
