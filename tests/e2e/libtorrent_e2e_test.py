#!/usr/bin/python3
"""End to end with a real BitTorrent implementation (libtorrent).

Starts ringtrackd on an ephemeral loopback port, makes a small v1-only
torrent that announces only to it (at udp://, or http:// with --scheme
http: ringtrackd serves both on the same port), seeds it from one
libtorrent session and downloads it in another. Passes iff the file arrives
intact and the leecher learned the seeder from the tracker
(peer_info.source has the tracker bit).

Run with Debian's /usr/bin/python3 (python3-libtorrent); exits non-zero on
failure. Usage: libtorrent_e2e_test.py --ringtrackd PATH [--scheme udp|http]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import libtorrent as lt


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def start_tracker(binary, log_path, host="127.0.0.1"):
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [binary, "--listen=%s:0" % host, "--workers=1", "--stats_interval=0"],
        stderr=log, stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        text = open(log_path).read()
        m = re.search(r"listen=%s:(\d+)" % re.escape(host), text)
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            fail("ringtrackd exited: " + text)
        time.sleep(0.05)
    fail("ringtrackd did not start")


def make_session(extra=None, host="127.0.0.1"):
    settings = {
        "listen_interfaces": host + ":0",
        "outgoing_interfaces": host,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        "allow_multiple_connections_per_ip": True,
        # Keep the seed connection after the download completes, so the
        # leecher's peer list can still be inspected.
        "close_redundant_connections": False,
        "alert_mask": lt.alert.category_t.all_categories,
    }
    settings.update(extra or {})
    return lt.session(settings)


def wait_for_alert(ses, kind, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, lt.tracker_error_alert):
                print("  tracker error: %s" % a.message(), flush=True)
            if isinstance(a, kind):
                return a
    fail("timed out waiting for " + what)


def make_seeded_torrent(work, url, host="127.0.0.1"):
    """Writes a random payload under `work`/seed, makes a v1-only torrent
    of it that announces only to `url` (also written to
    `work`/payload.torrent), and seeds it from a libtorrent session once the
    tracker has answered the seeder. Returns (torrent_info, payload bytes,
    seeder session)."""
    seed_dir = os.path.join(work, "seed")
    os.makedirs(seed_dir)
    payload = os.urandom(3 * 1024 * 1024 + 12345)
    with open(os.path.join(seed_dir, "payload.bin"), "wb") as f:
        f.write(payload)
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(seed_dir, "payload.bin"))
    ct = lt.create_torrent(fs, 0, flags=lt.create_torrent.v1_only)
    ct.add_tracker(url)
    lt.set_piece_hashes(ct, seed_dir)
    data = lt.bencode(ct.generate())
    with open(os.path.join(work, "payload.torrent"), "wb") as f:
        f.write(data)
    ti = lt.torrent_info(lt.bdecode(data))
    print("torrent %s announces to %s" % (ti.info_hashes().v1, url),
          flush=True)
    seeder = make_session(host=host)
    seeder.add_torrent({"ti": ti, "save_path": seed_dir})
    reply = wait_for_alert(seeder, lt.tracker_reply_alert, 30,
                           "the seeder's first tracker reply")
    print("seeder: %s" % reply.message(), flush=True)
    return ti, payload, seeder


def tracker_url(scheme, port, host="127.0.0.1"):
    return "%s://%s:%d/announce" % (scheme, host, port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringtrackd", required=True)
    ap.add_argument("--scheme", choices=("udp", "http"), default="udp")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="ringtrack_lt_")
    tracker, port = start_tracker(args.ringtrackd,
                                  os.path.join(work, "ringtrackd.log"))
    try:
        leech_dir = os.path.join(work, "leech")
        os.makedirs(leech_dir)
        ti, payload, seeder = make_seeded_torrent(
            work, tracker_url(args.scheme, port))

        leecher = make_session()
        handle = leecher.add_torrent(
            {"ti": lt.torrent_info(ti), "save_path": leech_dir})
        from_tracker = False
        deadline = time.time() + 60
        while time.time() < deadline:
            leecher.wait_for_alert(200)
            leecher.pop_alerts()
            seeder.pop_alerts()
            for p in handle.get_peer_info():
                if p.source & lt.peer_info.tracker:
                    from_tracker = True
            st = handle.status()
            print("leecher: %.0f%% %d peers" % (st.progress * 100,
                                                st.num_peers), flush=True)
            if st.is_seeding and from_tracker:
                break
            time.sleep(0.2)
        st = handle.status()
        if not st.is_seeding:
            fail("download did not finish (%.0f%%)" % (st.progress * 100))
        if not from_tracker:
            fail("the leecher never had a peer whose source is the tracker")
        with open(os.path.join(leech_dir, "payload.bin"), "rb") as f:
            if f.read() != payload:
                fail("downloaded file differs from the seeded one")
        print("PASS: %d bytes arrived intact; seeder learned via tracker" %
              len(payload), flush=True)
    finally:
        tracker.send_signal(signal.SIGTERM)
        try:
            tracker.wait(5)
        except subprocess.TimeoutExpired:
            tracker.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
