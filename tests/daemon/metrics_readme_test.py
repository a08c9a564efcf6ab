#!/usr/bin/python3
"""README's metrics table is the catalogue's (daemon/metrics_catalogue.h):
the block between the metrics-table markers equals what
`metrics_catalogue_dump` prints, and every series a real ringtrackd exports
is a row of it. On a difference it prints the dump to paste.

Usage: metrics_readme_test.py --bin DIR --readme README.md
"""
import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd, scrape_metrics  # noqa: E402

BEGIN = re.compile(r"^<!-- metrics-table:.*-->$", re.M)
END = "<!-- /metrics-table -->"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--readme", required=True)
    a = ap.parse_args()
    dump = subprocess.run([os.path.join(a.bin, "metrics_catalogue_dump")],
                          capture_output=True, text=True, check=True).stdout
    readme = open(a.readme).read()
    m = BEGIN.search(readme)
    check(m is not None and END in readme[m.end():] if m else False,
          "README has the metrics-table markers")
    block = readme[m.end() + 1:readme.index(END, m.end())]
    diff = "".join(difflib.unified_diff(block.splitlines(True), dump.splitlines(True),
                                        "README.md", "metrics_catalogue_dump"))
    check(block == dump, "README's metrics table is the catalogue's\n" + diff)

    names = set(subprocess.run([os.path.join(a.bin, "metrics_catalogue_dump"), "--names"],
                               capture_output=True, text=True, check=True).stdout.split())
    work = tempfile.mkdtemp(prefix="rt-metrics-readme-")
    d = Ringtrackd(a.bin, work, ["--workers=1", "--metrics=127.0.0.1:0"])
    try:
        port = int(re.search(r"metrics=127\.0\.0\.1:(\d+)", d.log()).group(1))
        text = scrape_metrics(port)
    finally:
        d.stop()
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    check(families and families <= names,
          "every family a real scrape has is a catalogue row: %s" % sorted(families - names))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
