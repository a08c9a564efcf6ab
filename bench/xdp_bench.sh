#!/usr/bin/env bash
# The XDP benchmark, on lo in generic mode, one run:
#  1. a 100 % forged-connection-ID flood (ringtrack-load --flood-forged)
#     against ringtrackd --workers 1 without and with --xdp lo: daemon CPU
#     and whole-machine CPU per flood datagram;
#  2. connect responses/s with in-kernel connect replies on and off. Since
#     the XDP safety rules, every source on lo is this host's own address,
#     so XDP passes connects up in both cases (xdp_pass_no_route): on lo
#     this measures what the program costs on the connect path, not XDP_TX
#     (that needs a veth with forwarding on, see tests/e2e/xdp_veth_test.py).
# Load pinned to CPU 0, daemon to CPU 1. Generic XDP on lo runs in the
# sender's softirq, so its cost shows up as machine CPU, not daemon CPU.
#   bash bench/xdp_bench.sh          # DURATION=6 by default
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-6}"
PORT="${PORT:-19969}"
source bench/common.sh
bench_build
bench_workdir
log="$work/ringtrackd.log"

start() {  # extra ringtrackd flags...
  taskset -c 1 build/bin/ringtrackd --workers 1 --listen "127.0.0.1:$PORT" \
    --stats-interval 0 "$@" 2>"$log" &
  DAEMON=$!
  for _ in $(seq 100); do grep -q "INFO ringtrackd" "$log" 2>/dev/null && return; sleep 0.05; done
  cat "$log" >&2; exit 1
}
stop() { kill -TERM "$DAEMON"; wait "$DAEMON" 2>/dev/null || true; }
daemon_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON/stat"; }
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$2"; }
hz="$(getconf CLK_TCK)"

echo "== forged-ID flood, ${DURATION}s, 1 load thread"
for mode in without with; do
  if [[ $mode == with ]]; then start --xdp lo --xdp-mode generic; else start; fi
  d0="$(daemon_ticks)"; m0="$(busy_ticks)"
  json="$(taskset -c 0 build/bin/ringtrack-load "127.0.0.1:$PORT" --flood-forged \
          --duration "${DURATION}s" --json --quiet)"
  d1="$(daemon_ticks)"; m1="$(busy_ticks)"
  stop
  sent="$(/usr/bin/python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(int(j['sent_per_s']*j['seconds']))" "$json")"
  /usr/bin/python3 - "$mode" "$sent" "$d0" "$d1" "$m0" "$m1" "$hz" "$DURATION" <<'PY'
import sys
mode, sent = sys.argv[1], int(sys.argv[2])
d0, d1, m0, m1, hz, dur = (float(x) for x in sys.argv[3:9])
print(f"{mode:7s} XDP: {sent / dur:10,.0f} datagrams/s sent; daemon CPU "
      f"{(d1 - d0) / hz / dur * 100:5.1f} % of a core = "
      f"{(d1 - d0) / hz * 1e6 / max(sent, 1):.3f} us/datagram; machine CPU "
      f"{(m1 - m0) / hz * 1e6 / max(sent, 1):.3f} us/datagram")
PY
done

echo "== connect responses/s, ${DURATION}s, 1 load thread (on lo both rows are answered in userspace)"
for where in xdp userspace; do
  if [[ $where == xdp ]]; then start --xdp lo --xdp-mode generic
  else start --xdp lo --xdp-mode generic --xdp-connect off; fi
  json="$(taskset -c 0 build/bin/ringtrack-load "127.0.0.1:$PORT" --mix 1:0:0 \
          --duration "${DURATION}s" --json --quiet)"
  stop
  printf "%-9s %10.0f connect responses/s  (p50 %s us)\n" "$where" \
    "$(field connect_per_s "$json")" \
    "$(/usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['latency_us']['p50'])" "$json")"
done
