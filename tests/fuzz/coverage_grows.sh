#!/usr/bin/env bash
# Fails unless libFuzzer target BINARY, started from SEEDS (never written),
# gains at least MIN_GAIN coverage features (libFuzzer's "ft") over what the
# seeds give it, within RUNS executions (a fixed count and seed, not a
# time, so a slow machine only takes longer). A target whose code libFuzzer
# cannot see stays at its seeds' features.
# Usage: coverage_grows.sh BINARY SEEDS RUNS MIN_GAIN
set -euo pipefail
bin="$(realpath "$1")" seeds="$(realpath "$2")" runs="$3" min_gain="$4"
scratch="$(mktemp -d /tmp/ringtrack_cov.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
"$bin" -runs="$runs" -seed=1 -timeout=10 "$scratch" "$seeds" >log 2>&1 || {
  tail -30 log
  exit 1
}
ft() { grep -E "^#[0-9]+[[:space:]]+$1 " log | head -1 | sed -E 's/.* ft: ([0-9]+).*/\1/'; }
start="$(ft INITED)" end="$(ft DONE)"
echo "features: $start from the seeds, $end after $runs runs (need +$min_gain)"
[[ -n "$start" && -n "$end" ]] && ((end - start >= min_gain))
