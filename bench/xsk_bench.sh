#!/usr/bin/env bash
# ringtrackd's --io xdp (AF_XDP, copy mode) against
# its io_uring and mmsg paths on one topology: a veth pair between two
# network namespaces (169.254.77.1 server, .2 load), the XDP program in
# native mode on the server's end for all three paths (redirecting to the
# XSK socket only with --io xdp), forwarding on in the server namespace so
# connects are answered in the kernel, a pass-through XDP program on the
# load's end (veth needs one there to receive XDP_TX frames), and the same
# steady load as bench/announce_bench.sh (each server first filled with the
# 1 M peers, not measured) but from 32 000 sources (a local /17). Server on
# CPU 1, load on CPU 0, ROUNDS rounds of DURATION seconds. Per row: server
# responses/s, the server process's CPU µs per response, the whole
# machine's busy CPU µs per response (softirq work is charged to whichever
# CPU runs it, so the process figure alone can flatter a path) and p50
# latency. Two more cases measure connects alone, answered by XDP_TX in the
# kernel or by userspace (--xdp-connect off).
#   bash bench/xsk_bench.sh        # needs root (ip netns); writes bench/results/xsk.csv
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-6}"
B=build/bin
cmake --build build -j2 >/dev/null

cleanup() { pkill -f "listen 169.254.77.1" 2>/dev/null || true
            [[ -n "${old_gc3:-}" ]] && sysctl -qw net.ipv4.neigh.default.gc_thresh3="$old_gc3" \
              net.ipv4.neigh.default.gc_thresh2="$old_gc2"
            ip netns del rtx-s 2>/dev/null || true; ip netns del rtx-c 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add rtx-s; ip netns add rtx-c
ip link add rtx-s0 type veth peer name rtx-c0
ip link set rtx-s0 netns rtx-s; ip link set rtx-c0 netns rtx-c
ip -n rtx-s addr add 169.254.77.1/24 dev rtx-s0
ip -n rtx-c addr add 169.254.77.2/24 dev rtx-c0
for ns in rtx-s rtx-c; do ip -n $ns link set lo up; done
ip -n rtx-s link set rtx-s0 up; ip -n rtx-c link set rtx-c0 up
ip netns exec rtx-s sysctl -qw net.ipv4.conf.all.forwarding=1
ip netns exec rtx-s sysctl -qw net.ipv4.conf.rtx-s0.forwarding=1
ip -n rtx-c link set dev rtx-c0 xdp obj build/bpf/tracker.bpf.o sec xdp
# 32 000 load sources (169.254.128.0/17 holds 32 768) is local to the load's namespace
# (AnyIP) and routed to it from the server's.
ip -n rtx-c route add local 169.254.128.0/17 dev lo
ip -n rtx-s route add 169.254.128.0/17 dev rtx-s0
# Permanent neighbour entries for them all, so no path waits on ARP (the
# default table holds 1 024).
# (the thresholds are global: raised for the run, restored on exit).
old_gc2="$(sysctl -n net.ipv4.neigh.default.gc_thresh2)"
old_gc3="$(sysctl -n net.ipv4.neigh.default.gc_thresh3)"
sysctl -qw net.ipv4.neigh.default.gc_thresh3=131072
sysctl -qw net.ipv4.neigh.default.gc_thresh2=131072
mac="$(ip -n rtx-c -o link show rtx-c0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
/usr/bin/python3 -c "
for i in range(1, 32001):
    a = (169 << 24) | (254 << 16) | (128 << 8) | 0
    a += i
    print('neigh replace %d.%d.%d.%d lladdr $mac dev rtx-s0 nud permanent'
          % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
" | ip -n rtx-s -batch -
sleep 1

busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
hz="$(getconf CLK_TCK)"
csv=bench/results/xsk.csv
# case → ringtrackd flags | load mix. The last two measure connects alone,
# answered in the kernel (XDP_TX after a FIB lookup) or by userspace.
declare -A FLAGS=(
  [xdp]="--io xdp" [uring]="--io uring" [mmsg]="--io mmsg"
  [connect-kernel]="--io uring --xdp-connect on"
  [connect-userspace]="--io uring --xdp-connect off")
declare -A MIX=(
  [xdp]=0:90:10 [uring]=0:90:10 [mmsg]=0:90:10
  [connect-kernel]=100:0:0 [connect-userspace]=100:0:0)
CASES="xdp uring mmsg connect-kernel connect-userspace"
echo "round,case,responses_per_s,server_cpu_us,machine_cpu_us,p50_us" >"$csv"
for round in $(seq "$ROUNDS"); do
  for c in $CASES; do
    # shellcheck disable=SC2086
    ip netns exec rtx-s taskset -c 1 $B/ringtrackd --listen 169.254.77.1:6969 \
      --workers 1 ${FLAGS[$c]} --xdp rtx-s0 --xdp-mode native --user= \
      --stats-interval 0 2>/dev/null &
    sleep 1
    pid="$(pgrep -f "listen 169.254.77.1")"
    load=(ip netns exec rtx-c taskset -c 0 $B/ringtrack-load 169.254.77.1:6969
          --source_base 169.254.128.1 --sources 32000 --peers 1000000
          --torrents 100000 --zipf 1.0 --torrents-per-peer 1 --quiet --json)
    if [[ "${MIX[$c]}" != 100:0:0 ]]; then
      "${load[@]}" --fill --window 512 >/dev/null
    fi
    s0="$(awk '{print $14 + $15}' /proc/$pid/stat)"; m0="$(busy)"
    json="$("${load[@]}" --mix "${MIX[$c]}" --numwant 50 --duration "${DURATION}s")"
    s1="$(awk '{print $14 + $15}' /proc/$pid/stat)"; m1="$(busy)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    /usr/bin/python3 - "$json" "$round" "$c" "$s0" "$s1" "$m0" "$m1" "$hz" >>"$csv" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); rnd, case = sys.argv[2:4]
s0, s1, m0, m1, hz = map(float, sys.argv[4:9])
n = max(j["responses_per_s"] * j["seconds"], 1)
print(f'{rnd},{case},{j["responses_per_s"]:.0f},{(s1 - s0) / hz * 1e6 / n:.3f},'
      f'{(m1 - m0) / hz * 1e6 / n:.3f},{j["latency_us"]["p50"]:.0f}')
PY
    tail -n 1 "$csv"
  done
done
/usr/bin/python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("\n| case (veth, native XDP) | responses/s | server CPU µs/response | machine CPU µs/response | p50 µs |")
print("|---|---|---|---|---|")
for case in dict.fromkeys(r["case"] for r in rows):
    r = [x for x in rows if x["case"] == case]
    med = lambda k: statistics.median(float(x[k]) for x in r)
    print(f"| {case} | {med('responses_per_s'):,.0f} | {med('server_cpu_us'):.2f} | "
          f"{med('machine_cpu_us'):.2f} | {med('p50_us'):.0f} |")
PY
