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


# XDP cases (tests/bpf/xdp_fuzz_case.h): 4 configuration bytes, then a
# frame. Announces and scrapes carry connection IDs valid for the fuzzers'
# key (MasterKey{1, 2}) at kNow, so they reach the rate limiter and the
# access list.
K_NOW = 1800000000
EPOCH_S = 3600
M64 = (1 << 64) - 1


def siphash24(k0, k1, msg):
    """SipHash-2-4 of `msg` under (k0, k1), as core/base/siphash.h computes it."""
    v = [0x736F6D6570736575 ^ k0, 0x646F72616E646F6D ^ k1,
         0x6C7967656E657261 ^ k0, 0x7465646279746573 ^ k1]

    def rotl(x, b):
        return ((x << b) | (x >> (64 - b))) & M64

    def rnd():
        v[0] = (v[0] + v[1]) & M64; v[1] = rotl(v[1], 13) ^ v[0]; v[0] = rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M64; v[3] = rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & M64; v[3] = rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & M64; v[1] = rotl(v[1], 17) ^ v[2]; v[2] = rotl(v[2], 32)

    tail = len(msg) % 8
    blocks = [int.from_bytes(msg[i:i + 8], "little") for i in range(0, len(msg) - tail, 8)]
    blocks.append((len(msg) & 0xff) << 56 | int.from_bytes(msg[len(msg) - tail:], "little"))
    for m in blocks:
        v[3] ^= m; rnd(); rnd(); v[0] ^= m
    v[2] ^= 0xff
    for _ in range(4):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def conn_id(ip16, issued=K_NOW, master=(1, 2)):
    """ConnectionIds(master).Make for source `ip16` at `issued`."""
    epoch = issued // EPOCH_S
    msg = epoch.to_bytes(8, "little") + b"rtkey-k"
    k0 = siphash24(*master, msg + b"0" + (0).to_bytes(4, "little"))
    k1 = siphash24(*master, msg + b"1" + (0).to_bytes(4, "little"))
    tag = siphash24(k0, k1, ip16 + issued.to_bytes(4, "little")) & 0xFFFFFFFF
    return issued << 32 | tag


def v4(last, net=0):
    return bytes([169, 254, net, last])


def v6(last, net=0):
    return b"\xfd\x12" + b"\x00" * 5 + bytes([net]) + b"\x00" * 7 + bytes([last])


def mapped(addr4):
    return b"\x00" * 10 + b"\xff\xff" + addr4


def eth(payload, ethertype):
    return bytes([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa]) + struct.pack(">H", ethertype) + payload


def udp(payload, dport=6969):
    return struct.pack(">HHHH", 50000, dport, 8 + len(payload), 0) + payload


def ipv4(payload, src=v4(7)):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, 17,
                       0, src, v4(1)) + payload


def ipv6(payload, src=v6(7)):
    return struct.pack(">IHBB", 0x60000000, len(payload), 17, 64) + src + v6(1) + payload


def frame4(p, src=v4(7)):
    return eth(ipv4(udp(p), src), 0x0800)


def frame6(p, src=v6(7)):
    return eth(ipv6(udp(p), src), 0x86dd)


def case(frame, flags=0, rate=0, runs=1, clock=0):
    return bytes([flags, rate, runs - 1, clock & 0xff]) + frame


ID4, ID6 = conn_id(mapped(v4(7))), conn_id(v6(7))
xdp = {
    "connect_v4": case(frame4(connect())),
    "connect_v6": case(frame6(connect())),
    "connect_vlan": case(bytes([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa, 0x81, 0, 0, 0x2a,
                               0x08, 0]) + ipv4(udp(connect()))),
    "connect_via_gateway_v4": case(frame4(connect(), v4(5, 200))),
    "connect_via_gateway_v6": case(frame6(connect(), v6(5, 200))),
    "connect_no_neighbour": case(frame4(connect(), v4(50))),
    "connect_to_userspace": case(frame4(connect()), flags=1),
    "connect_rate_limited": case(frame4(connect()), rate=0x11, runs=3),
    "announce_v4": case(frame4(announce(cid=ID4))),
    "announce_v6": case(frame6(announce(cid=ID6))),
    "announce_expired": case(frame4(announce(cid=ID4)), clock=5),
    "announce_allowed": case(frame4(announce(cid=ID4)), flags=4),
    "announce_denied": case(frame6(announce(cid=ID6)), flags=8),
    "announce_xsk": case(frame6(announce(cid=ID6)), flags=2),
    "announce_rate_limited": case(frame6(announce(cid=ID6)), rate=0x21, runs=4),
    "scrape_v4": case(frame4(scrape(cid=ID4, n=3))),
    "scrape_v6": case(frame6(scrape(cid=ID6, n=3))),
    "scrape_allowed": case(frame4(scrape(cid=ID4, n=2)), flags=4),
    # A connect with bytes after its 16 while the clock is in an epoch the
    # key map lacks: passed to userspace, untrimmed (found by the native
    # fuzzer: the program trimmed the frame before looking for the key).
    "regression_pass_untrimmed": case(frame4(connect() + b"\x00" * 8), clock=0x80),
    "regression_pass_untrimmed_vlan": case(
        bytes([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa, 0x81, 0, 0, 0x2a, 0x08, 0]) +
        ipv4(udp(connect())) + b"\x80\x02", clock=0x80),
    # An IPv4 header whose version field says 12 (found by the kernel fuzzer).
    "regression_ip_version": case(bytes.fromhex(
        "020000 0000bb 020000 0000aa 0800 c500 002c 0001 4000 4011 0000 a9fe0007 a9fe0001"
        " c350 1b39 0018 0000 0000041727101980 00000000 00000001")),
}
for k, v in xdp.items():
    write("xdp_frame_fuzzer", k, v)


