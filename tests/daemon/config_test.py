#!/usr/bin/python3
"""ringtrackd's --config (TOML) against the real daemon: --print-config is a
valid TOML file that round-trips, the command line wins over the file (and
says so at start and on SIGHUP), an unknown key, a value of the wrong type
or out of range exits 2 naming the file, line and key, sizes and durations
take the same suffixes on the command line and in the file, likely mistakes
are warned about, SIGHUP applies live settings (logged), reports settings
that need a restart, and keeps the configuration in force when the file is
bad. As root: a config file or access list that --user cannot read fails
the start (exit 1, naming the file and the user), and a reload that cannot
read the file says errno's text and the user.

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


def run_to_exit(bindir, *args, timeout=10):
    """(exit code, stderr) of a ringtrackd expected to exit by itself; a
    daemon still running after `timeout` is stopped and gives (None, log)."""
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([os.path.join(bindir, "ringtrackd")] + list(args),
                             stdout=subprocess.DEVNULL, stderr=err)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.terminate()
            p.wait(10)
            rc = None
        err.seek(0)
        return rc, err.read()


def host_memory_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def check_typed_values(bindir, work):
    """Each value here was accepted without a word before the settings had
    types: now each is refused naming FILE:LINE, the key and what it needs."""
    bad = os.path.join(work, "typed.toml")
    too_big = "%dM" % (2 * host_memory_bytes() // (1 << 20))
    for text, want in (
            ('workers = 1\ninterval = "600"\n',
             ":2: key 'interval' must be whole seconds: an integer, or a string "
             "with a unit like \"15m\", not a string (\"600\")"),
            ('strict_state = "yes"\n',
             ":1: key 'strict_state' must be a boolean (true or false, unquoted), "
             "not a string (\"yes\")"),
            ("max_torrents = 1.0\n",
             ":1: key 'max_torrents' must be an integer, not a floating-point number (1.0)"),
            ('max_memory = "%s"\n' % too_big,
             "--max_memory %s" % too_big),
            ('stats_interval = "1ms"\n',
             "--stats_interval must be 0, or 100ms..24h, not 1ms (a stats line more "
             "often than every 100ms floods the log) (set in " + bad + ":1)"),
            ('state_interval = "1ms"\n',
             "--state_interval must be 0, or 100ms..24h, not 1ms"),
            ("stats_interval = 30\n",
             ":1: key 'stats_interval': '30' has no unit: add a unit: 30s"),
            ('listen = [1]\n',
             ":1: key 'listen' must be an array of strings (or one string), "
             "not an array holding an integer (1)"),
            ('io = "epoll"\n',
             "--io must be one of auto, uring, mmsg, xdp, not 'epoll' (set in " + bad + ":1)")):
        write(bad, text)
        rc, _, err = run(bindir, "--config=" + bad, "--print-config")
        check(rc == 2 and want in err and "Illegal value" not in err,
              "refused with its line and type: %s%s" % (text.replace("\n", " "), err))
    check("host's memory (%.1f GiB)" % (host_memory_bytes() / (1 << 30)) in
          run(bindir, "--max-memory=" + too_big, "--print-config")[2],
          "a budget above the host's memory says the host's size")


def check_suffixes(bindir, work):
    """Sizes and durations read the same on the command line and in TOML."""
    cfg = os.path.join(work, "suffixes.toml")
    write(cfg, 'socket_buffer = "4M"\nmax_memory = "1.5G"\ninterval = "15m"\n'
               'stats_interval = "30s"\nstate_interval = "1h30m"\n'
               'peer_timeout = 3600\n')
    rc, out, err = run(bindir, "--config=" + cfg, "--print-config")
    got = tomllib.loads(out) if rc == 0 else {}
    check(rc == 0 and got.get("socket_buffer") == "4M" and
          got.get("max_memory") == "1536M" and got.get("interval") == 900 and
          got.get("stats_interval") == "30s" and got.get("state_interval") == "1h30m" and
          got.get("peer_timeout") == 3600,
          "sizes (4M, 1.5G) and durations (15m, 30s, 1h30m) in the file\n" + out + err)
    rc, out, err = run(bindir, "--socket-buffer=4M", "--max-memory=1.5G",
                       "--interval=15m", "--peer-timeout=1h", "--print-config")
    got = tomllib.loads(out) if rc == 0 else {}
    check(rc == 0 and got.get("socket_buffer") == "4M" and
          got.get("max_memory") == "1536M" and got.get("interval") == 900 and
          got.get("peer_timeout") == 3600,
          "the same suffixes on the command line\n" + out + err)
    rc, _, err = run(bindir, "--stats-interval=30", "--print-config")
    check(rc == 2 and "add a unit: 30s" in err,
          "a bare duration on the command line says which unit to add\n" + err)
    rc, _, err = run(bindir, "--interval=10m30.5s", "--print-config")
    check(rc == 2 and "not a whole number of seconds" in err,
          "whole-second settings refuse fractions of a second\n" + err)


def check_warnings(bindir, work):
    """Values that work but are likely mistakes: warned, with their line."""
    cfg = os.path.join(work, "warn.toml")
    write(cfg, 'metrics = "0.0.0.0:9469"\nstate_file = "%s"\nstate_interval = "5s"\n'
          % os.path.join(work, "swarms.state"))
    rc, _, err = run(bindir, "--config=" + cfg, "--print-config")
    check(rc == 0 and "--metrics 0.0.0.0:9469 serves the metrics on every address" in err
          and "(set in %s:1)" % cfg in err,
          "a metrics endpoint on all addresses is warned about\n" + err)
    check("--state_interval 5s is short: each save writes every peer to disk" in err
          and "(set in %s:3)" % cfg in err,
          "a state save every few seconds is warned about\n" + err)
    rc, _, err = run(bindir, "--metrics=[::]:9469", "--print-config")
    check(rc == 0 and "serves the metrics on every address" in err,
          "also for [::] on the command line\n" + err)
    rc, _, err = run(bindir, "--metrics=127.0.0.1:9469", "--print-config")
    check(rc == 0 and "WARN" not in err, "a loopback metrics address is not warned about")


def check_missing_files(bindir, work):
    """A file that cannot be read says errno's text and who read it."""
    missing = os.path.join(work, "no-such-dir", "allow.txt")
    rc, err = run_to_exit(bindir, "--access-list=" + missing, "--listen=127.0.0.1:0",
                          "--stats-interval=0")
    check(rc == 1 and "No such file or directory" in err and "reading as " in err,
          "a missing access list fails the start (exit 1), naming errno's text "
          "and the reader: rc %s\n%s" % (rc, err))
    rc, _, err = run(bindir, "--config=" + missing)
    check(rc == 2 and "%s: cannot read it as user " % missing in err and
          "No such file or directory" in err and missing + ":0" not in err,
          "a missing config file too, and no line 0\n" + err)


