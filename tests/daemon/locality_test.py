#!/usr/bin/python3
"""Locality against the real ringtrackd, on both io paths (uring, mmsg).

A text network map splits 127/8 into networks (127.1.0.0/16 = net-a,
127.2.0.0/16 = net-b, 127.4.0.0/16 = net-c, 127.3.0.0/16 outside the
map), and a swarm is filled from many 127.x source addresses, each a peer
of its own. Then:
  * a requester in net-a (or net-b) asking for n peers gets at least
    min(L, floor(s·n)) peers of its own network, L being the other peers
    it holds;
  * a requester in net-c, whose network holds fewer than that, gets every
    one of them and the rest from elsewhere;
  * a requester outside the map gets today's random selection (no
    network dominates its reply);
  * the counters say how many peers were handed out local and remote and
    how many announces came from outside the map, and the map's size;
  * SIGHUP with a malformed map keeps the old one (the log names
    FILE:LINE, selection is unchanged), and with a good new map switches;
  * a malformed map at start exits 1 naming FILE:LINE, and so does a map
    --user cannot read (it must be re-read on SIGHUP).

Usage: locality_test.py --bin DIR
"""
import argparse
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd, metric_value, scrape_metrics  # noqa: E402

INFO_HASH = bytes.fromhex("cc" * 20)
SHARE = 0.75
NUMWANT = 20
MAP = "# test networks on loopback sources\n" \
      "127.1.0.0/16 net-a\n127.2.0.0/16 net-b\n127.4.0.0/16 net-c\n"


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)  # ringtrackd re-reads it as --user


class Client:
    """A BEP 15 client on its own 127.x source address."""

    def __init__(self, port, source):
        self.source = source
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((source, 0))
        self.s.connect(("127.0.0.1", port))
        self.s.settimeout(2)
        self.s.send(struct.pack(">QII", 0x41727101980, 0, 1))
        self.cid = struct.unpack(">Q", self.s.recv(64)[8:16])[0]

    def announce(self, numwant, left=1, port=6881, event=2):
        """Returns the peers of the reply as a list of 'a.b.c.d' strings."""
        self.s.send(struct.pack(">QII20s20sQQQIIIiH", self.cid, 1, 7, INFO_HASH,
                                b"-RT0001-locality0000", 0, left, 0, event, 0, 0,
                                numwant, port))
        r = self.s.recv(2048)
        action = struct.unpack(">I", r[:4])[0]
        if action != 1:
            raise RuntimeError("announce from %s answered %r" % (self.source, r))
        return [socket.inet_ntoa(r[i:i + 4]) for i in range(20, len(r), 6)]

    def close(self):
        self.s.close()


def net_of(ip):
    return {"127.1": "a", "127.2": "b", "127.4": "c"}.get(ip.rsplit(".", 2)[0], "out")


def fill_swarm(port, counts):
    """Announces one peer (a leecher, numwant 0) from each of counts[net]
    sources per network; returns how many announces came from 127.3/16."""
    prefix = {"a": "127.1.0.", "b": "127.2.0.", "c": "127.4.0.", "out": "127.3.0."}
    for net, n in counts.items():
        for i in range(1, n + 1):
            c = Client(port, prefix[net] + str(i))
            c.announce(0)
            c.close()
    return counts.get("out", 0)


def reply_nets(port, source, numwant=NUMWANT):
    """Announces from `source` and returns its reply's peers counted by
    network; then announces `stopped`, so the requester leaves the swarm
    and every stored peer is one fill_swarm() announced (two announces)."""
    c = Client(port, source)
    peers = c.announce(numwant, left=1, port=9999, event=0)
    c.announce(0, left=1, port=9999, event=3)
    c.close()
    check(source not in peers, "the requester %s is not in its own reply" % source)
    check(len(set(peers)) == len(peers), "no peer twice in a reply: %s" % peers)
    out = {}
    for p in peers:
        out[net_of(p)] = out.get(net_of(p), 0) + 1
    return out, len(peers)


