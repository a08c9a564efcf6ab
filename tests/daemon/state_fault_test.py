#!/usr/bin/python3
"""The state file under faults, against the real ringtrackd. Each case
asserts that the last good snapshot is still there afterwards:
  * SIGKILL at random points of saves, many times: every restart restores
    the complete snapshot, and half-written temp files are cleaned up;
  * a second instance on the same state file exits 1 naming the holder;
  * an unreadable file, a FIFO, a symbolic link at the path and a file
    larger than the budget could restore are left in place (held): the
    daemon starts quickly without them, never saves over them, resumes
    saving once the file is moved away, and --strict-state exits 1;
  * symbolic links planted at predictable names (the old fixed temp name,
    the lock file) are never followed;
  * ENOSPC (a small tmpfs) and EROFS (a read-only bind mount), each in a
    mount namespace of its own: saves fail, the file stays whole, and the
    failed final save exits 1.
The mount-namespace cases need root (CI runs as root); they are skipped
otherwise.

Usage: state_fault_test.py --bin DIR
"""
import argparse
import glob
import hashlib
import os
import pwd
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd, parse_stats  # noqa: E402
from state_test import fill, restored, saved_peers, start  # noqa: E402

ROOT = os.geteuid() == 0
NOBODY = pwd.getpwnam("nobody")
KILLS = 30
# ringtrack-load's sources share one /24, whose new-torrent burst is 64
# times a source's: fills of more torrents than that lift it.
BURST = "--source-torrent-burst=1000000"


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fresh_dir(work, name):
    """A directory the daemon can write once it dropped to nobody."""
    d = os.path.join(work, name)
    os.mkdir(d)
    if ROOT:
        os.chown(d, NOBODY.pw_uid, -1)
    return d


def temp_files(state):
    return glob.glob(state + ".tmp-*")


def wait_until(cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.002)
    return cond()


