#!/usr/bin/env bash
# The announces-per-second benchmark, one command:
#   bash bench/announce_bench.sh            # ROUNDS=5 DURATION=8 by default
#   LAYOUTS=unpinned bash bench/announce_bench.sh   # one layout only
#   REPORT_ONLY=1 bash bench/announce_bench.sh      # table and plot again
#                                                   # from announces.csv
#   NPEERS=10000 SERVERS="ringtrackd-1w stateless" bash bench/announce_bench.sh
#                                # a smaller state (NPEERS/10 torrents);
#                                # results go to announces_10000.*
#   SERVERS="ringtrackd-1w ringtrackd-1w-map" bash bench/announce_bench.sh
#                                # what locality costs (not in the default)
#   NO_BUILD=1 ...               # use build/bin as it is
# Every server runs on its default configuration; the rows:
#   ringtrackd            defaults (io_uring, one worker per CPU: 2 here)
#   ringtrackd-1w         --workers 1 (io_uring): the same size as the
#                         reference responder, one thread
#   ringtrackd-1w-mmsg    --workers 1 --io mmsg (the recvmmsg fallback)
#   ringtrackd-1w-map     opt-in: ringtrackd-1w plus --network-map of a text
#                         map that splits the load's source addresses into
#                         /24 networks (127.1.0.0/24 to 127.1.253.0/24), so
#                         every announce is from inside the map and its
#                         reply shaped (127/8 is not in the libloc map);
#                         the report adds its ratio to ringtrackd-1w
#   ringtrackd-1w-udp     opt-in: ringtrackd-1w with --http=false (UDP
#                         only), so the report's ratio to ringtrackd-1w says
#                         what serving HTTP beside UDP costs the UDP path
#   opentracker           Debian's, defaults: it serves UDP from its main
#                         thread (no listen.udp.workers), beside 4
#                         housekeeping threads that mostly sleep
#   stateless             bench/stateless_responder: one thread, no state,
#                         replies of the same size; what the kernel and the
#                         syscalls alone cost. It is the reference because
#                         no tracker can beat it on the same socket path.
# Two layouts, interleaved round by round:
#   pinned    the server's threads on CPU 1, ringtrack-load on CPU 0
#   unpinned  nothing pinned; the scheduler places everything
# Load (the same for all): ringtrack-load, 1 thread, 1 M simulated peers
# over 100 k torrents, Zipf(1.0) popularity, 90 % announces / 10 %
# scrapes, numwant 50, from 65 000 loopback source addresses, as a public
# tracker's clients would come (with a few hundred sources ringtrackd's
# per-source limits bind: a third of announces would be capped and a sixth
# refused, which is the abuse path, not the serving path).
# KIND picks what the announces do:
#   steady (default)  each peer is in one torrent; every server is first
#                     filled with all 1 M peers (ringtrack-load --fill, not
#                     measured), so the measured announces refresh stored
#                     peers, as clients re-announcing every interval do
#   insert            --torrents-per-peer 0 and no fill: every announce
#                     draws its torrent afresh, so ~94 % of them store a new
#                     entry and the tracker grows all run (the load of the
#                     figures before this KIND existed); results go to
#                     announces_insert.csv/.png
# Prints per layout the median and min–max over rounds of
# responses/s and server CPU µs per response (utime+stime of all its
# threads, from /proc), the ratios the issue targets, and writes
# bench/results/announces.csv and announces.png (medians, min–max bars).
# For ringtrackd-1w-map it also prints the local share of the peers handed
# out in shaped replies, from the daemon's final stats line (so over the
# fill and the measured announces alike).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-8}"
PORT="${PORT:-17969}"
LAYOUTS="${LAYOUTS:-pinned unpinned}"
SERVERS="${SERVERS:-ringtrackd ringtrackd-1w ringtrackd-1w-mmsg opentracker stateless}"

KIND="${KIND:-steady}"
case "$KIND" in
  steady) suffix="" ;;
  insert) suffix="_insert" ;;
  *) echo "announce_bench: KIND must be steady or insert" >&2; exit 2 ;;
