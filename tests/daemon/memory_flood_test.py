#!/usr/bin/python3
"""Bounded memory under abuse, against the real ringtrackd over loopback.

1. One source floods random info hashes (--max-memory 64M): the per-source
   creation rate stops it long before the budget; RSS stays within the
   budget; another source's new torrent is accepted and an earlier swarm
   still answers.
2. Many sources with the rate limit lifted (--max-memory 16M) flood in
   rounds until the budget itself is reached (a new torrent refused for
   memory, as the stats line counts it; at most FLOOD_ROUNDS rounds, so a
   slow or sanitized build only takes more rounds); RSS stays within it; a
   new torrent gets "tracker is full"; a newcomer to an existing swarm is
   answered with that swarm's peers; stored peers keep working.

Usage: memory_flood_test.py --bin DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from checks import check, summary  # noqa: E402
from daemon import Ringtrackd  # noqa: E402

HASH_A = "aa" * 20
HASH_B = "bb" * 20
MIB = 1 << 20
# Under AddressSanitizer the heap has redzones and a quarantine, so RSS says
# nothing about the budget there; the other checks still run.
CHECK_RSS = True


def cli(bindir, *args):
    cmd = [os.path.join(bindir, "ringtrack-cli")] + list(args) + ["--timeout=5s"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


# Rounds of flood_round_seconds the budget test may take to reach the
# budget (an optimized build needs one or two).
FLOOD_ROUNDS = 40
FLOOD_ROUND_SECONDS = 2


def flood(bindir, port, sources, seconds):
    p = subprocess.run(
        [os.path.join(bindir, "ringtrack-load"), "127.0.0.1:%d" % port,
         "--sources=%d" % sources, "--torrents=400000", "--zipf=0",
         "--torrents_per_peer=0",
         "--peers=%d" % min(400000, sources * 50000), "--mix=0:100:0", "--numwant=0",
         "--duration=%ds" % seconds, "--json", "--quiet",
         "--max_error_rate=1"],  # refusals are what the flood is for
        capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "flood from %d source(s) ran\n%s" % (sources, p.stderr))
    return json.loads(p.stdout)


def one_source_cannot_crowd_others_out(bindir, work):
    d = Ringtrackd(bindir, work, ["--workers=2", "--max-memory=64M",
                                  "--stats-interval=1s"], name="one_source")
    try:
        url = "udp://127.0.0.1:%d" % d.port
        start_rss = d.rss_bytes()
        rc, out = cli(bindir, "announce", url, "--info-hash", HASH_A,
                      "--port", "7001", "--left", "0")
        check(rc == 0 and "seeders: 1" in out, "swarm A created before the flood\n" + out)
        j = flood(bindir, d.port, 1, 4)
        check(j["errors"] > 10000,
              "the flooding source was refused (%d error replies)" % j["errors"])
        rss = d.rss_bytes()
        check(not CHECK_RSS or rss <= start_rss + 64 * MIB * 1.05,
              "RSS %.1f MiB within start %.1f MiB + 64 MiB budget"
              % (rss / MIB, start_rss / MIB))
        rc, out = cli(bindir, "announce", url, "--bind=127.0.0.2",
                      "--info-hash", HASH_B, "--port", "7002")
        check(rc == 0 and "leechers: 1" in out,
              "another source's new torrent is accepted\n" + out)
        rc, out = cli(bindir, "scrape", url, HASH_A)
        check(rc == 0 and "seeders: 1" in out, "swarm A still answers\n" + out)
    finally:
        stats = d.stop()
    check(stats.get("refused_torrent_rate", 0) > 10000 and
          stats.get("torrents", 1 << 30) < 1000,
          "refusals counted as refused_torrent_rate (%s), torrents %s"
          % (stats.get("refused_torrent_rate"), stats.get("torrents")))


def budget_holds_when_reached(bindir, work):
    d = Ringtrackd(bindir, work, ["--workers=2", "--max-memory=16M",
                                  "--source-torrent-rate=1000",
                                  "--source-torrent-burst=1000000",
                                  "--stats-interval=1s"], name="budget")
    try:
        url = "udp://127.0.0.1:%d" % d.port
        start_rss = d.rss_bytes()
        rc, out = cli(bindir, "announce", url, "--info-hash", HASH_A,
                      "--port", "7001")
        check(rc == 0 and "leechers: 1" in out, "swarm A created before the flood\n" + out)
        reached, rounds = False, 0
        while not reached and rounds < FLOOD_ROUNDS:
            flood(bindir, d.port, 4096, FLOOD_ROUND_SECONDS)
            rounds += 1
            # The stats line after the round: has a new torrent been
            # refused for memory yet? (A line shows the rate of each
            # counter that moved in its interval.)
            lines = d.log().count(" stats ")
            d.wait_log(" stats ", count=lines + 1, timeout=5)
            reached = "refused_torrent_memory=" in d.log()
        check(reached, "the flood reached the budget within %d rounds of %d s "
              "(took %d)" % (FLOOD_ROUNDS, FLOOD_ROUND_SECONDS, rounds))
        rss = d.rss_bytes()
        check(not CHECK_RSS or rss <= start_rss + 16 * MIB * 1.05,
              "RSS %.1f MiB within start %.1f MiB + 16 MiB budget"
              % (rss / MIB, start_rss / MIB))
        rc, out = cli(bindir, "announce", url, "--bind=127.0.0.2",
                      "--info-hash", HASH_B, "--port", "7002")
        check(rc == 1 and "tracker error: tracker is full" in out,
              "at the budget a new torrent gets 'tracker is full'\n" + out)
        rc, out = cli(bindir, "announce", url, "--bind=127.0.0.3",
                      "--info-hash", HASH_A, "--port", "7003")
        check(rc == 0 and "127.0.0.1:7001" in out,
              "at the budget a newcomer to an existing swarm gets its peers\n"
              + out)
        rc, out = cli(bindir, "announce", url, "--info-hash", HASH_A,
                      "--port", "7001", "--left", "0")
        check(rc == 0 and "seeders: 1" in out,
              "a stored peer keeps announcing (and becomes a seeder)\n" + out)
    finally:
        stats = d.stop()
    check(stats.get("refused_torrent_memory", 0) > 0
          and stats.get("table_bytes", 1 << 40) <= 16 * MIB + 64 * 1024,
          "refusals counted by kind (refused_torrent_memory=%s, "
          "unstored_peer_memory=%s), table_bytes %s within the budget"
          % (stats.get("refused_torrent_memory"),
             stats.get("unstored_peer_memory"), stats.get("table_bytes")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--sanitized", action="store_true",
                    help="the daemon is an ASan build: skip the RSS checks")
    a = ap.parse_args()
    global CHECK_RSS
    CHECK_RSS = not a.sanitized
    work = tempfile.mkdtemp(prefix="ringtrack_flood_")
    try:
        one_source_cannot_crowd_others_out(a.bin, work)
        budget_holds_when_reached(a.bin, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary()


if __name__ == "__main__":
    main()
