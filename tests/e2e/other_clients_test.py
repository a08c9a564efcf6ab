#!/usr/bin/python3
"""End to end with BitTorrent clients other than libtorrent: aria2 (aria2c)
and Transmission (transmission-cli), Debian's `aria2` and
`transmission-cli` packages, each downloading through ringtrackd at
udp:// and http:// (--scheme).

Everything runs in a network namespace of its own, at the link-local
address 169.254.77.1 on its loopback interface: Transmission takes no peers at
127.0.0.0/8 (its "martian" addresses), so loopback cannot carry the test.
There it starts ringtrackd on an ephemeral port, seeds a small v1-only
torrent that announces only to it from a libtorrent session (as
libtorrent_e2e_test.py does), and has the client download it with DHT,
local peer discovery and peer exchange off, so the tracker is the only way
the two can find each other. Passes iff the file arrives intact. Needs
root (ip netns).

A client that is not installed is skipped with the reason (exit 77, which
ctest reports as skipped). Usage:
  other_clients_test.py --ringtrackd PATH --client aria2|transmission
                        [--scheme udp|http]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libtorrent_e2e_test import (fail, make_seeded_torrent, start_tracker,  # noqa: E402
                                 tracker_url)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from netns import sh  # noqa: E402

SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests
HOST = "169.254.77.1"  # link-local, inside the test's own namespace
BINARIES = {"aria2": "aria2c", "transmission": "transmission-cli"}


def aria2_command(torrent, leech_dir, work, scheme):
    # aria2 speaks UDP trackers through its DHT socket only ("udp is not
    # supported yet" otherwise): for udp:// the DHT is on, with no nodes
    # to start from and a state file of its own, so it finds no one.
    dht = (["--enable-dht=true", "--dht-listen-port=51700-51799",
            "--dht-file-path=" + os.path.join(work, "dht.dat")]
           if scheme == "udp" else ["--enable-dht=false"])
    return ["aria2c", "--dir=" + leech_dir, "--seed-time=0"] + dht + [
            "--enable-dht6=false",
            "--bt-enable-lpd=false", "--enable-peer-exchange=false",
            "--listen-port=51500-51599", "--disable-ipv6=true",
            "--interface=" + HOST,
            "--summary-interval=0", "--console-log-level=notice",
            "--bt-stop-timeout=90", "--log=" + os.path.join(work, "aria2.log"),
            "--log-level=info", torrent]


def transmission_command(torrent, leech_dir, work, scheme):
    config = os.path.join(work, "transmission")
    os.makedirs(config)
    with open(os.path.join(config, "settings.json"), "w") as f:
        json.dump({"dht-enabled": False, "lpd-enabled": False,
                   "pex-enabled": False, "utp-enabled": False,
                   "port-forwarding-enabled": False,
                   "bind-address-ipv4": HOST,
                   "rename-partial-files": True}, f)
    return ["transmission-cli", "-g", config, "-w", leech_dir, "-p", "51600",
            "-M", torrent]


def run_in_namespace(args):
    """Runs this test again inside a new network namespace with HOST on its
    loopback interface; returns its exit code. The namespace is deleted
    after."""
    ns = "rt_clients_%d" % os.getpid()
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "addr", "add", HOST + "/16", "dev", "lo")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        return subprocess.call(
            ["ip", "netns", "exec", ns, sys.executable,
             os.path.abspath(__file__), "--in-namespace"] + sys.argv[1:])
    finally:
        sh("ip", "netns", "del", ns, check_rc=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringtrackd", required=True)
    ap.add_argument("--client", choices=sorted(BINARIES), required=True)
    ap.add_argument("--scheme", choices=("udp", "http"), default="http")
    ap.add_argument("--in-namespace", action="store_true",
                    help=argparse.SUPPRESS)  # set by the re-exec below
    args = ap.parse_args()
    binary = BINARIES[args.client]
    if shutil.which(binary) is None:
        print("SKIP: %s is not installed (Debian package %s)" %
              (binary, "aria2" if args.client == "aria2" else "transmission-cli"),
              flush=True)
        sys.exit(SKIP)
    if not args.in_namespace:
        sys.exit(run_in_namespace(args))

    work = tempfile.mkdtemp(prefix="ringtrack_%s_" % args.client)
    tracker, port = start_tracker(args.ringtrackd,
                                  os.path.join(work, "ringtrackd.log"), HOST)
    url = tracker_url(args.scheme, port, HOST)
    client = None
    try:
        ti, payload, seeder = make_seeded_torrent(work, url, HOST)
        torrent = os.path.join(work, "payload.torrent")
        leech_dir = os.path.join(work, "leech")
        os.makedirs(leech_dir)
        make = aria2_command if args.client == "aria2" else transmission_command
        client_log = open(os.path.join(work, "client.out"), "w")
        client = subprocess.Popen(make(torrent, leech_dir, work, args.scheme),
                                  stdout=client_log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        done = os.path.join(leech_dir, "payload.bin")
        deadline = time.time() + 90
        arrived = False
        while time.time() < deadline:
            seeder.pop_alerts()  # keep the seeding session's queue short
            if os.path.exists(done) and os.path.getsize(done) == len(payload):
                with open(done, "rb") as f:
                    if f.read() == payload:
                        arrived = True
                        break
            if client.poll() is not None and not os.path.exists(done):
                break
            time.sleep(0.2)
        if not arrived:
            client_log.flush()
            print(open(os.path.join(work, "client.out")).read()[-3000:])
            print(open(os.path.join(work, "ringtrackd.log")).read()[-2000:])
            fail("%s did not download the file through %s (exit %s)" %
                 (binary, url, client.poll()))
        print("PASS: %s downloaded %d bytes intact through %s" %
              (binary, len(payload), url), flush=True)
    finally:
        if client is not None and client.poll() is None:
            client.send_signal(signal.SIGTERM)
            try:
                client.wait(10)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait(5)
        tracker.send_signal(signal.SIGTERM)
        try:
            tracker.wait(5)
        except subprocess.TimeoutExpired:
            tracker.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
