#!/usr/bin/python3
"""The shipped alert rules under `promtool test rules`: each rules test file
(tests/daemon/*_rules_test.yml) names the rules file as RULES; every alert
fires on its condition and stays quiet on healthy traffic, 30 % junk
included.

Usage: alert_rules_test.py --rules packaging/prometheus/ringtrack-rules.yml TEST.yml...
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", required=True)
    ap.add_argument("tests", nargs="+")
    a = ap.parse_args()
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is installed (Debian package prometheus)")
    work = tempfile.mkdtemp(prefix="rt-alerts-")
    try:
        for path in a.tests:
            with open(path) as f:
                text = f.read().replace("RULES", os.path.abspath(a.rules))
            out = os.path.join(work, os.path.basename(path))
            with open(out, "w") as f:
                f.write(text)
            p = subprocess.run([promtool, "test", "rules", out],
                               capture_output=True, text=True)
            check(p.returncode == 0, "%s passes\n%s%s" % (
                os.path.basename(path), p.stdout, p.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
