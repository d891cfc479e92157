#!/usr/bin/env bash
# Wall time of the real `airlock` binary, spawn to exit, as a user feels it: a hyperfine-like
# loop (warm-up runs, then N timed runs; median, p95, min, mean).
#
#   scripts/bench-cli.sh [N]            # N timed runs per command, default 200
#
# Commands timed:
#   airlock --version                                       (process start floor)
#   airlock tools list --json --config <examples/configs/studio-postgres>
#   airlock proposals show latest --json --config <example> --store <100k-proposal ledger>
#     (only when the cached ledger exists: run `cargo bench -p airlock-ledger --bench
#      ledger_open` once to build it)
#
# Builds the release binary into $CARGO_TARGET_DIR (default: target-bench) first. Timing uses
# bash's $EPOCHREALTIME, so no helper process is forked inside the timed region.
set -euo pipefail

N="${1:-200}"
WARMUP=5
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-bench}"
EXAMPLE="$ROOT/examples/configs/studio-postgres/airlock.json"
BIG_LEDGER="${AIRLOCK_BENCH_DATA:-$CARGO_TARGET_DIR/airlock-bench}/ledger-100000.db"

if [[ ! -f "$EXAMPLE" ]]; then
    echo "example config not found: $EXAMPLE" >&2
    exit 1
fi

(cd "$ROOT" && cargo build --release --quiet -p airlock)
BIN="$CARGO_TARGET_DIR/release/airlock"

# Runs "$@" WARMUP + N times; prints one summary line. Output goes to /dev/null; a failing
# run aborts the script.
measure() {
    local label="$1"
    shift
    local i start end us
    local -a times=()
    for ((i = 0; i < WARMUP; i++)); do
        "$@" >/dev/null
    done
    for ((i = 0; i < N; i++)); do
        start=$EPOCHREALTIME
        "$@" >/dev/null
        end=$EPOCHREALTIME
        # Microseconds: drop the decimal point (6 fractional digits), subtract.
        us=$((10#${end/./} - 10#${start/./}))
        times+=("$us")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
        { t[NR] = $1; sum += $1 }
        END {
            n = NR
            median = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
            p95 = t[int(n * 0.95) > 0 ? int(n * 0.95) : 1]
            printf "%-28s n=%d  median %.2f ms  p95 %.2f ms  min %.2f ms  mean %.2f ms\n",
                label, n, median / 1000, p95 / 1000, t[1] / 1000, sum / n / 1000
        }'
}

echo "binary: $BIN"
echo "config: $EXAMPLE"
measure "airlock --version" "$BIN" --version
measure "tools list --json" "$BIN" tools list --json --config "$EXAMPLE"
if [[ -f "$BIG_LEDGER" ]]; then
    measure "proposals show latest (100k)" "$BIN" proposals show latest --json \
        --config "$EXAMPLE" --store "$BIG_LEDGER"
else
    echo "skip proposals show latest: no cached ledger at $BIG_LEDGER" \
        "(run: cargo bench -p airlock-ledger --bench ledger_open)"
fi
