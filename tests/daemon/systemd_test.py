#!/usr/bin/python3
"""ringtrackd as a systemd Type=notify service, without systemd: the test
owns a NOTIFY_SOCKET and checks that READY=1 arrives once serving, WATCHDOG=1
keeps arriving at half of WATCHDOG_USEC (after the drop to nobody too), and
STOPPING=1 comes at SIGTERM, and a SIGHUP reload is bracketed by
RELOADING=1 (with MONOTONIC_USEC=) and READY=1, a failed one too; with
JOURNAL_STREAM naming its stderr every line carries its sd-daemon priority
(<3>, <4>, <6>, <7>), fatal errors included, and the start line names the
config file, the key file, the user and the budget in human units; missing
capabilities are named with the flag that needs them, without the
verifier's log on stderr; then `systemd-analyze verify` accepts the
shipped unit (with ExecStart pointed at the built binary), and the unit's
privilege model works: as an unprivileged user holding only the unit's
AmbientCapabilities, ringtrackd attaches XDP, keeps its key and state file
in a directory that user owns, and serves with no capability left.

Usage: systemd_test.py --bin DIR --unit packaging/ringtrackd.service
"""
import argparse
import os
import pwd
import re
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--unit", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringtrack_notify_")
    os.chmod(work, 0o755)
    path = os.path.join(work, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o777)  # the daemon keeps notifying after it drops to nobody
    sock.settimeout(0.2)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    log = open(os.path.join(work, "rt.log"), "w")
    proc = subprocess.Popen([os.path.join(a.bin, "ringtrackd"),
                             "--listen=127.0.0.1:0", "--workers=1",
                             "--stats-interval=0"],
                            env=env, stderr=log, stdout=subprocess.DEVNULL)
    messages = []
    try:
        deadline = time.time() + 3
        while time.time() < deadline:
            try:
                messages.append((time.time(), sock.recv(4096).decode()))
            except socket.timeout:
                pass
        ready = [m for t, m in messages if "READY=1" in m]
        check(len(ready) == 1 and "STATUS=serving 127.0.0.1:" in ready[0] and
              "MAINPID=%d" % proc.pid in ready[0],
              "READY=1 with a status line and MAINPID, once: %r" % ready)
        pings = [t for t, m in messages if m == "WATCHDOG=1"]
        check(len(pings) >= 8, "WATCHDOG=1 about every 200 ms: %d in 3 s" % len(pings))
        proc.terminate()
        proc.wait(10)
        rest = []
        try:
            while True:
                rest.append(sock.recv(4096).decode())
        except socket.timeout:
            pass
        check("STOPPING=1" in rest, "STOPPING=1 at SIGTERM: %r" % rest)
        check(proc.returncode == 0, "clean exit")
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    unit = open(a.unit).read().replace("/usr/bin/ringtrackd",
                                       os.path.join(os.path.abspath(a.bin), "ringtrackd"))
    unit_path = os.path.join(work, "ringtrackd.service")
    with open(unit_path, "w") as f:
        f.write(unit)
    p = subprocess.run(["systemd-analyze", "verify", unit_path], capture_output=True,
                       text=True, cwd=work)
    check(p.returncode == 0, "systemd-analyze verify accepts the unit\n" + p.stdout + p.stderr)
    for key in ("Type=notify", "WatchdogSec=", "StateDirectory=ringtrack",
                "DynamicUser=yes", "RestartPreventExitStatus=2",
                "ringtrackd --config /etc/ringtrack/ringtrackd.toml\n",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_BPF"):
        check(key in unit, "the unit has " + key)
    unit_privileges(a.bin, unit)
    reload_notifications(a.bin, work)
    journal_priorities(a.bin, work)
    capability_errors(a.bin, work)
    shutil.rmtree(work, ignore_errors=True)
    summary()


def notifications(sock):
    out = []
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except socket.timeout:
        pass
    return out


def wait_for(pred, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def reload_notifications(bindir, work):
    """RELOADING=1 + MONOTONIC_USEC, then READY=1, around each SIGHUP."""
    path = os.path.join(work, "notify_reload")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o777)  # the daemon notifies after it drops to nobody
    sock.settimeout(0.2)
    config = os.path.join(work, "reload.toml")
    with open(config, "w") as f:
        f.write("interval = 900\n")
    log_path = os.path.join(work, "reload.log")
    proc = subprocess.Popen([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                             "--workers=1", "--stats-interval=0", "--config", config],
                            env=dict(os.environ, NOTIFY_SOCKET=path),
                            stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
    try:
        check(wait_for(lambda: "READY=1" in "".join(notifications(sock))), "READY=1 at start")
        for text, what in (("interval = 600\n", "a good file"),
                           ("interval = \n", "a bad file")):
            with open(config, "w") as f:
                f.write(text)
            before = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
            proc.send_signal(signal.SIGHUP)
            got = []
            wait_for(lambda: got.extend(notifications(sock)) or "READY=1" in got)
            after = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
            m = re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=(\d+)", got[0] if got else "")
            check(m is not None and before <= int(m.group(1)) <= after and
                  got[1:] == ["READY=1"],
                  "SIGHUP with %s: RELOADING=1 with MONOTONIC_USEC, then READY=1: %r" %
                  (what, got))
        log = open(log_path).read()
        check("SIGHUP: interval 900 -> 600" in log and "keeping the configuration" in log,
              "the good reload applied, the bad one kept it\n" + log)
    finally:
        proc.terminate()
        proc.wait(10)
        sock.close()


def journal_stream_of(f):
    st = os.fstat(f.fileno())
    return "%d:%d" % (st.st_dev, st.st_ino)


def journal_priorities(bindir, work):
    """Every line of a real daemon under JOURNAL_STREAM starts <N>."""
    config = os.path.join(work, "journal.toml")
    key = os.path.join(work, "journal.key")
    with open(config, "w") as f:
        f.write('workers = 1\nconnection_key_file = "%s"\n' % key)
    log_path = os.path.join(work, "journal.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                             "--stats-interval=0", "--max-memory=64M", "--config", config],
                            env=dict(os.environ, JOURNAL_STREAM=journal_stream_of(log)),
                            stderr=log, stdout=subprocess.DEVNULL)
    try:
        check(wait_for(lambda: " INFO ringtrackd " in open(log_path).read()),
              "the daemon starts with JOURNAL_STREAM set")
        with open(config, "w") as f:  # a restart-only change: a warning
            f.write('workers = 2\nconnection_key_file = "%s"\n' % key)
        proc.send_signal(signal.SIGHUP)
        check(wait_for(lambda: "configuration reloaded" in open(log_path).read()),
              "the reload is logged")
        with open(config, "w") as f:  # a bad file: an error
            f.write("workers = \n")
        proc.send_signal(signal.SIGHUP)
        check(wait_for(lambda: "keeping the configuration" in open(log_path).read()),
              "the refused reload is logged")
    finally:
        proc.terminate()
        proc.wait(10)
    lines = open(log_path).read().splitlines()
    bad = [l for l in lines if not re.match(r"<[3467]>", l)]
    check(lines and not bad, "every line starts with an sd-daemon priority: %r" % bad)
    start = [l for l in lines if " INFO ringtrackd " in l][0]
    check(start.startswith("<6>"), "the start line is info: " + start)
    check(any(l.startswith("<4>") and "only after a restart" in l for l in lines),
          "a restart-only change is a warning (<4>)\n" + "\n".join(lines))
    check(any(l.startswith("<3>") and "keeping the configuration" in l for l in lines),
          "a refused reload is an error (<3>)\n" + "\n".join(lines))
    # --user=auto: nobody when started as root.
    user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    for part in ("config=" + config, "key_file=" + key, "user=" + user,
                 "max_memory=64 MiB "):
        check(part in start, "the start line names " + part.strip() + "\n" + start)
    # Fatal errors: a bad value (exit 2) and a failed start (exit 1).
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # no SO_REUSEPORT
    taken.bind(("127.0.0.1", 0))
    for args, code, what in ((["--interval=5"], 2, "a bad value"),
                             (["--listen=127.0.0.1:%d" % taken.getsockname()[1]], 1,
                              "a port already in use")):
        with open(os.path.join(work, "fatal.log"), "w") as f:
            p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--workers=1"] + args,
                               env=dict(os.environ, JOURNAL_STREAM=journal_stream_of(f)),
                               stderr=f, stdout=subprocess.DEVNULL, timeout=10)
        out = open(os.path.join(work, "fatal.log")).read()
        # (A warning may come first, e.g. the open-files limit's.)
        check(p.returncode == code and
              any(l.startswith("<3>ringtrackd: ") for l in out.splitlines()) and
              all(re.match(r"<[3467]>", l) for l in out.splitlines()),
              "%s: exit %d with an error-priority line\n%s" % (what, code, out))
    taken.close()
    # The same daemon with stderr not the journal stream: no prefixes.
    with open(os.path.join(work, "plain.log"), "w") as f:
        p = subprocess.run([os.path.join(bindir, "ringtrackd"), "--interval=5"],
                           env=dict(os.environ, JOURNAL_STREAM="1:1"),
                           stderr=f, stdout=subprocess.DEVNULL, timeout=10)
    out = open(os.path.join(work, "plain.log")).read()
    check(out.startswith("ringtrackd: --interval"),
          "JOURNAL_STREAM naming another stream: no prefix\n" + out)


def capability_errors(bindir, work):
    """Without one capability a mode needs, the error names it and the flag,
    and the verifier's log stays off a terminal's stderr."""
    if os.geteuid() != 0:
        return
    cases = (
        (["--xdp=lo", "--xdp-mode=generic"], "+net_admin,+bpf",
         "--xdp needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (this process lacks "
         "CAP_PERFMON)", "the verifier: "),
        (["--xdp=lo", "--xdp-mode=generic"], "+net_admin,+perfmon",
         "--xdp needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (this process lacks CAP_BPF)",
         ""),
        (["--xdp=lo", "--xdp-mode=generic", "--io=xdp"], "+net_admin,+bpf,+perfmon",
         "--io xdp (its AF_XDP socket) needs CAP_NET_RAW (this process lacks CAP_NET_RAW)",
         ""),
    )
    for args, caps, want, also in cases:
        p = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=-all," + caps, "--ambient-caps=-all," + caps,
             os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0", "--workers=1",
             "--user=", "--stats-interval=0"] + args,
            capture_output=True, text=True, timeout=20)
        lines = p.stderr.splitlines()
        check(p.returncode == 1 and want in p.stderr and also in p.stderr and
              len(lines) <= 3 and "libbpf" not in p.stderr,
              "%s with only %s: %s\n%s" % (" ".join(args), caps, want, p.stderr))
    # Under journald the verifier's log is there, at debug priority.
    args, caps = cases[0][0], cases[0][1]
    with open(os.path.join(work, "verifier.log"), "w") as f:
        subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=-all," + caps, "--ambient-caps=-all," + caps,
             os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0", "--workers=1",
             "--user=", "--stats-interval=0"] + args,
            env=dict(os.environ, JOURNAL_STREAM=journal_stream_of(f)),
            stderr=f, stdout=subprocess.DEVNULL, timeout=20)
    lines = open(os.path.join(work, "verifier.log")).read().splitlines()
    debug = [l for l in lines if l.startswith("<7>") and " DEBUG libbpf: " in l]
    check(len(debug) >= 10 and any("BEGIN PROG LOAD LOG" in l for l in debug) and
          all(re.match(r"<[3467]>", l) for l in lines),
          "under journald the verifier's log is at debug priority (%d lines)\n%s" % (
              len(debug), "\n".join(lines[-5:])))


