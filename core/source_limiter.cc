#include "core/source_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "core/siphash.h"

namespace ringtrack {

namespace {
constexpr uint64_t kTatMask = (uint64_t{1} << 48) - 1;
}  // namespace

SourceLimiter::SourceLimiter(const SourceLimiterConfig& config)
    : config_(config),
      interval_ms_(static_cast<uint64_t>(
          std::max(1.0, std::round(1000.0 / config.rate_per_s)))),
      tolerance_ms_(interval_ms_.load() * (config.burst - 1)),
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
  tolerance_ms_.store(interval * (burst - 1), std::memory_order_relaxed);
}

bool SourceLimiter::Allow(const PeerEndpoint& source, uint32_t now_s) {
  uint8_t prefix[16] = {};
  std::memcpy(prefix, source.ip.data(),
              source.family == AddressFamily::kV4 ? 4 : 8);
  const uint64_t h =
      rt_siphash24_conn(config_.seed0, config_.seed1, prefix,
                        static_cast<uint32_t>(source.family));
  std::atomic<uint64_t>& b = buckets_[h & mask_];
  const uint64_t tag = (h >> 48) << 48;
  const uint64_t now_ms = uint64_t{now_s} * 1000;
  const uint64_t interval = interval_ms_.load(std::memory_order_relaxed);
  const uint64_t tolerance = tolerance_ms_.load(std::memory_order_relaxed);
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

}  // namespace ringtrack
