#!/usr/bin/python3
"""Every io path gives the same answer to the same datagram, for every
length a UDP datagram can have.

One sequence of datagrams is sent to ringtrackd on each io path:
  * a length sweep, one datagram of each length from 0 to 65 507 bytes: at
    lengths 16 + 20·n a scrape of n hashes, at 16 + 20·n - 10 a scrape of a
    bad length, else in turn a connect, an announce whose BEP 41 options
    fill the rest, and junk (all padded from one seeded generator);
  * then scrapes of 74, 75, 98, 200 and 3 000 hashes, every other one the
    announced torrent's.
Each run's replies (connection IDs checked for a current issue time, then
zeroed, the only bytes that legitimately differ) must match what BEP 15 and
README promise (connects and announces answered at any length; a scrape of
n >= 1 hashes answered for min(n, 74); an empty scrape gets an error;
nothing else answered) and, byte for byte, the first path's. The sweep is
paced: a batch (at most 64 datagrams, 1 MiB), then sentinel requests whose
replies mark the end of the batch's (one worker, so they come in order on
each way a reply can take; see exchange()).

Paths: uring and mmsg on 127.0.0.1; --io xdp on lo (generic mode, ::1, where
frames up to 64 KiB reach the XDP program); --io xdp across a veth pair
between two network namespaces this test makes, in generic mode over IPv6
(ULA) and in native mode over IPv4 (link-local): datagrams beyond the MTU
arrive as fragments and go up the normal path. The xdp paths need root.
Usage:
  io_paths_agree_test.py --bin DIR --bpf-obj PATH/tracker.bpf.o
      [--paths uring,mmsg,xdp-lo,xdp-veth,xdp-veth-native]
The veth path runs its client half inside the client namespace with
--client.
"""
import argparse
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import parse_stats  # noqa: E402
from netns import make_xdp_veth, remove_xdp_veth, sh  # noqa: E402

MAGIC = 0x41727101980
MAX_UDP = 65507            # the largest UDP payload over IPv4
MAX_SCRAPE_HASHES = 74     # RT_MAX_SCRAPE_HASHES
RECV_PAYLOAD = 2048        # kRecvPayloadSize: what the socket loops keep
SCRAPES = (74, 75, 98, 200, 3000)
INFO_HASH = bytes(range(0x30, 0x44))
BATCH_DATAGRAMS, BATCH_BYTES = 64, 1 << 20
SENTINEL = 0xF0000000      # transaction IDs of the end-of-batch sentinels


class Lost(Exception):
    """A sentinel's reply did not come."""


def connect_req(tid):
    return struct.pack(">QII", MAGIC, 0, tid)


