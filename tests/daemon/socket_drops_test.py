#!/usr/bin/python3
"""Kernel drops are counted: with a small --socket-buffer and the daemon
stopped (SIGSTOP), a burst of datagrams overflows its sockets' receive
queues; after SIGCONT, ringtrack_socket_drops_total (and socket_drops in
the stats line) becomes > 0 and equal to the drops /proc/net/udp shows for
the daemon's sockets. Both io paths; and with --io xdp (as root, across a
veth pair between two namespaces the test makes), the AF_XDP socket's
drops at its full RX ring. And the shipped drop-rate alert fires
on kernel drops alone (`promtool test rules` with drop_rate_rules_test.yml).

Usage: socket_drops_test.py --bin DIR --rules ringtrack-rules.yml
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd, metric_value, parse_stats, scrape_metrics  # noqa: E402

BURST = 20000


def metric(text, name):
    v = metric_value(text, name)
    return None if v is None else int(v)


def proc_drops(port):
    """Sum of the drops column of /proc/net/udp over sockets bound to
    127.0.0.1:port (the daemon's, one per worker)."""
    total, sockets = 0, 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == "0100007F:%04X" % port:
                total += int(fields[-1])
                sockets += 1
    return total, sockets


def wait_for(cond, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return cond()


def run(bindir, work, io):
    d = Ringtrackd(bindir, work, ["--workers=2", "--io=" + io,
                                  "--socket-buffer=4096",
                                  "--metrics=127.0.0.1:0",
                                  "--stats-interval=0"], name="drops_" + io)
    try:
        m = re.search(r"metrics=127\.0\.0\.1:(\d+)", d.log())
        check(m is not None, "%s: the metrics address is logged\n%s" % (io, d.log()))
        mport = int(m.group(1))
        check(metric(scrape_metrics(mport), "ringtrack_socket_drops_total") == 0,
              "%s: ringtrack_socket_drops_total starts at 0" % io)
        d.proc.send_signal(signal.SIGSTOP)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            # Connects from many source ports spread over the workers'
            # SO_REUSEPORT sockets.
            payload = b"\x00\x00\x04\x17\x27\x10\x19\x80" + b"\x00" * 8
            for i in range(BURST):
                s.sendto(payload, ("127.0.0.1", d.port))
            s.close()
            dropped, sockets = proc_drops(d.port)
        finally:
            d.proc.send_signal(signal.SIGCONT)
        check(sockets == 2, "%s: /proc/net/udp lists the 2 workers' sockets" % io)
        check(dropped > 0, "%s: the kernel dropped datagrams at the small "
              "buffers (%d of %d)" % (io, dropped, BURST))
        got = wait_for(lambda: metric(scrape_metrics(mport),
                                      "ringtrack_socket_drops_total") == dropped)
        text = scrape_metrics(mport)
        check(got, "%s: ringtrack_socket_drops_total equals /proc/net/udp's "
              "drops: %s vs %d" % (io, metric(text, "ringtrack_socket_drops_total"),
                                   dropped))
        check(proc_drops(d.port)[0] == dropped, "%s: no drops after SIGCONT" % io)
        stats = d.stop()
        check(stats.get("socket_drops") == dropped,
              "%s: the final stats line has socket_drops=%d: %s" %
              (io, dropped, stats.get("socket_drops")))
    finally:
        d.proc.send_signal(signal.SIGCONT)
        d.stop()


CLIENT = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 6969))
s.settimeout(5)
s.send(struct.pack(">QII", 0x41727101980, 0, 1))
cid = struct.unpack(">Q", s.recv(64)[8:16])[0]
print("connected", flush=True)
sys.stdin.readline()
a = struct.pack(">QII20s20sQQQIIIiH", cid, 1, 7, b"\xab" * 20,
                b"-RT0001-dropstest000", 0, 5, 0, 2, 0, 0, -1, 7001)
for i in range(int(sys.argv[2])):
    s.send(a)