def check_unreadable_at_start(bindir, work):
    """As root with --user=nobody: what nobody cannot read fails the start
    (before, it failed the first SIGHUP, as `FILE:0`)."""
    private = os.path.join(work, "private")
    os.mkdir(private)
    os.chmod(private, 0o700)
    cfg = os.path.join(private, "rt.toml")
    write(cfg, "workers = 1\n")  # 0644, but its directory is root's alone
    rc, err = run_to_exit(bindir, "--config=" + cfg, "--listen=127.0.0.1:0",
                          "--user=nobody", "--stats-interval=0")
    check(rc == 1 and "--config: %s is not readable by user nobody: Permission denied" % cfg
          in err and "chmod" in err,
          "a config file nobody cannot read fails the start with exit 1\n%s %s" % (rc, err))
    acl = os.path.join(private, "allow.txt")
    write(acl, HASH + "\n")
    rc, err = run_to_exit(bindir, "--access-list=" + acl, "--listen=127.0.0.1:0",
                          "--user=nobody", "--stats-interval=0")
    check(rc == 1 and "--access_list: %s is not readable by user nobody: Permission denied"
          % acl in err,
          "an access list nobody cannot read fails the start with exit 1\n%s %s" % (rc, err))
    d = Ringtrackd(bindir, work, ["--access-list=" + acl, "--user=", "--stats-interval=0"],
                   name="root_list")  # raises unless it starts
    d.stop()
    check(True, "root itself may keep a root-only list (--user= stays root)")


def check_reload_read_error(bindir, work):
    """A reload that cannot read the file names errno's text and the user,
    and no line 0."""
    cfg = os.path.join(work, "reload.toml")
    write(cfg, "workers = 1\nstats_interval = \"0s\"\n")
    d = Ringtrackd(bindir, work, ["--config=" + cfg, "--user=nobody"], name="reload")
    try:
        os.chmod(cfg, 0o600)
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("keeping the configuration in force"),
              "a file nobody cannot read on SIGHUP is refused\n" + d.log())
        log = d.log()
        check("%s: cannot read it as user nobody: Permission denied" % cfg in log and
              cfg + ":0" not in log,
              "and the error says errno's text and the user, not line 0\n" + log)
    finally:
        d.stop()


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
                       ("interval = 5\n", "--interval must be 10..86400 s, not 5 (every client re-announces "
                        "this often; 1 day is the longest peer timeout) (set in " + bad + ":1)"),
                       ("interval = [\n", bad + ":")):
        write(bad, text)
        rc, _, err = run(a.bin, "--config=" + bad)
        check(rc == 2 and want in err, "a bad file exits 2 naming it: %r\n%s" % (want, err))

    check_typed_values(a.bin, work)
    check_suffixes(a.bin, work)
    check_warnings(a.bin, work)
    check_missing_files(a.bin, work)
    if os.geteuid() == 0:
        check_unreadable_at_start(a.bin, work)
        check_reload_read_error(a.bin, work)
    else:
        print("skip: the --user=nobody checks need root", flush=True)

    write(cfg, "interval = 900\nworkers = 1\nmax_numwant = 100\n")
    d = Ringtrackd(a.bin, work, ["--config=" + cfg, "--max-numwant=150"])
    try:
        check(interval_of(a.bin, d.port) == 900, "the file's interval is served")
        check(d.wait_log("max_numwant from %s:3 overridden by the command line" % cfg),
              "a command-line setting that overrides the file is logged at start\n" + d.log())
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
        check("SIGHUP: max_numwant" not in log,
              "a setting the command line holds is not changed by the file")
        write(cfg, "interval = 600\nworkers = 1\nsweep_period = \"30s\"\n"
                   "max_peers_per_swarm = 50\npeer_timeout = 120\nmax_numwant = 100\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("SIGHUP: max_numwant from %s:6 overridden by the command line" % cfg),
              "and on SIGHUP, with the file's new line\n" + d.log())
        write(cfg, "interval = 7\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("keeping the configuration in force"),
              "a bad file on SIGHUP is refused\n" + d.log())
        check(interval_of(a.bin, d.port) == 600, "and the old configuration stays in force")
        write(cfg, "interval = 600\nbogus = true\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("keeping the configuration in force", 2) and
              cfg + ":2: unknown key 'bogus'" in d.log(),
              "an unknown key on SIGHUP names the line and changes nothing")
        check(d.proc.poll() is None, "the daemon is still running")
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
