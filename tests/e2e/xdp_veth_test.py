#!/usr/bin/python3
"""XDP_TX across a veth pair between two network namespaces this test makes
(ULA addresses only): ringtrackd runs in one namespace with its XDP program
on its end of the pair, ringtrack-cli connects and announces from the other.
Passes iff the connect is answered in the kernel (the daemon's own connect
counter stays 0) and the announce with that ID is served; once in generic
mode, once in native mode. Then the same with --io xdp (AF_XDP): announces
and scrapes, over IPv6 and IPv4 (link-local), are served from the XSK
socket (xsk_frames counts them) while connects stay in the kernel, and a
short ringtrack-load run sees no timeouts and no errors; and on lo in
generic mode. Native XDP on veth needs a program on the peer
(the client end gets tracker.bpf.o, which passes everything not to its empty
port map) and TX checksum offload off on the sender, or replies are dropped
for bad checksums. Needs root (ip netns).
Usage: xdp_veth_test.py --bin DIR --bpf-obj PATH/tracker.bpf.o
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from netns import make_xdp_veth, remove_xdp_veth, sh  # noqa: E402


def scenario(a, mode, tag, io="auto"):
    srv_ns, cli_ns = "rt_srv_" + tag, "rt_cli_" + tag
    srv_if, cli_if = "rts" + tag[-6:], "rtc" + tag[-6:]
    srv_ip = "fd52:7274:%x::1" % (int(tag) % 65536)
    cli_ip = srv_ip[:-1] + "2"
    srv_ip4 = "169.254.%d.1" % (int(tag) % 250 + 1)
    cli_ip4 = srv_ip4[:-1] + "2"
    what = mode + ("" if io == "auto" else " --io " + io)
    log_path = "/tmp/ringtrackd_veth_%s.log" % tag
    daemon = None
    try:
        make_xdp_veth(srv_ns, cli_ns, srv_if, cli_if,
                      [(srv_ip, cli_ip, "/64", True), (srv_ip4, cli_ip4, "/24", False)],
                      mode == "native", a.bpf_obj)
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", srv_ns, os.path.join(a.bin, "ringtrackd"),
             "--listen=[%s]:6969" % srv_ip, "--listen=%s:6969" % srv_ip4,
             "--workers=1", "--xdp=" + srv_if, "--io=" + io,
             "--xdp-mode=" + mode, "--stats-interval=0"],
            stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
        for _ in range(100):
            if "INFO ringtrackd" in open(log_path).read():
                break
            time.sleep(0.05)
        start = open(log_path).read()
        check("xdp=%s(%s)" % (srv_if, mode) in start,
              what + ": XDP attached to the veth\n" + start)
        cli = ["ip", "netns", "exec", cli_ns, os.path.join(a.bin, "ringtrack-cli")]
        url = "udp://[%s]:6969/announce" % srv_ip
        p = sh(*cli, "connect", url, "--timeout=3s", check_rc=False)
        check(p.returncode == 0 and "connection_id" in p.stdout,
              what + ": connect answered across the veth\n" + p.stdout + p.stderr)
        p = sh(*cli, "announce", url, "--info-hash",
               "00112233445566778899aabbccddeeff00112233", "--left=0",
               "--timeout=3s", check_rc=False)
        check(p.returncode == 0 and "seeders: 1" in p.stdout,
              what + ": announce with the kernel's connection ID served\n" + p.stdout + p.stderr)
        expected_announces = 1
        if io == "xdp":
            url4 = "udp://%s:6969/announce" % srv_ip4
            p = sh(*cli, "announce", url4, "--info-hash",
                   "00112233445566778899aabbccddeeff00112233", "--timeout=3s",
                   check_rc=False)
            check(p.returncode == 0 and "seeders: 1" in p.stdout and "leechers: 1" in p.stdout,
                  what + ": IPv4 announce served\n" + p.stdout + p.stderr)
            p = sh(*cli, "scrape", url, "00112233445566778899aabbccddeeff00112233",
                   "--timeout=3s", check_rc=False)
            check(p.returncode == 0 and "seeders: 1" in p.stdout,
                  what + ": scrape served\n" + p.stdout + p.stderr)
            expected_announces = 2
            load = sh("ip", "netns", "exec", cli_ns, os.path.join(a.bin, "ringtrack-load"),
                      url, "--peers=400", "--torrents=50", "--duration=2s", "--json",
                      "--quiet", check_rc=False)
            m = re.search(r'"responses_per_s":([0-9.]+).*"errors":(\d+),"timeouts":(\d+)',
                          load.stdout)
            check(m is not None and float(m.group(1)) > 1000 and m.group(2) == "0" and
                  m.group(3) == "0",
                  what + ": a load run sees no errors and no timeouts: " + load.stdout + load.stderr)
        daemon.terminate()
        daemon.wait(5)
        final = open(log_path).read()
        m = re.search(r"final .*", final)
        stats = dict(kv.split("=") for kv in m.group(0).split()[1:] if "=" in kv)
        check(stats.get("connects", "0") == "0" and int(stats.get("xdp_tx_connect", 0)) >= 2,
              what + ": connects answered by XDP_TX, none by userspace: " + m.group(0)[:200])
        if io == "xdp":
            check(int(stats.get("announces", 0)) > 1000 and
                  int(stats.get("xsk_frames", 0)) >= int(stats["announces"]) +
                  int(stats.get("scrapes", 0)),
                  what + ": announces and scrapes came through the AF_XDP socket: "
                  "announces=%s scrapes=%s xsk_frames=%s" % (
                      stats.get("announces"), stats.get("scrapes"), stats.get("xsk_frames")))
        else:
            check(stats.get("announces") == str(expected_announces),
                  what + ": one announce reached userspace")
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
        remove_xdp_veth(srv_ns, cli_ns)
        if os.path.exists(log_path):
            os.remove(log_path)


def lo_generic(a):
    """--io xdp on lo in generic mode: IPv6 (::1) through the AF_XDP socket;
    IPv4 from 127/8 through the UDP socket (the kernel drops IPv4 loopback
    frames an AF_XDP socket transmits), both answered."""
    cli = os.path.join(a.bin, "ringtrack-cli")
    h = "44" * 20
    for listen, url, via_xsk in (("[::1]:16991", "udp://[::1]:16991", True),
                                 ("127.0.0.1:16991", "udp://127.0.0.1:16991", False)):
        log_path = "/tmp/ringtrackd_lo_xsk_%d.log" % os.getpid()
        d = subprocess.Popen([os.path.join(a.bin, "ringtrackd"), "--listen=" + listen,
                              "--io=xdp", "--xdp=lo", "--xdp-mode=generic",
                              "--workers=1", "--stats-interval=0"],
                             stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if "INFO ringtrackd" in open(log_path).read():
                    break
                time.sleep(0.05)
            p = sh(cli, "announce", url, "--info-hash", h, "--timeout=3s", check_rc=False)
            check(p.returncode == 0 and "leechers: 1" in p.stdout,
                  "lo generic --io xdp %s: announce served\n%s%s\n%s" %
                  (listen, p.stdout, p.stderr, open(log_path).read()))
        finally:
            d.terminate()
            d.wait(5)
        m = re.search(r"xsk_frames=(\d+)", open(log_path).read())
        frames = int(m.group(1)) if m else -1
        check((frames >= 1) == via_xsk,
              "lo generic --io xdp %s: %s the AF_XDP socket (xsk_frames=%d)" %
              (listen, "through" if via_xsk else "not through", frames))
        os.remove(log_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--bpf-obj", required=True)
    a = ap.parse_args()
    for i, (mode, io) in enumerate((("generic", "auto"), ("native", "auto"),
                                    ("native", "xdp"), ("generic", "xdp"))):
        scenario(a, mode, str(os.getpid() * 4 + i), io)
    lo_generic(a)
    summary()


if __name__ == "__main__":
    main()
