#!/usr/bin/python3
"""The real ringtrackd's /metrics under slow clients: with 250 silent or
half-sent connections open (and then 1000, past the 256-connection cap), a
Prometheus-style scrape is answered (within a generous 10 s; serving one
connection at a time with 2 s each it would take minutes), and the slow
connections are closed by the server at their deadline.

Usage: metrics_slow_clients_test.py --bin DIR
"""
import argparse
import os
import re
import resource
import select
import socket
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        return r.status, r.read().decode()


def open_slow(port, n):
    """n connections: even ones silent, odd ones with half a request head."""
    conns = []
    # Generous: opening them takes milliseconds when the server accepts
    # while it serves (one at a time, a full backlog frees a place per 2 s).
    deadline = time.time() + 30
    for i in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port),
                                         timeout=max(0.1, deadline - time.time()))
        except OSError as e:
            check(False, "connection %d of %d is accepted within 30 s: %s" %
                  (i, n, e))
        if i % 2:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n")
        conns.append(s)
    return conns


def closed_by_server(s, deadline):
    """True iff the server closes `s` (EOF or reset) before `deadline`."""
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0, deadline - time.time()))
        if r:
            try:
                return s.recv(4096) == b""
            except ConnectionResetError:
                return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    work = tempfile.mkdtemp(prefix="rt-metrics-slow-")
    d = Ringtrackd(a.bin, work, ["--workers=1", "--metrics=127.0.0.1:0",
                                 "--stats-interval=0"])
    try:
        m = re.search(r"metrics=127\.0\.0\.1:(\d+)", d.log())
        check(m is not None, "the metrics address is logged\n" + d.log())
        port = int(m.group(1))
        for n in (250, 1000):
            slow = open_slow(port, n)
            t0 = time.time()
            status, body = scrape(port)
            took = time.time() - t0
            check(status == 200 and "ringtrack_build_info" in body,
                  "a scrape is answered with %d slow connections open "
                  "(%.3f s)" % (n, took))
            # The server closes each at its deadline (2 s from its accept),
            # unanswered; past the cap, the oldest went first.
            deadline = time.time() + 15
            closed = sum(closed_by_server(s, deadline) for s in slow)
            check(closed == n, "the server closed all %d slow connections "
                  "(%d closed)" % (n, closed))
            for s in slow:
                s.close()
    finally:
        d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
