#!/usr/bin/python3
"""Access lists against the real ringtrackd: refused torrents get 'torrent
not allowed', SIGHUP swaps in an edited list, a malformed list on SIGHUP
keeps the old one (the log names the line), a malformed list at start
exits 2, and refusals are counted.

Usage: access_list_test.py --bin DIR
"""
import argparse
import os
import shutil
import signal
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


def announce(bindir, port, h):
    p = subprocess.run([os.path.join(bindir, "ringtrack-cli"), "announce",
                        "udp://127.0.0.1:%d" % port, "--info-hash", h,
                        "--port", "7001", "--timeout=5s"],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr



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
    check(p.returncode == 2 and path + ":2:" in p.stderr,
          "a malformed list at start exits 2 naming the line\n" + p.stderr)
    shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
