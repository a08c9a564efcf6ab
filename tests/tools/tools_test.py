#!/usr/bin/python3
"""ringtrack-cli and ringtrack-load against ringtrackd and against Debian's
opentracker, over loopback. Exits non-zero on the first failed check.

Usage: tools_test.py --bin DIR   (DIR holds ringtrackd, ringtrack-cli,
ringtrack-load)
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HASH = "0123456789abcdef0123456789abcdef01234567"
# The torrent the http:// checks announce (HASH's swarm is the UDP ones').
HTTP_HASH = "89abcdef0123456789abcdef0123456789abcdef"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402


def run(args, timeout=60):
    """(exit code, stdout, stderr); exit code None if it ran past `timeout`
    seconds (it is killed)."""
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "still running after %d s" % timeout
    return p.returncode, p.stdout, p.stderr


def closed_udp_port():
    """A loopback UDP port nothing listens on: the kernel picks a free one,
    and the socket that held it is closed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exit_codes(bindir):
    """All three programs: 0 for --help and --version, 2 for a bad flag or
    value, 1 for a runtime failure."""
    bad_value = {"ringtrackd": ["--workers=abc"],
                 "ringtrack-cli": ["connect", "127.0.0.1:1", "--timeout=abc"],
                 "ringtrack-load": ["127.0.0.1:1", "--threads=abc"]}
    for prog in ("ringtrackd", "ringtrack-cli", "ringtrack-load"):
        path = os.path.join(bindir, prog)
        for flag in ("--help", "--helpfull"):
            rc, out, err = run([path, flag], timeout=10)
            check(rc == 0 and out.startswith(prog + ":") and "Flags from" in out,
                  "%s %s exits 0 and lists the flags (exit %d)\n%s" % (prog, flag, rc, err))
        rc, out, err = run([path, "--version"], timeout=10)
        check(rc == 0 and out.startswith(prog + " "),
              "%s --version exits 0 and names itself (exit %d)\n%s%s" % (prog, rc, out, err))
        rc, _, err = run([path, "--no-such-flag"], timeout=10)
        check(rc == 2 and "no_such_flag" in err,
              "%s exits 2 on an unknown flag, naming it (exit %d)\n%s" % (prog, rc, err))
        rc, _, err = run([path] + bad_value[prog], timeout=10)
        check(rc == 2 and "abc" in err,
              "%s exits 2 on a value that does not parse (exit %d)\n%s" % (prog, rc, err))
    rc, _, err = run([os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
                      "--workers=1", "stray"], timeout=10)
    check(rc == 2 and "stray" in err,
          "ringtrackd exits 2 on a stray argument, naming it (exit %d)\n%s" % (rc, err))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        rc, _, err = run([os.path.join(bindir, "ringtrackd"), "--workers=1",
                          "--listen=127.0.0.1:%d" % taken.getsockname()[1]], timeout=30)
    check(rc == 1 and "in use" in err,
          "ringtrackd exits 1 when its address is taken (exit %d)\n%s" % (rc, err))
    rc, _, err = run([os.path.join(bindir, "ringtrack-cli"), "connect",
                      "127.0.0.1:%d" % closed_udp_port(), "--timeout=5s"], timeout=30)
    check(rc == 1, "ringtrack-cli exits 1 when no tracker answers (exit %d)\n%s" % (rc, err))
    rc, _, err = run([os.path.join(bindir, "ringtrack-load"),
                      "--write_info_hashes=/nonexistent/dir/hashes"], timeout=30)
    check(rc == 1 and "/nonexistent/dir/hashes" in err,
          "ringtrack-load exits 1 when it cannot write its file (exit %d)\n%s" % (rc, err))


def start_ringtrackd(bindir, work):
    log = os.path.join(work, "ringtrackd.log")
    proc = subprocess.Popen(
        [os.path.join(bindir, "ringtrackd"), "--listen=127.0.0.1:0",
         "--workers=1", "--stats-interval=0"],
        stderr=open(log, "w"), stdout=subprocess.DEVNULL)
    for _ in range(200):
        m = re.search(r"listen=127\.0\.0\.1:(\d+)", open(log).read())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.05)
    sys.exit("ringtrackd did not start")


