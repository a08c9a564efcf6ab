/* Types and constants shared by the XDP program (bpf/tracker.bpf.c) and its
 * C++ loader (bpf/xdp_loader.h). Fixed-width types only; fields in network
 * byte order carry a _be suffix. tests/bpf/xdp_test.cc static_asserts the
 * layout the loader relies on. Wire constants come from core/udp/wire_constants.h. */
#ifndef RINGTRACK_BPF_TRACKER_SHARED_H_
#define RINGTRACK_BPF_TRACKER_SHARED_H_

#include <linux/bpf.h> /* XDP_PACKET_HEADROOM */
#include <linux/types.h>

/* Most (address, port) pairs the program serves. */
#define RT_XDP_MAX_DESTS 4096
/* Most interfaces it is attached to (their MACs are in a map). */
#define RT_XDP_MAX_IFACES 64
/* Sources tracked by the rate limiter (LRU: the least recent are evicted). */
#define RT_XDP_RATE_SOURCES 65536

/* --io xdp: the size of a UMEM frame (daemon/xsk_loop.cc), and the longest
 * frame one holds: in copy mode the kernel keeps XDP_PACKET_HEADROOM (256)
 * of each for itself and drops a longer frame redirected to the socket. The
 * program passes such a frame up the stack to the UDP socket instead, which
 * answers it as it answers any datagram (it cannot come from a standard
 * 1 500-byte MTU: lo and jumbo frames). */
#define RT_XSK_FRAME_SIZE 2048
#define RT_XSK_FRAME_MAX (RT_XSK_FRAME_SIZE - XDP_PACKET_HEADROOM)

/* The per-CPU counters: one list, from which the program's enum, the
 * loader's names and the daemon's stats keys (xdp_<name>) all come. */
#define RT_XDP_COUNTERS(X)                                                   \
  X(RT_XDP_PASS, "pass")                 /* valid announce/scrape: up */     \
  X(RT_XDP_PASS_OTHER, "pass_other")     /* fragments, IP options, bad    \
                                            lengths: not parsed */          \
  X(RT_XDP_DROP_SHORT, "drop_short")     /* payload under 16 bytes */        \
  X(RT_XDP_DROP_BAD_MAGIC, "drop_bad_magic")                                 \
  X(RT_XDP_DROP_UNKNOWN_ACTION, "drop_unknown_action")                       \
  X(RT_XDP_DROP_ERROR_ACTION, "drop_error_action")                           \
  X(RT_XDP_DROP_ANNOUNCE_SHORT, "drop_announce_short")                       \
  X(RT_XDP_DROP_SCRAPE_LENGTH, "drop_scrape_length")                         \
  X(RT_XDP_DROP_BAD_CONN_ID, "drop_bad_connection_id")                       \
  X(RT_XDP_DROP_RATE_LIMIT, "drop_rate_limit")                               \
  X(RT_XDP_DROP_NOT_ALLOWED, "drop_not_allowed") /* announce/scrape for an \
                                                    info hash the access  \
                                                    list refuses */       \
  X(RT_XDP_TX_CONNECT, "tx_connect")     /* connect answered in kernel */    \
  X(RT_XDP_PASS_CONNECT, "pass_connect") /* connect passed up: in-kernel  \
                                            replies off */                  \
  X(RT_XDP_PASS_NOT_OURS, "pass_not_ours") /* our port, but not our       \
                                              address or MAC */             \
  X(RT_XDP_PASS_NO_ROUTE, "pass_no_route") /* connect passed up: no FIB   \
                                              route on this interface, or \
                                              a bogus source */

enum rt_xdp_counter {
#define RT_XDP_COUNTER_ENUM(id, name) id,
  RT_XDP_COUNTERS(RT_XDP_COUNTER_ENUM)
#undef RT_XDP_COUNTER_ENUM
  RT_XDP_COUNTER_MAX,
};

/* A destination the tracker serves: address (IPv4 as ::ffff:a.b.c.d) and
 * UDP port. */
struct rt_dest_key {
  __u8 addr[16];
  __u16 port_be;
  __u16 pad; /* zero */
};

/* An attached interface's own MAC address. */
struct rt_ifmac {
  __u8 mac[6];
  __u16 pad;
};

/* Rate limiter key: the source, IPv4 as ::ffff:a.b.c.d, IPv6 by its /64
 * (the low 8 bytes are zero). */
struct rt_rate_key {
  __u8 addr[16];
};

/* Generic cell rate algorithm state: the theoretical arrival time. */
struct rt_rate_state {
  __u64 tat_ns;
};

/* The access list mirror: an info hash as a map key. */
struct rt_info_hash {
  __u8 bytes[20];
};
/* Values in the access list map. Every listed hash has RT_ACCESS_LISTED;
 * the all-zero hash's entry (always present while a list is in force)
 * also carries the mode, so the mode and the list swap together. */
#define RT_ACCESS_LISTED 1
#define RT_ACCESS_MODE_ALLOW 2
#define RT_ACCESS_MODE_DENY 4

/* Limits the rate arithmetic holds exactly (interval = 1e9 / pps ns). */
#define RT_XDP_MAX_RATE_PPS 10000000U
#define RT_XDP_MAX_RATE_BURST 1000000U

#endif /* RINGTRACK_BPF_TRACKER_SHARED_H_ */
