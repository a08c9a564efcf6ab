#!/usr/bin/python3
"""The shipped Grafana dashboard (packaging/grafana/ringtrack.json): every
panel has a query, every query parses as PromQL (`promtool check rules` on
a rules file holding each as a recording rule, with Grafana's variables
filled in), and every series it names is one a real ringtrackd exports:
scraped from the daemon started with --xdp on lo and a state file, so the
XDP and state families are there too. Without root (no XDP), the XDP
series are checked against the catalogue's dump instead.

Usage: dashboard_test.py --bin DIR --dashboard packaging/grafana/ringtrack.json
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd, scrape_metrics  # noqa: E402

# Grafana's variables, as a query in the range a panel shows would read.
VARIABLES = [("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1h"),
             ("${instance}", ".*"), ("$instance", ".*")]
# PromQL words that are not series names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
            "offset", "bool", "and", "or", "unless", "inf", "nan"}


def panels_of(items):
    for p in items:
        yield p
        yield from panels_of(p.get("panels", []))


def fill(expr):
    for var, value in VARIABLES:
        expr = expr.replace(var, value)
    return expr


def series_names(expr):
    """The series an expression reads: identifiers that are not functions
    (followed by '('), keywords, label names in {...} or in by/on(...)
    lists, nor inside strings or ranges."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    e = re.sub(r"\[[^\]]*\]", "", e)               # ranges
    e = re.sub(r"\{[^}]*\}", "", e)                 # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == "."):
            continue  # a number's exponent or unit
        names.add(word)
    # Series selected by name inside the matchers: {__name__=~"a|b"}.
    for m in re.finditer(r'__name__\s*=~?\s*"([^"]*)"', expr):
        names.update(n for n in m.group(1).split("|") if n)
    return names


def promtool_check(promtool, work, exprs):
    path = os.path.join(work, "dashboard_rules.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, e in enumerate(exprs):
            f.write("      - record: dashboard:query_%d\n        expr: %s\n" %
                    (i, json.dumps(e)))
    return subprocess.run([promtool, "check", "rules", path],
                          capture_output=True, text=True)


def exported_series(bindir, work):
    """The names in a real scrape (with --xdp on lo when root), and whether
    XDP was on."""
    state_dir = os.path.join(work, "state")
    os.mkdir(state_dir)
    args = ["--workers=1", "--metrics=127.0.0.1:0", "--user=",
            "--state-file=" + os.path.join(state_dir, "swarms.state")]
    xdp = os.geteuid() == 0
    if xdp:
        args += ["--xdp=lo", "--xdp-mode=generic"]
    d = Ringtrackd(bindir, work, args, name="dashboard")
    try:
        port = int(re.search(r"metrics=127\.0\.0\.1:(\d+)", d.log()).group(1))
        text = scrape_metrics(port)
    finally:
        d.stop()
    names = {l.split("{")[0].split()[0] for l in text.splitlines()
             if l and not l.startswith("#")}
    return names, xdp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dashboard", required=True)
    a = ap.parse_args()
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is installed (Debian package prometheus)")
    with open(a.dashboard) as f:
        dash = json.load(f)
    check(dash.get("uid") and dash.get("title"), "the dashboard has a uid and a title")
    queries = []  # (panel title, expr)
    for p in panels_of(dash.get("panels", [])):
        if p.get("type") == "row":
            continue
        targets = [t.get("expr", "") for t in p.get("targets", [])]
        check(targets and all(t.strip() for t in targets),
              "panel %r has queries" % p.get("title"))
        queries += [(p.get("title"), t) for t in targets]
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        m = re.match(r"label_values\((\w+),\s*\w+\)$", q or "")
        if v.get("type") == "query":
            check(m is not None, "variable %s is label_values(SERIES, LABEL): %s" %
                  (v.get("name"), q))
            queries.append(("variable " + v["name"], m.group(1)))
    check(len(queries) >= 10, "%d queries found" % len(queries))

    work = tempfile.mkdtemp(prefix="rt-dashboard-")
    try:
        # The check can fail: a broken expression is refused.
        p = promtool_check(promtool, work, ["sum(rate(ringtrack_torrents[5m])"])
        check(p.returncode != 0, "promtool check rules refuses a broken expression")
        exprs = [fill(e) for _, e in queries]
        p = promtool_check(promtool, work, exprs)
        check(p.returncode == 0, "every dashboard query parses as PromQL\n" +
              p.stdout + p.stderr)

        check(series_names('sum by (a, b) (rate(x_total{c="d e"}[5m])) / '
                           'clamp_min(y, 1) > 0.5 or time() - z offset 1h') ==
              {"x_total", "y", "z"}, "the series-name reader reads a known expression")
        exported, xdp = exported_series(a.bin, work)
        if not xdp:
            dump = subprocess.run([os.path.join(a.bin, "metrics_catalogue_dump"),
                                   "--names"], capture_output=True, text=True, check=True)
            exported |= {n for n in dump.stdout.split() if n.startswith("ringtrack_xdp_")}
        check("ringtrack_xdp_packets_total" in exported and
              "ringtrack_state_saves_total" in exported,
              "the scrape has the XDP and state series")
        for title, e in queries:
            unknown = series_names(fill(e)) - exported
            check(not unknown, "%s: every series it reads is exported: %s" %
                  (title, sorted(unknown) or "yes"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
