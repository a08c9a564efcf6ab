#include "core/swarm/prefix_share.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/base/hash.h"

static_assert(std::atomic<uint32_t>::is_always_lock_free &&
                  sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
              "zeroed memory holds zero counters");

namespace ringtrack {

PrefixShare::PrefixShare(size_t counters, uint32_t max_entries, uint64_t seed)
    : mask_(counters - 1),
      max_entries_(max_entries),
      seed_(seed),
      counts_(static_cast<std::atomic<uint32_t>*>(
          std::calloc(counters, sizeof(std::atomic<uint32_t>)))) {
  assert(counters != 0 && (counters & mask_) == 0);
  if (counts_ == nullptr) throw std::bad_alloc();
}

void PrefixShare::Free::operator()(std::atomic<uint32_t>* p) const {
  std::free(p);
}

PrefixKey PrefixShare::KeyOf(AddressFamily family, const uint8_t* ip) const {
  // /24 or /48, tagged with the family so the two never share a prefix.
  uint64_t prefix = 0;
  if (family == AddressFamily::kV4) {
    std::memcpy(&prefix, ip, 3);
    prefix |= uint64_t{4} << 56;
  } else {
    std::memcpy(&prefix, ip, 6);
    prefix |= uint64_t{6} << 56;
  }
  return Mix64(Mix64(prefix ^ seed_) + seed_);
}

uint32_t PrefixShare::Estimate(PrefixKey key) const {
  return std::min(counts_[first(key)].load(std::memory_order_relaxed),
                  counts_[second(key)].load(std::memory_order_relaxed));
}

bool PrefixShare::TryAdd(PrefixKey key) {
  if (Estimate(key) >= max_entries_) return false;
  counts_[first(key)].fetch_add(1, std::memory_order_relaxed);
  counts_[second(key)].fetch_add(1, std::memory_order_relaxed);
  return true;
}

void PrefixShare::Remove(PrefixKey key) {
  counts_[first(key)].fetch_sub(1, std::memory_order_relaxed);
  counts_[second(key)].fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace ringtrack
