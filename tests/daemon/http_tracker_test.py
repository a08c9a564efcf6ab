#!/usr/bin/python3
"""The HTTP tracker against the real ringtrackd over loopback TCP, on both
io paths (io_uring, and epoll beside recvmmsg), IPv4 and IPv6:
  * announce: compact (default) and dictionary (compact=0) peers, peers6
    for IPv6 requesters, interval/complete/incomplete; scrape with files
    keyed by the raw hash;
  * one set of swarms: an HTTP leecher gets a UDP seeder and a UDP leecher
    an HTTP seeder; the state file restores peers that announced over HTTP;
  * refusals a client shows (access list, the per-source torrent rate) are
    `failure reason` with status 200;
  * --http-trusted-proxy: a listed proxy's X-Forwarded-For names the peer;
    the same header from anyone else is ignored;
  * HTTP/1.0 closes after its reply, keep-alive and pipelining keep going;
    garbage gets 400, an unknown path 404, another method 405.

Usage: http_tracker_test.py --bin DIR
"""
import argparse
import os
import re
import socket
import struct
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_limits_test import Http, udp_announce  # noqa: E402


def bdecode(data, i=0):
    """(value, next index) of the bencoded value at data[i:]."""
    c = data[i:i + 1]
    if c == b"i":
        e = data.index(b"e", i)
        return int(data[i + 1:e]), e + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            v, i = bdecode(data, i)
            out[k] = v
        return out, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1:colon + 1 + n], colon + 1 + n


def decode(body):
    v, end = bdecode(body)
    assert end == len(body), "trailing bytes after the bencoded value"
    return v


def pct(raw):
    return "".join("%%%02X" % b for b in raw)


def announce_path(info_hash, port, left=1, extra=""):
    peer_id = b"-PY0001-" + os.urandom(6).hex().encode()
    return ("/announce?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0"
            "&left=%d%s" % (pct(info_hash), pct(peer_id), port, left, extra))


def get(addr, path, headers="", bind=None, version="1.1"):
    """(status, headers, decoded body or raw) of one request on a new
    connection."""
    if bind:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((bind, 0))
        s.settimeout(5)
        s.connect(addr)
        c = Http.__new__(Http)
        c.s, c.buf = s, b""
    else:
        c = Http(addr)
    c.send("GET %s HTTP/%s\r\nHost: t\r\n%s\r\n" % (path, version, headers))
    status, h, body = c.response()
    c.close()
    try:
        return status, h, decode(body)
    except Exception:  # noqa: BLE001 - not bencoded
        return status, h, body


def compact_peers(blob, size):
    out = set()
    for k in range(0, len(blob), size):
        e = blob[k:k + size]
        ip = socket.inet_ntop(socket.AF_INET if size == 6 else socket.AF_INET6,
                              e[:-2])
        out.add((ip, struct.unpack(">H", e[-2:])[0]))
    return out


class Daemon:
    def __init__(self, bindir, work, io, args=()):
        self.d = Ringtrackd(bindir, work, ["--io=" + io, "--listen=[::1]:0",
                                           "--workers=2", "--stats_interval=0"]
                            + list(args), name="ringtrackd-" + io)
        http = re.search(r" http=(\S+)", self.d.log()).group(1).split(",")
        self.v4 = ("127.0.0.1", int(http[0].rsplit(":", 1)[1]))
        self.v6 = ("::1", int(http[1].rsplit(":", 1)[1]))
        self.udp_port = self.d.port

    def stop(self):
        return self.d.stop()


def test_announce_and_scrape(d, io):
    h = os.urandom(20)
    st, _, r = get(d.v4, announce_path(h, 7001, left=0))
    check(st == 200 and isinstance(r, dict) and r.get(b"interval", 0) > 0 and
          b"peers" in r and r.get(b"complete") == 1,
          "%s: an HTTP seeder's announce gets 200 and a bencoded reply %r" % (io, r))
    st, _, r = get(d.v4, announce_path(h, 7002))
    peers = compact_peers(r.get(b"peers", b""), 6)
    check(st == 200 and ("127.0.0.1", 7001) in peers and r[b"incomplete"] == 1,
          "%s: a leecher gets the seeder as a compact peer (%r)" % (io, r))
    st, _, r = get(d.v4, announce_path(h, 7003, extra="&compact=0"))
    lst = r.get(b"peers") if isinstance(r, dict) else None
    check(isinstance(lst, list) and any(p.get(b"ip") == b"127.0.0.1" and
                                        p.get(b"port") == 7001 for p in lst),
          "%s: compact=0 gets the dictionary form (%r)" % (io, r))
    # IPv6: its own peers, as peers6.
    st, _, r = get(d.v6, announce_path(h, 7004, left=0))
    st, _, r = get(d.v6, announce_path(h, 7005))
    check(st == 200 and ("::1", 7004) in compact_peers(r.get(b"peers6", b""), 18),
          "%s: an IPv6 leecher gets peers6 with the IPv6 seeder (%r)" % (io, r))
    st, _, r = get(d.v4, "/scrape?info_hash=" + pct(h))
    f = r.get(b"files", {}).get(h) if isinstance(r, dict) else None
    check(st == 200 and f is not None and f[b"complete"] == 2 and
          f[b"incomplete"] == 3 and b"downloaded" in f,
          "%s: scrape counts the HTTP seeders and leechers of both families (%r)"
          % (io, r))


