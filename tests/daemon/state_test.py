#!/usr/bin/python3
"""State that survives restarts, against the real ringtrackd:
  * a graceful restart (SIGTERM) brings back the swarms, their peers and
    their completed counts;
  * after a SIGKILL, the last periodic snapshot comes back;
  * a flipped byte, a foreign file and a file from another version are
    refused with a clear message, kept aside, and the daemon starts empty
    (or exits 1 with --strict-state, twice in a row, leaving the file);
  * a restore under a smaller budget logs and exports its loss and keeps
    the whole file as PATH.previous;
  * a missing key file where the tracker ran before is a warning, and
    connection_key_create = false refuses to make one;
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


def start(bindir, work, state, extra=(), name="ringtrackd", **kw):
    return Ringtrackd(bindir, work, ["--workers=1", "--state-file=" + state,
                                     "--stats-interval=0"] + list(extra), name=name,
                      **kw)


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

    corrupt = (good[:len(good) // 2] + bytes([good[len(good) // 2] ^ 1]) +
               good[len(good) // 2 + 1:])
    with open(state, "wb") as f:
        f.write(corrupt)
    for old in glob.glob(state + ".refused-*"):
        os.unlink(old)
    # Twice, as a supervisor restarting it would: strict never moves the
    # file, so each run sees the same refusal and nothing is saved over it.
    for run in (1, 2):
        p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                            "--state-file=" + state, "--strict-state"],
                           capture_output=True, text=True, timeout=10)
        check(open(state, "rb").read() == corrupt and
              not glob.glob(state + ".refused-*"),
              "--strict-state leaves the file in place, run %d" % run)
        check(p.returncode == 1 and "--strict-state" in p.stderr and
              "checksum mismatch" in p.stderr and "left in place" in p.stderr,
              "--strict-state exits 1 on a corrupt file, run %d\n%s" % (run, p.stderr))


def subdir(work, name):
    d = os.path.join(work, name)
    os.mkdir(d)
    if os.geteuid() == 0:
        os.chown(d, pwd.getpwnam("nobody").pw_uid, -1)
    return d


def lossy_restore(bindir, work):
    """A restore under a smaller budget: the loss is logged with counts and
    exported, the whole file is kept as PATH.previous before the first save
    can replace it, and moving it back restores everything."""
    d = subdir(work, "lossy")
    state = os.path.join(d, "state")
    # (a burst that lets ringtrack-load's sources create every torrent)
    first = start(bindir, d, state, ["--source-torrent-burst=1000000"], name="lossy_fill")
    try:
        subprocess.run([os.path.join(bindir, "ringtrack-load"), "127.0.0.1:%d" % first.port,
                        "--fill", "--quiet", "--peers=300000", "--torrents=30000",
                        "--torrents_per_peer=0", "--timeout=2s"],
                       check=True, capture_output=True, timeout=120)
    finally:
        first.stop()
    full = open(state, "rb").read()
    full_snap = saved_peers(first.log(), "at stop")
    check(full_snap == (30000, 300000), "a 300 000-peer snapshot: %s" % (full_snap,))

    small = start(bindir, d, state, ["--max-memory=4M"], name="lossy_small")
    try:
        check(os.path.exists(state + ".previous") and
              open(state + ".previous", "rb").read() == full,
              "the whole file is kept as PATH.previous")
        m = re.search(r" WARN state file \S+: (\d+) of its (\d+) peers were refused "
                      r"for the memory budget", small.log())
        refused = int(m.group(1)) if m else 0
        check(m is not None and refused > 0 and int(m.group(2)) == 300000 and
              "kept as %s.previous" % state in small.log(),
              "the loss is logged as a warning with counts\n" + small.log())
    finally:
        stats = small.stop()
    check(stats.get("state_restore_refused_peers") == refused,
          "state_restore_refused_peers=%s (%d refused)" %
          (stats.get("state_restore_refused_peers"), refused))
    smaller = saved_peers(small.log(), "at stop")
    check(smaller is not None and smaller[1] == 300000 - refused,
          "the save at stop holds what was served: %s" % (smaller,))
    check(open(state + ".previous", "rb").read() == full,
          "PATH.previous is untouched by the save")

    os.replace(state + ".previous", state)
    big = start(bindir, d, state, name="lossy_back")
    try:
        check(restored(big.log()) == full_snap and "refused for the memory" not in big.log(),
              "moved back, with the budget back, it restores everything: %s" %
              (restored(big.log()),))
    finally:
        big.stop()


def key_file(bindir, work):
    """A missing key file where the tracker ran before is a warning naming
    the consequence; --connection-key-create=false refuses to make one."""
    d = subdir(work, "key")
    state = os.path.join(d, "state")
    key = os.path.join(d, "connection.key")
    flag = "--connection-key-file=" + key
    a = start(bindir, d, state, [flag], name="key_first")
    a.stop()
    check(os.path.exists(key) and "was missing" not in a.log(),
          "the first start makes the key without a warning")
    old = open(key).read()

    os.unlink(key)
    b = start(bindir, d, state, [flag], name="key_deleted")
    b.stop()
    check(re.search(r" WARN connection key file \S+ was missing and a new key was made, "
                    r"though the state file \S+ shows this tracker ran before: every "
                    r"client's connection ID is refused until it connects again, and "
                    r"instances meant to share the key no longer agree", b.log()) is not None,
          "a deleted key file is replaced with a warning naming the consequence\n" + b.log())
    check(open(key).read() != old, "a new key was made")

    os.unlink(key)
    config = os.path.join(d, "ringtrackd.toml")
    with open(config, "w") as f:
        f.write("connection_key_create = false\n")
    for how, args in (("flag", ["--connection-key-create=false"]),
                      ("TOML key", ["--config=" + config])):
        p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                            "--state-file=" + state, flag] + args,
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 1 and "does not exist and connection_key_create is off" in
              p.stderr and not os.path.exists(key),
              "connection_key_create = false (%s): a missing key file exits 1, none made\n%s" %
              (how, p.stderr))
    with open(key, "w") as f:
        f.write(old)
    os.chmod(key, 0o600)
    c = start(bindir, d, state, [flag, "--connection-key-create=false"], name="key_given")
    c.stop()
    check(open(key).read() == old and "was missing" not in c.log(),
          "with the key in place, connection_key_create = false starts with it")
    p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--print-config"],
                       capture_output=True, text=True, timeout=10)
    check("connection_key_create = true" in p.stdout,
          "--print-config shows connection_key_create = true")


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
    lossy_restore(a.bin, work)
    key_file(a.bin, work)
    unwritable_directory(a.bin, work)
    shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