esac
NPEERS="${NPEERS:-1000000}"
NTORRENTS=$((NPEERS / 10))
if ((NTORRENTS < 1)); then echo "announce_bench: NPEERS must be at least 10" >&2; exit 2; fi
[[ "$NPEERS" != 1000000 ]] && suffix="${suffix}_$NPEERS"

# The load's source addresses, SOURCES of them counting up from
# SOURCE_BASE, and the /24 networks they span.
SOURCE_BASE=127.1.0.1
SOURCES=65000
IFS=. read -r o1 o2 o3 o4 <<<"$SOURCE_BASE"
SOURCE_BASE_IP=$((o1 << 24 | o2 << 16 | o3 << 8 | o4))
SOURCE_LAST_IP=$((SOURCE_BASE_IP + SOURCES - 1))
MAP_NETWORKS=$(((SOURCE_LAST_IP >> 8) - (SOURCE_BASE_IP >> 8) + 1))

out=bench/results
csv="$out/announces$suffix.csv"
source bench/common.sh
if [[ -z "${REPORT_ONLY:-}" ]]; then
[[ -n "${NO_BUILD:-}" ]] || bench_build
mkdir -p "$out"
bench_workdir
bench_opentracker_whitelist "$NTORRENTS"

# Writes $work/network.map, ringtrackd-1w-map's map: one network per /24
# the load's source addresses touch, so each holds ~1/MAP_NETWORKS of
# every swarm.
write_network_map() {
  local k
  for ((k = SOURCE_BASE_IP >> 8; k <= SOURCE_LAST_IP >> 8; k++)); do
    echo "$((k >> 16 & 255)).$((k >> 8 & 255)).$((k & 255)).0/24 net$((k - (SOURCE_BASE_IP >> 8)))"
  done >"$work/network.map"
  chmod 644 "$work/network.map"  # read as --user (nobody when root)
}
write_network_map

PEERS=(--threads 1 --peers "$NPEERS" --torrents "$NTORRENTS" --zipf 1.0
       --sources "$SOURCES" --source-base "$SOURCE_BASE")
if [[ "$KIND" == steady ]]; then
  PEERS+=(--torrents-per-peer 1)
else
  PEERS+=(--torrents-per-peer 0)
fi
LOAD=("${PEERS[@]}" --mix 0:90:10 --numwant 50 --duration "${DURATION}s"
      --json --quiet)

start_server() {  # name layout → sets SERVER_PID
  local pin=(); [[ "$2" == pinned ]] && pin=(taskset -c 1)
  case "$1" in
    ringtrackd)
      "${pin[@]}" build/bin/ringtrackd --listen "127.0.0.1:$PORT" \
        --stats-interval 0 2>"$work/server.log" & ;;
    ringtrackd-1w)
      "${pin[@]}" build/bin/ringtrackd --listen "127.0.0.1:$PORT" --workers 1 \
        --stats-interval 0 2>"$work/server.log" & ;;
    ringtrackd-1w-mmsg)
      "${pin[@]}" build/bin/ringtrackd --listen "127.0.0.1:$PORT" --workers 1 \
        --io mmsg --stats-interval 0 2>"$work/server.log" & ;;
    ringtrackd-1w-udp)
      "${pin[@]}" build/bin/ringtrackd --listen "127.0.0.1:$PORT" --workers 1 \
        --http=false --stats-interval 0 2>"$work/server.log" & ;;
    ringtrackd-1w-map)
      "${pin[@]}" build/bin/ringtrackd --listen "127.0.0.1:$PORT" --workers 1 \
        --stats-interval 0 --network-map "$work/network.map" \
        2>"$work/server.log" & ;;
    opentracker)
      "${pin[@]}" opentracker -i 127.0.0.1 -P "$PORT" -p "$((PORT + 1))" \
        -d "$work/ot" -u nobody -w /whitelist >"$work/server.log" 2>&1 & ;;
    stateless)
      "${pin[@]}" build/bin/stateless_responder "127.0.0.1:$PORT" \
        2>"$work/server.log" & ;;
  esac
  SERVER_PID=$!
  bench_wait_tracker "$PORT" && return 0
  echo "announce_bench: $1 did not start:" >&2; cat "$work/server.log" >&2
  exit 1
}
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }  # user system
# The local share of the peers ringtrackd handed out in shaped replies, from
# its final stats line in $work/server.log (empty without locality counts);
# warns when no reply was shaped or announces came from outside the map.
local_share() {
  sed -n 's/.*final //p' "$work/server.log" | tr ' ' '\n' | awk -F= '
    $1 == "locality_peers_local" { l = $2 }
    $1 == "locality_peers_remote" { r = $2 }
    $1 == "locality_outside_map_announces" { o = $2 }
    END {
      if (l + r == 0) print "announce_bench: no reply was shaped" > "/dev/stderr"
      else printf "%.4f", l / (l + r)
      if (o > 0) print "announce_bench: " o " announces from outside the map" > "/dev/stderr"
    }'
}

