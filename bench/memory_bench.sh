#!/usr/bin/env bash
# Memory per peer through the wire, ringtrackd on its default flags beside
# opentracker in the same run, at several scales. Each tracker is filled
# with distinct IPv4 peers, 10 per torrent, a quarter of them seeders
# (ringtrack-load --fill: every peer announces once), while the tracker's
# whole-process RSS is sampled every second. Prints, per scale, bytes per
# peer (whole RSS / peers) and seconds to fill; writes
# bench/results/memory.csv and bench/results/memory.png (RSS against peers).
#   bash bench/memory_bench.sh                         # 2 M, 10 M and 50 M peers
#   SCALES="2000000:200000" bash bench/memory_bench.sh # peers:torrents pairs
# The load speaks from 65000 loopback source addresses, as a public
# tracker's clients would: ringtrackd's per-source limits (8 entries per
# swarm, new torrents at 1/s with a burst of 100) never bind at these scales.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALES="${SCALES:-2000000:200000 10000000:1000000 50000000:5000000}"
PORT="${PORT:-18969}"
SOURCES=65000

source bench/common.sh
bench_build
bench_workdir
mkdir -p bench/results
csv=bench/results/memory.csv
samples=bench/results/memory_samples.dat
echo "tracker,peers,torrents,rss_bytes,bytes_per_peer,fill_seconds,timeouts" >"$csv"
: >"$samples"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# fill NAME PID PEERS TORRENTS: fills, samples RSS against peers announced,
# appends the result row to the CSV.
fill() {
  local name="$1" pid="$2" peers="$3" torrents="$4"
  bench_wait_tracker "$PORT" || { echo "memory_bench: $name did not start" >&2; exit 1; }
  local start_kib; start_kib="$(rss_kib "$pid")"
  local t0; t0="$(date +%s.%N)"
  build/bin/ringtrack-load "127.0.0.1:$PORT" --fill --peers "$peers" \
    --torrents "$torrents" --torrents-per-peer 0 --seeders 0.25 --sources "$SOURCES" --window 512 \
    --json >"$work/fill.json" 2>"$work/fill.log" &
  local load=$!
  while kill -0 "$load" 2>/dev/null; do
    sleep 1
    local done_peers
    done_peers="$(grep -o 'filled=[0-9]*' "$work/fill.log" | tail -1 | cut -d= -f2 || true)"
    local kib; kib="$(rss_kib "$pid")"
    echo "$name $peers ${done_peers:-0} $kib" >>"$samples"
    printf '\r  %s: %s/%s peers, RSS %s MiB   ' "$name" "${done_peers:-0}" "$peers" \
      "$((kib / 1024))" >&2
  done
  wait "$load"
  local t1; t1="$(date +%s.%N)"
  local end_kib; end_kib="$(rss_kib "$pid")"
  echo >&2
  /usr/bin/python3 - "$name" "$peers" "$torrents" "$start_kib" "$end_kib" \
    "$t0" "$t1" "$work/fill.json" "$csv" <<'PY'
import json, sys
name, peers, torrents, start, end, t0, t1, fj, csv = sys.argv[1:]
j = json.load(open(fj))
stored = max(j["filled"], 1)
rss = int(end) * 1024
secs = float(t1) - float(t0)
with open(csv, "a") as f:
    f.write(f"{name},{stored},{torrents},{rss},{rss / stored:.2f},{secs:.1f},{j['timeouts']}\n")
print(f"  {name:12s} {stored:>11,} peers {int(torrents):>10,} torrents: RSS "
      f"{int(start)/1024:.0f} -> {rss/2**20:.0f} MiB, {rss / stored:5.1f} bytes/peer "
      f"whole process, filled in {secs:.0f} s ({j['timeouts']} timeouts)")
PY
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

for scale in $SCALES; do
  peers="${scale%%:*}"; torrents="${scale##*:}"
  echo "== $peers peers over $torrents torrents"
  # The new-torrent rate is lifted: the 65 000 loopback sources share 254
  # /24s, and a /24 may create 6 400 torrents and then 64 a second.
  build/bin/ringtrackd --listen "127.0.0.1:$PORT" --stats-interval 0 \
    --source-torrent-rate 1000 --source-torrent-burst 1000000 \
    2>"$work/rt.log" &
  fill ringtrackd $! "$peers" "$torrents"
  grep -o 'unstored_peer_[a-z_]*=[0-9]*\|refused_[a-z_]*=[0-9]*' "$work/rt.log" \
    | tr '\n' ' ' | sed 's/^/  ringtrackd refusals: /' || true; echo
  rm -rf "$work/ot"; bench_opentracker_whitelist "$torrents"
  opentracker -i 127.0.0.1 -P "$PORT" -p "$((PORT + 1))" -d "$work/ot" -u nobody \
    -w /whitelist >"$work/ot.log" 2>&1 &
  fill opentracker $! "$peers" "$torrents"
done

echo
echo "| peers | torrents | ringtrackd bytes/peer | opentracker bytes/peer | ringtrackd fill s | opentracker fill s |"
echo "|---|---|---|---|---|---|"
/usr/bin/python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by.setdefault((int(r["torrents"])), {})[r["tracker"]] = r
for t in sorted(by):
    rt, ot = by[t].get("ringtrackd"), by[t].get("opentracker")
    if not rt or not ot:
        continue
    print(f"| {int(rt['peers']):,} | {t:,} | {float(rt['bytes_per_peer']):.1f} | "
          f"{float(ot['bytes_per_peer']):.1f} | {rt['fill_seconds']} | {ot['fill_seconds']} |")
PY

if command -v gnuplot >/dev/null; then
  awk '$1=="ringtrackd" {print $3/1e6, $4/1024}' "$samples" >"$work/rt.dat"
  awk '$1=="opentracker" {print $3/1e6, $4/1024}' "$samples" >"$work/ot.dat"
  gnuplot <<GP
set terminal pngcairo size 900,560 noenhanced
set output "bench/results/memory.png"
set title "Whole-process RSS while filling (10 peers per torrent, 1/4 seeders)"
set xlabel "peers announced (millions)"
set ylabel "RSS (MiB)"
set key left top
set grid
plot "$work/rt.dat" using 1:2 with points pt 7 ps 0.4 title "ringtrackd (defaults)", \
     "$work/ot.dat" using 1:2 with points pt 5 ps 0.4 title "opentracker"
GP
  echo "wrote bench/results/memory.png"
fi
