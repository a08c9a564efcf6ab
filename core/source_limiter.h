// SourceLimiter: how fast one source may create new swarms. A source is an
// IPv4 address or an IPv6 /64 (one subscriber's allocation). Each source
// has a GCRA token bucket (`rate` per second, `burst` at once) in a fixed
// array of 64-bit words indexed by a keyed hash of the source: a bounded
// map, so a flood of sources can only evict each other's buckets (an
// evicted source starts with a full burst again), never grow memory.
//
// Thread safety: Allow() may run on any number of threads; each bucket is
// one word updated by CAS (relaxed: the word carries no other data).
#ifndef RINGTRACK_CORE_SOURCE_LIMITER_H_
#define RINGTRACK_CORE_SOURCE_LIMITER_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/types.h"

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

  // Takes one token from `source`'s bucket at time `now_s` (seconds).
  // Returns false, taking nothing, when the bucket is empty.
  bool Allow(const PeerEndpoint& source, uint32_t now_s);

  // Changes rate and burst for the requests that follow (a reload).
  // REQUIRES: as for the constructor.
  void SetRate(double rate_per_s, uint32_t burst);

  size_t MemoryBytes() const { return (mask_ + 1) * sizeof(uint64_t); }

 private:
  const SourceLimiterConfig config_;
  // Live (SetRate), read relaxed per call: a new swarm may be judged by
  // the old interval and the new tolerance once, harmlessly.
  std::atomic<uint64_t> interval_ms_;   // ms between tokens
  std::atomic<uint64_t> tolerance_ms_;  // burst - 1 intervals
  const size_t mask_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // [tag:16][tat ms:48]
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_SOURCE_LIMITER_H_
