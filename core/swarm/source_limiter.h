// SourceLimiter: how fast one source, and the prefix it belongs to, may
// create new swarms. A source is an IPv4 address or an IPv6 /64 (one LAN)
// and gets `rate` per second, `burst` at once. Its wider prefixes, the
// allocations people are actually given, get multiples of that
// (kPrefixLevels): an IPv6 /56 (one subscriber's several LANs) twice, an
// IPv4 /24 (up to 254 addresses, a CGNAT pool) and an IPv6 /48 (a site:
// 65 536 /64s) 64 times (the rate to the millisecond the token interval is
// kept in). A new swarm takes one token from every level, so
// a prefix cannot multiply its allowance by spreading over addresses or
// /64s. Each level has a GCRA token bucket in one fixed array of 64-bit
// words indexed by a keyed hash of (prefix, length): a bounded map, so a
// flood of sources can only evict each other's buckets (an evicted source
// starts with a full burst again), never grow memory.
//
// Thread safety: Allow() may run on any number of threads; each bucket is
// one word updated by CAS (relaxed: the word carries no other data). The
// levels are taken one after another, narrowest first, so a source over
// its own rate never drains its prefix's bucket; a token taken from a
// narrower level is given back when a wider one refuses.
#ifndef RINGTRACK_CORE_SWARM_SOURCE_LIMITER_H_
#define RINGTRACK_CORE_SWARM_SOURCE_LIMITER_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/base/types.h"

namespace ringtrack {

struct SourceLimiterConfig {
  double rate_per_s = 1.0;  // sustained new swarms per second per source
  uint32_t burst = 100;     // new swarms a quiet source may create at once
  size_t buckets = 65536;   // power of two; 512 KiB at the default
  uint64_t seed0 = 0, seed1 = 0;
};

class SourceLimiter {
 public:
  // REQUIRES: rate_per_s in (0, 1000], burst ≥ 1, buckets a power of two.
  explicit SourceLimiter(const SourceLimiterConfig& config);

  // One level of prefixes: its length in bytes of the address, and its
  // rate and burst as multiples of a source's.
  struct Level {
    uint8_t prefix_bytes;
    uint8_t multiple;
  };
  static constexpr Level kV4Levels[] = {{4, 1}, {3, 64}};        // /32, /24
  static constexpr Level kV6Levels[] = {{8, 1}, {7, 2}, {6, 64}};  // /64 /56 /48

  // Takes one token from each of `source`'s levels at time `now_s`
  // (seconds). Returns false, taking nothing, when a bucket is empty.
  bool Allow(const PeerEndpoint& source, uint32_t now_s);

  // Changes rate and burst for the requests that follow (a reload).
  // REQUIRES: as for the constructor.
  void SetRate(double rate_per_s, uint32_t burst);

  size_t MemoryBytes() const { return (mask_ + 1) * sizeof(uint64_t); }

 private:
  // The bucket of `prefix_bytes` of `source`'s address, and its tag.
  std::atomic<uint64_t>& BucketOf(const PeerEndpoint& source,
                                  uint8_t prefix_bytes, uint64_t* tag) const;
  // GCRA: takes one token (`interval` ms apart, `tolerance` ms of burst)
  // from bucket `b` if its tag is `tag`. Returns false if it is empty.
  static bool Take(std::atomic<uint64_t>& b, uint64_t tag, uint64_t now_ms,
                   uint64_t interval, uint64_t tolerance);
  // Gives back a token Take() took.
  static void GiveBack(std::atomic<uint64_t>& b, uint64_t tag,
                       uint64_t interval);

  const SourceLimiterConfig config_;
  // Live (SetRate), read relaxed per call: a new swarm may be judged by
  // the old interval and the new burst once, harmlessly.
  std::atomic<uint64_t> interval_ms_;  // ms between a source's tokens
  std::atomic<uint32_t> burst_;
  const size_t mask_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // [tag:16][tat ms:48]
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_SWARM_SOURCE_LIMITER_H_
