// Quiescence: when may a pointer that readers load without a lock be freed?
// Quiescent-state-based reclamation (QSBR, as in liburcu's urcu-qsbr): each
// reader thread announces, between batches of work, that it holds no
// pointer from the shared structures it reads (a quiescent point), and
// says so for as long as it blocks waiting for work (offline). A writer
// that has unpublished an object starts a grace period; once every reader
// has passed a quiescent point after that start, or is offline, none can
// still hold the object, and it may be freed.
//
// The waiting is the caller's (core/ has no threads): the daemon's
// reclaimer polls GracePeriodOver(). A worker blocked in epoll or
// io_uring_enter is offline, so an idle worker never delays reclamation.
//
// Use:
//   reader r:  Online(r); ...batch: load the pointer, use it...; Offline(r)
//              (or Quiescent(r) between batches of a loop that never blocks)
//   writer:    p.store(new_obj, release); const uint64_t g = StartGracePeriod();
//              wait until GracePeriodOver(g); free old_obj.
//
// Thread safety: reader r's methods are called only by the one thread that
// owns slot r. StartGracePeriod() and GracePeriodOver() may be called from
// any thread (the daemon calls them from one). Each reader slot is on its
// own cache line, written by its reader only, once per batch; the global
// epoch is written only by StartGracePeriod(), so readers' loads of it hit
// their own cache.
//
// Invariants:
//   * epoch_ only grows; a slot holds kOffline or an epoch value it read.
//   * A slot holding e >= g was written after its reader observed epoch g,
//     hence after the writer's unpublishing store that preceded g.
#ifndef RINGTRACK_CORE_BASE_QUIESCENCE_H_
#define RINGTRACK_CORE_BASE_QUIESCENCE_H_

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ringtrack {

class Quiescence {
 public:
  // `readers` slots, numbered 0..readers-1, all offline.
  explicit Quiescence(size_t readers)
      : readers_(readers), slots_(new Slot[readers]) {}
  Quiescence(const Quiescence&) = delete;
  Quiescence& operator=(const Quiescence&) = delete;

  size_t readers() const { return readers_; }

  // Reader r holds no shared pointer from here until its next load, and
  // will see every object published before the latest StartGracePeriod().
  // REQUIRES: r < readers(); r is online; called by r's thread only.
  void Quiescent(size_t r) {
    assert(r < readers_);
    // Acquire: pairs with StartGracePeriod()'s increment, so the loads
    // that follow see the pointer that was stored before it. Release: the
    // reads of the old object that came before are done before a writer
    // that sees this value frees it.
    slots_[r].epoch.store(epoch_.load(std::memory_order_acquire),
                          std::memory_order_release);
  }

  // Reader r is about to block (or exit): it holds no shared pointer until
  // Online(r). REQUIRES: r < readers(); called by r's thread only.
  void Offline(size_t r) {
    assert(r < readers_);
    // Release: the reads before are done before a writer frees.
    slots_[r].epoch.store(kOffline, std::memory_order_release);
  }

  // Reader r is back: from here it may load shared pointers.
  // REQUIRES: r < readers(); called by r's thread only.
  void Online(size_t r) {
    assert(r < readers_);
    // Release, as in Quiescent(): a writer that sees this value may free
    // what the reader read before it went offline.
    slots_[r].epoch.store(epoch_.load(std::memory_order_acquire),
                          std::memory_order_release);
    // A store then loads: without a full fence the reader's coming online
    // could be seen by a writer only after the reader has loaded the old
    // pointer, and the writer, seeing it offline, would free it. With this
    // fence and StartGracePeriod()'s, either the writer sees this slot
    // online or this reader sees the new pointer.
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

  // Starts a grace period: call after the store that unpublishes the
  // object(s) to free. Returns the grace period's number, for
  // GracePeriodOver().
  uint64_t StartGracePeriod() {
    const uint64_t g = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
    // Pairs with Online()'s fence (see there).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return g;
  }

  // True iff every reader has been offline or passed a quiescent point
  // since StartGracePeriod() returned `g`: objects unpublished before it
  // may be freed.
  bool GracePeriodOver(uint64_t g) const {
    for (size_t r = 0; r < readers_; ++r) {
      // Acquire: pairs with the reader's release, so its reads of the old
      // object happen before the free that follows.
      const uint64_t e = slots_[r].epoch.load(std::memory_order_acquire);
      if (e != kOffline && e < g) return false;
    }
    return true;
  }

 private:
  static constexpr uint64_t kOffline = ~uint64_t{0};
  struct alignas(64) Slot {
    std::atomic<uint64_t> epoch{kOffline};
  };

  const size_t readers_;
  std::unique_ptr<Slot[]> slots_;
  // Read by every reader at each quiescent point, written once per grace
  // period: on its own line so readers' slot stores never invalidate it.
  alignas(64) std::atomic<uint64_t> epoch_{1};
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_BASE_QUIESCENCE_H_