class Sequence:
    """The datagrams, built the same way on every run: (kind, length,
    transaction ID, bytes) by index; the connection ID is filled in at
    send time (it is the run's own)."""

    def __init__(self):
        rng = random.Random(19)
        self.pad = rng.randbytes(MAX_UDP)
        # BEP 41: URL data options of 255 bytes, back to back, no end
        # option: any cut falls inside one.
        chunk = bytes([2, 255]) + b"/announce?x=" + b"u" * 243
        self.options = (chunk * (MAX_UDP // len(chunk) + 1))[:MAX_UDP]
        # Even hashes are the announced torrent, odd ones unknown.
        self.hashes = b"".join(INFO_HASH if i % 2 == 0 else bytes([i % 251]) * 20
                               for i in range(3300))
        self.items = []
        for length in range(MAX_UDP + 1):
            if length % 20 == 16:
                kind = "scrape"
            elif length % 20 == 6 and length > 16:
                kind = "scrape_bad_length"
            else:
                kind = ("connect", "announce", "junk")[length % 3]
            self.items.append((kind, length))
        # Last, when the announced torrent has its seeder.
        for n in SCRAPES:
            self.items.append(("scrape", 16 + 20 * n))

    def datagram(self, i, cid):
        kind, length = self.items[i]
        tid = i + 1
        if kind == "connect":
            head = connect_req(tid)
            body = self.pad
        elif kind == "announce":
            head = struct.pack(">QII20s20sQQQIIIiH", cid, 1, tid, INFO_HASH,
                               b"-RT0019-ioagreement0", 0, 0, 0, 2, 0, 7, -1, 6881)
            body = self.options
        elif kind.startswith("scrape"):
            head = struct.pack(">QII", cid, 2, tid)
            body = self.hashes if kind == "scrape" else self.pad
        else:
            head = b""
            body = self.pad
        d = head[:length]
        return d + body[:length - len(d)]


def normalise(reply):
    """Zeroes a connect reply's connection ID after checking its issue time
    (its first 32 bits) is now; returns (bytes, ok)."""
    if len(reply) == 16 and reply[:4] == b"\0\0\0\0":
        issued = struct.unpack(">I", reply[8:12])[0]
        return reply[:8] + bytes(8), abs(issued - time.time()) < 30
    return reply, True


def run_client(family, host, port):
    """Sends the whole sequence; returns {index: reply hex} and a list of
    problems (bad connection IDs, replies nobody asked for)."""
    seq = Sequence()
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.connect((host, port))
    s.settimeout(5)
    problems = []
    replies = {}
    batch_no = [0]

    def exchange(datagrams, cid=None):
        """Sends `datagrams` (index, bytes), then sentinels, and files every
        reply until the sentinels' have come. Each of the ways a reply can
        take keeps its order, but they race each other, so there is a
        sentinel for each: a connect (the socket, or XDP_TX), and with a
        connection ID a small scrape (the AF_XDP socket with --io xdp) and
        one longer than an AF_XDP frame and the MTU (up the stack).
        Returns the connect sentinel's reply."""
        batch_no[0] += 1
        base = SENTINEL + 4 * batch_no[0]
        for _, d in datagrams:
            s.send(d)
        sentinels = {base: connect_req(base)}
        if cid is not None:
            for k, hashes in ((1, 1), (2, 100)):
                sentinels[base + k] = struct.pack(">QII", cid, 2, base + k) + \
                    bytes(20 * hashes)
        for d in sentinels.values():
            s.send(d)
        waiting, first = set(sentinels), None
        while waiting:
            try:
                r = s.recv(65536)
            except socket.timeout:
                raise Lost("no reply to sentinel(s) %s after the batch of datagrams %s" % (
                    sorted(t - base for t in waiting),
                    ", ".join("#%d (%d bytes)" % (i, len(d)) for i, d in datagrams[-3:])))
            tid = struct.unpack(">I", r[4:8])[0] if len(r) >= 8 else None
            if tid in waiting:
                waiting.discard(tid)
                first = r if tid == base else first
                continue
            if tid is None or not 1 <= tid <= len(seq.items) or tid - 1 in replies:
                problems.append("unexpected reply %s" % r[:32].hex())
                continue
            r, ok = normalise(r)
            if not ok:
                problems.append("datagram %d: connection ID not issued now" % (tid - 1))
            replies[tid - 1] = r.hex()
        return first

    def fresh_cid():
        return struct.unpack(">Q", exchange([])[8:16])[0]

    try:
        cid, cid_at = fresh_cid(), time.time()
        batch, size = [], 0
        for i in range(len(seq.items)):
            if time.time() - cid_at > 60:  # IDs live 120 s
                exchange(batch, cid)
                batch, size = [], 0
                cid, cid_at = fresh_cid(), time.time()
            d = seq.datagram(i, cid)
            if batch and (len(batch) == BATCH_DATAGRAMS or size + len(d) > BATCH_BYTES):
                exchange(batch, cid)
                batch, size = [], 0
            batch.append((i, d))
            size += len(d)
        exchange(batch, cid)
    except Lost as e:  # the run stops here: what follows would wait as long
        problems.append(str(e))
    return replies, problems


def expected(kind, length):
    """What the reply must be, per BEP 15 and README: (action, length) or
    None for no reply."""
    if length < 16:
        return None
    if kind == "connect":
        return (0, 16)
    if kind == "announce":
        return (1, 20) if length >= 98 else None
    if kind == "scrape":
        n = (length - 16) // 20
        if n == 0:
            return (3, 8 + len("no info hashes"))
        return (2, 8 + 12 * min(n, MAX_SCRAPE_HASHES))
    return None


def judge(name, replies, problems, reference):
    """Checks one run against the rules and against the reference run."""
    seq = Sequence()
    check(not problems, "%s: every reply answers a request, every connection ID "
          "is current\n%s" % (name, "\n".join(problems[:10])))
    wrong = []
    for i, (kind, length) in enumerate(seq.items):
        r = replies.get(i)
        want = expected(kind, length)
        got = None
        if r is not None:
            b = bytes.fromhex(r)
            got = (struct.unpack(">I", b[:4])[0], len(b)) if len(b) >= 4 else (None, len(b))
        if got != want:
            wrong.append("#%d %s of %d bytes: expected %s, got %s" % (i, kind, length,
                                                                       want, got))
    check(not wrong, "%s: every datagram answered as README says (%d wrong)\n%s"
          % (name, len(wrong), "\n".join(wrong[:20])))
    for i, n in enumerate(SCRAPES, len(seq.items) - len(SCRAPES)):
        b = bytes.fromhex(replies.get(i, ""))
        entries = [struct.unpack(">III", b[8 + 12 * k:20 + 12 * k])
                   for k in range((len(b) - 8) // 12)]
        check(len(entries) == MAX_SCRAPE_HASHES and
              all(e == ((1, 0, 0) if k % 2 == 0 else (0, 0, 0))
                  for k, e in enumerate(entries)),
              "%s: a scrape of %d hashes is answered for its first 74: %s"
              % (name, n, entries[:4]))
    if reference is not None:
        ref_name, ref = reference
        diff = [i for i in range(len(seq.items)) if replies.get(i) != ref.get(i)]
        check(not diff, "%s: replies byte for byte as %s's (%d differ)\n%s" % (
            name, ref_name, len(diff), "\n".join(
                "#%d %s of %d bytes: %s vs %s" % (
                    i, seq.items[i][0], seq.items[i][1], (replies.get(i) or "none")[:80],
                    (ref.get(i) or "none")[:80]) for i in diff[:10])))


def start(cmd, log_path, port_re):
    """Starts ringtrackd (`cmd`), returns (process, port) once it logs its
    listen address."""
    d = subprocess.Popen(cmd, stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        m = re.search(port_re, open(log_path).read())
        if m:
            return d, int(m.group(1))
        if d.poll() is not None:
            break
        time.sleep(0.05)
    d.kill()
    sys.exit("ringtrackd did not start:\n" + open(log_path).read())


def stop(d, log_path):
    d.terminate()
    d.wait(10)
    lines = [l for l in open(log_path).read().splitlines() if " final " in l]
    return parse_stats(lines[-1]) if lines else {}


def loopback_run(a, path, work):
    log_path = os.path.join(work, path + ".log")
    args = [os.path.join(a.bin, "ringtrackd"), "--workers=1", "--stats-interval=0"]
    if path == "xdp-lo":
        args += ["--listen=[::1]:0", "--io=xdp", "--xdp=lo", "--xdp-mode=generic"]
        family, host, port_re = socket.AF_INET6, "::1", r"listen=\[::1\]:(\d+)"
    else:
        args += ["--listen=127.0.0.1:0", "--io=" + path]
        family, host, port_re = socket.AF_INET, "127.0.0.1", r"listen=127\.0\.0\.1:(\d+)"
    d, port = start(args, log_path, port_re)
    try:
        t0 = time.time()
        replies, problems = run_client(family, host, port)
        took = time.time() - t0
    finally:
        stats = stop(d, log_path)
    return replies, problems, stats, took


def veth_run(a, work, path):
    """--io xdp on one end of a veth pair, the client in the other
    namespace: xdp-veth in generic mode over IPv6 (ULA), xdp-veth-native in
    native mode over IPv4 (link-local)."""
    native = path.endswith("native")
    tag = str(os.getpid() % 10000) + ("n" if native else "g")
    srv_ns, cli_ns = "rt_agree_s" + tag, "rt_agree_c" + tag
    srv_if, cli_if = "rtas" + tag, "rtac" + tag
    if native:
        srv_ip, cli_ip, prefix = "169.254.19.1", "169.254.19.2", "/24"
        listen, port_re = "%s:6969" % srv_ip, r"listen=%s:(\d+)" % re.escape(srv_ip)
    else:
        srv_ip, cli_ip, prefix = "fd52:7274:19::1", "fd52:7274:19::2", "/64"
        listen, port_re = "[%s]:6969" % srv_ip, r"listen=\[%s\]:(\d+)" % re.escape(srv_ip)
    log_path = os.path.join(work, path + ".log")
    out_path = os.path.join(work, path + ".json")
    d = None
    try:
        make_xdp_veth(srv_ns, cli_ns, srv_if, cli_if,
                      [(srv_ip, cli_ip, prefix, not native)], native, a.bpf_obj)
        d, port = start(["ip", "netns", "exec", srv_ns, os.path.join(a.bin, "ringtrackd"),
                         "--listen=" + listen, "--workers=1", "--io=xdp",
                         "--xdp=" + srv_if, "--xdp-mode=" + ("native" if native else "generic"),
                         "--stats-interval=0"],
                        log_path, port_re)
        check("xdp=%s(%s)" % (srv_if, "native" if native else "generic")
              in open(log_path).read(), "%s: XDP attached\n%s" % (path, open(log_path).read()))
        t0 = time.time()
        p = sh("ip", "netns", "exec", cli_ns, sys.executable, os.path.abspath(__file__),
               "--client", srv_ip, str(port), out_path, check_rc=False)
        took = time.time() - t0
        check(p.returncode == 0, "%s: the client ran\n%s%s" % (path, p.stdout, p.stderr))
        with open(out_path) as f:
            out = json.load(f)
        replies = {int(k): v for k, v in out["replies"].items()}
        stats = stop(d, log_path)
        d = None
        return replies, out["problems"], stats, took
    finally:
        if d is not None and d.poll() is None:
            d.kill()
            d.wait()
        remove_xdp_veth(srv_ns, cli_ns)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--paths", default="uring,mmsg,xdp-lo,xdp-veth,xdp-veth-native")
    ap.add_argument("--bpf-obj", help="tracker.bpf.o, for the client end in native mode")
    ap.add_argument("--client", nargs=3, metavar=("HOST", "PORT", "OUT"))
    a = ap.parse_args()
    if a.client:
        host, port, out = a.client
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        replies, problems = run_client(family, host, int(port))
        with open(out, "w") as f:
            json.dump({"replies": replies, "problems": problems}, f)
        return
    reference = None
    with tempfile.TemporaryDirectory() as work:
        for path in a.paths.split(","):
            if path.startswith("xdp-veth"):
                replies, problems, stats, took = veth_run(a, work, path)
            else:
                replies, problems, stats, took = loopback_run(a, path, work)
            print("%s: %d datagrams, %d replies in %.1f s; truncated=%s xsk_frames=%s "
                  "xdp_pass=%s" % (path, len(Sequence().items), len(replies), took,
                                   stats.get("truncated"), stats.get("xsk_frames"),
                                   stats.get("xdp_pass")), flush=True)
            judge(path, replies, problems, reference)
            if not path.startswith("xdp"):  # (XDP drops some before a socket)
                longer = sum(1 for _, length in Sequence().items if length > RECV_PAYLOAD)
                check(stats.get("truncated") == longer,
                      "%s: the %d datagrams longer than %d bytes were cut and counted "
                      "(truncated=%s)" % (path, longer, RECV_PAYLOAD, stats.get("truncated")))
            if path.startswith("xdp"):
                check(stats.get("xsk_frames", 0) > 0,
                      "%s: datagrams came through the AF_XDP socket (xsk_frames=%s)"
                      % (path, stats.get("xsk_frames")))
            if reference is None:
                reference = (path, replies)
    summary()


if __name__ == "__main__":
    main()
