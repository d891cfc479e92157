#!/usr/bin/env bash
# Packaging tier: wraps an already built `airlock` binary the way releases ship it (the PyPI
# wheel, the npm launcher and linux-x64 platform tarballs, the MCP bundle), installs each into
# a fresh virtualenv / scratch npm project with no Rust toolchain on PATH, starts
# `airlock mcp serve` on the garden-sqlite example through every installed launcher
#   venv: `airlock`, `airlock-mcp`, `uvx airlock-mcp@V` (uv from PyPI, wheel from a local folder)
#   npm:  `node_modules/.bin/airlock-mcp`, `npx -y airlock-mcp@V`
# and checks each with the official Python MCP SDK (mcp_smoke.py: tools/list, a read, a
# cross-tenant read refused). The bundle's manifest is checked by the official mcpb CLI.
# Outside CI, a missing python3/npm prints "SKIP ..."; under CI=true it fails loudly.
#   AIRLOCK_BIN   the binary to package (default: $CARGO_TARGET_DIR or ./target, debug build)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
start=$SECONDS

skip_or_fail() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAIL: $1 (required under CI=true)" >&2
    exit 1
  fi
  echo "SKIP $1"
  exit 0
}

for tool in python3 node npm; do
  command -v "$tool" >/dev/null 2>&1 || skip_or_fail "packaging tier: $tool not found"
done
python3 -c 'import tomllib' 2>/dev/null || skip_or_fail "packaging tier: python3 is older than 3.11 (no tomllib)"

