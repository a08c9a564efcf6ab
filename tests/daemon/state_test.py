#!/usr/bin/python3
"""State that survives restarts, against the real ringtrackd:
  * a graceful restart (SIGTERM) brings back the swarms, their peers and
    their completed counts;
  * after a SIGKILL, the last periodic snapshot comes back;
  * a flipped byte, a foreign file and a file from another version are
    refused with a clear message, kept aside, and the daemon starts empty
    (or exits 1 with --strict-state);
  * a state directory the dropped-to user cannot write is a start error.

Usage: state_test.py --bin DIR
"""
import argparse
import glob
import os
import pwd
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

H = "ab" * 20
FILL_TORRENTS = 2000
FILL_PEERS = 20000


def cli(bindir, *args):
    p = subprocess.run([os.path.join(bindir, "ringtrack-cli")] + list(args) +
                       ["--timeout=5s"], capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def fill(bindir, port, offset=0):
    subprocess.run([os.path.join(bindir, "ringtrack-load"), "127.0.0.1:%d" % port,
                    "--fill", "--quiet", "--peers=%d" % FILL_PEERS,
                    "--torrents=%d" % FILL_TORRENTS, "--torrent_offset=%d" % offset,
                    # Peer i to torrent i mod torrents: 10 per swarm, so no
                    # per-source cap binds and every peer is stored.
                    "--torrents_per_peer=0", "--timeout=2s"],
                   check=True, capture_output=True, timeout=120)


def scrape(bindir, port, h=H):
    out = cli(bindir, "scrape", "127.0.0.1:%d" % port, h)
    m = re.search(r"seeders: (\d+) completed: (\d+) leechers: (\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else out


def peers_of(bindir, port, bind, peer_port):
    out = cli(bindir, "announce", "127.0.0.1:%d" % port, "--info-hash", H,
              "--bind", bind, "--port", str(peer_port), "--event", "none",
              "--numwant=50")
    return sorted(re.findall(r"^\s+(\d+\.\d+\.\d+\.\d+:\d+)$", out, re.M))


def saved_peers(log, kind):
    m = re.findall(r"state saved \(%s\) to \S+: (\d+) swarms, (\d+) peers" % kind, log)
    return tuple(int(x) for x in m[-1]) if m else None


def restored(log):
    m = re.search(r"restored (\d+) swarms and (\d+) peers", log)
    return tuple(int(x) for x in m.groups()) if m else None


def start(bindir, work, state, extra=(), name="ringtrackd"):
    return Ringtrackd(bindir, work, ["--workers=1", "--state-file=" + state,
                                     "--stats-interval=0"] + list(extra), name=name)


def graceful_restart(bindir, work, state):
    d = start(bindir, work, state, name="first")
    try:
        fill(bindir, d.port)
        for i, bind in enumerate(("127.0.0.2", "127.0.0.3", "127.0.0.4")):
            cli(bindir, "announce", "127.0.0.1:%d" % d.port, "--info-hash", H,
                "--bind", bind, "--port", str(7000 + i))
        # One download completes: the peer on 127.0.0.4 turns seeder.
        cli(bindir, "announce", "127.0.0.1:%d" % d.port, "--info-hash", H,
            "--bind", "127.0.0.4", "--port", "7002", "--left=0", "--event=completed")
        before_scrape = scrape(bindir, d.port)
    finally:
        before = d.stop()
    check(before_scrape == (1, 1, 2), "the swarm before: %s" % (before_scrape,))
    saved = saved_peers(d.log(), "at stop")
    want_peers = before["peers_v4"] + before["peers_v6"]
    check(saved == (before["torrents"], want_peers),
          "SIGTERM saves every swarm and peer: saved %s, table held %d/%d\n%s" %
          (saved, before["torrents"], want_peers, d.log()))

    d2 = start(bindir, work, state, name="second")
    try:
        check(restored(d2.log()) == (before["torrents"], want_peers),
              "the restart restores them all: %s\n%s" % (restored(d2.log()), d2.log()))
        after_scrape = scrape(bindir, d2.port)
        check(after_scrape == before_scrape,
              "seeders, completed, leechers come back: %s" % (after_scrape,))
        got = peers_of(bindir, d2.port, "127.0.0.5", 7005)
        check(got == ["127.0.0.2:7000", "127.0.0.3:7001", "127.0.0.4:7002"],
              "the peer list comes back: %s" % got)
        # A restored peer completing again is not counted twice.
        cli(bindir, "announce", "127.0.0.1:%d" % d2.port, "--info-hash", H,
            "--bind", "127.0.0.4", "--port", "7002", "--left=0", "--event=completed")
        check(scrape(bindir, d2.port)[1] == 1, "completed still counts once")
    finally:
        after = d2.stop()
    # 127.0.0.5 joined in the second run.
    check(after["torrents"] == before["torrents"] and
          after["peers_v4"] == before["peers_v4"] + 1,
          "the table after the restart: torrents %d→%d peers %d→%d" %
          (before["torrents"], after["torrents"], before["peers_v4"], after["peers_v4"]))


def sigkill_keeps_last_snapshot(bindir, work, state):
    os.unlink(state)
    d = start(bindir, work, state, ["--state-interval=1s"], name="killed")
    try:
        fill(bindir, d.port, offset=100000)
        n = d.log().count("state saved (periodic)")
        check(d.wait_log("state saved (periodic)", count=n + 2, timeout=10),
              "periodic saves happen\n" + d.log())
        snap = saved_peers(d.log(), "periodic")
    finally:
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
    check("state saved (at stop)" not in d.log(), "SIGKILL left no final save")
    d2 = start(bindir, work, state, name="after_kill")
    try:
        check(snap is not None and restored(d2.log()) == snap,
              "the last snapshot comes back after SIGKILL: saved %s, restored %s" %
              (snap, restored(d2.log())))
        check(snap is not None and snap[1] == FILL_PEERS,
              "the snapshot held the whole fill: %s" % (snap,))
    finally:
        d2.stop()


def refused_files(bindir, work, state):
    good = open(state, "rb").read()
    cases = [
        ("flipped byte", good[:len(good) // 2] + bytes([good[len(good) // 2] ^ 0x10]) +
         good[len(good) // 2 + 1:], "checksum mismatch"),
        ("truncated", good[:len(good) - 100], "checksum mismatch"),
        ("foreign", b"d8:announce" + b"x" * 200, "not a ringtrack state file"),
        ("other version", good[:8] + struct.pack(">I", 99) + good[12:],
         "state file version 99"),
    ]
    for name, data, why in cases:
        for old in glob.glob(state + ".refused-*"):
            os.unlink(old)
        with open(state, "wb") as f:
            f.write(data)
        d = start(bindir, work, state, name="refused")
        try:
            log = d.log()
            check("state file refused" in log and why in log and "starting empty" in log,
                  "%s: refused with a clear message\n%s" % (name, log))
            aside = glob.glob(state + ".refused-*")
            check(len(aside) == 1 and open(aside[0], "rb").read() == data,
                  "%s: the file is kept aside unchanged: %s" % (name, aside))
            st = scrape(bindir, d.port)
            check(st == (0, 0, 0), "%s: the daemon starts empty: %s" % (name, st))
        finally:
            d.stop()
        # The stop saved a fresh (empty) state over the path.
        check(os.path.exists(state), "%s: a new state file was saved" % name)

    with open(state, "wb") as f:
        f.write(good[:len(good) // 2] + bytes([good[len(good) // 2] ^ 1]) +
                good[len(good) // 2 + 1:])
    p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                        "--state-file=" + state, "--strict-state"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 1 and "--strict-state" in p.stderr and
          "checksum mismatch" in p.stderr,
          "--strict-state exits 1 on a corrupt file\n" + p.stderr)


def unwritable_directory(bindir, work):
    if os.geteuid() != 0:
        return
    locked = tempfile.mkdtemp(prefix="ringtrack_locked_")  # 0700, root's
    p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                        "--state-file=" + os.path.join(locked, "state"),
                        "--user=nobody"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 1 and "not writable by user nobody" in p.stderr,
          "a state directory nobody cannot write fails at start\n" + p.stderr)
    shutil.rmtree(locked, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringtrack_state_")
    if os.geteuid() == 0:
        # ringtrackd drops to nobody and saves as nobody.
        os.chown(work, pwd.getpwnam("nobody").pw_uid, -1)
    state = os.path.join(work, "state")
    graceful_restart(a.bin, work, state)
    sigkill_keeps_last_snapshot(a.bin, work, state)
    refused_files(a.bin, work, state)
    unwritable_directory(a.bin, work)
    shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
