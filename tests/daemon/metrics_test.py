#!/usr/bin/python3
"""ringtrackd's Prometheus endpoint, against the real daemon over loopback:
promtool accepts the exposition, counters move as traffic flows, the stats
line and /metrics come from one list (the same values), the shipped alert
rules pass `promtool check rules`, and bad --metrics values are refused.

Usage: metrics_test.py --bin DIR --rules packaging/prometheus/ringtrack-rules.yml
"""
import argparse
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd, metric_value as value, scrape_metrics as scrape  # noqa: E402

HASH = "0123456789abcdef0123456789abcdef01234567"


def check_stats_lines(d, cli, url):
    """The periodic line says what changed: each counter that moved as its
    rate over the interval, the gauges that are not zero, nothing that is
    zero."""
    n = d.log().count(" stats ")
    for port_no in range(7101, 7106):
        subprocess.run([cli, "announce", url, "--info-hash", HASH, "--port",
                        str(port_no), "--timeout=5s"], check=True,
                       capture_output=True)
    # The line whose interval saw the announces (a later one may not).
    def moved():
        lines = [l for l in d.log().splitlines() if " stats " in l][n:]
        return [l for l in lines if "announces=" in l]
    deadline = time.time() + 20
    while not moved() and time.time() < deadline:
        time.sleep(0.05)
    lines = moved()
    check(lines, "a stats line shows the announces\n" + d.log())
    if not lines:
        return
    line = lines[0]
    m = re.search(r" stats over ([0-9.]+)(m?s): ", line)
    check(m is not None, "the line names its interval: " + line)
    rates = dict(re.findall(r" (\w+)=([0-9.e+-]+)/s", line))
    check("announces" in rates and "connects" in rates and
          "datagrams_received" in rates,
          "counters that moved are rates per second: " + line)
    check("bad_connection_ids" not in rates and "refused_torrent_memory" not in line,
          "counters that did not move are left out: " + line)
    check(re.search(r" (\w+)=0(/s)?(?=\s|$)", line) is None,
          "nothing zero is shown: " + line)
    check(re.search(r" peers_v4=\d+( |$)", line) and " torrents=1" in line,
          "gauges are shown as they are: " + line)

    # A line with no announces: every announce is in a line before it.
    def quiet():
        lines = [l for l in d.log().splitlines() if " stats " in l]
        return lines and "announces=" not in lines[-1]
    deadline = time.time() + 20
    while not quiet() and time.time() < deadline:
        time.sleep(0.05)
    check(quiet(), "a line after the announces leaves them out")


def sum_of(text, prefix):
    """The sum of every sample of a family (name plus an optional label
    filter written as the start of the label set)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(prefix):
            total += float(line.split()[-1])
    return total


def check_drops_counted_once(port, metrics_port):
    """Junk and forged connection IDs: every datagram is one request, and
    each dropped one is in ringtrack_dropped_total once (the drop-rate
    alert divides that sum by the datagrams received)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(20):
        s.sendto(b"x" * (i % 15), ("127.0.0.1", port))  # too short
    for _ in range(7):
        s.sendto(b"\0" * 16, ("127.0.0.1", port))  # bad magic
    for _ in range(5):  # an announce with a connection ID never issued
        s.sendto(struct.pack(">QII20s20sQQQIIIiH", 12345, 1, 7, b"\xab" * 20,
                             b"-RT0001-metricstest0", 0, 5, 0, 2, 0, 0, -1, 7001),
                 ("127.0.0.1", port))
    s.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        text = scrape(metrics_port)
        req = 'ringtrack_requests_total{protocol="udp",'
        invalid = sum_of(text, req + 'type="unknown",outcome="invalid"')
        bad = sum_of(text, req + 'type="announce",outcome="bad_connection_id"')
        if invalid >= 27 and bad >= 5:
            break
        time.sleep(0.05)
    check(invalid == 27 and bad == 5,
          "junk counted as invalid requests of unknown type, forged IDs as "
          "bad_connection_id announces: %s, %s" % (invalid, bad))
    dropped = sum_of(text, "ringtrack_dropped_total")
    check(dropped == invalid + bad and
          value(text, 'ringtrack_dropped_total{reason="bad_connection_id"}') == bad and
          value(text, 'ringtrack_dropped_total{reason="too_short"}') == 20,
          "each dropped datagram is in dropped_total once, by reason: %s" % dropped)
    check(sum_of(text, "ringtrack_requests_total") ==
          value(text, "ringtrack_datagrams_received_total"),
          "every datagram received is one request")
    check(value(text, "ringtrack_invalid_total") is None and
          value(text, 'ringtrack_responses_total{type="announce"}') is None,
          "no second count of the same datagrams")


