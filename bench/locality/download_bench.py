#!/usr/bin/python3
"""Download time with locality off and on, measured for real (root).

Two "networks", A and B, are two network namespaces joined by one veth
pair: the slow link. Each network's hosts are addresses in its own
namespace, so traffic between two of them is the kernel's local delivery
(its fast local segment): fd00:a::/64 and fd00:b::/64 (ULA). The
slow link is a tbf rate limit plus random loss from a tc egress BPF program
(link_loss.bpf.c) on both ends; this kernel has no netem, so the link adds
no propagation delay of its own, only the queueing delay tbf's rate makes.

Seeders sit on both sides, leechers on side A only, every one a libtorrent
session (python3-libtorrent) on its own address, TCP only, without DHT,
LSD or peer exchange, so every peer a client knows came from the tracker.
ringtrackd runs in A with a small --max-numwant, so that a reply names
only part of the swarm and the selection decides which part. Locality off
is ringtrackd without a map; on is the same with a text map of the two
networks (--network-map, --locality-share).

Each run: a fresh tracker; the seeders start and announce; then the
leechers start together and download the same file. Recorded per run: the
leechers' median download time and the bytes that crossed the slow link
(the veth's counters, both directions) while they did. Runs alternate off
and on; the summary gives each mode's median and range over the runs.

Usage: download_bench.py --bin build/bin [--runs 5] [--size-mib 16] ...
"""
import argparse
import json
import queue
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "pylib"))
from daemon import Ringtrackd  # noqa: E402
from netns import sh  # noqa: E402

NS_A, NS_B = "rtdl_a", "rtdl_b"
IF_A, IF_B = "rtdl_a0", "rtdl_b0"
TRACKER = "fd00:a::100"
PEER_PORT = 6881


def host(side, i):
    return "fd00:%s::%d" % (side, 0x10 + i)


# --- one namespace's libtorrent sessions (run as a child process) ---------

def session_settings(addr, port):
    import libtorrent as lt
    return {
        "listen_interfaces": "[%s]:%d" % (addr, port),
        "outgoing_interfaces": addr,
        "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.tracker_notification |
        lt.alert.category_t.error_notification,
    }


def run_peers(a):
    """Sessions for a.addrs: seeders report once each had a tracker reply,
    leechers report each finish time; then all keep serving until killed."""
    import libtorrent as lt
    ti = lt.torrent_info(a.torrent)
    peers = []
    start = time.time()
    for addr in a.addrs.split(","):
        # flags 0: no default plugins, so no peer exchange (ut_pex).
        s = lt.session(session_settings(addr, PEER_PORT), 0)
        params = {"ti": lt.torrent_info(ti), "save_path": a.data}
        if a.role == "seed":
            params["flags"] = lt.torrent_flags.seed_mode
        else:
            params["save_path"] = os.path.join(a.data, addr.replace(":", "_"))
        peers.append({"addr": addr, "session": s, "handle": s.add_torrent(params),
                      "replied": False, "done": None})
    reported = False
    next_progress = time.time() + 10
    while True:
        if a.role == "leech" and time.time() > next_progress:
            next_progress += 10
            for p in peers:
                st = p["handle"].status()
                print("  %s: %s %d/%d pieces after %.0f s, %d peers, finished=%s" % (
                    p["addr"], st.state, st.num_pieces, ti.num_pieces(),
                    time.time() - start, st.num_peers, st.is_finished),
                    file=sys.stderr, flush=True)
        for p in peers:
            for alert in p["session"].pop_alerts():
                if isinstance(alert, lt.tracker_reply_alert):
                    p["replied"] = True
                elif isinstance(alert, lt.tracker_error_alert):
                    print(json.dumps({"error": p["addr"] + ": " + alert.message()}),
                          flush=True)
            if a.role == "leech" and p["done"] is None and p["handle"].status().is_finished:
                p["done"] = time.time() - start
                print(json.dumps({"finished": p["addr"], "seconds": p["done"]}),
                      flush=True)
        if not reported:
            if a.role == "seed" and all(p["replied"] for p in peers):
                print(json.dumps({"ready": len(peers)}), flush=True)
                reported = True
            elif a.role == "leech" and all(p["done"] is not None for p in peers):
                print(json.dumps({"all_finished": [p["done"] for p in peers]}),
                      flush=True)
                reported = True
        time.sleep(0.05)


# --- the bench ------------------------------------------------------------

