// PrefixShare: how many peer entries each wide source prefix (an IPv4 /24,
// an IPv6 /48: a site's allocation) holds across all swarms, so that no
// prefix can hold more than its share of the memory budget however many
// addresses, /64s or swarms it spreads over. The per-swarm cap
// (--max-peers-per-source) bounds one source within one swarm; this bounds
// one prefix within the whole table.
//
// Counts live in a fixed array indexed by a keyed hash of the prefix, two
// counters per prefix (a count-min sketch): a prefix is at its share when
// both of its counters are. Collisions only over-count, so a prefix is
// never allowed more than its share; an innocent prefix is held back only
// if both of its counters collide with prefixes at their share, which for
// F such prefixes happens with probability about (F / counters)^2 (2 000
// prefixes at their share: 0.1 %). Such a peer is still answered, only not
// stored.
//
// Thread safety: every method may run on any thread. Counters are relaxed
// atomics: they publish no other data, and a check that races an increment
// lets a prefix overshoot its share by at most one entry per racing thread.
// Invariants (checked by SwarmTable::CheckInvariants):
//   * each counter equals the number of stored entries whose prefix hashes
//     to it (every Add() that succeeded is matched by one Remove() when the
//     entry leaves: removed, expired, evicted).
#ifndef RINGTRACK_CORE_SWARM_PREFIX_SHARE_H_
#define RINGTRACK_CORE_SWARM_PREFIX_SHARE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/base/types.h"

namespace ringtrack {

// A wide prefix's key: a keyed hash of its /24 or /48.
using PrefixKey = uint64_t;

class PrefixShare {
 public:
  // REQUIRES: counters a power of two.
  PrefixShare(size_t counters, uint32_t max_entries, uint64_t seed);

  // The key of the wide prefix holding `ip` (4 bytes for kV4, 16 for kV6).
  PrefixKey KeyOf(AddressFamily family, const uint8_t* ip) const;

  // Counts one more entry for `key`. Returns false, counting nothing, when
  // the prefix already holds max_entries.
  bool TryAdd(PrefixKey key);
  // Counts one entry fewer. REQUIRES: matches an earlier successful TryAdd.
  void Remove(PrefixKey key);

  uint32_t max_entries() const { return max_entries_; }
  // The count-min estimate of the entries `key` holds.
  uint32_t Estimate(PrefixKey key) const;
  size_t counters() const { return mask_ + 1; }
  // Counter i, for CheckInvariants.
  uint32_t counter(size_t i) const {
    return counts_[i].load(std::memory_order_relaxed);
  }
  // The two counters of `key`.
  size_t first(PrefixKey key) const { return key & mask_; }
  size_t second(PrefixKey key) const { return (key >> 32) & mask_; }
  size_t MemoryBytes() const { return counters() * sizeof(uint32_t); }

 private:
  const size_t mask_;
  const uint32_t max_entries_;
  const uint64_t seed_;
  struct Free {
    void operator()(std::atomic<uint32_t>* p) const;
  };
  // calloc'ed: zero pages cost no memory until a prefix counts in them
  // (all-zero bytes are zero counters, as in SwarmTable's slot arrays).
  std::unique_ptr<std::atomic<uint32_t>[], Free> counts_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_SWARM_PREFIX_SHARE_H_
