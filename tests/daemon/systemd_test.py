#!/usr/bin/python3
"""ringtrackd as a systemd Type=notify service, without systemd: the test
owns a NOTIFY_SOCKET and checks that READY=1 arrives once serving, WATCHDOG=1
keeps arriving at half of WATCHDOG_USEC (after the drop to nobody too), and
STOPPING=1 comes at SIGTERM; then `systemd-analyze verify` accepts the
shipped unit (with ExecStart pointed at the built binary).

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
                "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_BPF"):
        check(key in unit, "the unit has " + key)
    shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
