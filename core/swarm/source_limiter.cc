#include "core/swarm/source_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <iterator>
#include <span>

#include "core/base/siphash.h"

namespace ringtrack {

namespace {
constexpr uint64_t kTatMask = (uint64_t{1} << 48) - 1;
}  // namespace

SourceLimiter::SourceLimiter(const SourceLimiterConfig& config)
    : config_(config),
      interval_ms_(static_cast<uint64_t>(
          std::max(1.0, std::round(1000.0 / config.rate_per_s)))),
      burst_(config.burst),
      mask_(config.buckets - 1),
      buckets_(new std::atomic<uint64_t>[config.buckets]) {
  assert(config.rate_per_s > 0 && config.rate_per_s <= 1000);
  assert(config.burst >= 1 && (config.buckets & mask_) == 0);
  for (size_t i = 0; i < config.buckets; ++i) buckets_[i].store(0);
}

void SourceLimiter::SetRate(double rate_per_s, uint32_t burst) {
  const uint64_t interval =
      static_cast<uint64_t>(std::max(1.0, std::round(1000.0 / rate_per_s)));
  interval_ms_.store(interval, std::memory_order_relaxed);
  burst_.store(burst, std::memory_order_relaxed);
}

std::atomic<uint64_t>& SourceLimiter::BucketOf(const PeerEndpoint& source,
                                               uint8_t prefix_bytes,
                                               uint64_t* tag) const {
  uint8_t prefix[16] = {};
  std::memcpy(prefix, source.ip.data(), prefix_bytes);
  // The prefix length is hashed too: a /24 and an address never share.
  const uint64_t h = rt_siphash24_conn(
      config_.seed0, config_.seed1, prefix,
      static_cast<uint32_t>(source.family) | uint32_t{prefix_bytes} << 8);
  *tag = (h >> 48) << 48;
  return buckets_[h & mask_];
}

bool SourceLimiter::Take(std::atomic<uint64_t>& b, uint64_t tag,
                         uint64_t now_ms, uint64_t interval,
                         uint64_t tolerance) {
  uint64_t old = b.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t tat = (old & ~kTatMask) == tag ? old & kTatMask : 0;
    tat = std::max(tat, now_ms);
    if (tat - now_ms > tolerance) return false;
    const uint64_t next = tag | ((tat + interval) & kTatMask);
    if (b.compare_exchange_weak(old, next, std::memory_order_relaxed)) {
      return true;
    }
  }
}

void SourceLimiter::GiveBack(std::atomic<uint64_t>& b, uint64_t tag,
                             uint64_t interval) {
  uint64_t old = b.load(std::memory_order_relaxed);
  for (;;) {
    // Evicted by another prefix meanwhile: nothing to give back.
    if ((old & ~kTatMask) != tag) return;
    const uint64_t tat = old & kTatMask;
    const uint64_t next = tag | (tat > interval ? tat - interval : 0);
    if (b.compare_exchange_weak(old, next, std::memory_order_relaxed)) return;
  }
}

bool SourceLimiter::Allow(const PeerEndpoint& source, uint32_t now_s) {
  const std::span<const Level> levels =
      source.family == AddressFamily::kV4 ? std::span<const Level>(kV4Levels)
                                          : std::span<const Level>(kV6Levels);
  const uint64_t now_ms = uint64_t{now_s} * 1000;
  const uint64_t interval = interval_ms_.load(std::memory_order_relaxed);
  const uint64_t burst = burst_.load(std::memory_order_relaxed);
  struct Taken {
    std::atomic<uint64_t>* bucket;
    uint64_t tag, interval;
  };
  Taken taken[std::size(kV6Levels)];
  size_t n = 0;
  for (const Level& l : levels) {
    // A level's tokens come `multiple` times as often, and its burst holds
    // `multiple` times as many.
    const uint64_t li = std::max<uint64_t>(1, interval / l.multiple);
    const uint64_t tolerance = li * (burst * l.multiple - 1);
    uint64_t tag;
    std::atomic<uint64_t>& b = BucketOf(source, l.prefix_bytes, &tag);
    if (!Take(b, tag, now_ms, li, tolerance)) {
      while (n > 0) {
        --n;
        GiveBack(*taken[n].bucket, taken[n].tag, taken[n].interval);
      }
      return false;
    }
    taken[n++] = {&b, tag, li};
  }
  return true;
}

}  // namespace ringtrack
