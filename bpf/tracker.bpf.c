/* ringtrack's XDP program: drops malformed and forged BEP 15 traffic before
 * it reaches userspace, rate-limits sources, and answers connect requests in
 * the kernel with XDP_TX.
 *
 * Scope: UDP addressed to this host's tracker, i.e. to a MAC in rt_ifmacs
 * (the receiving interface's own) and an (address, port) in rt_dests (the
 * daemon's listen addresses, or for a wildcard listen every local address,
 * refreshed as they change), over IPv4 (no options, not a fragment) or IPv6
 * (UDP as the first next header), with at most one VLAN tag. Everything
 * else passes untouched. Connection IDs are verified with core/base/siphash.h,
 * the same code userspace uses, keyed by rt_keys, which the daemon fills at
 * every key rotation.
 *
 * Safety rules:
 *   * A connect is answered only toward where the kernel would route the
 *     reply: bpf_fib_lookup picks the next hop's MAC (never the sender's
 *     MAC, which an attacker on the segment controls) and must route out of
 *     the receiving interface. A bogus source (unspecified, loopback,
 *     multicast, broadcast, this host's own) or a failed lookup passes the
 *     packet to the kernel. The helper only answers where IP forwarding is
 *     enabled on the interface (net.ipv4.conf.IF.forwarding,
 *     net.ipv6.conf.all.forwarding); elsewhere every connect goes to
 *     userspace, which is always safe.
 *   * The rate limiter (per IPv4 address or IPv6 /64) counts connects, and
 *     announces and scrapes only once their connection ID verifies, so a
 *     spoofer cannot spend a victim's budget. Its update is a CAS on the
 *     theoretical arrival time: exact across CPUs.
 *   * Nothing but a valid connect is ever transmitted, and the reply is
 *     never longer than the request.
 *
 * Access list mirror: rt_access holds (in its one slot) a hash map of the
 * daemon's access list, swapped whole on every reload, so a packet sees
 * the old list or the new one. An announce or scrape from a proven source
 * (its connection ID verified) for a refused info hash is dropped here
 * (counted as drop_not_allowed), so a flood for banned torrents never
 * reaches userspace.
 *
 * The same source also compiles as a native object (RT_XDP_NATIVE, helpers
 * stubbed in bpf/xdp_native_shim.h) for coverage-guided fuzzing; a
 * differential test holds the two builds' verdicts equal. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#ifdef RT_XDP_NATIVE
/* Tests and fuzzing: the same source as a native object (bpf/xdp_native.h). */
#include "bpf/xdp_native_shim.h"
#else
#include <bpf/bpf_helpers.h>
/* Set by the loader before load; the verifier treats it as constant. */
#define RT_RODATA const volatile
#endif

#include "core/base/siphash.h"
#include "core/udp/wire_constants.h"
#include "bpf/tracker_shared.h"

/* Read-only configuration, set by the loader before load. */
RT_RODATA __u32 rt_connect_in_kernel = 1;
/* AF_XDP (--io xdp): what would go up to the UDP socket goes to the XSK
 * socket bound to the receiving queue instead (if there is one). */
RT_RODATA __u32 rt_xsk_redirect = 0;

/* The rate limit, changed live by the daemon (a reload) with one aligned
 * 64-bit store, so rate and burst are always read as a pair: packets per
 * second in the low half (0 = no limit), burst in the high half (packets;
 * 0 = one second's worth). */
__u64 rt_rate_config = 0;

/* Unix time = bpf_ktime_get_ns() + this; the daemon refreshes it. */
__s64 rt_clock_offset_ns = 0;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, RT_XDP_MAX_DESTS);
  __type(key, struct rt_dest_key);
  __type(value, __u8);
} rt_dests SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, RT_XDP_MAX_IFACES);
  __type(key, __u32); /* ifindex */
  __type(value, struct rt_ifmac);
} rt_ifmacs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, RT_KEY_SLOTS);
  __type(key, __u32);
  __type(value, struct rt_conn_key);
} rt_keys SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, RT_XDP_COUNTER_MAX);
  __type(key, __u32);
  __type(value, __u64);
} rt_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, RT_XDP_RATE_SOURCES);
  __type(key, struct rt_rate_key);
  __type(value, struct rt_rate_state);
} rt_rate SEC(".maps");