print("sent", flush=True)
"""


def sh(*args):
    return subprocess.run(args, capture_output=True, text=True)


def run_xsk(bindir):
    """--io xdp across a veth pair between two namespaces this test makes
    (link-local addresses): announces with a valid connection ID go to the
    AF_XDP socket, whose RX ring overflows while the daemon is stopped;
    every one is then either read from the ring or counted as dropped."""
    tag = str(os.getpid() % 100000)
    srv_ns, cli_ns = "rt_dsrv_" + tag, "rt_dcli_" + tag
    srv_if, cli_if = "rds" + tag, "rdc" + tag
    srv_ip = "169.254.%d.1" % (int(tag) % 250 + 1)
    cli_ip = srv_ip[:-1] + "2"
    log_path = tempfile.mktemp(prefix="rt-drops-xsk-", suffix=".log")
    daemon = None
    try:
        for args in (("netns", "add", srv_ns), ("netns", "add", cli_ns),
                     ("link", "add", srv_if, "type", "veth", "peer", "name", cli_if),
                     ("link", "set", srv_if, "netns", srv_ns),
                     ("link", "set", cli_if, "netns", cli_ns),
                     ("-n", srv_ns, "addr", "add", srv_ip + "/24", "dev", srv_if),
                     ("-n", cli_ns, "addr", "add", cli_ip + "/24", "dev", cli_if),
                     ("-n", srv_ns, "link", "set", srv_if, "up"),
                     ("-n", cli_ns, "link", "set", cli_if, "up")):
            p = sh("ip", *args)
            check(p.returncode == 0, "xdp: ip %s\n%s" % (" ".join(args), p.stderr))
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", srv_ns, os.path.join(bindir, "ringtrackd"),
             "--listen=%s:6969" % srv_ip, "--workers=1", "--xdp=" + srv_if,
             "--io=xdp", "--xdp-mode=generic", "--stats-interval=1s"],
            stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
        log = lambda: open(log_path).read()  # noqa: E731
        check(wait_for(lambda: "INFO ringtrackd" in log() or daemon.poll() is not None)
              and daemon.poll() is None, "xdp: ringtrackd serves on the veth\n" + log())
        pid = int(re.search(r"ringtrackd\[(\d+)\]", log()).group(1))
        client = subprocess.Popen(
            ["ip", "netns", "exec", cli_ns, sys.executable, "-c", CLIENT, srv_ip,
             str(BURST)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        check(client.stdout.readline().strip() == "connected",
              "xdp: the client has a connection ID")
        stats_lines = lambda: [l for l in log().splitlines() if " stats " in l]  # noqa: E731
        os.kill(pid, signal.SIGSTOP)
        try:
            client.stdin.write("go\n")
            client.stdin.flush()
            sent = client.stdout.readline().strip()
            client.wait(60)
            before = len(stats_lines())
        finally:
            os.kill(pid, signal.SIGCONT)
        check(sent == "sent", "xdp: %d announces sent" % BURST)

        # The periodic line shows rates: once one after the resume shows no
        # frames moving, the ring has been read; the final line has totals.
        def quiet():
            lines = stats_lines()
            return len(lines) > before + 1 and "xsk_frames=" not in lines[-1]
        wait_for(quiet, timeout=30)
        daemon.terminate()
        daemon.wait(10)
        last = [l for l in log().splitlines() if " final " in l][-1:]
        st = parse_stats(last[0]) if last else {}
        frames, drops = st.get("xsk_frames", 0), st.get("socket_drops", 0)
        # (+ 1: the connect came through the AF_XDP socket too.)
        got = (frames, drops) if frames + drops == BURST + 1 else None
        check(got is not None, "xdp: every announce was read from the RX ring "
              "or counted as dropped (of %d): %s" % (BURST, " ".join(
                  w for w in " ".join(last).split()
                  if w.startswith(("xsk_frames", "socket_drops", "xdp_")))))
        check(got[1] > 0, "xdp: the full RX ring dropped some: %d of %d" %
              (got[1], BURST))
    finally:
        if daemon and daemon.poll() is None:
            daemon.terminate()
            daemon.wait(10)
        sh("ip", "netns", "del", srv_ns)
        sh("ip", "netns", "del", cli_ns)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rules", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rt-drops-")
    for io in ("uring", "mmsg"):
        run(a.bin, work, io)
    if os.geteuid() == 0:  # network namespaces and XDP need root
        run_xsk(a.bin)
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is installed (Debian package prometheus)")
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "drop_rate_rules_test.yml")) as f:
        test = f.read().replace("RULES", os.path.abspath(a.rules))
    test_path = os.path.join(work, "drop_rate_rules_test.yml")
    with open(test_path, "w") as f:
        f.write(test)
    p = subprocess.run([promtool, "test", "rules", test_path],
                       capture_output=True, text=True)
    check(p.returncode == 0,
          "the drop-rate alert fires on kernel drops alone, and on a junk "
          "flood\n" + p.stdout + p.stderr)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
