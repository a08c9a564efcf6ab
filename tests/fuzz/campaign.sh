#!/usr/bin/env bash
# A long fuzzing campaign for one libFuzzer target, resumable: its corpus
# lives in BUILD/campaign/TARGET/corpus, starts from the checked-in seeds,
# and grows run after run. Further corpus directories (e.g. another
# target's campaign corpus) are read, never written. Crash, leak and
# timeout reproducers land in BUILD/campaign/TARGET/artifacts/, libFuzzer's
# output in BUILD/campaign/TARGET/log; its final statistics (executions,
# cov, ft) are printed at the end. Runs at nice 10, one process (one core).
# Usage: tests/fuzz/campaign.sh BUILD TARGET SECONDS [CORPUS_DIR...]
# Extra libFuzzer flags come from FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=2).
set -euo pipefail
build="$(realpath "$1")" target="$2" secs="$3"
shift 3
here="$(dirname "$(realpath "$0")")"
seeds="$here/corpus/$target"
# The XDP targets share their cases' seeds (tests/bpf/xdp_fuzz_case.h).
[[ "$target" == xdp_native_fuzzer ]] && seeds="$here/corpus/xdp_frame_fuzzer"
work="$build/campaign/$target"
mkdir -p "$work/corpus" "$work/artifacts"
status=0
# shellcheck disable=SC2086
nice -n 10 "$build/bin/$target" -max_total_time="$secs" -print_final_stats=1 \
  -timeout=10 -rss_limit_mb=4096 -artifact_prefix="$work/artifacts/" \
  ${FUZZ_FLAGS:-} "$work/corpus" "$seeds" "$@" >"$work/log" 2>&1 || status=$?
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::number_of_executed_units' \
  "$work/log" || tail -5 "$work/log"
ls "$work/artifacts"
exit "$status"