/* The template of the access list maps the daemon swaps in. Sizes, not
 * __type(): BTF reaches this struct only through a pointer, so its key
 * type would be a bare forward declaration. */
struct rt_access_inner {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1);
  __uint(key_size, sizeof(struct rt_info_hash));
  __uint(value_size, sizeof(__u8));
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, struct rt_access_inner);
} rt_access SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} rt_xsks SEC(".maps");

/* Hands a datagram we serve to userspace: through the XSK socket of its
 * queue with --io xdp (up the stack to the UDP socket when that queue has
 * none), else up the stack. IPv4 from 127.0.0.0/8 always goes up the
 * stack: the kernel drops IPv4 loopback frames an AF_XDP socket transmits
 * on lo, so only the socket can answer them. So does a frame longer than
 * an XSK frame holds (RT_XSK_FRAME_MAX), which the XSK socket would drop. */
static __always_inline int to_userspace(struct xdp_md *ctx, const __u8 *src,
                                        int v6) {
  if (rt_xsk_redirect && (v6 || src[12] != 127) &&
      ctx->data_end - ctx->data <= RT_XSK_FRAME_MAX) {
    return bpf_redirect_map(&rt_xsks, ctx->rx_queue_index, XDP_PASS);
  }
  return XDP_PASS;
}

struct vlan_tag {
  __be16 tci;
  __be16 proto;
};

#define RT_MAGIC_HI ((__u32)(RT_PROTOCOL_MAGIC >> 32))
#define RT_MAGIC_LO ((__u32)RT_PROTOCOL_MAGIC)
#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif

static __always_inline int count(__u32 what, int verdict) {
  __u64 *c = bpf_map_lookup_elem(&rt_counters, &what);
  if (c) *c += 1;
  return verdict;
}

