#!/usr/bin/python3
"""README's settings table and the man page's OPTIONS against ringtrackd's
settings table (daemon/settings.h): README's table must be exactly
`ringtrackd --print-settings-table=markdown`, and the built man page must
hold `--print-settings-table=man` entry for entry. Either drifting (a row
added, a default or a doc changed without the other) fails, with the diff
and the command that regenerates README's table.

Usage: settings_docs_test.py --bin DIR --readme README.md --man ringtrackd.8.gz
"""
import argparse
import difflib
import gzip
import os
import subprocess
import sys
import tomllib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402

BEGIN = "<!-- settings table: ringtrackd --print-settings-table=markdown -->\n"
END = "<!-- end of settings table -->\n"


def table(bindir, form):
    p = subprocess.run([os.path.join(bindir, "ringtrackd"),
                        "--print-settings-table=" + form],
                       capture_output=True, text=True, timeout=20)
    check(p.returncode == 0, "--print-settings-table=%s exits 0\n%s" % (form, p.stderr))
    return p.stdout


def readme_table(path):
    text = open(path, encoding="utf-8").read()
    check(text.count(BEGIN) == 1 and text.count(END) == 1,
          "README has one settings table between its markers")
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--man", required=True)
    a = ap.parse_args()

    want = table(a.bin, "markdown")
    have = readme_table(a.readme)
    diff = "".join(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                        "README.md", "--print-settings-table"))
    check(have == want,
          "README's settings table is the settings table\n" + diff +
          "\nregenerate it: replace the lines between the markers in README.md "
          "with the output of build/bin/ringtrackd --print-settings-table=markdown")

    roff = table(a.bin, "man")
    page = gzip.open(a.man, "rt", encoding="utf-8").read()
    missing = [e for e in roff.split(".TP\n")[1:] if ".TP\n" + e not in page]
    check(not missing, "the man page's OPTIONS hold every entry of the settings "
          "table as it is now\n" + "".join(missing[:3]) +
          "\n(rebuild the man_pages target)")

    # The table's rows are the file's keys: every row is printed by
    # --print-config, and nothing else is.
    p = subprocess.run([os.path.join(a.bin, "ringtrackd"), "--print-config"],
                       capture_output=True, text=True, timeout=20)
    rows = [line.split("`")[1][2:].replace("-", "_")
            for line in want.splitlines()[2:]]
    check(list(tomllib.loads(p.stdout)) == rows,
          "--print-config prints exactly the table's rows, in its order\n" + p.stdout)
    summary()


if __name__ == "__main__":
    main()