def run(bindir, args, timeout=10, user=None):
    """Runs ringtrackd to its exit; a start that hangs is killed and
    reported as rc None."""
    p = subprocess.Popen([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0"] +
                         list(args), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         text=True, user=user)
    try:
        _, err = p.communicate(timeout=timeout)
        return p.returncode, err
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return None, err


def stop_rc(d):
    d.proc.terminate()
    return d.proc.wait(10)


def good_snapshot(bindir, work):
    """A state file of 20 000 peers in 2 000 swarms: (path, bytes)."""
    d = fresh_dir(work, "good")
    state = os.path.join(d, "state")
    g = start(bindir, d, state)
    try:
        fill(bindir, g.port)
    finally:
        g.stop()
    with open(state, "rb") as f:
        return f.read()


def sigkill_during_saves(bindir, work):
    d = fresh_dir(work, "killed")
    state = os.path.join(d, "state")
    # (a burst that lets ringtrack-load's 256 sources, one /24, create
    # every torrent)
    first = start(bindir, d, state, ["--state-interval=100ms", BURST], name="fill")
    try:
        subprocess.run([os.path.join(bindir, "ringtrack-load"), "127.0.0.1:%d" % first.port,
                        "--fill", "--quiet", "--peers=200000", "--torrents=20000",
                        "--torrents_per_peer=0", "--timeout=2s"],
                       check=True, capture_output=True, timeout=120)
        check(first.wait_log("200000 peers", timeout=10),
              "a periodic save holds the 200 000-peer fill\n" + first.log())
    finally:
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    snap = saved_peers(first.log(), "periodic")
    rng = random.Random(19)
    mid_save = 0
    for i in range(KILLS):
        k = start(bindir, d, state, ["--state-interval=100ms"], name="kill%d" % i)
        try:
            got = restored(k.log())
            if got != snap or "state file refused" in k.log():
                check(False, "kill %d: the complete snapshot comes back: %s, want %s\n%s" %
                      (i, got, snap, k.log()))
            # Kill while a save is writing its temp file (a save of 200 000
            # peers takes ~40 ms), at a random point of it.
            if not wait_until(lambda: temp_files(state), 10):
                check(False, "kill %d: a save starts\n%s" % (i, k.log()))
            time.sleep(rng.uniform(0, 0.05))
        finally:
            k.proc.send_signal(signal.SIGKILL)
            k.proc.wait(10)
        mid_save += bool(temp_files(state))
    check(True, "%d restarts after SIGKILL each restored all %d peers" % (KILLS, snap[1]))
    check(mid_save > 0, "%d of %d kills landed in the middle of a save" % (mid_save, KILLS))
    leftover = temp_files(state)  # the last kill's, if it landed mid-save
    last = start(bindir, d, state, name="after_kills")
    try:
        check(restored(last.log()) == snap, "the last restart restores %s" % (snap,))
        check(not temp_files(state) and
              (not leftover or "temp files of state saves that did not finish" in last.log()),
              "the temp files of killed saves are removed at start: %s before, %s after" %
              (leftover, temp_files(state)))
    finally:
        last.stop()


def second_instance(bindir, work, good):
    d = fresh_dir(work, "second")
    state = os.path.join(d, "state")
    with open(state, "wb") as f:
        f.write(good)
    first = start(bindir, d, state, ["--state-interval=100ms"], name="first")
    try:
        rc, err = run(bindir, ["--workers=1", "--state-file=" + state])
        check(rc == 1 and ("pid %d " % first.proc.pid) in err and "in use" in err,
              "a second instance on the same state file exits 1 naming pid %d: rc %s\n%s" %
              (first.proc.pid, rc, err))
        n = first.log().count("state saved (periodic)")
        check(first.wait_log("state saved (periodic)", count=n + 2, timeout=10),
              "the first instance keeps saving")
    finally:
        rc = stop_rc(first)
    check(rc == 0, "the first instance stops cleanly")
    after = start(bindir, d, state, name="after")
    try:
        check(restored(after.log()) == (2000, 20000),
              "its snapshot is whole: %s\n%s" % (restored(after.log()), after.log()))
    finally:
        after.stop()


def held(bindir, work, d, state, what, want_in_log, check_file, extra=(), user=None):
    """Starts on a file that must be held: the daemon starts at once without
    it, exports state_file_held=1, and its failed final save exits 1; the
    file is untouched. Then --strict-state exits 1, twice, leaving it."""
    # (start() kills a daemon that has not started serving within its
    # deadline, and raises: a start that blocks on the file fails here.)
    h = start(bindir, d, state, ["--state-interval=100ms", "--stats-interval=300ms"] +
              list(extra), name="held", user=user)
    try:
        # Two stats lines: at least six save intervals went by.
        check(h.wait_log(" stats ", count=2, timeout=10), "%s: serving" % what)
        check_file("%s: the file is untouched while serving" % what)
        log = h.log()
        check(want_in_log in log and "not restored" in log and " ERROR " in log and
              "no save replaces it" in log,
              "%s: logged at error level as held\n%s" % (what, log))
        st = h.last_stats()
        check(st.get("state_file_held") == 1 and st.get("state_saves") == 0,
              "%s: state_file_held=1, no save while serving: %s" %
              (what, {k: st.get(k) for k in ("state_file_held", "state_saves")}))
    finally:
        rc = stop_rc(h)
    check(rc == 1 and "exiting with code 1: the final state save failed" in h.log(),
          "%s: the skipped final save exits 1 and says so: rc %s" % (what, rc))
    check("state saved" not in h.log() and not glob.glob(state + ".refused-*"),
          "%s: nothing saved over it, nothing set aside" % what)
    check_file("%s: the file is untouched after stop" % what)
    for n in (1, 2):
        rc, err = run(bindir, ["--workers=1", "--state-file=" + state, "--strict-state"] +
                      list(extra), user=user)
        check_file("%s: the file is untouched after --strict-state run %d" % (what, n))
        check(rc == 1 and "--strict-state" in err and "left in place" in err,
              "%s: --strict-state exits 1, run %d: rc %s\n%s" % (what, n, rc, err))


def unreadable_file(bindir, work, good):
    d = fresh_dir(work, "unreadable")
    state = os.path.join(d, "state")
    with open(state, "wb") as f:
        f.write(good)
    # As root: a root-only file, the daemon started as nobody (the way a
    # systemd unit with User= runs it). Otherwise a file its owner made
    # unreadable.
    os.chmod(state, 0o600 if ROOT else 0)
    user = NOBODY.pw_name if ROOT else None
    before = os.lstat(state)

    def same(msg):
        st = os.lstat(state)
        ok = (stat.S_ISREG(st.st_mode) and st.st_size == len(good) and
              st.st_mtime_ns == before.st_mtime_ns and st.st_uid == before.st_uid and
              st.st_mode == before.st_mode)
        check(ok and (not ROOT or open(state, "rb").read() == good), msg)
    held(bindir, work, d, state, "unreadable file", "Permission denied", same, user=user)

    if ROOT:
        # Started as root, the daemon reads the state before it drops to
        # nobody: the same root-only file restores, and saves go on as nobody.
        r = start(bindir, d, state, name="as_root")
        try:
            check(restored(r.log()) == (2000, 20000),
                  "started as root, it restores the root-only file before the drop")
        finally:
            rc = stop_rc(r)
        check(rc == 0 and saved_peers(r.log(), "at stop") == (2000, 20000) and
              os.lstat(state).st_uid == NOBODY.pw_uid,
              "and saves it as nobody at stop")
        with open(state, "wb") as f:
            f.write(good)
        os.chown(state, 0, 0)
        os.chmod(state, 0o600)

    # The operator moves the file away: saving resumes, and the moved file
    # is still the snapshot.
    h = start(bindir, d, state, ["--state-interval=100ms"], name="moved", user=user)
    try:
        os.rename(state, state + ".moved")
        check(h.wait_log("was moved away; saving resumes", timeout=10) and
              h.wait_log("state saved (periodic)", timeout=10),
              "once the held file is moved away, saving resumes\n" + h.log())
    finally:
        rc = stop_rc(h)
    check(rc == 0 and h.last_stats().get("state_file_held") == 0,
          "and the daemon stops with code 0, state_file_held=0")
    if not ROOT:
        os.chmod(state + ".moved", 0o600)
    check(open(state + ".moved", "rb").read() == good, "the moved file is the snapshot")
    put_back_while_running(bindir, d, state, good, user)


def put_back_while_running(bindir, d, state, good, user):
    """The operator puts the good snapshot back while a daemon runs (to
    restore it at the next start): the daemon's next save must not replace
    it, and it says so."""
    h = start(bindir, d, state, ["--state-interval=100ms", "--stats-interval=300ms"],
              name="put_back", user=user)
    try:
        check(h.wait_log("state saved (periodic)", timeout=10),
              "the daemon saves its own snapshot at first\n" + h.log())
        os.rename(state + ".moved", state)
        check(h.wait_log("another file was put at the state path", timeout=10),
              "a file put back at the path is held, not replaced\n" + h.log())
        check(wait_until(lambda: h.last_stats().get("state_file_held") == 1, 10),
              "state_file_held=1 once the file is put back")
    finally:
        rc = stop_rc(h)
    check(rc == 1 and "the final state save failed" in h.log(),
          "the final save is skipped and exits 1: rc %s" % rc)
    check(open(state, "rb").read() == good, "the snapshot put back is untouched")
    r = start(bindir, d, state, name="put_back_restart")
    try:
        check(restored(r.log()) == (2000, 20000),
              "the next start restores the snapshot put back\n" + r.log())
    finally:
        r.stop()


def fifo_at_path(bindir, work):
    d = fresh_dir(work, "fifo")
    state = os.path.join(d, "state")
    os.mkfifo(state, 0o666)

    def same(msg):
        check(stat.S_ISFIFO(os.lstat(state).st_mode), msg)
    held(bindir, work, d, state, "FIFO", "not a regular file (a FIFO)", same)


def symlink_at_path(bindir, work, good):
    d = fresh_dir(work, "symlink")
    outside = fresh_dir(work, "symlink_target")
    target = os.path.join(outside, "snapshot")
    with open(target, "wb") as f:
        f.write(good)
    state = os.path.join(d, "state")
    os.symlink(target, state)

    def same(msg):
        check(os.path.islink(state) and os.readlink(state) == target and
              open(target, "rb").read() == good, msg)
    held(bindir, work, d, state, "symbolic link at the path", "is a symbolic link", same)


def oversized_file(bindir, work, good):
    d = fresh_dir(work, "oversized")
    state = os.path.join(d, "state")
    # A valid header and 8 GiB of holes: checksumming it would read it all.
    size = 8 << 30
    with open(state, "wb") as f:
        f.write(good[:24])
        f.truncate(size)

    def same(msg):
        st = os.lstat(state)
        with open(state, "rb") as f:
            head = f.read(24)
        check(stat.S_ISREG(st.st_mode) and st.st_size == size and head == good[:24], msg)
    held(bindir, work, d, state, "8 GiB file, 64 MiB budget",
         "more than the memory budget could restore", same, extra=["--max-memory=64M"])


def planted_symlinks(bindir, work, good):
    d = fresh_dir(work, "planted")
    outside = fresh_dir(work, "planted_target")
    target = os.path.join(outside, "precious")
    with open(target, "wb") as f:
        f.write(b"precious\n")
    os.chmod(target, 0o666)  # writable by nobody: only O_EXCL protects it
    state = os.path.join(d, "state")
    with open(state, "wb") as f:
        f.write(good)
    os.symlink(target, state + ".tmp")  # the fixed temp name saves once used
    s = start(bindir, d, state, ["--state-interval=100ms"], name="planted")
    try:
        check(s.wait_log("state saved (periodic)", count=3, timeout=10),
              "saves succeed beside a planted link\n" + s.log())
    finally:
        s.stop()
    check(open(target, "rb").read() == b"precious\n" and
          os.readlink(state + ".tmp") == target,
          "a symbolic link at PATH.tmp is never followed: its target is untouched")
    check(restored(s.log()) == (2000, 20000) and
          saved_peers(s.log(), "at stop") == (2000, 20000),
          "and the state file was restored and saved whole")

    # The lock file is opened without following a link.
    os.unlink(state + ".lock")
    os.symlink(target, state + ".lock")
    rc, err = run(bindir, ["--workers=1", "--state-file=" + state])
    check(rc == 1 and "is a symbolic link" in err and
          open(target, "rb").read() == b"precious\n",
          "a symbolic link at PATH.lock stops the start, its target untouched\n" + err)
    os.unlink(state + ".lock")


def restores_whole(bindir, work, data, name):
    """Returns what a fresh daemon restores from a copy of `data`."""
    d = fresh_dir(work, name)
    state = os.path.join(d, "state")
    with open(state, "wb") as f:
        f.write(data)
    r = start(bindir, d, state, name="check")
    try:
        return restored(r.log())
    finally:
        r.stop()


class MountNamespace:
    """A private mount namespace kept alive by a sleeping process: mounts
    made in it are invisible outside, and vanish with it."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "-m", "--propagation", "private",
                                        "sleep", "600"])
        own = os.readlink("/proc/self/ns/mnt")
        check(wait_until(lambda: os.readlink("/proc/%d/ns/mnt" % self.holder.pid) != own
                         and open("/proc/%d/comm" % self.holder.pid).read() == "sleep\n",
                         10), "a mount namespace is made")

    def prefix(self):
        return ["nsenter", "-t", str(self.holder.pid), "-m"]

    def run(self, *cmd):
        subprocess.run(self.prefix() + list(cmd), check=True, timeout=30)

    def path(self, p):
        """`p` as seen inside the namespace."""
        return "/proc/%d/root%s" % (self.holder.pid, p)

    def close(self):
        self.holder.kill()
        self.holder.wait(10)


def full_disk(bindir, work, good):
    d = fresh_dir(work, "enospc")
    ns = MountNamespace()
    try:
        # 1 MiB: the 284 KB snapshot fits, one of 120 000 peers does not.
        ns.run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", d)
        state = os.path.join(d, "state")
        with open(ns.path(state), "wb") as f:
            f.write(good)
        s = start(bindir, d, state, ["--state-interval=100ms", "--user=", BURST], name="enospc",
                  prefix=ns.prefix())
        try:
            check(restored(s.log()) == (2000, 20000), "restored inside the namespace")
            fill_more = [os.path.join(bindir, "ringtrack-load"), "127.0.0.1:%d" % s.port,
                         "--fill", "--quiet", "--peers=100000", "--torrents=10000",
                         "--torrent_offset=500000", "--torrents_per_peer=0", "--timeout=2s"]
            subprocess.run(fill_more, check=True, capture_output=True, timeout=120)
            check(s.wait_log("No space left on device", timeout=10),
                  "a save on a full file system fails: ENOSPC\n" + s.log())
            # The last save that fitted.
            last_good = open(ns.path(state), "rb").read()
            n = s.log().count("No space left on device")
            check(s.wait_log("No space left on device", count=n + 2, timeout=10),
                  "later saves fail too")
            check(open(ns.path(state), "rb").read() == last_good,
                  "the last good snapshot is untouched by the failed saves")
        finally:
            rc = stop_rc(s)
        check(rc == 1 and "exiting with code 1: the final state save failed" in s.log(),
              "ENOSPC at stop: the failed final save exits 1 and says so: rc %s" % rc)
        # Looked at once the daemon has exited: while it runs, a save starts
        # every 100 ms, and its temp file exists until its write fails. A
        # temp file a failed save left behind would still be here.
        check(not [n for n in os.listdir(ns.path(d)) if ".tmp" in n],
              "the failed saves, periodic and final, leave no temp file: %s" %
              os.listdir(ns.path(d)))
        after = open(ns.path(state), "rb").read()
        # The last save that fitted, or (when the disk filled before any
        # periodic save) the snapshot it restored.
        snap = saved_peers(s.log(), "periodic") or restored(s.log())
        got = restores_whole(bindir, work, after, "enospc_check")
        check(after == last_good and got == snap,
              "the last good snapshot is still there after the failed final save, "
              "whole: restored %s, last saved %s" % (got, snap))
    finally:
        ns.close()


def read_only(bindir, work, good):
    d = fresh_dir(work, "erofs")
    os.chmod(d, 0o777)  # --user= keeps root, without CAP_DAC_OVERRIDE
    ns = MountNamespace()
    try:
        ns.run("mount", "--bind", d, d)
        state = os.path.join(d, "state")
        with open(state, "wb") as f:
            f.write(good)
        s = start(bindir, d, state, ["--state-interval=100ms", "--user="], name="erofs",
                  prefix=ns.prefix())
        try:
            check(restored(s.log()) == (2000, 20000), "restored before the remount")
            # A save writing its temp file makes the remount fail (EBUSY):
            # try again between saves.
            remounted = wait_until(lambda: subprocess.run(
                ns.prefix() + ["mount", "-o", "remount,bind,ro", d],
                capture_output=True).returncode == 0, 10)
            check(remounted, "the state directory is remounted read-only")
            check(s.wait_log("Read-only file system", timeout=10),
                  "a save on a read-only file system fails: EROFS\n" + s.log())
            last_good = open(state, "rb").read()
        finally:
            rc = stop_rc(s)
        check(rc == 1 and "exiting with code 1: the final state save failed" in s.log(),
              "EROFS at stop: the failed final save exits 1 and says so: rc %s" % rc)
        after = open(state, "rb").read()
        got = restores_whole(bindir, work, after, "erofs_check")
        check(after == last_good and got == (2000, 20000),
              "the last good snapshot is still there, whole: restored %s" % (got,))
    finally:
        ns.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)  # nsenter starts in the namespace's root
    work = tempfile.mkdtemp(prefix="ringtrack_state_faults_")
    os.chmod(work, 0o755)
    good = good_snapshot(a.bin, work)
    sigkill_during_saves(a.bin, work)
    second_instance(a.bin, work, good)
    unreadable_file(a.bin, work, good)
    fifo_at_path(a.bin, work)
    symlink_at_path(a.bin, work, good)
    oversized_file(a.bin, work, good)
    planted_symlinks(a.bin, work, good)
    if ROOT:
        full_disk(a.bin, work, good)
        read_only(a.bin, work, good)
    else:
        print("skipped: ENOSPC and EROFS need root (mount namespaces)")
    shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
