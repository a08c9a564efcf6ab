#!/usr/bin/python3
"""ringtrackd in a network namespace this test makes (ULA addresses only),
on both io paths:

1. Two IPv6 addresses (and 127.0.0.1/127.0.0.2) on one host, ringtrackd on
   the wildcards [::] and 0.0.0.0: a client with a connected socket to each
   address gets its connect, announce and scrape replies (they come from the
   address it sent to, or the kernel would drop them).
2. A blackholed client address (replies to it fail with EINVAL) sending
   in the middle of a burst from a good one: every good request is answered,
   so one failed send never costs the rest of its batch.

Needs root (ip netns). Usage: netns_io_test.py --bin DIR
The script runs its client half inside the namespace with --client.
"""
import argparse
import os
import random
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402

PORT = 6969
ADDR1, ADDR2 = "fd52:7274:99::1", "fd52:7274:99::2"
BLACKHOLED = "fd52:7274:99::66"
MAGIC = 0x41727101980
IPV6_FREEBIND = 78  # <linux/in6.h>


def connect_req(tid):
    return struct.pack(">QII", MAGIC, 0, tid)


def exchange(sock, data, tid, timeout=2.0):
    sock.settimeout(timeout)
    sock.send(data)
    while True:
        r = sock.recv(2048)
        if len(r) >= 8 and struct.unpack(">I", r[4:8])[0] == tid:
            return r


def client_roundtrip(family, local, server):
    """connect, announce and scrape over a socket connected to server."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((local, 0))
    s.connect((server, PORT))
    r = exchange(s, connect_req(1), 1)
    cid = struct.unpack(">Q", r[8:16])[0]
    info_hash = bytes(range(20))
    ann = struct.pack(">QII20s20sQQQIIIiH", cid, 1, 2, info_hash, b"-RT0001-netnstest000",
                      0, 5, 0, 2, 0, 0, -1, 7001)
    r = exchange(s, ann, 2)
    ok_ann = struct.unpack(">I", r[:4])[0] == 1
    r = exchange(s, struct.pack(">QII", cid, 2, 3) + info_hash, 3)
    ok_scrape = struct.unpack(">I", r[:4])[0] == 2
    return ok_ann and ok_scrape


def client_main():
    results = []
    for server in (ADDR1, ADDR2):
        results.append(client_roundtrip(socket.AF_INET6, ADDR2, server))
    for server in ("127.0.0.1", "127.0.0.2"):
        results.append(client_roundtrip(socket.AF_INET, "127.0.0.9", server))
    print("roundtrips", " ".join("ok" if r else "bad" for r in results))
    # A burst of connects alternating between a good and a blackholed source.
    good = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    good.bind((ADDR2, 0))
    good.connect((ADDR1, PORT))
    bad = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    bad.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
    bad.bind((BLACKHOLED, 0))
    good.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    n = 2000
    for i in range(n):
        good.send(connect_req(i))
        bad.sendto(connect_req(i), (ADDR1, PORT))
    got = set()
    good.settimeout(1.0)
    try:
        while len(got) < n:
            r = good.recv(64)
            got.add(struct.unpack(">I", r[4:8])[0])
    except socket.timeout:
        pass
    print("burst", len(got), n)


def sh(*args, check_rc=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        sys.exit("command failed: %s\n%s" % (" ".join(args), p.stderr))
    return p


def scenario(bindir, io):
    ns = "rt_io_%d_%s" % (os.getpid(), io)
    log_path = "/tmp/ringtrackd_netns_%s.log" % ns
    daemon = None
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for a in (ADDR1, ADDR2):
            sh("ip", "-n", ns, "addr", "add", a + "/128", "dev", "lo", "nodad")
        sh("ip", "-n", ns, "-6", "route", "add", "blackhole", BLACKHOLED + "/128")
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", ns, os.path.join(bindir, "ringtrackd"),
             "--listen=[::]:%d" % PORT, "--listen=0.0.0.0:%d" % PORT,
             "--io=" + io, "--workers=1", "--stats-interval=0"],
            stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
        for _ in range(100):
            if "INFO ringtrackd" in open(log_path).read():
                break
            time.sleep(0.05)
        out = sh("ip", "netns", "exec", ns, sys.executable,
                 os.path.abspath(__file__), "--client").stdout
        check("roundtrips ok ok ok ok" in out,
              "%s: connected clients to [%s], [%s], 127.0.0.1 and 127.0.0.2 "
              "get every reply\n%s" % (io, ADDR1, ADDR2, out))
        burst = [l for l in out.splitlines() if l.startswith("burst")]
        got, n = (int(x) for x in burst[0].split()[1:]) if burst else (0, 1)
        check(got == n, "%s: %d of %d good requests answered amid a blackholed "
              "source's\n%s" % (io, got, n, out))
        daemon.terminate()
        daemon.wait(10)
        log = open(log_path).read()
        errors = [int(x.split("=")[1]) for x in log.split() if x.startswith("send_errors=")]
        check(errors and errors[-1] >= 1,
              "%s: the blackholed replies were counted as send errors (%s)"
              % (io, errors[-1] if errors else "none"))
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        sh("ip", "netns", "del", ns, check_rc=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--client", action="store_true")
    a = ap.parse_args()
    if a.client:
        client_main()
        return
    for io in ("uring", "mmsg"):
        scenario(a.bin, io)
    summary()


if __name__ == "__main__":
    main()
