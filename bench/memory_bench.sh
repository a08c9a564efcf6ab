#!/usr/bin/env bash
# Memory per peer through the wire: fills a running ringtrackd, and
# opentracker beside it, with PEERS distinct IPv4 peers over TORRENTS
# torrents (ringtrack-load --fill: every peer announces once), and prints
# bytes per peer from the growth of the server's resident set (VmRSS).
#   bash bench/memory_bench.sh                  # 2 M peers over 200 k torrents
#   PEERS=10000000 bash bench/memory_bench.sh   # 10 M, if memory allows
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${PEERS:-2000000}"
TORRENTS="${TORRENTS:-200000}"
PORT="${PORT:-18969}"

source bench/common.sh
bench_build
bench_workdir
bench_opentracker_whitelist "$TORRENTS"

# Smallest power of two that holds TORRENTS at ≤ 7/8 load.
slots=8; while (( slots * 7 / 8 < TORRENTS )); do slots=$((slots * 2)); done

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
measure() {  # name pid preallocated-bytes (counted in the baseline RSS)
  local name="$1" pid="$2" pre="$3"
  bench_wait_tracker "$PORT" || { echo "memory_bench: $name did not start" >&2; exit 1; }
  local before after
  before="$(rss_kib "$pid")"
  build/bin/ringtrack-load "127.0.0.1:$PORT" --fill --peers "$PEERS" \
    --torrents "$TORRENTS" --sources 256 --window 512 --quiet --json >"$work/fill.json"
  after="$(rss_kib "$pid")"
  /usr/bin/python3 - "$name" "$before" "$after" "$pre" "$work/fill.json" <<'PY'
import json, sys
name, before, after, pre = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
j = json.load(open(sys.argv[5]))
stored = max(j["filled"], 1)
growth = (after - before) * 1024
print(f"{name:12s} RSS {before/1024:7.1f} MiB -> {after/1024:7.1f} MiB, "
      f"{j['filled']:,} peers announced ({j['timeouts']} timeouts): "
      f"growth {growth / stored:.1f} bytes/peer, all-in "
      f"{(growth + pre) / stored:.1f} bytes/peer "
      f"(with {pre / 2**20:.1f} MiB allocated at start)")
PY
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

echo "filling with $PEERS IPv4 peers over $TORRENTS torrents"
build/bin/ringtrackd --workers 1 --listen "127.0.0.1:$PORT" --stats-interval 0 \
  --max-torrents "$slots" --peer-timeout 86400 2>"$work/rt.log" &
# The swarm table (64 bytes per slot) is allocated and touched at start,
# so it is in the baseline RSS; all-in adds it back.
measure ringtrackd $! $((slots * 64))
opentracker -i 127.0.0.1 -P "$PORT" -p "$((PORT + 1))" -d "$work/ot" -u nobody \
  -w /whitelist >"$work/ot.log" 2>&1 &
measure opentracker $! 0
