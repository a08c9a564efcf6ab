// CoarseClock: Unix time in whole seconds, read on the hot path without a
// syscall. One housekeeping thread calls Tick() (say every 100 ms); workers
// call now(). Tests construct it at a fixed time and Set() it.
//
// Thread safety: any number of readers, one writer. A relaxed atomic is
// enough: the value is a self-contained timestamp, nothing else is published
// through it.
#ifndef RINGTRACK_CORE_BASE_CLOCK_H_
#define RINGTRACK_CORE_BASE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringtrack {

inline uint32_t UnixSecondsNow() {
  return static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()));
}

class CoarseClock {
 public:
  CoarseClock() : now_(UnixSecondsNow()) {}
  explicit CoarseClock(uint32_t fixed) : now_(fixed) {}

  uint32_t now() const { return now_.load(std::memory_order_relaxed); }
  void Tick() { Set(UnixSecondsNow()); }
  void Set(uint32_t t) { now_.store(t, std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t> now_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_BASE_CLOCK_H_