echo "round,layout,server,responses_per_s,cpu_us_per_response,user_us_per_response,sys_us_per_response,p50_us,p99_us,local_peer_share" >"$csv"
hz="$(getconf CLK_TCK)"
for round in $(seq "$ROUNDS"); do
  for layout in $LAYOUTS; do
    loadpin=(); [[ "$layout" == pinned ]] && loadpin=(taskset -c 0)
    for server in $SERVERS; do
      start_server "$server" "$layout"
      if [[ "$KIND" == steady ]]; then
        "${loadpin[@]}" build/bin/ringtrack-load "127.0.0.1:$PORT" "${PEERS[@]}" \
          --fill --window 512 --quiet --json >"$work/fill.json"
      fi
      before="$(cpu_ticks "$SERVER_PID")"
      json="$("${loadpin[@]}" build/bin/ringtrack-load "127.0.0.1:$PORT" "${LOAD[@]}")"
      after="$(cpu_ticks "$SERVER_PID")"
      kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
      share=""; [[ "$server" == ringtrackd-1w-map ]] && share="$(local_share)"
      /usr/bin/python3 - "$json" "$round" "$layout" "$server" "$before" "$after" \
        "$hz" "$share" >>"$csv" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); rnd, layout, srv = sys.argv[2:5]
u0, s0 = map(float, sys.argv[5].split()); u1, s1 = map(float, sys.argv[6].split())
hz = float(sys.argv[7])
responses = max(j["responses_per_s"] * j["seconds"], 1)
us = lambda ticks: ticks / hz * 1e6 / responses
print(f'{rnd},{layout},{srv},{j["responses_per_s"]:.0f},{us(u1 - u0 + s1 - s0):.3f},'
      f'{us(u1 - u0):.3f},{us(s1 - s0):.3f},'
      f'{j["latency_us"]["p50"]:.0f},{j["latency_us"]["p99"]:.0f},{sys.argv[8]}')
PY
      tail -n 1 "$csv" | awk -F, '{printf "round %s  %-8s  %-18s %9s responses/s  %6s CPU us/response (user %s, kernel %s)%s\n", $1, $2, $3, $4, $5, $6, $7, $10 == "" ? "" : sprintf("  local share %.1f %%", $10 * 100)}'
    done
  done
done
fi

/usr/bin/python3 - "$csv" "$out" "$suffix" "$KIND" "$NPEERS" "$MAP_NETWORKS" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out, suffix, kind = sys.argv[2:5]
npeers, map_networks = int(sys.argv[5]), int(sys.argv[6])
layouts = list(dict.fromkeys(r["layout"] for r in rows))
servers = list(dict.fromkeys(r["server"] for r in rows))

def stats(layout, server, key):
    v = [float(r[key]) for r in rows if r["layout"] == layout and r["server"] == server]
    return statistics.median(v), min(v), max(v)