if [[ -z "${AIRLOCK_BIN:-}" ]]; then
  target="${CARGO_TARGET_DIR:-$ROOT/target}"
  [[ "$target" = /* ]] || target="$ROOT/$target"
  AIRLOCK_BIN="$target/debug/airlock"
fi
[[ -x "$AIRLOCK_BIN" ]] || { echo "FAIL: $AIRLOCK_BIN is not an executable; build it (cargo build -p airlock)" >&2; exit 1; }
echo "== packaging tier around $AIRLOCK_BIN"

work="$(mktemp -d "${TMPDIR:-/tmp}/airlock-packaging.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dist="$work/dist"
mkdir -p "$dist"

# A debug build carries line tables; without them it packs several times faster (a release
# binary is already stripped by docs/release.md's steps).
binary="$work/airlock"
if command -v objcopy >/dev/null 2>&1; then
  objcopy --strip-debug "$AIRLOCK_BIN" "$binary"
else
  cp "$AIRLOCK_BIN" "$binary"
fi
version="$("$binary" --version | awk '{print $2}')"

# ---------------------------------------------------------------- build the packages
python3 "$ROOT/packaging/pypi/build_wheel.py" --binary "$binary" --out "$dist/wheels" >/dev/null
node "$ROOT/packaging/npm/build.mjs" platform --binary "$binary" --platform linux-x64 --out "$dist/npm" >/dev/null
node "$ROOT/packaging/npm/build.mjs" launcher --version "$version" --out "$dist/npm" >/dev/null
(cd "$ROOT/packaging/mcpb" && { [[ -f node_modules/@anthropic-ai/mcpb/package.json ]] || npm ci --no-audit --no-fund --loglevel=error; }) \
  || { echo "FAIL: could not install the mcpb CLI (npm ci in packaging/mcpb)" >&2; exit 1; }
node "$ROOT/packaging/mcpb/build.mjs" --binary "$binary" --platform linux-x64 --out "$dist" >/dev/null
ls -l "$dist"/wheels/*.whl "$dist"/npm/*.tgz "$dist"/*.mcpb | awk '{printf "   %6.1f MiB  %s\n", $5/1048576, $9}'

# The bundle holds the binary byte for byte and a manifest that still validates.
mkdir "$work/bundle"
(cd "$work/bundle" && python3 -m zipfile -e "$dist"/airlock-mcp-*.mcpb . )
cmp "$work/bundle/server/airlock" "$binary"
node "$ROOT/packaging/mcpb/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js" validate "$work/bundle/manifest.json" >/dev/null

# ---------------------------------------------------------------- the tools the test needs
# uv (to run `uvx`) and the MCP SDK live in a venv of their own, made before PATH loses Rust.
tools="$HERE/.venv"
if [[ ! -x "$tools/bin/uvx" || ! -x "$tools/bin/auditwheel" ]] || ! "$tools/bin/python" -c 'import mcp' 2>/dev/null; then
  { python3 -m venv "$tools" && "$tools/bin/pip" install -q -r "$HERE/requirements.txt"; } \
    || { echo "FAIL: could not install uv and the MCP SDK (tests/packaging/requirements.txt)" >&2; exit 1; }
fi

# The binary links only what every manylinux system provides (libc, libm, libgcc_s): no
# OpenSSL or other library that a user's machine might lack. A build on this machine is
# manylinux_2_34; the release builds against glibc 2.17 (docs/release.md).
tag="$("$tools/bin/auditwheel" show "$dist"/wheels/*.whl 2>/dev/null | tr '\n' ' ' | grep -o 'platform tag: "manylinux_[0-9a-z_]*"' | head -1 || true)"
[[ -n "$tag" ]] || { echo "FAIL: auditwheel finds the wheel's binary fits no manylinux tag:" >&2; "$tools/bin/auditwheel" show "$dist"/wheels/*.whl >&2; exit 1; }
echo "   wheel: $tag"

# ---------------------------------------------------------------- no Rust from here on
clean_path=""
IFS=: read -ra entries <<<"$PATH"
for dir in "${entries[@]}"; do
  [[ -n "$dir" && ! -e "$dir/cargo" && ! -e "$dir/rustc" && "$dir" != *"/.cargo/"* && "$dir" != *"/.rustup/"* ]] || continue
  clean_path="${clean_path:+$clean_path:}$dir"
done
export PATH="$clean_path"
if command -v cargo >/dev/null 2>&1 || command -v rustc >/dev/null 2>&1; then
  echo "FAIL: cargo/rustc still on PATH after removing them" >&2
  exit 1
fi
unset CARGO_TARGET_DIR RUSTUP_TOOLCHAIN

# The garden-sqlite example with a seeded database: A-1 in hillside, B-7 in riverside.
app="$work/app"
mkdir "$app"
cp "$ROOT/examples/configs/garden-sqlite/airlock.json" "$app/"
python3 - "$app/garden.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE plots (plot_no TEXT PRIMARY KEY, garden_id TEXT NOT NULL, holder TEXT NOT NULL,
    status TEXT NOT NULL, water_share REAL NOT NULL, updated_at TEXT NOT NULL);
INSERT INTO plots VALUES ('A-1', 'hillside', 'Mara', 'tended', 1.5, '2026-05-01T08:00:00Z'),
                         ('B-7', 'riverside', 'Tomas', 'tended', 2.0, '2026-05-01T08:00:00Z');
""")
db.commit()
PY
export GARDEN_ID=hillside GARDEN_ASSISTANT=packaging-test
serve=(mcp serve --config "$app/airlock.json" --store "$app/ledger.db")
smoke() { "$tools/bin/python" "$HERE/mcp_smoke.py" "$@"; }

# ---------------------------------------------------------------- PyPI wheel
wheel=("$dist"/wheels/*.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --no-index "${wheel[0]}"
smoke "pip venv: airlock" "$work/venv/bin/airlock" "${serve[@]}"
smoke "pip venv: airlock-mcp" "$work/venv/bin/airlock-mcp" "${serve[@]}"
# `uvx airlock-mcp@V` exactly as `airlock mcp config --launcher uvx` writes it, resolved from
# the folder holding the wheel instead of PyPI.
UV_CACHE_DIR="$work/uv-cache" UV_TOOL_DIR="$work/uv-tools" UV_NO_INDEX=1 UV_FIND_LINKS="$dist/wheels" \
  UV_PYTHON_DOWNLOADS=never UV_NO_CONFIG=1 \
  smoke "uvx airlock-mcp@$version" "$tools/bin/uvx" "airlock-mcp@$version" "${serve[@]}"

# ---------------------------------------------------------------- npm tarballs
proj="$work/npm-project"
mkdir "$proj"
echo '{"name": "scratch", "private": true}' >"$proj/package.json"
(cd "$proj" && npm install --no-audit --no-fund --loglevel=error \
  "$dist/npm/airlock-mcp-linux-x64-$version.tgz" "$dist/npm/airlock-mcp-$version.tgz")
smoke "npm: node_modules/.bin/airlock-mcp" "$proj/node_modules/.bin/airlock-mcp" "${serve[@]}"
# `npx -y airlock-mcp@V` as `airlock mcp config --launcher npx` writes it; in the project
# folder npx finds the installed package instead of fetching it.
(cd "$proj" && smoke "npx -y airlock-mcp@$version" npx -y "airlock-mcp@$version" "${serve[@]}")
# Every launcher passes on the binary's exit code (2: an invalid config).
expected=0
"$binary" config validate --config "$work/absent.json" >/dev/null 2>&1 || expected=$?
[[ $expected -ne 0 ]] || { echo "FAIL: validating an absent config exited 0" >&2; exit 1; }
for launcher in "$work/venv/bin/airlock-mcp" "$proj/node_modules/.bin/airlock-mcp"; do
  code=0
  "$launcher" config validate --config "$work/absent.json" >/dev/null 2>&1 || code=$?
  [[ $code -eq $expected ]] || { echo "FAIL: $launcher exited $code, the binary $expected" >&2; exit 1; }
done

echo "== packaging tier passed in $((SECONDS - start)) s"
