#!/usr/bin/env bash
# Soak: ringtrackd on default flags except a short peer timeout, under
# churning load for MINUTES minutes (default 30): every minute a fresh
# ringtrack-load run announces over a window of 100 k torrents that slides
# by 20 k torrents a minute (so new torrents keep arriving and old ones
# empty out), 10 % of announces are `stopped`, and silent peers expire after
# 60 s. Each minute it prints RSS, torrents, peers, the longest probe run
# and the tombstones the sweep saw; it writes bench/results/soak.csv and
# bench/results/soak.png. After warm-up, RSS and probe lengths should stay
# flat: the last line compares the last third of the run with the middle.
# Not part of CI.   MINUTES=5 bash bench/soak.sh   for a short look.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${MINUTES:-30}"
PORT="${PORT:-18970}"

source bench/common.sh
bench_build
bench_workdir
mkdir -p bench/results
csv=bench/results/soak.csv
echo "minute,rss_mib,torrents,peers,max_probe_slots,tombstones,table_slots,table_mib,refused" >"$csv"

build/bin/ringtrackd --listen "127.0.0.1:$PORT" --interval 30 --peer-timeout 60 \
  --sweep-period 10s --stats-interval 5s 2>"$work/rt.log" &
rt=$!
bench_wait_tracker "$PORT" || { echo "soak: ringtrackd did not start" >&2; exit 1; }

stat() {  # KEY: from the newest stats line
  grep ' stats ' "$work/rt.log" | tail -1 | grep -o " $1=[0-9]*" | cut -d= -f2
}

printf '%6s %8s %9s %9s %10s %10s\n' minute "RSS MiB" torrents peers "max probe" tombstones
for m in $(seq 1 "$MINUTES"); do
  build/bin/ringtrack-load "127.0.0.1:$PORT" --duration 60s --torrents 100000 \
    --torrent-offset $((m * 20000)) --zipf 0.8 --peers 400000 --torrents-per-peer 0 --sources 8192 \
    --seeders 0.3 --stopped 0.1 --mix 0:90:10 --max-error-rate 1 --quiet \
    --json >"$work/load.json"
  sleep 6  # a fresh stats line, written after this minute's load
  rss=$(( $(stat rss_bytes) / 1048576 ))
  refused=$(( $(stat refused_torrent_memory) + $(stat refused_torrent_rate) + $(stat refused_peer_memory) ))
  echo "$m,$rss,$(stat torrents),$(( $(stat peers_v4) + $(stat peers_v6) )),$(stat max_probe_slots),$(stat tombstones),$(stat table_slots),$(( $(stat table_bytes) / 1048576 )),$refused" >>"$csv"
  printf '%6d %8d %9d %9d %10d %10d\n' "$m" "$rss" "$(stat torrents)" \
    "$(( $(stat peers_v4) + $(stat peers_v6) ))" "$(stat max_probe_slots)" "$(stat tombstones)"
done
kill -TERM "$rt"; wait "$rt" 2>/dev/null || true

/usr/bin/python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n = len(rows)
if n >= 6:
    mid = rows[n // 3: 2 * n // 3]
    last = rows[2 * n // 3:]
    avg = lambda rs, k: sum(float(r[k]) for r in rs) / len(rs)
    for k in ("rss_mib", "max_probe_slots", "torrents"):
        a, b = avg(mid, k), avg(last, k)
        print(f"{k}: middle third {a:.1f}, last third {b:.1f} ({(b - a) / max(a, 1) * 100:+.1f} %)")
PY

if command -v gnuplot >/dev/null; then
  gnuplot <<GP
set terminal pngcairo size 1000,700 noenhanced
set output "bench/results/soak.png"
set datafile separator ","
set multiplot layout 3,1 title "ringtrackd soak: churning load, 60 s peer timeout, new torrents every minute"
set grid
set key left bottom
set ylabel "RSS (MiB)"
set yrange [0:*]
set y2label "torrents (thousands)"
set y2range [0:*]
set y2tics
plot "$csv" using 1:2 skip 1 with linespoints title "RSS (MiB)", \
     "$csv" using 1:(\$3/1000) skip 1 axes x1y2 with linespoints title "torrents (k)"
set ylabel "peers (millions)"
unset y2label
unset y2tics
plot "$csv" using 1:(\$4/1e6) skip 1 with linespoints title "stored peers (M)"
set xlabel "minute"
set ylabel "longest probe run (slots)"
set y2label "tombstones"
set y2tics
plot "$csv" using 1:5 skip 1 with linespoints title "longest probe run", \
     "$csv" using 1:6 skip 1 axes x1y2 with linespoints title "tombstones"
unset multiplot
GP
  echo "wrote bench/results/soak.png"
fi