def test_mixed_swarm(d, io):
    h = os.urandom(20)
    check(udp_announce(d.udp_port, h, 7101, left=0) is not None,
          "%s: a UDP seeder announces" % io)
    st, _, r = get(d.v4, announce_path(h, 7102))
    check(("127.0.0.1", 7101) in compact_peers(r.get(b"peers", b""), 6),
          "%s: an HTTP leecher gets the UDP seeder" % io)
    h2 = os.urandom(20)
    get(d.v4, announce_path(h2, 7201, left=0))
    got = udp_announce(d.udp_port, h2, 7202, want_peers=True)
    check(got is not None and ("127.0.0.1", 7201) in got[3],
          "%s: a UDP leecher gets the HTTP seeder (%r)" % (io, got))


def test_errors_and_connections(d, io):
    st, h, _ = get(d.v4, "/nope")
    check(st == 404, "%s: an unknown path gets 404" % io)
    c = Http(d.v4)
    c.send("POST /announce HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
    st = c.response()[0]
    check(st == 405, "%s: POST gets 405 (%d)" % (io, st))
    c = Http(d.v4)
    c.send("\x16\x03\x01\x02\x00garbage\r\n\r\n")
    try:
        st = c.response()[0]
    except (EOFError, ConnectionResetError):
        st = None
    check(st == 400 and c.closed_within(5),
          "%s: garbage (a TLS hello) gets 400 and is closed (%r)" % (io, st))
    hh = os.urandom(20)
    c = Http(d.v4)
    c.send("GET %s HTTP/1.0\r\n\r\n" % announce_path(hh, 7301))
    st, hdr, body = c.response()
    check(st == 200 and len(body) == int(hdr["content-length"]) and
          c.closed_within(5),
          "%s: HTTP/1.0 gets its whole reply and the connection closed" % io)
    c = Http(d.v6)
    c.send(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % announce_path(hh, 7302)) * 3 +
           "GET /scrape?info_hash=%s HTTP/1.1\r\nHost: t\r\n\r\n" % pct(hh))
    got = [c.response() for _ in range(4)]
    check(all(g[0] == 200 for g in got) and
          b"files" in decode(got[3][2]),
          "%s: 3 announces and a scrape pipelined on one keep-alive connection "
          "are answered in order" % io)
    c.close()


def test_refusals(bindir, work, io):
    allowed = os.urandom(20)
    lst = os.path.join(work, "allow.txt")
    with open(lst, "w") as f:
        f.write(allowed.hex() + "\n")
    d = Daemon(bindir, work, io, ["--access_list=" + lst])
    try:
        st, _, r = get(d.v4, announce_path(os.urandom(20), 7401))
        check(st == 200 and isinstance(r, dict) and b"failure reason" in r,
              "%s: a hash the access list refuses gets failure reason with "
              "status 200 (%r)" % (io, r))
        st, _, r = get(d.v4, announce_path(allowed, 7401))
        check(st == 200 and b"peers" in r, "%s: the listed hash is served" % io)
    finally:
        d.stop()
    d = Daemon(bindir, work, io, ["--source_torrent_burst=1",
                                   "--source_torrent_rate=0.001"])
    try:
        get(d.v4, announce_path(os.urandom(20), 7501))
        st, _, r = get(d.v4, announce_path(os.urandom(20), 7501))
        check(st == 200 and b"failure reason" in r,
              "%s: a second new torrent past the per-source rate gets failure "
              "reason with status 200 (%r)" % (io, r))
    finally:
        d.stop()


def test_trusted_proxy(bindir, work, io):
    d = Daemon(bindir, work, io, ["--http_trusted_proxy=127.0.0.1/32"])
    try:
        h = os.urandom(20)
        get(d.v4, announce_path(h, 7601), headers="X-Forwarded-For: 10.1.2.3\r\n")
        get(d.v4, announce_path(h, 7602), headers="X-Forwarded-For: 10.9.9.9\r\n",
            bind="127.0.0.2")
        st, _, r = get(d.v4, announce_path(h, 7603, left=0), bind="127.0.0.3")
        peers = compact_peers(r.get(b"peers", b""), 6)
        check(("10.1.2.3", 7601) in peers,
              "%s: a trusted proxy's X-Forwarded-For names the peer (%r)" % (io, peers))
        check(("127.0.0.2", 7602) in peers and
              not any(ip == "10.9.9.9" for ip, _ in peers),
              "%s: the same header from an untrusted source is ignored" % io)
    finally:
        d.stop()


def test_state_file(bindir, work, io):
    state = os.path.join(work, "state-" + io)
    h = os.urandom(20)
    d = Daemon(bindir, work, io, ["--state_file=" + state, "--user="])
    try:
        get(d.v4, announce_path(h, 7701, left=0))
        get(d.v6, announce_path(h, 7702))
    finally:
        d.stop()
    d = Daemon(bindir, work, io, ["--state_file=" + state, "--user="])
    try:
        st, _, r = get(d.v4, "/scrape?info_hash=" + pct(h))
        f = r.get(b"files", {}).get(h) if isinstance(r, dict) else None
        check(f is not None and f[b"complete"] == 1 and f[b"incomplete"] == 1,
              "%s: the state file restores peers that announced over HTTP (%r)"
              % (io, r))
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for io in ("uring", "mmsg"):
            d = Daemon(args.bin, work, io)
            try:
                test_announce_and_scrape(d, io)
                test_mixed_swarm(d, io)
                test_errors_and_connections(d, io)
            finally:
                d.stop()
            test_refusals(args.bin, work, io)
            test_trusted_proxy(args.bin, work, io)
            test_state_file(args.bin, work, io)
    summary()


if __name__ == "__main__":
    main()
