#!/usr/bin/python3
"""A SIGHUP storm against the real ringtrackd holding a 1 M-hash access list,
while announces keep arriving: resident memory stays within the list in
force, the one it replaces, the file's text being parsed and some slack (a
replaced list is freed after the workers' grace period, not kept), the
signals are coalesced into a bounded number of loads, the daemon keeps
answering, and afterwards the memory returns to where it started; a list
over half of --max-memory is refused. The
storm lasts until six reloads have completed, so a list kept for a fixed
time (10 s) would pile up however fast this machine loads one.

Usage: access_list_storm_test.py --bin DIR [--sanitized]
"""
import argparse
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

HASHES = 1_000_000
RELOADS = 6
SIGNAL_EVERY_S = 0.002
SLACK = 48 << 20
MIB = 1 << 20


def write_list(path):
    raw = os.urandom(20 * HASHES).hex()
    with open(path, "w") as f:
        f.write("\n".join(raw[i:i + 40] for i in range(0, len(raw), 40)))
        f.write("\n")
    os.chmod(path, 0o644)  # re-read as nobody when run as root
    return raw[:40]


class Announcer(threading.Thread):
    """Announces `h` in a loop; counts the replies it gets."""

    def __init__(self, port, h):
        super().__init__(daemon=True)
        self.port, self.h = port, bytes.fromhex(h)
        self.stop = threading.Event()
        self.replies = 0

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", self.port))
        s.settimeout(1)
        s.send(struct.pack(">QII", 0x41727101980, 0, 1))
        cid = struct.unpack(">Q", s.recv(64)[8:16])[0]
        s.settimeout(0.2)
        i = 0
        while not self.stop.is_set():
            i += 1
            s.send(struct.pack(">QII20s20sQQQIIIiH", cid, 1, i, self.h,
                               b"-RT0001-stormtest000", 0, 5, 0, 2, 0, 0, -1, 7001))
            try:
                r = s.recv(2048)
                if len(r) >= 20 and struct.unpack(">I", r[:4])[0] == 1:
                    self.replies += 1
            except socket.timeout:
                pass
        s.close()


class RssSampler(threading.Thread):
    """Samples the daemon's resident memory every few ms; keeps the peak."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d = d
        self.stop = threading.Event()
        self.peak = 0

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.d.rss_bytes())
            except OSError:  # exited
                return
            time.sleep(0.005)


def loads(log):
    return [int(ms) for ms in re.findall(
        r"access list \S+: \d+ info hashes \(.*?\), \d+ KiB, loaded in (\d+) ms",
        log)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--sanitized", action="store_true")
    args = ap.parse_args()
    global HASHES, RELOADS
    if args.sanitized:
        # Under AddressSanitizer the point is a use after free, not RSS:
        # a smaller list, fewer reloads, the same races.
        HASHES, RELOADS = 200_000, 3
    work = tempfile.mkdtemp(prefix="rt-acl-storm-")
    os.chmod(work, 0o755)  # the daemon re-reads the list as nobody
    path = os.path.join(work, "allowed.txt")
    allowed = write_list(path)
    text_bytes = os.path.getsize(path)
    d = Ringtrackd(args.bin, work, ["--workers=2", "--access-list=" + path,
                                    "--stats-interval=0"])
    try:
        check(d.wait_log("loaded in", timeout=60), "the list loads\n" + d.log())
        m = re.search(r"info hashes \(allow mode\), (\d+) KiB", d.log())
        check(m is not None, "the load line gives the list's size\n" + d.log())
        list_bytes = int(m.group(1)) * 1024 if m else 0
        check(20 * HASHES <= list_bytes <= 64 * HASHES,
              "a %d-hash list takes %d MiB" % (HASHES, list_bytes // MIB))
        announcer = Announcer(d.port, allowed)
        announcer.start()
        time.sleep(0.2)
        base = d.rss_bytes()
        bound = base + list_bytes + text_bytes + SLACK
        sampler = RssSampler(d)
        sampler.start()
        # Signals every 2 ms until RELOADS loads have followed the first
        # (so the old code's lists, kept 10 s each, would pile up).
        signals = 0
        start = time.monotonic()
        while len(loads(d.log())) < 1 + RELOADS and \
                time.monotonic() - start < 120:
            d.proc.send_signal(signal.SIGHUP)
            signals += 1
            time.sleep(SIGNAL_EVERY_S)
        storm_s = time.monotonic() - start
        announcer.stop.set()
        announcer.join()
        # Stopping waits for a load in progress; the final line's RSS is
        # taken after every load.
        stats = d.stop()
        sampler.stop.set()
        sampler.join()
        peak = sampler.peak
        times = loads(d.log())
        reloads = len(times) - 1
        print("storm: %d SIGHUPs in %.1f s -> %d loads (%s ms each); RSS "
              "%d MiB before, peak %d MiB, bound %d MiB (list %d MiB, text "
              "%d MiB), %d MiB at exit; %d announces answered" %
              (signals, storm_s, reloads, "/".join(map(str, times[1:])),
               base // MIB, peak // MIB, bound // MIB, list_bytes // MIB,
               text_bytes // MIB, stats.get("rss_bytes", 0) // MIB,
               announcer.replies))
        check(reloads >= 1, "the storm reloads the list\n" + d.log()[-2000:])
        # One load runs at a time, and the signals arriving meanwhile are
        # one pending reload: at most one load per load time, plus one.
        shortest_s = max(min(times[1:] or [1]), 1) / 1000.0
        check(reloads <= storm_s / shortest_s + 2,
              "%d signals coalesce into at most %.0f loads, not %d" %
              (signals, storm_s / shortest_s + 2, reloads))
        check(signals > 5 * reloads, "signals arrived faster than loads")
        check(announcer.replies > 0, "announces are answered during the storm")
        if not args.sanitized:
            check(peak <= bound,
                  "RSS stays within old list + new list + the file's text + "
                  "%d MiB slack: peak %d MiB, bound %d MiB" %
                  (SLACK // MIB, peak // MIB, bound // MIB))
            check(stats.get("rss_bytes", 1 << 40) <= base + SLACK,
                  "after the storm RSS returns near its start: %d MiB, "
                  "started at %d MiB" % (stats.get("rss_bytes", 0) // MIB,
                                         base // MIB))
        check(stats.get("access_list_loads") == reloads + 1,
              "access_list_loads counts every load: %s" %
              stats.get("access_list_loads"))
        check(stats.get("access_list_hashes") == HASHES,
              "access_list_hashes is the list's size")
        check(stats.get("access_list_bytes", 0) // 1024 == list_bytes // 1024,
              "access_list_bytes is the list's size in bytes")
    finally:
        d.stop()
    # A list larger than half the budget is refused, naming the limit.
    p = subprocess.run([os.path.join(args.bin, "ringtrackd"),
                        "--listen=127.0.0.1:0", "--max-memory=%d" % (list_bytes + MIB),
                        "--access-list=" + path],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode != 0 and "more than half of --max-memory" in p.stderr,
          "a list over half of --max-memory is refused at start\n" + p.stderr)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