def run(bindir, work, io):
    path = os.path.join(work, "networks.txt")
    write(path, MAP)
    d = Ringtrackd(bindir, work, ["--workers=1", "--io=" + io, "--network-map=" + path,
                                  "--locality-share=%g" % SHARE,
                                  "--max-numwant=%d" % NUMWANT,
                                  "--default-numwant=%d" % NUMWANT,
                                  "--metrics=127.0.0.1:0"],
                   name="locality_" + io)
    outside = 0
    try:
        check("network map %s: 3 networks" % path in d.log(),
              "[%s] the map was loaded and its size logged\n%s" % (io, d.log()))
        counts = {"a": 40, "b": 40, "c": 3, "out": 40}
        outside += fill_swarm(d.port, counts)
        want = min(40, int(SHARE * NUMWANT))
        for source, net in (("127.1.0.200", "a"), ("127.2.0.200", "b")):
            nets, n = reply_nets(d.port, source)
            check(n == NUMWANT and nets.get(net, 0) >= want,
                  "[%s] a requester in net-%s gets >= min(L, floor(s*n)) = %d of its "
                  "own network's peers: %s" % (io, net, want, nets))
            check(nets.get(net, 0) < n,
                  "[%s] ... and not only its own network's: %s" % (io, nets))
        nets, n = reply_nets(d.port, "127.4.0.200")
        check(n == NUMWANT and nets.get("c", 0) == 3,
              "[%s] a requester in net-c (L = 3 < floor(s*n)) gets all 3 and the "
              "rest elsewhere: %s" % (io, nets))
        for i in range(5):
            nets, n = reply_nets(d.port, "127.3.1.%d" % (i + 1))
            outside += 2
            check(n == NUMWANT and max(nets.values()) < want,
                  "[%s] a requester outside the map gets a random mix: %s" % (io, nets))

        port = int(re.search(r"metrics=127\.0\.0\.1:(\d+)", d.log()).group(1))
        text = scrape_metrics(port)
        local = metric_value(text, 'ringtrack_locality_peers_total{network="local"}')
        check(local is not None and local >= 2 * want + 3,
              "[%s] /metrics has the local peers handed out: %s" % (io, local))
        check(metric_value(text, "ringtrack_network_map_networks") == 3 and
              metric_value(text, 'ringtrack_network_map_ranges{ip_version="4"}') > 0,
              "[%s] /metrics states the map's networks and ranges" % io)
        # A malformed map on SIGHUP keeps the old one, naming the line.
        write(path, MAP + "127.5.0.0/33 net-d\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("keeping the old network map"),
              "[%s] a malformed map is refused on SIGHUP\n%s" % (io, d.log()))
        check(path + ":5" in d.log(), "[%s] the error names FILE:LINE\n%s" % (io, d.log()))
        nets, n = reply_nets(d.port, "127.1.0.201")
        check(nets.get("a", 0) >= want, "[%s] the old map stays in force: %s" % (io, nets))
        # A good new map switches: 127.3/16 is now a network, 127.1/16 and
        # 127.4/16 are not. A stored peer takes its new network at its next
        # announce (core/swarm/peer_set.h), so the swarm announces again,
        # as it would within an interval.
        write(path, "127.3.0.0/16 net-x\n127.2.0.0/16 net-b\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("network map %s: 2 networks" % path),
              "[%s] SIGHUP loads the new map\n%s" % (io, d.log()))
        fill_swarm(d.port, counts)
        outside += counts["a"] + counts["c"]
        nets, n = reply_nets(d.port, "127.3.2.1")
        check(nets.get("out", 0) >= want,
              "[%s] the new map is in force: 127.3/16 is a network now: %s" % (io, nets))
        nets, n = reply_nets(d.port, "127.1.0.202")
        outside += 2
        check(max(nets.values()) < want,
              "[%s] ... and 127.1/16 is outside it (random mix): %s" % (io, nets))
        check(d.proc.poll() is None, "[%s] the daemon is still running" % io)
    finally:
        stats = d.stop()
    # Local: the requesters' own-network peers (a, b, c, then the old map's
    # a again, then net-x); the fills asked for none.
    check(stats.get("locality_outside_map_announces") == outside,
          "[%s] announces from outside the map counted: %s, expected %d" % (
              io, stats.get("locality_outside_map_announces"), outside))
    check(stats.get("locality_peers_local", 0) >= 2 * want + 3 + 2 * want,
          "[%s] local peers handed out counted: %s" % (io, stats.get("locality_peers_local")))
    check(stats.get("locality_peers_remote", 0) > 0,
          "[%s] remote peers handed out counted: %s" % (io, stats.get("locality_peers_remote")))
    check(stats.get("network_map_networks") == 2 and stats.get("network_map_loads") == 2,
          "[%s] the map in force is the second one: networks=%s loads=%s" % (
              io, stats.get("network_map_networks"), stats.get("network_map_loads")))
    check(stats.get("network_map_bytes", 0) > 0,
          "[%s] the map's memory is stated: %s" % (io, stats.get("network_map_bytes")))