def make_network(a, work):
    obj = os.path.join(work, "link_loss.o")
    sh("clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu",
       "-DLOSS_PER_MILLION=%d" % int(a.loss_percent * 10000), "-c",
       os.path.join(HERE, "link_loss.bpf.c"), "-o", obj)
    remove_network()
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", IF_A, "type", "veth", "peer", "name", IF_B)
    sh("ip", "link", "set", IF_A, "netns", NS_A)
    sh("ip", "link", "set", IF_B, "netns", NS_B)
    sides = ((NS_A, IF_A, "a", "fd00:ab::1", "fd00:ab::2", "fd00:b::/64"),
             (NS_B, IF_B, "b", "fd00:ab::2", "fd00:ab::1", "fd00:a::/64"))
    for ns, ifname, side, mine, peer, other in sides:
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # The hosts' addresses sit on the link's interface (libtorrent
        # takes an address on lo for one that reaches only this host), but
        # traffic between two of them is local delivery: it never leaves
        # through the link.
        for i in range(a.leechers + max(a.seeders_a, a.seeders_b)):
            sh("ip", "-n", ns, "addr", "add", host(side, i) + "/128", "dev", ifname,
               "nodad")
        sh("ip", "-n", ns, "addr", "add", mine + "/64", "dev", ifname, "nodad")
        sh("ip", "-n", ns, "link", "set", ifname, "up")
        sh("ip", "-n", ns, "route", "add", other, "via", peer)
        sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", ifname, "root",
           "tbf", "rate", a.rate, "burst", "32kb", "latency", "100ms")
        sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", ifname, "clsact")
        sh("ip", "netns", "exec", ns, "tc", "filter", "add", "dev", ifname, "egress",
           "bpf", "da", "obj", obj, "sec", "tc")
    sh("ip", "-n", NS_A, "addr", "add", TRACKER + "/128", "dev", IF_A, "nodad")


def remove_network():
    sh("ip", "netns", "del", NS_A, check_rc=False)
    sh("ip", "netns", "del", NS_B, check_rc=False)


def link_bytes():
    """Bytes that crossed the slow link so far, both directions."""
    out = json.loads(sh("ip", "-n", NS_A, "-s", "-j", "link", "show", IF_A).stdout)
    s = out[0]["stats64"]
    return s["tx"]["bytes"] + s["rx"]["bytes"]


