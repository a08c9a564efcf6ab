#!/usr/bin/python3
"""Access lists against the real ringtrackd: refused torrents get 'torrent
not allowed', SIGHUP swaps in an edited list, a malformed list on SIGHUP
keeps the old one (the log names the line), a malformed list at start
exits 1 (a failed start, as a bad network map, not a bad flag), refusals
are counted, and each start and each reload, with or without --config,
opens the list once. With --xdp on lo, announces for a
refused torrent are dropped in the kernel (never reaching userspace) and a
SIGHUP swaps the kernel's copy of the list too.

Usage: access_list_test.py --bin DIR
"""
import argparse
import ctypes
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

A = "aa" * 20
B = "bb" * 20


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)  # ringtrackd re-reads it as nobody


class OpenCounter:
    """Counts the opens of one file by anyone (inotify's IN_OPEN). The
    events are queued at open(2), so a count read after the daemon logged a
    load includes that load's open. Closes are watched too: inotify merges
    identical events in a row, so two opens would read as one."""
    IN_CLOSE = 0x18  # IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
    IN_OPEN = 0x20

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(
                self.fd, path.encode(), self.IN_OPEN | self.IN_CLOSE) < 0:
            raise OSError(ctypes.get_errno(), "inotify on " + path)
        self.opens = 0

    def count(self):
        while True:
            try:
                buf = os.read(self.fd, 4096)
            except BlockingIOError:
                return self.opens
            off = 0
            while off < len(buf):  # struct inotify_event, then its name
                _, mask, _, name_len = struct.unpack_from("iIII", buf, off)
                self.opens += bool(mask & self.IN_OPEN)
                off += 16 + name_len

    def close(self):
        os.close(self.fd)


def loads_once(bindir, work):
    """The list is read once at start and once per SIGHUP, also when the
    reload re-reads a --config file (it was read twice: once to check the
    setting, once to swap it in)."""
    path = os.path.join(work, "once.txt")
    write(path, "%s\n" % A)
    cfg = os.path.join(work, "once.toml")
    write(cfg, 'access_list = "%s"\nworkers = 1\nstats_interval = "0s"\n' % path)
    opens = OpenCounter(path)
    d = Ringtrackd(bindir, work, ["--config=" + cfg], name="once")
    try:
        check(opens.count() == 1, "one open of the list at start: %d" % opens.count())
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("configuration reloaded"), "SIGHUP reloads\n" + d.log())
        check(opens.count() == 2, "one more open per reload: %d" % opens.count())
        write(path, "%s\nbroken\n" % A)  # (an open of its own)
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("configuration reloaded", count=2) and
              "SIGHUP: keeping the old access list" in d.log() and
              path + ":2:" in d.log(),
              "a malformed list on a --config reload keeps the old list, "
              "naming the line\n" + d.log())
        check(opens.count() == 4, "read once on that reload too (3 reads and the "
              "test's write): %d" % opens.count())
    finally:
        d.stop()
        opens.close()


def announce(bindir, port, h):
    p = subprocess.run([os.path.join(bindir, "ringtrack-cli"), "announce",
                        "udp://127.0.0.1:%d" % port, "--info-hash", h,
                        "--port", "7001", "--timeout=5s"],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr



def raw_announces(port, h, count):
    """Connects, then sends `count` announces for `h`; returns replies."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.settimeout(2)
    s.send(struct.pack(">QII", 0x41727101980, 0, 1))
    cid = struct.unpack(">Q", s.recv(64)[8:16])[0]
    for i in range(count):
        s.send(struct.pack(">QII20s20sQQQIIIiH", cid, 1, 100 + i, bytes.fromhex(h),
                           b"-RT0001-xdpacltest00", 0, 5, 0, 2, 0, 0, -1, 7001))
    s.settimeout(0.5)
    replies = 0
    try:
        while True:
            s.recv(2048)
            replies += 1
    except socket.timeout:
        pass
    s.close()
    return replies


def xdp_mirror(bindir, work, path):
    if os.geteuid() != 0:
        return
    write(path, "%s\n" % A)
    d = Ringtrackd(bindir, work, ["--workers=1", "--access-list=" + path,
                                  "--xdp=lo", "--xdp-mode=generic"], name="xdp")
    try:
        check("XDP access list mirror: 1 info hashes" in d.log(),
              "the list is mirrored into the XDP map\n" + d.log())
        check(raw_announces(d.port, A, 5) == 5, "allowed announces are answered")
        check(raw_announces(d.port, B, 50) == 0, "refused announces get no reply")
        write(path, "%s\n%s\n" % (A, B))
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("XDP access list mirror: 2 info hashes"),
              "SIGHUP swaps the kernel's list too\n" + d.log())
        check(raw_announces(d.port, B, 5) == 5, "the added torrent is answered")
    finally:
        stats = d.stop()
    check(stats.get("xdp_drop_not_allowed") == 50 and stats.get("refused_not_allowed") == 0,
          "the 50 refused announces were dropped in the kernel, none reached "
          "userspace: xdp_drop_not_allowed=%s refused_not_allowed=%s" %
          (stats.get("xdp_drop_not_allowed"), stats.get("refused_not_allowed")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringtrack_acl_")
    os.chmod(work, 0o755)
    path = os.path.join(work, "allowed.txt")
    write(path, "# allowed torrents\n%s\n" % A)
    d = Ringtrackd(a.bin, work, ["--workers=1", "--access-list=" + path,
                                 "--access-mode=allow"])
    try:
        check("1 info hashes (allow mode)" in d.log(), "the list was loaded\n" + d.log())
        rc, out = announce(a.bin, d.port, A)
        check(rc == 0 and "leechers: 1" in out, "a listed torrent is served\n" + out)
        rc, out = announce(a.bin, d.port, B)
        check(rc == 1 and "tracker error: torrent not allowed" in out,
              "an unlisted torrent is refused\n" + out)
        write(path, "%s\n%s  # added\n" % (A, B))
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("2 info hashes (allow mode)"), "SIGHUP reloads the list\n" + d.log())
        rc, out = announce(a.bin, d.port, B)
        check(rc == 0 and "leechers: 1" in out, "the added torrent is served\n" + out)
        write(path, "%s\n%s\nnot-a-hash\n" % (A, B))
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("keeping the old access list"),
              "a malformed list is refused on SIGHUP\n" + d.log())
        check(path + ":3:" in d.log(), "the error names the file and line")
        rc, out = announce(a.bin, d.port, B)
        check(rc == 0, "the old list stays in force\n" + out)
        check(d.proc.poll() is None, "the daemon is still running")
    finally:
        stats = d.stop()
    check(stats.get("refused_not_allowed") == 1,
          "refusals counted: refused_not_allowed=%s" % stats.get("refused_not_allowed"))
    write(path, "%s\nbroken\n" % A)
    p = subprocess.run([os.path.join(a.bin, "ringtrackd"), "--listen=127.0.0.1:0",
                        "--access-list=" + path], capture_output=True, text=True, timeout=10)
    check(p.returncode == 1 and path + ":2:" in p.stderr,
          "a malformed list at start exits 1 naming the line: rc %d\n%s" %
          (p.returncode, p.stderr))
    loads_once(a.bin, work)
    xdp_mirror(a.bin, work, path)
    shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
