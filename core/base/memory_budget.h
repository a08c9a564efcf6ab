// MemoryBudget: one byte budget shared by the swarm table's slot arrays and
// every peer block, so that a flood can fill the budget but never the
// machine. Allocations are charged before they are made and released after
// they are freed; a charge that would cross the limit is refused, except a
// forced one (an already stored peer changing role must never fail, so it
// may overshoot by one block).
//
// Sizes are counted as the allocator holds them: MallocChunkBytes() is
// glibc's chunk size for a request (8-byte header, 16-byte granularity,
// 32-byte minimum), so `used()` is what the heap really holds for us,
// fragmentation aside.
//
// Thread safety: all methods may be called concurrently. Relaxed atomics
// suffice: the counter publishes no other data, and a refusal that races a
// release by a few bytes is harmless.
#ifndef RINGTRACK_CORE_BASE_MEMORY_BUDGET_H_
#define RINGTRACK_CORE_BASE_MEMORY_BUDGET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ringtrack {

// Bytes glibc's malloc holds for a request of `n` bytes.
inline constexpr size_t MallocChunkBytes(size_t n) {
  const size_t c = (n + 8 + 15) & ~size_t{15};
  return c < 32 ? 32 : c;
}

class MemoryBudget {
 public:
  // REQUIRES: limit > 0. SIZE_MAX means "no limit".
  explicit MemoryBudget(size_t limit) : limit_(limit) {}

  // Charges `n` bytes. Returns false (charging nothing) if that would
  // exceed the limit, unless `force`.
  bool TryCharge(size_t n, bool force = false) {
    const size_t before = used_.fetch_add(n, std::memory_order_relaxed);
    if (!force && before + n > limit_) {
      used_.fetch_sub(n, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void Release(size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }
  // Bytes still free (0 when at or over the limit).
  size_t available() const {
    const size_t u = used();
    return u >= limit_ ? 0 : limit_ - u;
  }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_BASE_MEMORY_BUDGET_H_