# PeerSet sequences (peer_set_fuzzer.cc): 4 setup bytes (budget, hash
# seed, per-source cap, per-swarm cap; 0, _, 1, 255: unlimited budget and
# default caps), then operations, little-endian arguments. Pool indices:
# IPv4 k * 256 + host is 10.0.k.host (k < 12), IPv6 8192 up.
def ps_announce(i, seeder=False, advance=0):
    return struct.pack("<BHB", 0, i, advance << 2 | int(seeder))


def ps_remove(i):
    return struct.pack("<BH", 3, i)


def ps_bulk(count, start=0, stride=1, seeder_pct=25, v6=False):
    assert 1 <= count <= 1536
    return struct.pack("<BBHHHB", 4, int(v6), start, stride, count - 1,
                       seeder_pct * 255 // 100)


def ps_bulk_remove(count, start=0, stride=1):
    return struct.pack("<BHHH", 5, start, stride, count)


def ps_expire(advance, timeout):
    return struct.pack("<BBH", 6, advance, timeout)


def ps_restart(reverse=False):
    return bytes([7, int(reverse)])


def ps_map(k):  # 0: none; 1-3: the fuzzer's maps a, b, c
    return bytes([8, k])


PS_SHARES = {1: 0, 32768: 1, 49152: 2, 58982: 3, 65536: 4, 0: 5}


def ps_select(i, want, seeder=False, share=49152, random=0x9e3779b97f4a7c15,
              as_stored=True, under_map=None):
    head = bytes([9]) if under_map is None else bytes([11, under_map])
    flags = PS_SHARES[share] << 2 | int(as_stored) << 1 | int(seeder)
    return head + struct.pack("<HBBQ", i, flags, want - 1, random)


def ps_selects(nets, want=30, v6=False):
    base = 8192 if v6 else 0
    return b"".join(ps_select(base + k * (512 if v6 else 256) + 250, want,
                              seeder=n % 2 == 1, share=list(PS_SHARES)[n % 6],
                              random=0x9e3779b97f4a7c15 * (n + 1) & M64)
                    for n, k in enumerate(nets))


PS_OPEN = bytes([0, 1, 1, 255])
peer_set = {
    # A wide IPv4 block tagged under map a, replies, then reloads to b and
    # c (the first announce re-tags; a reply before it looks entries up).
    "wide_reloads": PS_OPEN + ps_map(1) + ps_bulk(600, stride=7) +
    ps_selects(range(12)) + ps_map(2) + ps_select(300, 40, under_map=2) +
    ps_announce(5, advance=3) + ps_selects(range(12)) + ps_map(3) +
    ps_select(700, 60, under_map=3, share=65536) + ps_announce(9) +
    ps_selects([0, 3, 7, 13]) + ps_bulk_remove(250, 3, 5) + ps_selects([1, 2]),
    # Past the probe and the scan limit: ~2 000 IPv4 peers, churn, expiry
    # and a restart under a map.
    "past_scan_limit": PS_OPEN + ps_map(2) + ps_bulk(1200, 11, 13, 40) +
    ps_bulk(1000, 4000, 17, 40) +
    ps_selects(range(0, 12, 2), want=80) + ps_bulk_remove(300, 1, 3) +
    ps_expire(40, 30) + ps_bulk(900, 5, 9, 60) + ps_selects([1, 4]) +
    ps_restart() + ps_selects([9, 10], want=50),
    # IPv6: 400 peers over three /48s, nested /64 in map b.
    "wide_v6": PS_OPEN + ps_map(2) + ps_bulk(400, stride=3, v6=True) +
    ps_selects(range(4), v6=True) + ps_map(1) + ps_announce(8200, True) +
    ps_selects(range(4), want=20, v6=True) + ps_restart(True) +
    ps_selects(range(4), want=70, v6=True),
    # A tight budget (9 KiB), 3 per source, 161 per swarm: growth and
    # re-tags refused, replies under a map the tags did not come from.
    "tight_budget": bytes([0x65, 2, 0x10, 20]) + ps_map(1) +
    ps_bulk(300, stride=5) + ps_selects(range(6)) + ps_map(3) +
    ps_announce(17) + ps_select(600, 30, under_map=3) +
    ps_select(600, 30, under_map=1) + ps_expire(200, 100) +
    ps_bulk(120, 77, 3, 50) + ps_selects(range(6, 12)),
}
for k, v in peer_set.items():
    write("peer_set_fuzzer", k, v)