for layout in layouts:
    dat = open(f"{out}/announces{suffix}_{layout}.dat", "w")
    print(f"\n{layout} (median, min–max over {len([r for r in rows if r['layout'] == layout and r['server'] == servers[0]])} rounds)")
    print("| server | responses/s | server CPU µs/response | of which user / kernel µs |")
    print("|---|---|---|---|")
    for i, s in enumerate(servers):
        rps, cpu = stats(layout, s, "responses_per_s"), stats(layout, s, "cpu_us_per_response")
        usr, ker = stats(layout, s, "user_us_per_response"), stats(layout, s, "sys_us_per_response")
        print(f"| {s} | {rps[0]:,.0f} ({rps[1]:,.0f}–{rps[2]:,.0f}) "
              f"| {cpu[0]:.2f} ({cpu[1]:.2f}–{cpu[2]:.2f}) | {usr[0]:.2f} / {ker[0]:.2f} |")
        dat.write(f"{i} {s} {rps[0]:.0f} {rps[1]:.0f} {rps[2]:.0f} "
                  f"{cpu[0]:.3f} {cpu[1]:.3f} {cpu[2]:.3f}\n")
    dat.close()
    med = {s: (stats(layout, s, "responses_per_s")[0],
               stats(layout, s, "cpu_us_per_response")[0]) for s in servers}
    if {"ringtrackd-1w", "ringtrackd-1w-mmsg", "stateless"} <= med.keys():
        u, m, sl = med["ringtrackd-1w"], med["ringtrackd-1w-mmsg"], med["stateless"]
        print(f"io_uring / mmsg responses/s: {u[0] / m[0]:.2f} (target ≥ 1.00)")
        print(f"io_uring / stateless responses/s: {u[0] / sl[0]:.2f} (target ≥ 0.95)")
        print(f"io_uring / stateless CPU per response: {u[1] / sl[1]:.2f} (target ≤ 1.05)")
    if {"ringtrackd", "opentracker"} <= med.keys():
        r, o = med["ringtrackd"], med["opentracker"]
        print(f"ringtrackd (defaults) / opentracker: {r[0] / o[0]:.2f}× responses/s, "
              f"{r[1] / o[1]:.2f}× CPU per response")
    if {"ringtrackd-1w", "ringtrackd-1w-udp"} <= med.keys():
        u, o = med["ringtrackd-1w"], med["ringtrackd-1w-udp"]
        print(f"ringtrackd-1w (HTTP on) / ringtrackd-1w-udp (HTTP off): "
              f"{u[0] / o[0]:.2f}× responses/s, {u[1] / o[1]:.2f}× CPU per "
              f"response (UDP unchanged: within noise of 1)")
    if {"ringtrackd-1w", "ringtrackd-1w-map"} <= med.keys():
        m, u = med["ringtrackd-1w-map"], med["ringtrackd-1w"]
        print(f"ringtrackd-1w-map / ringtrackd-1w: {m[0] / u[0]:.2f}× responses/s, "
              f"{m[1] / u[1]:.2f}× CPU per response (target ≤ 1.10)")
    shares = [float(r["local_peer_share"]) for r in rows if r["layout"] == layout
              and r["server"] == "ringtrackd-1w-map" and r.get("local_peer_share")]
    if shares:
        print(f"ringtrackd-1w-map local share of the peers in shaped replies: "
              f"{statistics.median(shares) * 100:.1f} % ({min(shares) * 100:.1f}–"
              f"{max(shares) * 100:.1f}; fill and measured announces; "
              f"{map_networks} networks, random selection ≈ {100 / map_networks:.1f} %)")
sys.path.insert(0, "bench")
import bar_chart
bar_chart.draw(f"{out}/announces{suffix}.png",
               f"ringtrack-load ({kind}): 1 thread, {npeers:,} peers, "
               f"{npeers // 10:,} torrents, Zipf 1.0, 10% scrapes, numwant 50, "
               f"65000 sources; each server on its defaults",
               [(layout, f"{out}/announces{suffix}_{layout}.dat")
                for layout in layouts], len(servers))
print(f"\nwrote {out}/announces{suffix}.csv and {out}/announces{suffix}.png")
PY