static __always_inline __u32 load_be32(const __u8 *p) {
  return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline void store_be32(__u8 *p, __u32 v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static __always_inline __u32 now_seconds(void) {
  return (__u32)((bpf_ktime_get_ns() + rt_clock_offset_ns) / 1000000000ULL);
}

/* Returns 1 iff `id` (8 bytes, wire order) is valid for source `ip16` now;
 * the same rules as ConnectionIds::Verify. */
static __always_inline int conn_id_valid(const __u8 *id, const __u8 *ip16) {
  __u32 issued = load_be32(id);
  __u32 tag = load_be32(id + 4);
  __u32 now = now_seconds();
  if ((__u64)issued > (__u64)now + RT_CONN_ID_MAX_FUTURE_S) return 0;
  if ((__u64)now > (__u64)issued + RT_CONN_ID_LIFETIME_S) return 0;
  __u64 epoch = issued / RT_KEY_EPOCH_S;
  __u32 slot = epoch % RT_KEY_SLOTS;
  struct rt_conn_key *key = bpf_map_lookup_elem(&rt_keys, &slot);
  if (!key || key->epoch != epoch) return 0;
  __u64 expect = rt_conn_id_make(key, ip16, issued);
  return (__u32)expect == tag;
}

/* Returns 1 iff the source is within the configured rate, taking one token.
 * The update is a compare-and-swap on the theoretical arrival time, so
 * concurrent CPUs never admit more than the rate allows (after a few lost
 * races under extreme contention the packet counts as over the limit). */
static __always_inline int rate_ok(const struct rt_rate_key *src) {
  const __u64 config = *(volatile __u64 *)&rt_rate_config;
  const __u32 pps = (__u32)config;
  const __u32 burst_cfg = (__u32)(config >> 32);
  if (pps == 0) return 1;
  const __u64 now = bpf_ktime_get_ns();
  const __u64 interval = 1000000000ULL / pps;
  const __u64 burst = burst_cfg ? burst_cfg : pps;
  const __u64 tolerance = (burst - 1) * interval;
  struct rt_rate_state *st = bpf_map_lookup_elem(&rt_rate, src);
  if (!st) {
    struct rt_rate_state fresh = {.tat_ns = now + interval};
    /* NOEXIST: if another CPU created it meanwhile, take the slow path. */
    if (bpf_map_update_elem(&rt_rate, src, &fresh, BPF_NOEXIST) == 0) return 1;
    st = bpf_map_lookup_elem(&rt_rate, src);
    if (!st) return 0;
  }
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const __u64 old = st->tat_ns;
    const __u64 tat = old > now ? old : now;
    if (tat - now > tolerance) return 0;
    if (__sync_val_compare_and_swap(&st->tat_ns, old, tat + interval) == old) {
      return 1;
    }
  }
  return 0;
}

/* Returns 1 iff the frame's destination MAC is the interface's own. */
static __always_inline int same_mac(const struct rt_ifmac *own, const __u8 *mac) {
  if (!own) return 0;
  int same = 1;
#pragma unroll
  for (int i = 0; i < ETH_ALEN; i++) same &= own->mac[i] == mac[i];
  return same;
}

/* The rate-limiter key of a source: IPv6 sources by /64. */
static __always_inline void rate_key_of(struct rt_rate_key *k, const __u8 *ip16,
                                        int v6) {
  __builtin_memcpy(k->addr, ip16, 16);
  if (v6) __builtin_memset(&k->addr[8], 0, 8);
}

/* Returns 1 iff `ip16` (IPv4 as ::ffff:a.b.c.d) may not receive a reply
 * built in the kernel: unspecified, loopback, multicast, broadcast,
 * reserved, or v4-mapped on the wire. */
static __always_inline int bogus_source(const __u8 *a, int v6) {
  if (!v6) {
    const __u8 b0 = a[12];
    if (b0 == 0 || b0 == 127 || b0 >= 224) return 1; /* 0/8, lo, mcast+ */
    return 0;
  }
  if (a[0] == 0xff) return 1; /* multicast */
  __u64 hi, lo;
  __builtin_memcpy(&hi, a, 8);
  __builtin_memcpy(&lo, a + 8, 8);
  if (hi == 0 && (lo == 0 || lo == bpf_cpu_to_be64(1))) return 1; /* ::, ::1 */
  if (hi == 0 && a[8] == 0 && a[9] == 0 && a[10] == 0xff && a[11] == 0xff) {
    return 1; /* ::ffff:0:0/96 on the wire */
  }
  return 0;
}

static __always_inline __u16 fold(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

static __always_inline __u64 sum16(const __u8 *p, int words) {
  __u64 s = 0;
#pragma unroll
  for (int i = 0; i < 16; i++) {
    if (i < words) s += ((__u32)p[2 * i] << 8) | p[2 * i + 1];
  }
  return s;
}

/* Builds the 16-byte connect reply in place and returns XDP_TX.
 * `l3_off`/`l4_off` are offsets from the frame start; v6 selects the header
 * layout. The frame is first trimmed to end right after the reply. */
static __always_inline int reply_connect(struct xdp_md *ctx, __u32 l3_off,
                                         int v6, const __u8 *ip16) {
  /* Where would the kernel send the reply, and with which key? Decide
   * before touching the frame, so that passing it leaves it as it came;
   * the checks after the trim below only restate bounds for the verifier
   * (the frame holds the whole request). */
  struct bpf_fib_lookup fib = {};
  {
    void *d = (void *)(long)ctx->data;
    void *e = (void *)(long)ctx->data_end;
    if (l3_off > 18) return XDP_PASS;
    if (!v6) {
      struct iphdr *ip = d + l3_off;
      struct udphdr *u = (void *)(ip + 1);
      if ((void *)(u + 1) > e) return XDP_PASS;
      fib.family = AF_INET;
      fib.ipv4_src = ip->daddr;
      fib.ipv4_dst = ip->saddr;
      fib.tos = ip->tos;
      fib.sport = u->dest;
      fib.dport = u->source;
    } else {
      struct ipv6hdr *ip6 = d + l3_off;
      struct udphdr *u = (void *)(ip6 + 1);
      if ((void *)(u + 1) > e) return XDP_PASS;
      fib.family = AF_INET6;
      __builtin_memcpy(fib.ipv6_src, &ip6->daddr, 16);
      __builtin_memcpy(fib.ipv6_dst, &ip6->saddr, 16);
      fib.sport = u->dest;
      fib.dport = u->source;
    }
    fib.l4_protocol = IPPROTO_UDP;
    fib.ifindex = ctx->ingress_ifindex;
    /* OUTPUT: route the reply as a locally sent packet would be routed, and
     * only out of the receiving interface. */
    const long rc =
        bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
    if (rc != BPF_FIB_LKUP_RET_SUCCESS || fib.ifindex != ctx->ingress_ifindex) {
      return count(RT_XDP_PASS_NO_ROUTE, to_userspace(ctx, ip16, v6));
    }
  }
  /* The key too: without one, userspace answers, and must get the frame
   * untrimmed (a trimmed datagram fails the kernel's length checks). */
  const __u32 now = now_seconds();
  const __u64 epoch = now / RT_KEY_EPOCH_S;
  __u32 slot = epoch % RT_KEY_SLOTS;
  struct rt_conn_key *key = bpf_map_lookup_elem(&rt_keys, &slot);
  if (!key || key->epoch != epoch) return XDP_PASS; /* let userspace answer */
  const __u32 l4_off = l3_off + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
  const __u32 want = l4_off + sizeof(struct udphdr) + RT_CONNECT_RESPONSE_SIZE;
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  const int delta = (int)(want - (__u32)(end - data));
  if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta)) return XDP_PASS;
  data = (void *)(long)ctx->data;
  end = (void *)(long)ctx->data_end;
  if (l3_off > 18) return XDP_PASS; /* keeps offsets bounded for the verifier */
  struct ethhdr *eth = data;
  struct udphdr *udp = data + l4_off;
  __u8 *p = (__u8 *)(udp + 1);
  if ((void *)(p + 16) > end || (void *)(eth + 1) > end) return XDP_PASS;

  const __u32 tid = load_be32(p + RT_OFF_TRANSACTION_ID);
  const __u64 id = rt_conn_id_make(key, ip16, now);

  store_be32(p, RT_ACTION_CONNECT);
  store_be32(p + 4, tid);
  store_be32(p + 8, (__u32)(id >> 32));
  store_be32(p + 12, (__u32)id);

  /* The next hop the kernel would use, not the sender's MAC. */
  __builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
  __be16 port = udp->source;
  udp->source = udp->dest;
  udp->dest = port;
  udp->len = bpf_htons(sizeof(struct udphdr) + 16);
  udp->check = 0;

  if (!v6) {
    struct iphdr *ip = data + l3_off;
    if ((void *)(ip + 1) > end) return XDP_PASS;
    __be32 a = ip->saddr;
    ip->saddr = ip->daddr;
    ip->daddr = a;
    ip->tot_len = bpf_htons(sizeof(struct iphdr) + sizeof(struct udphdr) + 16);
    ip->ttl = 64;
    ip->check = 0;
    ip->check = bpf_htons(~fold(sum16((const __u8 *)ip, 10)) & 0xffff);
    /* IPv4 UDP may carry checksum 0 ("none"). */
  } else {
    struct ipv6hdr *ip6 = data + l3_off;
    if ((void *)(ip6 + 1) > end) return XDP_PASS;
    struct in6_addr a = ip6->saddr;
    ip6->saddr = ip6->daddr;
    ip6->daddr = a;
    ip6->payload_len = bpf_htons(sizeof(struct udphdr) + 16);
    ip6->hop_limit = 64;
    /* IPv6 requires the UDP checksum: pseudo header + UDP header + data. */
    __u64 s = sum16((const __u8 *)&ip6->saddr, 8) +
              sum16((const __u8 *)&ip6->daddr, 8);
    s += sizeof(struct udphdr) + 16; /* upper-layer length */
    s += IPPROTO_UDP;
    s += sum16((const __u8 *)udp, 4);
    s += sum16(p, 8);
    __u16 c = ~fold(s) & 0xffff;
    udp->check = bpf_htons(c ? c : 0xffff);
  }
  return count(RT_XDP_TX_CONNECT, XDP_TX);
}