def check_reload_metrics(bindir, work):
    """ringtrack_config_last_reload_success follows SIGHUP reloads (here of
    an access list); the timestamp moves only on a good one."""
    path = os.path.join(work, "allow.txt")
    with open(path, "w") as f:
        f.write(HASH + "\n")
    # (Re-read after the daemon drops to nobody.)
    os.chmod(work, 0o755)
    os.chmod(path, 0o644)
    d = Ringtrackd(bindir, work, ["--workers=1", "--metrics=127.0.0.1:0",
                                  "--access-list=" + path], name="reload")
    try:
        port = int(re.search(r"metrics=127\.0\.0\.1:(\d+)", d.log()).group(1))
        text = scrape(port)
        start = value(text, "process_start_time_seconds")
        first_reload = value(text, "ringtrack_config_last_reload_timestamp_seconds")
        check(value(text, "ringtrack_config_last_reload_success") == 1 and
              abs(value(text, "ringtrack_config_last_reload_timestamp_seconds") -
                  time.time()) < 60 and abs(start - time.time()) < 60,
              "at start: reload success 1, timestamp and start time now: %s" % start)
        cpu = value(text, "process_cpu_seconds_total")
        fds = value(text, "process_open_fds")
        check(cpu is not None and cpu > 0 and fds is not None and 5 <= fds < 100,
              "process CPU seconds and open fds: %s, %s" % (cpu, fds))
        with open(path, "w") as f:
            f.write(HASH + "\nbroken\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("keeping the old access list"), "the bad list is refused")
        check(value(scrape(port), "ringtrack_config_last_reload_success") == 0,
              "a refused reload sets ringtrack_config_last_reload_success to 0")
        # The timestamp has a one-second resolution: the good reload comes
        # once the clock has left the second of the first one.
        while time.time() < first_reload + 1:
            time.sleep(0.05)
        with open(path, "w") as f:
            f.write(HASH + "\n")
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_log("info hashes", count=2), "the fixed list is loaded")
        text = scrape(port)
        check(value(text, "ringtrack_config_last_reload_success") == 1 and
              value(text, "ringtrack_config_last_reload_timestamp_seconds") >
              first_reload,
              "a good reload sets it back to 1 and moves the timestamp")
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rules", required=True)
    a = ap.parse_args()
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is installed (Debian package prometheus)")
    work = tempfile.mkdtemp(prefix="ringtrack_metrics_")
    d = Ringtrackd(a.bin, work, ["--workers=2", "--metrics=127.0.0.1:0",
                                 "--stats-interval=1s"])
    try:
        m = re.search(r"metrics=127\.0\.0\.1:(\d+)", d.log())
        check(m is not None, "the start line names the metrics address\n" + d.log())
        port = int(m.group(1))
        before = scrape(port)
        p = subprocess.run([promtool, "check", "metrics"], input=before,
                           capture_output=True, text=True)
        check(p.returncode == 0, "promtool check metrics accepts /metrics\n" +
              p.stdout + p.stderr)
        check(value(before, "ringtrack_build_info{version=\"0.1.0\"}") == 1,
              "ringtrack_build_info is exported")
        cli = os.path.join(a.bin, "ringtrack-cli")
        url = "udp://127.0.0.1:%d" % d.port
        for port_no in (7001, 7002, 7003):
            subprocess.run([cli, "announce", url, "--info-hash", HASH, "--port",
                            str(port_no), "--timeout=5s"], check=True,
                           capture_output=True)
        subprocess.run([cli, "scrape", url, HASH, "--timeout=5s"], check=True,
                       capture_output=True)
        after = scrape(port)
        req = 'ringtrack_requests_total{protocol="udp",type="%s",outcome="%s",ip_version="%s"}'
        ann = value(after, req % ("announce", "ok", "4"))
        check(ann == 3, "announces counted by type, outcome and IP version: %s" % ann)
        check(value(after, req % ("connect", "ok", "4")) == 4 and
              value(after, req % ("announce", "ok", "6")) == 0,
              "connects counted apart from announces, IPv6 apart from IPv4")
        check(value(after, req % ("scrape", "ok", "4")) == 1, "scrape counted")
        check(value(after, 'ringtrack_seeders{ip_version="4"}') == 0 and
              value(after, 'ringtrack_seeders{ip_version="6"}') == 0,
              "seeders by IP version")
        check(value(after, 'ringtrack_peers{ip_version="4"}') == 3 and
              value(after, "ringtrack_torrents") == 1, "gauges follow the table")
        check(value(after, "ringtrack_received_bytes_total") >
              value(before, "ringtrack_received_bytes_total"), "bytes counted")
        check(value(after, "ringtrack_memory_bytes") > 0 and
              value(after, "ringtrack_memory_budget_bytes") > 0,
              "memory and budget exported")
        p = subprocess.run([promtool, "check", "metrics"], input=after,
                           capture_output=True, text=True)
        check(p.returncode == 0, "promtool still accepts it with traffic\n" + p.stdout + p.stderr)
        check_stats_lines(d, cli, url)
        check_drops_counted_once(d.port, port)
    finally:
        final = d.stop()
    check(final.get("announces") == 3 + 5 and final.get("connects") == 4 + 5 and
          final.get("scrapes") == 1,
          "the final line has the totals: %s" % dict(final))
    # Each line's rate times its interval is what happened in it: over all
    # the lines, the 8 announces (rates have two significant digits).
    total = 0.0
    for line in d.log().splitlines():
        m = re.search(r" stats over ([0-9.]+)(m?s): ", line)
        r = re.search(r" announces=([0-9.e+-]+)/s", line)
        if m and r:
            total += float(r.group(1)) * float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    check(abs(total - 8) <= 1,
          "the lines' rates times their intervals add up to the announces: %.2f" % total)
    finals = [l for l in d.log().splitlines() if " final " in l]
    zeros = re.findall(r" (\w+)=0(?=\s|$)", finals[-1]) if finals else ["(no final line)"]
    check(not zeros, "the final line leaves out what is zero: %s" % zeros)
    p = subprocess.run([promtool, "check", "rules", a.rules], capture_output=True, text=True)
    check(p.returncode == 0 and "SUCCESS: 10 rules found" in p.stdout,
          "promtool check rules accepts the shipped alert rules\n" + p.stdout + p.stderr)
    check_reload_metrics(a.bin, work)
    rt = os.path.join(a.bin, "ringtrackd")
    p = subprocess.run([rt, "--metrics=nonsense"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and "--metrics" in p.stderr, "a bad --metrics exits 2 naming it")
    blocker = Ringtrackd(a.bin, work, ["--metrics=127.0.0.1:0"], name="blocker")
    try:
        taken = int(re.search(r"metrics=127\.0\.0\.1:(\d+)", blocker.log()).group(1))
        p = subprocess.run([rt, "--listen=127.0.0.1:0", "--metrics=127.0.0.1:%d" % taken],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 1 and "--metrics" in p.stderr,
              "a metrics port in use exits 1 saying so\n" + p.stderr)
    finally:
        blocker.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
