#!/usr/bin/python3
"""ringtrackd as a systemd Type=notify service, without systemd: the test
owns a NOTIFY_SOCKET and checks that READY=1 arrives once serving, WATCHDOG=1
keeps arriving at half of WATCHDOG_USEC (after the drop to nobody too), and
STOPPING=1 comes at SIGTERM; then `systemd-analyze verify` accepts the
shipped unit (with ExecStart pointed at the built binary), and the unit's
privilege model works: as an unprivileged user holding only the unit's
AmbientCapabilities, ringtrackd attaches XDP, keeps its key and state file
in a directory that user owns, and serves with no capability left.

Usage: systemd_test.py --bin DIR --unit packaging/ringtrackd.service
"""
import argparse
import os
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
    shutil.rmtree(work, ignore_errors=True)
    summary()


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
