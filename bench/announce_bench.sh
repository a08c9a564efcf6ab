#!/usr/bin/env bash
# The announces-per-second benchmark, one command:
#   bash bench/announce_bench.sh            # ROUNDS=5 DURATION=8 by default
# Builds everything, then runs ringtrack-load (1 thread, pinned to CPU 0)
# against these servers pinned to CPU 1, interleaved over ROUNDS rounds:
#   ringtrackd --workers 1 (io_uring, and again with --io mmsg),
#   opentracker (Debian), and bench/'s stateless responder (what the kernel
#   and syscalls alone cost, with replies of the same size).
# Same load for all: 100 k torrents, Zipf(1.0) popularity, ~10 % scrapes,
# numwant 50. Prints median responses/s and server CPU µs per response
# (utime+stime from /proc) with ratios, and writes CSV + PNG to
# bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-8}"
PORT="${PORT:-17969}"

source bench/common.sh
bench_build
out=bench/results
mkdir -p "$out"
bench_workdir
bench_opentracker_whitelist 100000

LOAD=(--threads 1 --torrents 100000 --zipf 1.0 --mix 0:90:10 --numwant 50
      --duration "${DURATION}s" --json --quiet)

start_server() {  # name → sets SERVER_PID
  case "$1" in
    ringtrackd|ringtrackd-mmsg)
      local io=uring; [[ "$1" == ringtrackd-mmsg ]] && io=mmsg
      taskset -c 1 build/bin/ringtrackd --workers 1 --listen "127.0.0.1:$PORT" \
        --io "$io" --stats-interval 0 \
        2>"$work/server.log" & ;;
    opentracker)
      taskset -c 1 opentracker -i 127.0.0.1 -P "$PORT" -p "$((PORT + 1))" \
        -d "$work/ot" -u nobody -w /whitelist >"$work/server.log" 2>&1 & ;;
    stateless)
      taskset -c 1 build/bin/stateless_responder "127.0.0.1:$PORT" \
        2>"$work/server.log" & ;;
  esac
  SERVER_PID=$!
  bench_wait_tracker "$PORT" && return 0
  echo "announce_bench: $1 did not start:" >&2; cat "$work/server.log" >&2
  exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

csv="$out/announces.csv"
echo "round,server,responses_per_s,cpu_us_per_response,p50_us,p99_us" >"$csv"
hz="$(getconf CLK_TCK)"
for round in $(seq "$ROUNDS"); do
  for server in ringtrackd ringtrackd-mmsg opentracker stateless; do
    start_server "$server"
    before="$(cpu_ticks "$SERVER_PID")"
    json="$(taskset -c 0 build/bin/ringtrack-load "127.0.0.1:$PORT" "${LOAD[@]}")"
    after="$(cpu_ticks "$SERVER_PID")"
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    /usr/bin/python3 - "$json" "$round" "$server" "$before" "$after" "$hz" >>"$csv" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); rnd, srv = sys.argv[2], sys.argv[3]
ticks = float(sys.argv[5]) - float(sys.argv[4]); hz = float(sys.argv[6])
responses = j["responses_per_s"] * j["seconds"]
cpu_us = ticks / hz * 1e6 / max(responses, 1)
print(f'{rnd},{srv},{j["responses_per_s"]:.0f},{cpu_us:.3f},'
      f'{j["latency_us"]["p50"]:.0f},{j["latency_us"]["p99"]:.0f}')
PY
    tail -n 1 "$csv" | awk -F, '{printf "round %s  %-12s %9s responses/s  %6s CPU us/response\n", $1, $2, $3, $4}'
  done
done

/usr/bin/python3 - "$csv" "$out" <<'PY'
import csv, statistics, subprocess, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = sys.argv[2]
med = {}
for s in ("ringtrackd", "ringtrackd-mmsg", "opentracker", "stateless"):
    r = [x for x in rows if x["server"] == s]
    med[s] = (statistics.median(float(x["responses_per_s"]) for x in r),
              statistics.median(float(x["cpu_us_per_response"]) for x in r))
print()
print("| server | median responses/s | median server CPU µs/response |")
print("|---|---|---|")
for s, (rps, cpu) in med.items():
    print(f"| {s} | {rps:,.0f} | {cpu:.2f} |")
ot, sl = med["opentracker"], med["stateless"]
for name in ("ringtrackd", "ringtrackd-mmsg"):
    rt = med[name]
    print()
    print(f"{name} / stateless responses/s: {rt[0] / sl[0]:.2f} (target ≥ 0.90)")
    print(f"{name} / opentracker responses/s: {rt[0] / ot[0]:.2f} (target ≥ 1.90)")
    print(f"{name} / stateless CPU per response: {rt[1] / sl[1]:.2f} (target ≤ 1.15)")
with open(f"{out}/announces.dat", "w") as f:
    for i, (s, (rps, cpu)) in enumerate(med.items()):
        f.write(f"{i} {s} {rps:.0f} {cpu:.3f}\n")
gp = f"""
set terminal pngcairo size 1000,440
set output '{out}/announces.png'
set multiplot layout 1,2 title 'ringtrack-load: 1 thread, 100k torrents, Zipf 1.0, 10% scrapes, numwant 50'
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -20
set ylabel 'median responses/s'
plot '{out}/announces.dat' using 1:3:xtic(2) with boxes notitle
set ylabel 'server CPU µs per response'
plot '{out}/announces.dat' using 1:4:xtic(2) with boxes notitle
unset multiplot
"""
subprocess.run(["gnuplot"], input=gp.encode(), check=True)
print(f"\nwrote {out}/announces.csv and {out}/announces.png")
PY