/* Whether the access list in force (if any) lets the request at `p`
 * (`len` bytes, an announce or a scrape of a whole number of hashes)
 * through. */
static __always_inline int access_ok(const __u8 *p, __u32 len, __u32 action,
                                     const void *end) {
  __u32 zero = 0;
  void *acl = bpf_map_lookup_elem(&rt_access, &zero);
  if (!acl) return 1;
  struct rt_info_hash key = {};
  const __u8 *mode = bpf_map_lookup_elem(acl, &key);
  if (!mode) return 1;
  const int allow = (*mode & RT_ACCESS_MODE_ALLOW) != 0;
  const __u32 n = action == RT_ACTION_ANNOUNCE
                      ? 1
                      : (len - RT_SCRAPE_REQUEST_HEADER_SIZE) / RT_INFO_HASH_SIZE;
  for (__u32 i = 0; i < RT_MAX_SCRAPE_HASHES; i++) {
    if (i >= n) break;
    const __u8 *h = p + RT_OFF_INFO_HASH + i * RT_INFO_HASH_SIZE;
    if ((const void *)(h + RT_INFO_HASH_SIZE) > end) return 1; /* userspace decides */
    __builtin_memcpy(key.bytes, h, RT_INFO_HASH_SIZE);
    const __u8 *v = bpf_map_lookup_elem(acl, &key);
    const int listed = v && (*v & RT_ACCESS_LISTED);
    if (listed != allow) return 0;
  }
  return 1;
}

