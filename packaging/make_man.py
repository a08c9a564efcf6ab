#!/usr/bin/python3
"""Writes a program's gzipped man page: the hand-written sections of
packaging/man/PROGRAM.SECTION.in (NAME, SYNOPSIS, DESCRIPTION, FILES,
SIGNALS, EXIT STATUS, SEE ALSO) with @OPTIONS@ replaced by one .TP entry per
flag of the program's --help, so the options never drift from the flags.
--help's "Flags from FILE" headers (a build path) and its closing hints are
left out.

With --settings (ringtrackd), the entries of its settings come from
`BINARY --print-settings-table=man` instead (the settings table of
daemon/settings.h, with each setting's values and whether it changes on
SIGHUP), followed by --help's entries for its other flags.

Usage: make_man.py BINARY TEMPLATE VERSION DATE OUT.gz [--settings]
DATE is YYYY-MM-DD; CMake takes it from SOURCE_DATE_EPOCH when that is set
(dpkg-buildpackage sets it to the changelog's date), so the page is
reproducible."""
import gzip
import re
import subprocess
import sys

# One abseil flag in --help: "    --name (help text); default: value;", the
# help wrapped onto lines indented by six spaces.
FLAG_START = re.compile(r"^    --(\w+) \(")
FLAG_ENTRY = re.compile(r"^--(\w+) \((.*)\); default: (.*);$", re.S)


def roff_text(text):
    """Escapes prose for roff: backslashes, a leading control character,
    dashes that read as option or minus signs, and non-ASCII characters as
    \\[uXXXX] so groff needs no input encoding."""
    text = text.replace("\\", "\\e")
    text = re.sub(r"(^|(?<=[\s(\[=,'\"/])|(?<=-))-", r"\\-", text)
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def parse_flags(help_text):
    """Returns [(name, help, default)] in --help's order; exits if a flag
    entry does not parse, so a change in abseil's format fails the build."""
    entries = []
    in_entry = False
    for line in help_text.splitlines():
        if FLAG_START.match(line):
            entries.append(line.strip())
            in_entry = True
        elif in_entry and line.startswith("      ") and line.strip():
            entries[-1] += " " + line.strip()
        else:
            in_entry = False
    flags = []
    for entry in entries:
        m = FLAG_ENTRY.match(entry)
        if not m:
            sys.exit("make_man.py: cannot parse --help entry: " + entry)
        flags.append(m.groups())
    if not flags:
        sys.exit("make_man.py: no flags in --help output:\n" + help_text)
    return flags


def options_roff(flags):
    out = []
    for name, text, default in flags:
        if len(default) >= 2 and default[0] == default[-1] == '"':
            default = default[1:-1]
        if not default:
            default = "empty"
        out += [".TP", ".B \\-\\-" + roff_text(name), roff_text(text), ".br",
                "Default: " + roff_text(default) + "."]
    return "\n".join(out)


def settings_roff(binary, flags):
    """The settings' entries from the binary's table, then the entries of
    the flags that are not settings."""
    p = subprocess.run([binary, "--print-settings-table=man"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or not p.stdout.startswith(".TP"):
        sys.exit("make_man.py: %s --print-settings-table=man failed:\n%s"
                 % (binary, p.stderr))
    names = {n.replace("\\-", "_") for n in
             re.findall(r"^\.B \\-\\-(\S+)$", p.stdout, re.M)}
    others = [f for f in flags if f[0] not in names]
    return p.stdout.rstrip("\n") + "\n" + options_roff(others)


def main():
    binary, template, version, date, out = sys.argv[1:6]
    p = subprocess.run([binary, "--help"], capture_output=True, text=True,
                       timeout=30)
    flags = parse_flags(p.stdout + p.stderr)
    options = (settings_roff(binary, flags) if "--settings" in sys.argv[6:]
               else options_roff(flags))
    page = open(template, encoding="utf-8").read()
    page = (page.replace("@VERSION@", version).replace("@DATE@", date)
            .replace("\n@OPTIONS@\n", "\n" + options + "\n"))
    if re.search(r"@[A-Z]+@", page):
        sys.exit("make_man.py: a placeholder is left in " + template)
    # gzip -9n, as dh_compress and lintian expect: maximum compression, no
    # name or time stamp in the header.
    with open(out, "wb") as f:
        f.write(gzip.compress(page.encode(), compresslevel=9, mtime=0))


if __name__ == "__main__":
    main()
