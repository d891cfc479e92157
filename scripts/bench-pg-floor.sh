#!/usr/bin/env bash
# What this machine's Postgres can commit with no client logic at all, as a ceiling for the
# fleet apply benchmark (`apply_throughput`, AIRLOCK_BENCH_ONLY=fleet): pgbench runs
# scripts/bench/pg-apply-floor.sql (three small write transactions per "apply", as
# exactly-once apply commits three times) and pgbench's own simple-update transaction (-N),
# ROUNDS times each, alternately, at CLIENTS connections, on a scratch database it drops again.
#
#   scripts/bench-pg-floor.sh [--clients 48] [--duration 10] [--rounds 3]
#
# Needs pgbench and psql and a local Postgres (FLEET_PG_ADMIN, default
# postgresql://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLIENTS=48; DURATION=10; ROUNDS=3
while [[ $# -gt 0 ]]; do case "$1" in
  --clients) CLIENTS=$2; shift 2;; --duration) DURATION=$2; shift 2;; --rounds) ROUNDS=$2; shift 2;;
  *) echo "unknown argument: $1 (see the header of $0)" >&2; exit 2;;
esac; done
ADMIN="${FLEET_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"
for tool in pgbench psql; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install postgresql-client" >&2; exit 1; }
done
DB="airlock_pg_floor_$$"
URL="${ADMIN%/*}/$DB"
trap 'psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
psql "$ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
pgbench -q -i -s 2 "$URL" >/dev/null 2>&1
echo "pgbench, $CLIENTS clients, ${DURATION}s per run, prepared statements (load $(cut -d' ' -f1 /proc/loadavg))"
for round in $(seq 1 "$ROUNDS"); do
  floor=$(pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$DURATION" -f "$ROOT/scripts/bench/pg-apply-floor.sql" "$URL" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}')
  simple=$(pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$DURATION" -N "$URL" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}')
  echo "round $round: three-transaction apply floor $floor applies/s; one simple-update transaction (-N) $simple/s"
done
