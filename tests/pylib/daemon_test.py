#!/usr/bin/python3
"""tests/pylib/daemon.py's start wait, against a stand-in `ringtrackd` (a
shell script): a start slower than 10 s (a large network map or access
list on a loaded CI runner) is waited for, as long as the daemon runs; a
start that hangs or a daemon that exits fails with what was awaited, how
it ended and the log's last lines, and leaves no process behind.

Usage: daemon_test.py
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from daemon import START_TIMEOUT_S, Ringtrackd  # noqa: E402

START_LINE = "INFO ringtrackd test io=mmsg workers=1 listen=127.0.0.1:6969 interval=900s"


def stand_in(bindir, script):
    """Makes `bindir`/ringtrackd run `script` (sh): its stderr is the log."""
    shutil.rmtree(bindir, ignore_errors=True)
    os.mkdir(bindir)
    path = os.path.join(bindir, "ringtrackd")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + script)
    os.chmod(path, 0o755)


def start_error(bindir, work, **kw):
    """(RuntimeError's text, seconds taken) of a start expected to fail."""
    t0 = time.monotonic()
    try:
        d = Ringtrackd(bindir, work, **kw)
    except RuntimeError as e:
        return str(e), time.monotonic() - t0
    d.stop()
    return None, time.monotonic() - t0


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def main():
    work = tempfile.mkdtemp(prefix="ringtrack_pylib_")
    bindir = os.path.join(work, "bin")

    check(START_TIMEOUT_S >= 60, "the start wait is at least 60 s: %s" % START_TIMEOUT_S)
    # 12 s: past the 10 s the wait once was.
    stand_in(bindir, 'echo "loading a large map" >&2\nsleep 12\n'
                     'echo "%s" >&2\nexec sleep 600\n' % START_LINE)
    t0 = time.monotonic()
    d = Ringtrackd(bindir, work, name="slow")
    took = time.monotonic() - t0
    d.stop()
    check(d.port == 6969 and 12 <= took < 30,
          "a start that takes 12 s is waited for, until its line: port %s, %.1f s" %
          (d.port, took))

    stand_in(bindir, 'for i in $(seq 1 30); do echo "start step $i" >&2; done\n'
                     'echo $$ > "%s/pid"\nexec sleep 600\n' % work)
    err, took = start_error(bindir, work, name="hung", start_timeout=1)
    check(err is not None and took < 10 and
          "hung did not log its start line (the one with listen=127.0.0.1:PORT) "
          "within 1 s: it is still running" in err,
          "a hung start fails at the timeout, saying what it waited for\n%s" % err)
    check("start step 30" in err and "start step 11\n" in err and
          "start step 10\n" not in err and "hung.log" in err,
          "and shows the log's last 20 lines, naming the file\n%s" % err)
    pid = int(open(os.path.join(work, "pid")).read())
    check(gone(pid), "and the hung daemon is killed")

    stand_in(bindir, 'echo "FATAL --listen: address in use" >&2\nexit 3\n')
    err, took = start_error(bindir, work, name="exits")
    check(err is not None and took < 10 and "it exited with code 3" in err and
          "FATAL --listen: address in use" in err,
          "a daemon that exits fails at once with its code and log\n%s" % err)

    stand_in(bindir, "exit 0\n")
    err, _ = start_error(bindir, work, name="silent")
    check(err is not None and "it exited with code 0" in err and "(empty)" in err,
          "an empty log says so\n%s" % err)

    shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