def config_reload(bindir, work):
    """With --config, network_map is a live key: a SIGHUP that changes
    its path loads the new map, and removing it drops the map."""
    first, second = os.path.join(work, "first.txt"), os.path.join(work, "second.txt")
    write(first, "127.1.0.0/16 net-a\n")
    write(second, "127.1.0.0/16 net-a\n127.2.0.0/16 net-b\n")
    conf = os.path.join(work, "ringtrackd.toml")
    write(conf, 'network_map = "%s"\nlocality_share = 0.5\n' % first)
    d = Ringtrackd(bindir, work, ["--workers=1", "--config=" + conf], name="locality_conf")
    try:
        check(d.wait_log("network map %s: 1 networks" % first),
              "--config loads the map\n" + d.log())
        write(conf, 'network_map = "%s"\nlocality_share = 0.9\n' % second)
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("network map %s: 2 networks" % second),
              "SIGHUP with a new network_map path loads it\n" + d.log())
        check(d.wait_log("SIGHUP: locality_share 0.5 -> 0.9"),
              "locality_share changes live\n" + d.log())
        write(conf, "")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("network map dropped"),
              "SIGHUP without network_map drops the map\n" + d.log())
    finally:
        stats = d.stop()
    check(stats.get("network_map_loads") == 2 and not stats.get("network_map_networks"),
          "two maps were loaded and none is in force: %s" % stats)


def start_errors(bindir, work):
    path = os.path.join(work, "bad.txt")
    write(path, "127.1.0.0/16 net-a\nnot a prefix\n")
    p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                        "--network-map=" + path], capture_output=True, text=True,
                       timeout=10)
    check(p.returncode == 1 and path + ":2" in p.stderr,
          "a malformed map at start exits 1 naming FILE:LINE\n" + p.stderr)
    p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                        "--locality-share=1.5"], capture_output=True, text=True,
                       timeout=10)
    check(p.returncode == 2 and "--locality_share" in p.stderr.replace("-", "_").replace(
        "__", "--"), "a share out of range is refused naming the flag\n" + p.stderr)
    if os.geteuid() == 0:
        secret = os.path.join(work, "secret.txt")
        write(secret, MAP, mode=0o600)
        p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                            "--network-map=" + secret, "--user=nobody"],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 1 and secret in p.stderr and "nobody" in p.stderr,
              "a map --user cannot read exits 1 naming the file and the user\n" +
              p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringtrack_locality_")
    os.chmod(work, 0o755)
    try:
        for io in ("uring", "mmsg"):
            run(a.bin, work, io)
        config_reload(a.bin, work)
        start_errors(a.bin, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
