#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS over a scratch corpus seeded from the
# checked-in SEEDS (which it never writes), and fails on any crash, leak or
# sanitizer report. Usage: run_fuzzer.sh BINARY SEEDS SECONDS [more flags]
set -euo pipefail
bin="$(realpath "$1")" seeds="$(realpath "$2")" secs="$3"
shift 3
scratch="$(mktemp -d /tmp/ringtrack_fuzz.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"  # crash-* files land here, printed below
status=0
"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 "$@" \
  "$scratch" "$seeds" || status=$?
for f in crash-* leak-* timeout-*; do
  [[ -e "$f" ]] && { echo "== $f"; od -An -tx1 "$f" | head -20; }
done
exit "$status"
