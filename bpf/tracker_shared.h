/* Types and constants shared by the XDP program (bpf/tracker.bpf.c) and its
 * C++ loader (bpf/xdp_loader.h). Fixed-width types only; fields in network
 * byte order carry a _be suffix. tests/bpf/xdp_test.cc static_asserts the
 * layout the loader relies on. */
#ifndef RINGTRACK_BPF_TRACKER_SHARED_H_
#define RINGTRACK_BPF_TRACKER_SHARED_H_

#include <linux/types.h>

/* Most UDP ports the program serves (keys of the port map: __u16 _be). */
#define RT_XDP_MAX_PORTS 64
/* Sources tracked by the rate limiter (LRU: the least recent are evicted). */
#define RT_XDP_RATE_SOURCES 65536

/* Per-CPU counters, one slot per outcome. */
enum rt_xdp_counter {
  RT_XDP_PASS = 0,             /* valid announce/scrape: up to userspace */
  RT_XDP_PASS_OTHER,           /* tracker port, but not parsed: fragments,
                                  IP options, inconsistent lengths */
  RT_XDP_DROP_SHORT,           /* UDP payload shorter than 16 bytes */
  RT_XDP_DROP_BAD_MAGIC,       /* connect with the wrong protocol id */
  RT_XDP_DROP_UNKNOWN_ACTION,  /* action > 3 */
  RT_XDP_DROP_ERROR_ACTION,    /* an error packet sent to the tracker */
  RT_XDP_DROP_ANNOUNCE_SHORT,  /* announce shorter than 98 bytes */
  RT_XDP_DROP_SCRAPE_LENGTH,   /* scrape length not 16 + 20·n, n ≥ 1 */
  RT_XDP_DROP_BAD_CONN_ID,     /* forged, expired or future-dated ID */
  RT_XDP_DROP_RATE_LIMIT,      /* source above the rate limit */
  RT_XDP_TX_CONNECT,           /* connect answered in the kernel */
  RT_XDP_PASS_CONNECT,         /* connect passed up (in-kernel reply off) */
  RT_XDP_COUNTER_MAX,
};

/* Rate limiter key: the source address, IPv4 as ::ffff:a.b.c.d. */
struct rt_rate_key {
  __u8 addr[16];
};

/* Generic cell rate algorithm state: the theoretical arrival time. */
struct rt_rate_state {
  __u64 tat_ns;
};

#endif /* RINGTRACK_BPF_TRACKER_SHARED_H_ */
