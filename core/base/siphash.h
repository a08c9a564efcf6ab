/* SipHash-2-4 over the 20-byte connection-ID message, shared verbatim by
 * core/ (C++) and the XDP program in bpf/ (C, clang -target bpf), so the kernel
 * verifies exactly the IDs userspace issues.
 *
 * The message is the requester's IPv6 address (IPv4 as ::ffff:a.b.c.d, 16
 * bytes) followed by the 32-bit issue time in little-endian, i.e. SipHash's
 * own byte order; rt_siphash24_conn() is SipHash-2-4 of those 20 bytes, and
 * siphash_test.cc checks it against a byte-wise reference and the paper's
 * test vector.
 *
 * Why a 32-bit tag suffices: an ID lives 120 s and is bound to one source
 * address, so a forger gets nothing from one guess; guessing blindly succeeds
 * with probability 2^-32 per packet, i.e. one forged ID per ~4 billion
 * packets, and the key is unknown to it. At the 1 Mpps a single source could
 * send, that is one success per ~70 minutes of flood, buying one announce
 * that the flood itself could not amplify (a forged ID gets no larger reply
 * than the request). The other 32 bits carry the issue time, which lets the
 * verifier stay stateless.
 *
 * Only fixed-width types and static inline functions: no libc, no loops the
 * verifier must bound. */
#ifndef RINGTRACK_CORE_BASE_SIPHASH_H_
#define RINGTRACK_CORE_BASE_SIPHASH_H_

#include <linux/types.h>

#define RT_CONN_ID_LIFETIME_S 120
/* An ID dated further than this into the future is refused. */
#define RT_CONN_ID_MAX_FUTURE_S 5
/* Keys rotate each epoch; an ID verifies with the key of its own issue time's
 * epoch, so the previous epoch's key stays valid across a rotation. */
#define RT_KEY_EPOCH_S 3600
/* Keys of epochs e-1, e and e+1 live in slot (epoch % RT_KEY_SLOTS). */
#define RT_KEY_SLOTS 4

/* One epoch's SipHash key, as stored in the daemon and in the XDP key map. */
struct rt_conn_key {
  __u64 epoch; /* issue_time / RT_KEY_EPOCH_S; ~0 for an empty slot */
  __u64 k0;
  __u64 k1;
};

#define RT_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define RT_SIPROUND(v0, v1, v2, v3) \
  do {                              \
    v0 += v1;                       \
    v1 = RT_ROTL64(v1, 13);         \
    v1 ^= v0;                       \
    v0 = RT_ROTL64(v0, 32);         \
    v2 += v3;                       \
    v3 = RT_ROTL64(v3, 16);         \
    v3 ^= v2;                       \
    v0 += v3;                       \
    v3 = RT_ROTL64(v3, 21);         \
    v3 ^= v0;                       \
    v2 += v1;                       \
    v1 = RT_ROTL64(v1, 17);         \
    v1 ^= v2;                       \
    v2 = RT_ROTL64(v2, 32);         \
  } while (0)

static inline __u64 rt_load_le64(const __u8* p) {
  return (__u64)p[0] | ((__u64)p[1] << 8) | ((__u64)p[2] << 16) |
         ((__u64)p[3] << 24) | ((__u64)p[4] << 32) | ((__u64)p[5] << 40) |
         ((__u64)p[6] << 48) | ((__u64)p[7] << 56);
}

/* SipHash-2-4(k0 || k1, ip16 || le32(issue_time)). */
static inline __u64 rt_siphash24_conn(__u64 k0, __u64 k1, const __u8* ip16,
                                      __u32 issue_time) {
  __u64 v0 = 0x736f6d6570736575ULL ^ k0;
  __u64 v1 = 0x646f72616e646f6dULL ^ k1;
  __u64 v2 = 0x6c7967656e657261ULL ^ k0;
  __u64 v3 = 0x7465646279746573ULL ^ k1;
  __u64 m;

  m = rt_load_le64(ip16);
  v3 ^= m;
  RT_SIPROUND(v0, v1, v2, v3);
  RT_SIPROUND(v0, v1, v2, v3);
  v0 ^= m;

  m = rt_load_le64(ip16 + 8);
  v3 ^= m;
  RT_SIPROUND(v0, v1, v2, v3);
  RT_SIPROUND(v0, v1, v2, v3);
  v0 ^= m;

  m = ((__u64)20 << 56) | (__u64)issue_time; /* last block: 4 bytes + len */
  v3 ^= m;
  RT_SIPROUND(v0, v1, v2, v3);
  RT_SIPROUND(v0, v1, v2, v3);
  v0 ^= m;

  v2 ^= 0xff;
  RT_SIPROUND(v0, v1, v2, v3);
  RT_SIPROUND(v0, v1, v2, v3);
  RT_SIPROUND(v0, v1, v2, v3);
  RT_SIPROUND(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

/* The 64-bit connection ID as a host-order integer: issue time in the high
 * 32 bits (so it is the first 4 bytes on the wire), the tag in the low 32. */
static inline __u64 rt_conn_id_make(const struct rt_conn_key* key,
                                    const __u8* ip16, __u32 issue_time) {
  __u64 h = rt_siphash24_conn(key->k0, key->k1, ip16, issue_time);
  return ((__u64)issue_time << 32) | (__u32)h;
}

#endif /* RINGTRACK_CORE_BASE_SIPHASH_H_ */
