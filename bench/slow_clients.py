#!/usr/bin/python3
"""A hostile HTTP crowd for bench/http_bench.sh: N TCP connections to a
tracker that never finish a request. Half of them (--trickle-share) send a
request head one byte a second (slowloris), the rest stay silent. Each
connection comes from its own loopback source address (127.2.0.1 upward,
--sources of them, round robin), as a crowd of hosts would, so per-source
connection caps do not turn it away. A connection the server closes (its
head timeout) is opened again at once, so the crowd stays N strong.

Prints "open N" on stdout once all N are connected, then every second
"open N reconnects R bytes B", until SIGTERM or SIGINT.

The open-file limit is raised to its hard limit; N must stay below it (the
server holds the other end of each connection in its own process).
Usage: slow_clients.py HOST PORT [--connections 10000] [--trickle-share 0.5]
"""
import argparse
import errno
import ipaddress
import resource
import selectors
import signal
import socket
import sys
import time

HEAD = (b"GET /announce?info_hash=%00%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d"
        b"%0e%0f%10%11%12%13&peer_id=-SL0001-000000000000&port=6881"
        b"&uploaded=0&downloaded=0&left=0 HTTP/1.1\r\nHost: tracker\r\n\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--trickle-share", type=float, default=0.5)
    ap.add_argument("--source-base", default="127.2.0.1")
    ap.add_argument("--sources", type=int, default=10000)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.connections + 16 > hard:
        sys.exit("slow_clients: %d connections need more than the open-file "
                 "limit of %d" % (a.connections, hard))
    base = int(ipaddress.IPv4Address(a.source_base))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    conns = [None] * a.connections  # socket or None
    sent = [0] * a.connections      # bytes of HEAD sent (trickling ones)
    trickles = int(a.connections * a.trickle_share)
    reconnects = 0
    total_bytes = 0

    def open_conn(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT
        s.bind((str(ipaddress.IPv4Address(base + i % a.sources)), 0))
        s.setblocking(False)
        try:
            s.connect((a.host, a.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        conns[i] = s
        sent[i] = 0
        sel.register(s, selectors.EVENT_READ, i)

    def close_conn(i):
        sel.unregister(conns[i])
        conns[i].close()
        conns[i] = None

    for i in range(a.connections):
        open_conn(i)
    print("open %d" % sum(c is not None for c in conns), flush=True)
    next_tick = time.monotonic()
    while not stop:
        for key, _ in sel.select(timeout=0.1):
            i = key.data
            try:
                data = conns[i].recv(4096)
            except OSError:
                data = b""
            if not data:  # the server closed it: a new one in its place
                close_conn(i)
                open_conn(i)
                reconnects += 1
        now = time.monotonic()
        if now < next_tick:
            continue
        next_tick = now + 1
        for i in range(a.connections):
            if conns[i] is None:
                open_conn(i)
                reconnects += 1
                continue
            if i >= trickles:
                continue
            try:
                conns[i].send(HEAD[sent[i] % len(HEAD):][:1])
                sent[i] += 1
                total_bytes += 1
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ENOTCONN):
                    close_conn(i)
        print("open %d reconnects %d bytes %d" %
              (sum(c is not None for c in conns), reconnects, total_bytes),
              flush=True)


if __name__ == "__main__":
    main()