def make_torrent(a, work, tracker_port):
    import libtorrent as lt
    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "payload.bin"), "wb") as f:
        f.write(os.urandom(a.size_mib << 20))
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(data, "payload.bin"))
    ct = lt.create_torrent(fs, 0, flags=lt.create_torrent.v1_only)
    ct.add_tracker("udp://[%s]:%d/announce" % (TRACKER, tracker_port))
    lt.set_piece_hashes(ct, data)
    path = os.path.join(work, "payload.torrent")
    with open(path, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    return path, data


class Peers:
    """Child processes running sessions in one namespace (run_peers), one
    process per address: libtorrent sessions sharing a process reached
    the tracker only from the first one's address."""

    def __init__(self, ns, role, addrs, torrent, data):
        self.procs = [subprocess.Popen(
            ["ip", "netns", "exec", ns, "/usr/bin/python3", os.path.abspath(__file__),
             "--peers", "--role", role, "--addrs", addr,
             "--torrent", torrent, "--data", data],
            stdout=subprocess.PIPE, text=True) for addr in addrs]
        # One reader thread per process, so a wait has a deadline.
        self.lines = [queue.Queue() for _ in self.procs]
        for proc, q in zip(self.procs, self.lines):
            threading.Thread(target=lambda p=proc, q=q: [q.put(l) for l in p.stdout],
                             daemon=True).start()

    def wait_for(self, key, timeout):
        """Each process's message holding `key`, once all have sent one."""
        deadline = time.time() + timeout
        got = []
        for q in self.lines:
            while True:
                try:
                    msg = json.loads(q.get(timeout=max(0.01, deadline - time.time())))
                except queue.Empty:
                    raise RuntimeError("peers did not report %s within %d s" %
                                       (key, timeout))
                if "error" in msg:
                    print("  tracker error: " + msg["error"], flush=True)
                if key in msg:
                    got.append(msg[key])
                    break
        return got

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(10)


def one_run(a, work, torrent, data, locality):
    args = ["--workers=1", "--stats-interval=0", "--listen=[%s]:%d" % (TRACKER, a.port),
            "--max-numwant=%d" % a.numwant, "--default-numwant=%d" % a.numwant]
    if locality:
        args += ["--network-map=" + os.path.join(work, "map.txt"),
                 "--locality-share=%g" % a.share]
    tracker = Ringtrackd(a.bin, work, args, name="ringtrackd_%s" % (
        "on" if locality else "off"), prefix=("ip", "netns", "exec", NS_A))
    leech_data = os.path.join(work, "leech")
    shutil.rmtree(leech_data, ignore_errors=True)
    os.makedirs(leech_data)
    groups = []
    try:
        groups.append(Peers(NS_B, "seed", [host("b", i) for i in range(a.seeders_b)],
                            torrent, data))
        groups.append(Peers(NS_A, "seed", [host("a", a.leechers + i)
                                           for i in range(a.seeders_a)], torrent, data))
        for g in groups:
            g.wait_for("ready", 60)
        before = link_bytes()
        leechers = Peers(NS_A, "leech", [host("a", i) for i in range(a.leechers)],
                         torrent, leech_data)
        groups.append(leechers)
        times = [t[0] for t in leechers.wait_for("all_finished", a.timeout)]
        crossed = link_bytes() - before
    finally:
        for g in groups:
            g.stop()
        stats = tracker.stop()
    return {"median_s": statistics.median(times), "max_s": max(times),
            "crossed_mib": crossed / 2**20,
            "local": stats.get("locality_peers_local"),
            "remote": stats.get("locality_peers_remote")}


def describe(values, unit, fmt="%.1f"):
    return ("median " + fmt + " %s, range " + fmt + "–" + fmt) % (
        statistics.median(values), unit, min(values), max(values))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", help="directory of ringtrackd")
    ap.add_argument("--runs", type=int, default=5, help="runs per mode")
    ap.add_argument("--size-mib", type=int, default=16)
    ap.add_argument("--leechers", type=int, default=6)
    ap.add_argument("--seeders-a", type=int, default=2)
    ap.add_argument("--seeders-b", type=int, default=6)
    ap.add_argument("--numwant", type=int, default=4,
                    help="ringtrackd's --max-numwant: peers per reply")
    ap.add_argument("--share", type=float, default=0.75)
    ap.add_argument("--rate", default="20mbit", help="slow link, each direction")
    ap.add_argument("--loss-percent", type=float, default=1.0)
    ap.add_argument("--port", type=int, default=6969)
    ap.add_argument("--timeout", type=int, default=300)
    # Child mode: one namespace's sessions.
    ap.add_argument("--peers", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--role", help=argparse.SUPPRESS)
    ap.add_argument("--addrs", help=argparse.SUPPRESS)
    ap.add_argument("--torrent", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peers:
        run_peers(a)
        return
    if os.geteuid() != 0 or not a.bin:
        sys.exit("usage: sudo download_bench.py --bin build/bin (needs root for namespaces)")
    work = tempfile.mkdtemp(prefix="ringtrack_locality_")
    os.chmod(work, 0o755)
    with open(os.path.join(work, "map.txt"), "w") as f:
        f.write("fd00:a::/64 net-a\nfd00:b::/64 net-b\n")
    os.chmod(os.path.join(work, "map.txt"), 0o644)
    results = {False: [], True: []}
    try:
        make_network(a, work)
        torrent, data = make_torrent(a, work, a.port)
        print("%d MiB; %d leechers in A; seeders %d in A, %d in B; %d peers per "
              "reply; slow link %s each way, %.1f %% loss; share %g" % (
                  a.size_mib, a.leechers, a.seeders_a, a.seeders_b, a.numwant,
                  a.rate, a.loss_percent, a.share), flush=True)
        for run in range(a.runs):
            for locality in (False, True):
                r = one_run(a, work, torrent, data, locality)
                results[locality].append(r)
                print("run %d locality %-3s: leechers' median %.1f s (slowest %.1f s), "
                      "%.1f MiB crossed the slow link%s" % (
                          run + 1, "on" if locality else "off", r["median_s"], r["max_s"],
                          r["crossed_mib"],
                          "; tracker handed out %s local, %s remote peers" % (
                              r["local"], r["remote"]) if locality else ""), flush=True)
    finally:
        remove_network()
        shutil.rmtree(work, ignore_errors=True)
    for locality in (False, True):
        rs = results[locality]
        if not rs:
            continue
        print("locality %-3s: download %s; slowest leecher %s; slow link %s (%d runs)" % (
            "on" if locality else "off", describe([r["median_s"] for r in rs], "s"),
            describe([r["max_s"] for r in rs], "s"),
            describe([r["crossed_mib"] for r in rs], "MiB"), len(rs)), flush=True)
    if results[False] and results[True]:
        off = statistics.median(r["median_s"] for r in results[False])
        on = statistics.median(r["median_s"] for r in results[True])
        boff = statistics.median(r["crossed_mib"] for r in results[False])
        bon = statistics.median(r["crossed_mib"] for r in results[True])
        print("on/off: download time %.2f×, slow-link bytes %.2f×" % (
            on / off, bon / boff if boff else float("nan")), flush=True)


if __name__ == "__main__":
    main()
