#!/usr/bin/python3
"""Turns a program's --help output into a gzipped man page (roff), so the
manual never drifts from the flags. Usage:
  make_man.py BINARY SECTION "one-line description" VERSION OUT.gz"""
import gzip
import os
import subprocess
import sys


def roff_escape(line):
    line = line.replace("\\", "\\e").replace("-", "\\-")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def main():
    binary, section, description, version, out = sys.argv[1:6]
    name = os.path.basename(binary)
    p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    text = (p.stdout + p.stderr).rstrip("\n")
    page = [
        '.TH %s %s "" "ringtrack %s" "ringtrack"' % (name.upper(), section, version),
        ".SH NAME",
        "%s \\- %s" % (roff_escape(name), roff_escape(description)),
        ".SH DESCRIPTION",
        "The options below are those printed by",
        ".B %s \\-\\-help." % roff_escape(name),
        "See /usr/share/doc/ringtrack/README.md for the full guide.",
        ".SH OPTIONS",
        ".nf",
    ] + [roff_escape(l) for l in text.splitlines()] + [".fi", ""]
    with open(out, "wb") as f:
        f.write(gzip.compress("\n".join(page).encode(), mtime=0))


if __name__ == "__main__":
    main()