def start_opentracker(bindir, work, port):
    # Whitelist-only build: list HASH and the load's torrents. As root it
    # chroots into -d and drops to nobody; -i must precede -p/-P.
    root = os.path.join(work, "ot")
    os.makedirs(root)
    os.chmod(work, 0o755)
    os.chmod(root, 0o755)
    wl = os.path.join(root, "whitelist")
    subprocess.run([os.path.join(bindir, "ringtrack-load"), "--torrents=1000",
                    "--write_info_hashes=" + wl], check=True)
    with open(wl, "a") as f:
        f.write(HASH + "\n" + HTTP_HASH + "\n")
    os.chmod(wl, 0o644)
    proc = subprocess.Popen(
        ["opentracker", "-i", "127.0.0.1", "-P", str(port), "-p",
         str(port + 1), "-d", root, "-u", "nobody", "-w", "/whitelist"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli = os.path.join(bindir, "ringtrack-cli")
    # Until it binds, a connect is refused at once: poll for up to 10 s.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if run([cli, "connect", "127.0.0.1:%d" % port, "--timeout=0.2s"])[0] == 0:
            return proc
        time.sleep(0.05)
    sys.exit("opentracker did not start")


def exercise(bindir, name, port):
    cli = os.path.join(bindir, "ringtrack-cli")
    url = "udp://127.0.0.1:%d/announce" % port
    rc, out, err = run([cli, "announce", url, "--info-hash", HASH,
                        "--port", "7001", "--left", "0", "--timeout=5s"])
    check(rc == 0 and "seeders: 1" in out, name + ": cli announce as seeder\n" + out + err)
    rc, out, err = run([cli, "announce", url, "--info-hash", HASH,
                        "--port", "7002", "--timeout=5s"])
    check(rc == 0 and "leechers: 1" in out and ":7001" in out,
          name + ": cli announce as leecher gets the seeder\n" + out + err)
    rc, out, err = run([cli, "scrape", url, HASH, "--timeout=5s"])
    check(rc == 0 and re.search(r"seeders: 1 completed: \d+ leechers: 1", out),
          name + ": cli scrape\n" + out + err)
    cli_json(cli, name, url)
    load = os.path.join(bindir, "ringtrack-load")
    rc, out, err = run([load, "127.0.0.1:%d" % port, "--duration=2s",
                        "--torrents=1000", "--peers=20000", "--json"])
    check(rc == 0, name + ": load ran\n" + err)
    j = json.loads(out)
    check(j["responses_per_s"] > 1000 and j["announce_per_s"] > 0 and
          j["scrape_per_s"] > 0 and j["errors"] == 0,
          name + ": load got answers of every type: " + out.strip())
    check("responses/s=" in err, name + ": load printed progress")


def exercise_http(bindir, name, port, keeps_alive=True):
    """The same announces, scrapes and load as exercise(), over http:// on
    TCP port `port`: the same output, text and --json, as over UDP.
    `keeps_alive`: the server keeps connections open when asked
    (opentracker closes every one)."""
    cli = os.path.join(bindir, "ringtrack-cli")
    url = "http://127.0.0.1:%d/announce" % port
    rc, out, err = run([cli, "announce", url, "--info-hash", HTTP_HASH,
                        "--port", "7011", "--left", "0", "--timeout=5s"])
    check(rc == 0 and "seeders: 1" in out and re.search(r"interval: [1-9]\d* s", out),
          name + ": cli announce over http:// as seeder\n" + out + err)
    rc, out, err = run([cli, "announce", url, "--info-hash", HTTP_HASH,
                        "--port", "7012", "--timeout=5s"])
    check(rc == 0 and "leechers: 1" in out and "127.0.0.1:7011" in out,
          name + ": cli announce over http:// as leecher gets the seeder\n" + out + err)
    rc, out, err = run([cli, "--json", "announce", url, "--info-hash", HTTP_HASH,
                        "--port", "7013", "--timeout=5s"])
    try:
        j = json.loads(out) if len(out.splitlines()) == 1 else None
    except ValueError:
        j = None
    check(rc == 0 and j is not None and j["action"] == "announce" and
          j["seeders"] == 1 and j["leechers"] == 2 and j["interval"] > 0 and
          {"ip": "127.0.0.1", "port": 7011} in j["peers"],
          name + ": cli --json announce over http://\n" + out + err)
    rc, out, err = run([cli, "--json", "scrape", url, HTTP_HASH, "00" * 20,
                        "--timeout=5s"])
    try:
        j = json.loads(out) if len(out.splitlines()) == 1 else None
    except ValueError:
        j = None
    check(rc == 0 and j is not None and j["action"] == "scrape" and
          [f["info_hash"] for f in j["files"]] == [HTTP_HASH, "00" * 20] and
          j["files"][0]["seeders"] == 1 and j["files"][0]["leechers"] == 2 and
          j["files"][1]["seeders"] == 0,
          name + ": cli --json scrape over http://, one entry per hash in order\n"
          + out + err)
    rc, out, err = run([cli, "scrape", url, HTTP_HASH, "--timeout=5s"])
    check(rc == 0 and re.search(r"seeders: 1 completed: \d+ leechers: 2", out),
          name + ": cli scrape over http://\n" + out + err)
    load = os.path.join(bindir, "ringtrack-load")
    for mode in ([], ["--http_keepalive"]):
        rc, out, err = run([load, url, "--duration=2s", "--torrents=1000",
                            "--peers=20000", "--window=32", "--json"] + mode)
        label = "%s: load over http:// (%s)" % (name, "keep-alive" if mode else
                                                "a connection per request")
        try:
            j = json.loads(out)
        except ValueError:
            check(False, label + " printed JSON\n" + out + err)
            continue
        requests = (j["announce_per_s"] + j["scrape_per_s"]) * j["seconds"]
        check(rc == 0 and j["responses_per_s"] > 200 and j["announce_per_s"] > 0 and
              j["scrape_per_s"] > 0 and j["errors"] == 0 and j["broken"] == 0 and
              j["latency_us"]["p50"] > 0 and
              j["mode"] == ("http-keepalive" if mode else "http-close"),
              label + " got answers of every type: " + out.strip() + err[-500:])
        check("responses/s=" in err, label + " printed progress")
        if mode and keeps_alive:
            check(j["connections"] < requests / 5,
                  label + " kept connections alive: %d for %d requests"
                  % (j["connections"], requests))
        elif not mode:
            # (requests is rates × seconds, rounded: allow 1 % for that)
            check(j["connections"] >= 0.99 * requests,
                  label + " opened a connection per request: %d for %d requests"
                  % (j["connections"], requests))


def exercise_http_v6(bindir, work):
    """ringtrack-cli and ringtrack-load at an http://[::1]:PORT URL: the
    bracketed IPv6 host, and IPv6 peers (BEP 7's peers6) in the output."""
    log = os.path.join(work, "ringtrackd_v6.log")
    proc = subprocess.Popen(
        [os.path.join(bindir, "ringtrackd"), "--listen=[::1]:0", "--workers=1",
         "--stats-interval=0"], stderr=open(log, "w"), stdout=subprocess.DEVNULL)
    try:
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline:
            m = re.search(r"listen=\[::1\]:(\d+)", open(log).read())
            port = int(m.group(1)) if m else None
            time.sleep(0.05)
        check(port is not None, "ringtrackd listens on [::1]\n" + open(log).read())
        if port is None:
            return
        cli = os.path.join(bindir, "ringtrack-cli")
        url = "http://[::1]:%d/announce" % port
        rc, out, err = run([cli, "announce", url, "--info-hash", HTTP_HASH,
                            "--port", "7021", "--left", "0", "--timeout=5s"])
        check(rc == 0 and "seeders: 1" in out,
              "cli announce at http://[::1]\n" + out + err)
        rc, out, err = run([cli, "--json", "announce", url, "--info-hash",
                            HTTP_HASH, "--port", "7022", "--timeout=5s"])
        try:
            j = json.loads(out)
        except ValueError:
            j = None
        check(rc == 0 and j is not None and
              {"ip": "::1", "port": 7021} in j["peers"],
              "cli gets the IPv6 seeder from http://[::1] (peers6)\n" + out + err)
        rc, out, err = run([cli, "announce", url, "--info-hash", HTTP_HASH,
                            "--port", "7023", "--timeout=5s"])
        check(rc == 0 and "[::1]:7021" in out,
              "cli prints an IPv6 peer as [IP]:PORT\n" + out + err)
        load = os.path.join(bindir, "ringtrack-load")
        for mode in ([], ["--http_keepalive"]):
            rc, out, err = run([load, url, "--duration=1s", "--torrents=50",
                                "--peers=2000", "--window=16", "--json",
                                "--quiet"] + mode)
            j = json.loads(out) if rc is not None and out else {}
            check(rc == 0 and j.get("responses_per_s", 0) > 100 and
                  j.get("errors") == 0,
                  "load at http://[::1] %s\n%s%s" % (mode, out, err))
    finally:
        proc.terminate()
        proc.wait(10)


def http_failures(bindir):
    """ringtrack-cli and ringtrack-load over http:// when nothing listens,
    when the listener never answers, and on URLs they cannot use."""
    cli = os.path.join(bindir, "ringtrack-cli")
    load = os.path.join(bindir, "ringtrack-load")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # bound, not listening: refused
        url = "http://127.0.0.1:%d/announce" % closed
        start = time.monotonic()
        rc, _, err = run([cli, "announce", url, "--info-hash", HASH,
                          "--timeout=30s"])
        check(rc == 1 and "connection refused" in err and
              time.monotonic() - start < 10,
              "cli reports a closed TCP port as refused at once (exit %s)\n%s" % (rc, err))
        rc, out, err = run([load, url, "--duration=1s", "--json", "--quiet"])
        j = json.loads(out) if rc is not None and out else {}
        check(rc == 1 and "no replies" in err and j.get("broken", 0) > 0,
              "load over http:// against a closed port fails, counting broken "
              "connections (exit %s)\n%s%s" % (rc, out, err))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # accepts (in the kernel), never answers
        url = "http://127.0.0.1:%d/announce" % silent.getsockname()[1]
        start = time.monotonic()
        rc, _, err = run([cli, "announce", url, "--info-hash", HASH,
                          "--timeout=0.5s"])
        check(rc == 1 and "timed out" in err and time.monotonic() - start < 5,
              "cli over http:// times out within --timeout (exit %s)\n%s" % (rc, err))
        rc, out, err = run([load, url, "--duration=1s", "--timeout=0.2s",
                            "--window=8", "--json", "--quiet"])
        j = json.loads(out) if rc is not None and out else {}
        check(rc == 1 and j.get("timeouts", 0) > 0,
              "load over http:// counts timeouts from a silent server (exit %s)\n%s%s"
              % (rc, out, err))
    for args, why in (
            (["announce", "https://127.0.0.1:1/announce", "--info-hash", HASH],
             "https:// is not supported"),
            (["scrape", "http://127.0.0.1:1/a", HASH], "no scrape path"),
            (["connect", "http://127.0.0.1:1/announce"], "UDP exchange"),
            (["announce", "::1:6969", "--info-hash", HASH], "in brackets")):
        rc, _, err = run([cli] + args)
        check(rc == 2 and why in err,
              "cli refuses %s, saying why (exit %s)\n%s" % (args[1], rc, err))
    for args, why in (
            (["http://127.0.0.1:1/a"], "no scrape path"),
            (["udp://127.0.0.1:1", "--http_keepalive"], "for http:// targets"),
            (["http://127.0.0.1:1/announce", "--flood_forged"], "for udp://")):
        rc, _, err = run([load] + args)
        check(rc == 2 and why in err,
              "load refuses %s, saying why (exit %s)\n%s" % (" ".join(args), rc, err))


def cli_json(cli, name, url):
    """--json prints each reply as one JSON object on one line (after
    exercise() made HASH's swarm: a seeder on 7001, a leecher on 7002)."""
    def reply(*args):
        rc, out, err = run([cli, "--json"] + list(args) + ["--timeout=5s"])
        lines = out.splitlines()
        try:
            return rc, json.loads(lines[0]) if len(lines) == 1 else None, out + err
        except ValueError:
            return rc, None, out + err

    rc, j, out = reply("connect", url)
    check(rc == 0 and j is not None and j["action"] == "connect" and
          re.fullmatch(r"[0-9a-f]{16}", j["connection_id"]),
          name + ": cli --json connect\n" + out)
    rc, j, out = reply("announce", url, "--info-hash", HASH, "--port", "7003")
    check(rc == 0 and j is not None and j["action"] == "announce" and
          j["seeders"] == 1 and j["leechers"] == 2 and j["interval"] > 0 and
          {"ip": "127.0.0.1", "port": 7001} in j["peers"],
          name + ": cli --json announce gives counts and peers\n" + out)
    rc, j, out = reply("scrape", url, HASH, "00" * 20)
    check(rc == 0 and j is not None and j["action"] == "scrape" and
          [f["info_hash"] for f in j["files"]] == [HASH, "00" * 20] and
          j["files"][0]["seeders"] == 1 and j["files"][0]["leechers"] == 2 and
          j["files"][1]["seeders"] == 0,
          name + ": cli --json scrape gives one entry per hash, in order\n" + out)


def cli_failures(bindir, port):
    """What ringtrack-cli says when it gets no answer, and when it has to
    trim a scrape."""
    cli = os.path.join(bindir, "ringtrack-cli")
    rc, out, err = run([cli, "--json", "announce", "127.0.0.1:%d" % port,
                        "--info-hash", HASH, "--port", "0", "--timeout=5s"])
    check(rc == 1 and out.count("\n") == 1 and
          json.loads(out) == {"action": "error", "message": "invalid port"},
          "cli --json prints an error reply as JSON, exit 1\n" + out + err)
    for cmd in (["connect"], ["announce", "--info-hash", HASH], ["scrape", HASH]):
        start = time.monotonic()
        rc, _, err = run([cli, cmd[0], "127.0.0.1:%d" % closed_udp_port()] + cmd[1:] +
                         ["--timeout=30s"])
        took = time.monotonic() - start
        check(rc == 1 and "connection refused" in err and took < 15,
              "cli %s reports a closed port as refused at once (%.1f s, exit %d)\n%s"
              % (cmd[0], took, rc, err))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # open, so no ICMP: it never answers
        rc, _, err = run([cli, "announce", "127.0.0.1:%d" % silent.getsockname()[1],
                          "--info-hash", HASH, "--timeout=0.5s"])
    check(rc == 1 and "timed out" in err, "cli times out within --timeout\n" + err)
    # 74 other hashes first, HASH 75th: the trimmed scrape leaves it out.
    others = ["%040x" % (i + 1) for i in range(74)]
    rc, out, err = run([cli, "scrape", "127.0.0.1:%d" % port] + others +
                       [HASH, "--timeout=5s"])
    lines = out.splitlines()
    check(rc == 0 and len(lines) == 74 and HASH not in out and
          lines[0].startswith(others[0]) and
          "warning" in err and "first 74 of 75" in err,
          "cli warns that it trims a scrape to 74 hashes\n" + err + out[-200:])
    rc, out, err = run([cli, "scrape", "127.0.0.1:%d" % port] + others +
                       ["--timeout=5s"])
    check(rc == 0 and len(out.splitlines()) == 74 and err == "",
          "cli scrapes 74 hashes without a warning\n" + err)


def load_failures(bindir, work):
    """ringtrack-load fails (exit 1, saying why) when nothing answers or
    when errors pass --max_error_rate, and counts errors by message apart
    from answers."""
    load = [os.path.join(bindir, "ringtrack-load"), "--peers=20000",
            "--torrents=1000", "--quiet"]
    closed = "127.0.0.1:%d" % closed_udp_port()
    rc, out, err = run(load + [closed, "--duration=1s", "--json"])
    j = json.loads(out) if rc is not None and out else {}
    check(rc == 1 and "no replies from " + closed in err and
          "no replies" in (j.get("failure") or ""),
          "load against a closed port fails: no replies (exit %s)\n%s%s" % (rc, out, err))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        rc, out, err = run(load + ["127.0.0.1:%d" % silent.getsockname()[1],
                                   "--fill", "--timeout=0.1s"], timeout=30)
    check(rc == 1 and "no replies" in err,
          "a fill against a silent port gives up and fails (exit %s)\n%s" % (rc, err))
    rc, _, err = run(load + [closed, "--max_error_rate=2"])
    check(rc == 2 and "--max_error_rate" in err,
          "load rejects --max_error_rate outside 0..1\n" + err)

    # Every announce and scrape is refused: only HASH is allowed.
    allow = os.path.join(work, "allow.txt")
    with open(allow, "w") as f:
        f.write(HASH + "\n")
    os.chmod(work, 0o755)  # as root ringtrackd runs as nobody, who must read it
    os.chmod(allow, 0o644)
    d = Ringtrackd(bindir, work, ["--workers=1", "--stats-interval=0",
                                  "--access-list=" + allow], name="refusing")
    try:
        target = "127.0.0.1:%d" % d.port
        rc, out, err = run(load + [target, "--duration=1s", "--json"])
        j = json.loads(out) if rc is not None and out else {}
        check(rc == 1 and "above --max_error_rate 1.00 %" in err and
              j.get("failure") is not None and j.get("max_error_rate") == 0.01,
              "load fails when every announce is refused (exit %s)\n%s%s" % (rc, out, err))
        check(j.get("errors", 0) > 0 and
              j.get("errors_by_message") == {"torrent not allowed": j["errors"]} and
              j["errors_by_type"]["announce"] + j["errors_by_type"]["scrape"] == j["errors"] and
              j["errors_by_type"]["connect"] == 0,
              "load counts errors by message and type: %s" % out.strip())
        check(j.get("announce_per_s") == 0 and j.get("scrape_per_s") == 0 and
              j.get("error_rate", 0) > 0.9,
              "refused announces are not counted as responses: %s" % out.strip())
        rc, out, err = run(load + [target, "--duration=1s"])
        check(rc == 1 and re.search(r'^ +\d+  "torrent not allowed"$', out, re.M) and
              "result: FAILED" in out and re.search(r"announce +0 responses/s", out),
              "load's text summary breaks errors down by message\n" + out + err)
        rc, out, err = run(load + [target, "--duration=1s", "--json",
                                   "--max_error_rate=1"])
        j = json.loads(out) if rc is not None and out else {}
        check(rc == 0 and j.get("failure", "") is None and j.get("connect_per_s", 0) > 0,
              "--max_error_rate 1 accepts the refusals (exit %s)\n%s" % (rc, err))
    finally:
        d.stop()


def steady_state(bindir, work):
    """A simulated peer stays in its torrent (--torrents_per_peer 1): after a
    fill, a timed run only refreshes entries; with 0 each announce draws a
    torrent afresh and the tracker keeps growing."""
    d = Ringtrackd(bindir, work, ["--workers=1", "--stats-interval=1s"],
                   name="steady")
    try:
        load = [os.path.join(bindir, "ringtrack-load"), "127.0.0.1:%d" % d.port,
                "--peers=3000", "--torrents=500", "--sources=1000", "--quiet",
                "--json"]

        def peers_after():
            # Two fresh stats lines: the second was written after the run.
            d.wait_log(" stats ", count=d.log().count(" stats ") + 2)
            return d.last_stats().get("peers_v4")

        rc, out, err = run(load + ["--fill"])
        check(rc == 0 and json.loads(out)["filled"] == 3000,
              "steady: the fill sent one announce per peer\n" + out + err)
        check(peers_after() == 3000, "steady: the fill stored every peer once")
        rc, out, err = run(load + ["--duration=2s", "--mix=0:100:0"])
        announces = json.loads(out)["announce_per_s"] * 2 if rc == 0 else 0
        check(rc == 0 and announces > 3000,
              "steady: the timed run announced more often than there are peers\n" + err)
        peers = peers_after()
        check(peers == 3000,
              "steady: re-announces refreshed entries, none added: %s peers" % peers)
        rc, out, err = run(load + ["--duration=1s", "--mix=0:100:0",
                                   "--torrents_per_peer=0"])
        grown = peers_after()
        check(rc == 0 and grown is not None and grown > 3000,
              "steady: --torrents_per_peer 0 adds entries: %s peers" % grown)
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ringtrack_tools_")
    procs = []
    try:
        exit_codes(a.bin)
        rt, port = start_ringtrackd(a.bin, work)
        procs.append(rt)
        exercise(a.bin, "ringtrackd", port)
        # HTTP on the same port as UDP, as ringtrackd serves it by default.
        exercise_http(a.bin, "ringtrackd", port)
        exercise_http_v6(a.bin, work)
        steady_state(a.bin, work)
        load_failures(a.bin, work)
        cli = os.path.join(a.bin, "ringtrack-cli")
        rc, out, _ = run([cli, "announce", "127.0.0.1:%d" % port,
                          "--info-hash", HASH, "--port", "0", "--timeout=5s"])
        check(rc == 1 and "tracker error: invalid port" in out,
              "cli prints an error reply as such")
        cli_failures(a.bin, port)
        http_failures(a.bin)
        rc, _, err = run([cli, "announce", "127.0.0.1:1", "--info-hash", "xyz"])
        check(rc == 2 and "40 hexadecimal" in err, "cli rejects a bad hash")
        rc, _, err = run([os.path.join(a.bin, "ringtrack-load"),
                          "127.0.0.1:1", "--mix=1:2"])
        check(rc == 2 and "--mix" in err, "load rejects a bad --mix")
        if shutil.which("opentracker"):
            ot_port = port + 1 if port < 60000 else port - 10
            procs.append(start_opentracker(a.bin, work, ot_port))
            exercise(a.bin, "opentracker", ot_port)
            # Its HTTP side listens on TCP ot_port + 1 (-p).
            exercise_http(a.bin, "opentracker", ot_port + 1, keeps_alive=False)
    finally:
        for p in procs:
            p.terminate()
            p.wait(5)
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
