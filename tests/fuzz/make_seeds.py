#!/usr/bin/python3
"""Writes the checked-in seed corpora for tests/fuzz (run once; the files are
committed). Each seed is a well-formed example the fuzzers mutate from."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = 0x41727101980


def connect(tid=1):
    return struct.pack(">QII", MAGIC, 0, tid)


def announce(cid=0x1122334455667788, event=2, left=5, numwant=-1, port=6881, extra=b""):
    return struct.pack(">QII20s20sQQQIIIiH", cid, 1, 7, bytes(range(20)),
                       b"-RT0001-fuzzseed0000", 0, left, 0, event, 0, 0,
                       numwant, port) + extra


def scrape(cid=0x1122334455667788, n=1):
    return struct.pack(">QII", cid, 2, 9) + b"".join(bytes([i] * 20) for i in range(n))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


requests = {
    "connect": connect(),
    "announce": announce(),
    "announce_bep41": announce(extra=b"\x02\x0c/announce?x=1\x01\x00"),
    "announce_stopped": announce(event=3, left=0),
    "scrape1": scrape(n=1),
    "scrape74": scrape(n=74),
    "scrape_empty": scrape(n=0),
    "error": struct.pack(">QII", 0, 3, 1) + b"oops",
    "short": b"\x00" * 15,
}
for k, v in requests.items():
    write("request_codec_fuzzer", k, v)

write("response_parser_fuzzer", "connect", struct.pack(">IIQ", 0, 1, 0xabcdef))
write("response_parser_fuzzer", "announce_v4",
      struct.pack(">IIIII", 1, 7, 1800, 2, 1) + bytes([169, 254, 0, 7, 0x1a, 0xe1]) * 3)
write("response_parser_fuzzer", "announce_v6",
      struct.pack(">IIIII", 1, 7, 1800, 2, 1) + (b"\xfd\x12" + b"\x00" * 13 + b"\x07\x1a\xe1"))
write("response_parser_fuzzer", "scrape",
      struct.pack(">II", 2, 9) + struct.pack(">III", 1, 2, 3) * 2)
write("response_parser_fuzzer", "error", struct.pack(">II", 3, 9) + b"tracker is full")

# Tracker sequences: datagrams back to back; the provider also takes its
# control bytes from the tail, so these are starting points, not scripts.
write("tracker_fuzzer", "connect_announce_scrape",
      b"\x00\x01" + connect() + b"\x01\x03" + announce() + b"\x01\x03" + scrape(n=2) + b"\x00" * 16)
write("tracker_fuzzer", "many_announces",
      b"".join(b"\x01" + bytes([i]) + announce(port=6881 + i, left=i % 2) for i in range(8)))


def eth(payload, ethertype):
    return bytes([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa]) + struct.pack(">H", ethertype) + payload


def udp(payload, dport=6969):
    return struct.pack(">HHHH", 50000, dport, 8 + len(payload), 0) + payload


def ipv4(payload):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, 17,
                       0, bytes([169, 254, 0, 7]), bytes([169, 254, 0, 1])) + payload


def ipv6(payload):
    src = b"\xfd\x12" + b"\x00" * 13 + b"\x07"
    dst = b"\xfd\x12" + b"\x00" * 13 + b"\x01"
    return struct.pack(">IHBB", 0x60000000, len(payload), 17, 64) + src + dst + payload


for name, p in (("connect", connect()), ("announce", announce()), ("scrape", scrape(n=3))):
    write("xdp_frame_fuzzer", name + "_v4", eth(ipv4(udp(p)), 0x0800))
    write("xdp_frame_fuzzer", name + "_v6", eth(ipv6(udp(p)), 0x86dd))
write("xdp_frame_fuzzer", "connect_vlan",
      bytes([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa, 0x81, 0, 0, 0x2a, 0x08, 0]) +
      ipv4(udp(connect())))
