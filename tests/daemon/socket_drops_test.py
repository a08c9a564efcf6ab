#!/usr/bin/python3
"""Kernel drops are counted: with a small --socket-buffer and the daemon
stopped (SIGSTOP), a burst of datagrams overflows its sockets' receive
queues; after SIGCONT, ringtrack_socket_drops_total (and socket_drops in
the stats line) becomes > 0 and equal to the drops /proc/net/udp shows for
the daemon's sockets. Both io paths. And the shipped drop-rate alert fires
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
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

BURST = 20000


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        return r.read().decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[-1]))
    return None


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
        check(metric(scrape(mport), "ringtrack_socket_drops_total") == 0,
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
        got = wait_for(lambda: metric(scrape(mport),
                                      "ringtrack_socket_drops_total") == dropped)
        text = scrape(mport)
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rules", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rt-drops-")
    for io in ("uring", "mmsg"):
        run(a.bin, work, io)
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