def unit_privileges(bindir, unit):
    """DynamicUser= emulated with setpriv: nobody + the ambient caps."""
    if os.geteuid() != 0:
        return
    caps = []
    for line in unit.splitlines():
        if line.startswith("AmbientCapabilities="):
            caps = [c.lower().replace("cap_", "+") for c in line.split("=", 1)[1].split()]
    bounding = int(open("/proc/self/status").read().split("CapBnd:")[1].split()[0], 16)
    # CAP_SYS_RESOURCE (24) is outside some containers' bounding sets.
    if not bounding & (1 << 24):
        caps = [c for c in caps if c != "+sys_resource"]
    check(caps, "the unit grants ambient capabilities")
    state_dir = tempfile.mkdtemp(prefix="ringtrack_dynuser_")
    os.chown(state_dir, 65534, 65534)
    c = ",".join(caps)
    proc = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "--inh-caps=" + c, "--ambient-caps=" + c,
         os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0", "--workers=1",
         "--xdp=lo", "--xdp-mode=generic", "--user=", "--stats-interval=0",
         "--connection-key-file=" + os.path.join(state_dir, "connection.key"),
         "--state-file=" + os.path.join(state_dir, "swarms.state")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        status = ""
        for _ in range(100):
            time.sleep(0.05)
            if proc.poll() is not None:
                break
            status = open("/proc/%d/status" % proc.pid).read()
            if "CapEff:\t0000000000000000" in status and "CapAmb:\t0000000000000000" in status:
                break
        check(proc.poll() is None and "CapEff:\t0000000000000000" in status,
              "serving with no capability left")
        proc.terminate()
        err = proc.communicate(timeout=10)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    check(proc.returncode == 0 and "xdp=lo(generic)" in err and "state saved (at stop)" in err,
          "XDP attached and the state saved as the unprivileged user\n" + err)
    check(os.stat(os.path.join(state_dir, "swarms.state")).st_uid == 65534,
          "the state file belongs to that user")
    shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
