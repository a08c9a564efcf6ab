#!/usr/bin/python3
"""XDP_TX across a veth pair between two network namespaces this test makes
(ULA addresses only): ringtrackd runs in one namespace with its XDP program
on its end of the pair, ringtrack-cli connects and announces from the other.
Passes iff the connect is answered in the kernel (the daemon's own connect
counter stays 0) and the announce with that ID is served; once in generic
mode, once in native mode. Native XDP on veth needs a program on the peer
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


def sh(*args, check_rc=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        sys.exit("command failed: %s\n%s" % (" ".join(args), p.stderr))
    return p


def scenario(a, mode, tag):
    srv_ns, cli_ns = "rt_srv_" + tag, "rt_cli_" + tag
    srv_if, cli_if = "rts" + tag[-6:], "rtc" + tag[-6:]
    srv_ip = "fd52:7274:%x::1" % (int(tag) % 65536)
    cli_ip = srv_ip[:-1] + "2"
    log_path = "/tmp/ringtrackd_veth_%s.log" % tag
    daemon = None
    try:
        sh("ip", "netns", "add", srv_ns)
        sh("ip", "netns", "add", cli_ns)
        sh("ip", "link", "add", srv_if, "type", "veth", "peer", "name", cli_if)
        sh("ip", "link", "set", srv_if, "netns", srv_ns)
        sh("ip", "link", "set", cli_if, "netns", cli_ns)
        for ns, ifname, ip in ((srv_ns, srv_if, srv_ip), (cli_ns, cli_if, cli_ip)):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", ip + "/64", "dev", ifname, "nodad")
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        # The FIB helper the program routes its replies with answers only
        # where forwarding is on (this namespace's setting), and the
        # client's MAC must be known as a neighbour, as after any exchange.
        sh("ip", "netns", "exec", srv_ns, "sysctl", "-qw",
           "net.ipv6.conf.all.forwarding=1")
        cli_mac = re.search(r"link/ether (\S+)",
                            sh("ip", "-n", cli_ns, "link", "show", cli_if).stdout).group(1)
        sh("ip", "-n", srv_ns, "neigh", "replace", cli_ip, "lladdr", cli_mac,
           "dev", srv_if)
        if mode == "native":
            sh("ip", "-n", cli_ns, "link", "set", "dev", cli_if, "xdpdrv",
               "obj", a.bpf_obj, "sec", "xdp")
            sh("ip", "netns", "exec", cli_ns, "ethtool", "-K", cli_if, "tx", "off")
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", srv_ns, os.path.join(a.bin, "ringtrackd"),
             "--listen=[%s]:6969" % srv_ip, "--workers=1", "--xdp=" + srv_if,
             "--xdp-mode=" + mode, "--stats-interval=0"],
            stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
        for _ in range(100):
            if "INFO ringtrackd" in open(log_path).read():
                break
            time.sleep(0.05)
        start = open(log_path).read()
        check("xdp=%s(%s)" % (srv_if, mode) in start,
              mode + ": XDP attached to the veth\n" + start)
        cli = ["ip", "netns", "exec", cli_ns, os.path.join(a.bin, "ringtrack-cli")]
        url = "udp://[%s]:6969/announce" % srv_ip
        p = sh(*cli, "connect", url, "--timeout=3s", check_rc=False)
        check(p.returncode == 0 and "connection_id" in p.stdout,
              mode + ": connect answered across the veth\n" + p.stdout + p.stderr)
        p = sh(*cli, "announce", url, "--info-hash",
               "00112233445566778899aabbccddeeff00112233", "--left=0",
               "--timeout=3s", check_rc=False)
        check(p.returncode == 0 and "seeders: 1" in p.stdout,
              mode + ": announce with the kernel's connection ID served\n" + p.stdout + p.stderr)
        daemon.terminate()
        daemon.wait(5)
        final = open(log_path).read()
        m = re.search(r"final .*", final)
        stats = dict(kv.split("=") for kv in m.group(0).split()[1:] if "=" in kv)
        check(stats.get("connects") == "0" and int(stats.get("xdp_tx_connect", 0)) >= 2,
              mode + ": connects answered by XDP_TX, none by userspace: " + m.group(0)[:200])
        check(stats.get("announces") == "1", mode + ": one announce reached userspace")
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
        sh("ip", "netns", "del", srv_ns, check_rc=False)
        sh("ip", "netns", "del", cli_ns, check_rc=False)
        if os.path.exists(log_path):
            os.remove(log_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--bpf-obj", required=True)
    a = ap.parse_args()
    for i, mode in enumerate(("generic", "native")):
        scenario(a, mode, str(os.getpid() * 2 + i))
    summary()


if __name__ == "__main__":
    main()
