#!/usr/bin/python3
"""ringtrackd's --config (TOML) against the real daemon: --print-config is a
valid TOML file that round-trips, the command line wins over the file, an
unknown key or a bad value exits 2 naming the file, line and key, and
SIGHUP applies live settings (logged), reports settings that need a
restart, and keeps the configuration in force when the file is bad.

Usage: config_test.py --bin DIR
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

HASH = "cc" * 20


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)  # re-read as nobody on SIGHUP


def run(bindir, *args):
    p = subprocess.run([os.path.join(bindir, "ringtrackd")] + list(args),
                       capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def interval_of(bindir, port):
    p = subprocess.run([os.path.join(bindir, "ringtrack-cli"), "announce",
                        "udp://127.0.0.1:%d" % port, "--info-hash", HASH,
                        "--timeout=5s"], capture_output=True, text=True, timeout=30)
    m = re.search(r"interval: (\d+) s", p.stdout)
    return int(m.group(1)) if m else None



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringtrack_config_")
    os.chmod(work, 0o755)
    cfg = os.path.join(work, "ringtrackd.toml")
    write(cfg, "# test configuration\ninterval = 900\nmax-peers-per-source = 4\n"
               "workers = 1\nstats_interval = \"0s\"\n")

    rc, out, err = run(a.bin, "--config=" + cfg, "--print-config")
    check(rc == 0, "--print-config exits 0\n" + err)
    parsed = tomllib.loads(out)
    check(parsed.get("interval") == 900 and parsed.get("max_peers_per_source") == 4 and
          parsed.get("listen") == ["0.0.0.0:6969", "[::]:6969"],
          "--print-config shows the file's values and the defaults as TOML")
    printed = os.path.join(work, "printed.toml")
    write(printed, out)
    rc, out2, err = run(a.bin, "--config=" + printed, "--print-config")
    check(rc == 0 and out2 == out, "the printed configuration round-trips as a --config file\n" + err)
    rc, out, _ = run(a.bin, "--config=" + cfg, "--interval=1200", "--print-config")
    check(tomllib.loads(out).get("interval") == 1200, "the command line wins over the file")

    bad = os.path.join(work, "bad.toml")
    for text, want in (("interval = 900\nno_such_key = 1\n", ":2: unknown key 'no_such_key'"),
                       ("\ninterval = \"soon\"\n", ":2: key 'interval'"),
                       ("interval = 5\n", "--interval must be 10..86400 s, not 5 (set in " + bad + ":1)"),
                       ("interval = [\n", bad + ":")):
        write(bad, text)
        rc, _, err = run(a.bin, "--config=" + bad)
        check(rc == 2 and want in err, "a bad file exits 2 naming it: %r\n%s" % (want, err))

    write(cfg, "interval = 900\nworkers = 1\n")
    d = Ringtrackd(a.bin, work, ["--config=" + cfg])
    try:
        check(interval_of(a.bin, d.port) == 900, "the file's interval is served")
        write(cfg, "interval = 600\nworkers = 1\nsweep_period = \"30s\"\n"
                   "max_peers_per_swarm = 50\npeer_timeout = 120\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("configuration reloaded"), "SIGHUP reloads\n" + d.log())
        log = d.log()
        check("SIGHUP: interval 900 -> 600" in log and
              "SIGHUP: max_peers_per_swarm 100000 -> 50" in log and
              "SIGHUP: peer_timeout 0 -> 120" in log,
              "each live change is logged\n" + log)
        check("sweep_period changed to" in log and "after a restart" in log,
              "a change that needs a restart is logged as such")
        check(interval_of(a.bin, d.port) == 600, "the new interval is served at once")
        write(cfg, "interval = 7\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("keeping the configuration in force"),
              "a bad file on SIGHUP is refused\n" + d.log())
        check(interval_of(a.bin, d.port) == 600, "and the old configuration stays in force")
        write(cfg, "interval = 600\nbogus = true\n")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        check(d.log().count("keeping the configuration in force") == 2 and
              cfg + ":2: unknown key 'bogus'" in d.log(),
              "an unknown key on SIGHUP names the line and changes nothing")
        check(d.proc.poll() is None, "the daemon is still running")
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