SEC("xdp")
int rt_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_PASS;
  __u16 proto = eth->h_proto;
  __u32 l3_off = sizeof(struct ethhdr);
  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
    struct vlan_tag *v = data + l3_off;
    if ((void *)(v + 1) > end) return XDP_PASS;
    proto = v->proto;
    l3_off += sizeof(struct vlan_tag);
  }

  /* Only frames for this interface's own MAC. */
  __u32 ifindex = ctx->ingress_ifindex;
  struct rt_ifmac *own = bpf_map_lookup_elem(&rt_ifmacs, &ifindex);
  struct rt_dest_key dst = {};
  __u8 src[16] = {};
  struct udphdr *udp;
  int v6;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = data + l3_off;
    if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP) return XDP_PASS;
    udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > end) return XDP_PASS;
    dst.addr[10] = 0xff;
    dst.addr[11] = 0xff;
    __builtin_memcpy(&dst.addr[12], &ip->daddr, 4);
    dst.port_be = udp->dest;
    if (!bpf_map_lookup_elem(&rt_dests, &dst)) return XDP_PASS;
    if (!same_mac(own, eth->h_dest)) return count(RT_XDP_PASS_NOT_OURS, XDP_PASS);
    /* Another version, options or fragments: pass rather than misparse
     * (the kernel's own checks decide). */
    if (ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff))) {
      return count(RT_XDP_PASS_OTHER, XDP_PASS);
    }
    src[10] = 0xff;
    src[11] = 0xff;
    __builtin_memcpy(&src[12], &ip->saddr, 4);
    v6 = 0;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = data + l3_off;
    if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP) {
      return XDP_PASS; /* extension headers (fragments among them) too */
    }
    udp = (void *)(ip6 + 1);
    if ((void *)(udp + 1) > end) return XDP_PASS;
    if (ip6->version != 6) return XDP_PASS;
    __builtin_memcpy(dst.addr, &ip6->daddr, 16);
    /* rt_dests keys IPv4 addresses in their v4-mapped form (::ffff:a.b.c.d):
     * an IPv6 frame to such an address would match an IPv4 entry, but no
     * V6ONLY socket of ours serves it. The kernel's own stack decides. */
    __u32 words[4];
    __builtin_memcpy(words, dst.addr, 16);
    if (words[0] == 0 && words[1] == 0 && words[2] == bpf_htonl(0xffff)) {
      return XDP_PASS;
    }
    dst.port_be = udp->dest;
    if (!bpf_map_lookup_elem(&rt_dests, &dst)) return XDP_PASS;
    if (!same_mac(own, eth->h_dest)) return count(RT_XDP_PASS_NOT_OURS, XDP_PASS);
    __builtin_memcpy(src, &ip6->saddr, 16);
    v6 = 1;
  } else {
    return XDP_PASS;
  }

  const __u8 *p = (const __u8 *)(udp + 1);
  const __u32 ulen = bpf_ntohs(udp->len);
  if (ulen < sizeof(struct udphdr) || (void *)p + (ulen - 8) > end) {
    return count(RT_XDP_PASS_OTHER, XDP_PASS); /* lengths disagree */
  }
  const __u32 len = ulen - sizeof(struct udphdr);
  if (len < RT_MIN_REQUEST_SIZE || (void *)(p + RT_MIN_REQUEST_SIZE) > end) {
    return count(RT_XDP_DROP_SHORT, XDP_DROP);
  }
  struct rt_rate_key rate_key;
  rate_key_of(&rate_key, src, v6);
  const __u32 action = load_be32(p + RT_OFF_ACTION);
  if (action == RT_ACTION_CONNECT) {
    if (load_be32(p + RT_OFF_PROTOCOL_ID) != RT_MAGIC_HI ||
        load_be32(p + RT_OFF_PROTOCOL_ID + 4) != RT_MAGIC_LO) {
      return count(RT_XDP_DROP_BAD_MAGIC, XDP_DROP);
    }
    if (!rate_ok(&rate_key)) return count(RT_XDP_DROP_RATE_LIMIT, XDP_DROP);
    if (!rt_connect_in_kernel) {
      return count(RT_XDP_PASS_CONNECT, to_userspace(ctx, src, v6));
    }
    /* Our own address (a bogus source too) is only reachable through the
     * kernel: the FIB lookup refuses it as a local destination. */
    if (bogus_source(src, v6)) return count(RT_XDP_PASS_NO_ROUTE, XDP_PASS);
    return reply_connect(ctx, l3_off, v6, src);
  }
  if (action == RT_ACTION_ANNOUNCE) {
    if (len < RT_ANNOUNCE_REQUEST_SIZE) {
      return count(RT_XDP_DROP_ANNOUNCE_SHORT, XDP_DROP);
    }
  } else if (action == RT_ACTION_SCRAPE) {
    /* A scrape of no hashes (16 bytes) goes up like any other: userspace
     * answers it with a BEP 15 error once its connection ID verifies. */
    if ((len - RT_SCRAPE_REQUEST_HEADER_SIZE) % RT_INFO_HASH_SIZE != 0) {
      return count(RT_XDP_DROP_SCRAPE_LENGTH, XDP_DROP);
    }
  } else if (action == RT_ACTION_ERROR) {
    return count(RT_XDP_DROP_ERROR_ACTION, XDP_DROP);
  } else {
    return count(RT_XDP_DROP_UNKNOWN_ACTION, XDP_DROP);
  }
  if (!conn_id_valid(p + RT_OFF_CONNECTION_ID, src)) {
    return count(RT_XDP_DROP_BAD_CONN_ID, XDP_DROP);
  }
  /* Only a proven source spends its own budget. */
  if (!rate_ok(&rate_key)) return count(RT_XDP_DROP_RATE_LIMIT, XDP_DROP);
  if (!access_ok(p, len, action, end)) {
    return count(RT_XDP_DROP_NOT_ALLOWED, XDP_DROP);
  }
  return count(RT_XDP_PASS, to_userspace(ctx, src, v6));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
