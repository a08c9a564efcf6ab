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
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd, metric_value as value, scrape_metrics as scrape  # noqa: E402

HASH = "0123456789abcdef0123456789abcdef01234567"


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
        ann = value(after, 'ringtrack_responses_total{type="announce"}')
        check(ann == 3, "announces counted: %s" % ann)
        check(value(after, 'ringtrack_requests_total{type="announce",ip_version="4"}') == 3,
              "requests counted by type and IP version")
        check(value(after, 'ringtrack_responses_total{type="scrape"}') == 1,
              "scrape counted")
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
        time.sleep(1.5)
        stats = d.last_stats()
        check(stats.get("announces") == 3 and stats.get("requests_announce_v4") == 3,
              "the stats line carries the same counters: %s" %
              {k: stats.get(k) for k in ("announces", "requests_announce_v4")})
    finally:
        d.stop()
    p = subprocess.run([promtool, "check", "rules", a.rules], capture_output=True, text=True)
    check(p.returncode == 0 and "SUCCESS: 7 rules found" in p.stdout,
          "promtool check rules accepts the shipped alert rules\n" + p.stdout + p.stderr)
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
