#!/usr/bin/env bash
# A long fuzzing campaign for one libFuzzer target, resumable: the corpus
# lives in CORPUS (default build-fuzz/campaign/TARGET/corpus), seeded from
# the checked-in seeds, and grows run after run; crash, leak and timeout
# reproducers land in build-fuzz/campaign/TARGET/artifacts/. Runs at nice 10
# on one core. libFuzzer's final statistics (executions, cov, ft) are kept
# in build-fuzz/campaign/TARGET/log.
# Usage: tests/fuzz/campaign.sh BUILD_DIR TARGET SECONDS [more libFuzzer flags]
set -euo pipefail
build="$(realpath "$1")" target="$2" secs="$3"
shift 3
here="$(dirname "$(realpath "$0")")"
work="$build/campaign/$target"
mkdir -p "$work/corpus" "$work/artifacts"
status=0
nice -n 10 "$build/bin/$target" -max_total_time="$secs" -print_final_stats=1 \
  -timeout=10 -rss_limit_mb=4096 -artifact_prefix="$work/artifacts/" "$@" \
  "$work/corpus" "$here/corpus/$target" >"$work/log" 2>&1 || status=$?
grep -E '^#[0-9]+.*DONE|^stat::number_of_executed_units|^stat::peak_rss_mb' \
  "$work/log" || tail -5 "$work/log"
ls "$work/artifacts"
exit "$status"
