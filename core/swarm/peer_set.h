// PeerSet: the peers of one swarm, in one heap block sized to fit.
//
// The block holds an 8-byte header (the swarm's `completed` count and a
// one-byte capacity code for each of four regions), then, only when some
// region holds more than 16 entries, the four regions' counts (a smaller
// region's count is its non-empty entries, counted when asked), then the
// entries of the four regions: IPv4 seeders, IPv4 leechers, IPv6 seeders,
// IPv6 leechers. An IPv4
// entry is 8 bytes (address, port, meta), an IPv6 entry 20. Each region is
// an open-addressing array probed linearly from a home chosen by hashing the
// peer's *source* (its IPv4 address, or its IPv6 /64), so all entries of one
// source sit in one probe run: counting them for the per-source cap costs
// no more than a lookup. Capacities are not powers of two (home = the hash
// scaled to the capacity) and grow by about a quarter, so small swarms hold
// almost no slack; regions of up to 16 entries may be completely full (a
// probe then stops after `cap` entries).
//
// Seeders and leechers live apart, and the leecher region of a family
// directly follows its seeder region, so a seeder's reply is a window over
// the leechers only and a leecher's a window over both: either costs
// O(numwant), never O(swarm size).
//
// The set itself is one 64-bit word: the block's address, tagged with the
// IPv4 regions' capacities (peer_set.cc), so an IPv4 announce computes where
// its entries are from the swarm table's slot alone.
//
// `completed` counts a download once per stored entry: an entry remembers
// that it was counted, so a client alternating left=1 / left=0 counts once.
//
// Thread safety: none; the swarm table calls every method with the swarm's
// lock held. Memory is charged to a MemoryBudget before it is allocated.
#ifndef RINGTRACK_CORE_SWARM_PEER_SET_H_
#define RINGTRACK_CORE_SWARM_PEER_SET_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/base/memory_budget.h"
#include "core/swarm/prefix_share.h"
#include "core/base/types.h"

namespace ringtrack {

struct SwarmCounts {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;
  uint32_t v4 = 0;  // of seeders + leechers, those on IPv4
};

// How one Announce changed a set's counts (each field -1, 0 or +1).
struct CountChange {
  int32_t seeders = 0;
  int32_t leechers = 0;
  int32_t v4 = 0;  // of seeders + leechers, those on IPv4
};

// What every PeerSet call needs from its table. Immutable during a call.
// The default caps (SwarmTableConfig's, and so ringtrackd's), written once.
inline constexpr uint32_t kDefaultMaxPeersPerSource = 8;
inline constexpr uint32_t kDefaultMaxPeersPerSwarm = 100000;

struct PeerSetContext {
  uint64_t seed = 0;  // keys the source hash
  uint32_t max_per_source = kDefaultMaxPeersPerSource;
  uint32_t max_per_swarm = kDefaultMaxPeersPerSwarm;
  MemoryBudget* budget = nullptr;  // REQUIRES: non-null
  // Counts every stored entry by its wide prefix and caps new ones
  // (nullptr: no prefix cap).
  PrefixShare* share = nullptr;
};

enum class PeerChange : uint8_t {
  kUpdated,       // was stored; refreshed (and moved if its role changed)
  kAdded,         // stored now
  kRemoved,       // Remove(): was stored, is gone
  kAbsent,        // Remove(): was not stored
  kSourceCapped,  // not stored: its source holds max_per_source entries here
  kSwarmFull,     // not stored: the swarm holds max_per_swarm peers
  kNoMemory,      // not stored: the budget refused the growth
  kPrefixCapped,  // not stored: its /24 or /48 holds its share of the table
};

// One stored peer as a snapshot (the state file) sees it.
struct PeerRecord {
  PeerEndpoint peer;
  uint32_t last_seen = 0;  // Unix seconds, to the set's 4 s resolution
  bool seeder = false;
  bool counted = false;  // its download was counted in `completed`
};

struct PeerAnnounce {
  PeerEndpoint peer;
  bool seeder = false;          // left == 0
  bool completed_event = false; // event=completed
  uint32_t now = 0;             // seconds
};

class PeerSet {
 public:
  PeerSet() = default;
  PeerSet(const PeerSet&) = delete;
  PeerSet& operator=(const PeerSet&) = delete;
  // Does not free: the owner calls Clear() (the table's slot memory is
  // raw, so no destructor runs there).
  ~PeerSet() = default;

  // Stores or refreshes `a.peer` in the region its role asks for. A peer
  // already stored always succeeds (a role change may overshoot the budget
  // by one block); a new one may be refused (see PeerChange). Adds what
  // the call did to the counts to *change, so the caller needs no census
  // before it.
  PeerChange Announce(const PeerAnnounce& a, const PeerSetContext& ctx,
                      CountChange* change);
  PeerChange Announce(const PeerAnnounce& a, const PeerSetContext& ctx) {
    CountChange ignored;
    return Announce(a, ctx, &ignored);
  }
  // Removes `peer` (event=stopped). Returns kRemoved or kAbsent.
  PeerChange Remove(const PeerEndpoint& peer, const PeerSetContext& ctx);

  // Writes up to `want` peers of self's family as BEP 15 entries into
  // `out`, never `self`; a seeder gets leechers only. The window starts at
  // a position chosen by `random`. Returns the number written.
  // REQUIRES: out.size() >= want * entry size.
  uint32_t Select(const PeerEndpoint& self, bool seeder, uint32_t want,
                  uint64_t random, std::span<uint8_t> out) const;

  // Starts fetching what Announce() and then Select(self, seeder, want,
  // random) will read: the block header and, for IPv4, the entry's home in
  // the region of its role and the first entries of the reply window.
  // Reads only the set's own word, and may run without the swarm's lock
  // (a hint: a set changed meanwhile costs only a wasted prefetch).
  void Prefetch(const PeerEndpoint& self, bool seeder, uint32_t want,
                uint64_t random, const PeerSetContext& ctx) const;

  // Removes peers last seen more than `timeout_s` before `now` (the peer
  // timeout, or at the budget the shorter age past which a peer has missed
  // its re-announce: SwarmTable's eviction).
  struct Expired {
    uint32_t v4 = 0;
    uint32_t v6 = 0;
  };
  Expired Expire(uint32_t now, uint32_t timeout_s, const PeerSetContext& ctx);

  // Appends every stored peer to *out, their last-seen times read
  // against `now` (which must not be earlier than the times stored).
  void Snapshot(uint32_t now, std::vector<PeerRecord>* out) const;
  // Stores a peer from a snapshot with its last-seen time, role and
  // counted flag (a restart). Caps and budget apply as to a new peer; an
  // endpoint already stored is left as it is (kUpdated).
  PeerChange Restore(const PeerRecord& r, const PeerSetContext& ctx);
  // Sets the `completed` count. Does nothing when no peer is stored (a set
  // without peers is dropped by the table anyway).
  void SetCompleted(uint32_t completed);

  // Frees the block; counts and `completed` become 0.
  void Clear(MemoryBudget* budget);

  SwarmCounts counts() const;
  uint32_t peers(AddressFamily f) const;
  bool empty() const;
  // Bytes the allocator holds for this set (0 when nothing is stored).
  size_t bytes() const;

  // For tests: checks counts against entries, reachability of every entry
  // from its home, and that no endpoint is stored twice.
  bool Check(const PeerSetContext& ctx, std::string* why) const;

  struct Block;  // defined in peer_set.cc

 private:
  template <class Op>
  auto WithBlock(AddressFamily family, const PeerSetContext& ctx, Op op);

  // Every write is atomic (relaxed), so Prefetch() may read the word
  // without the lock; reads under the lock are plain.
  void SetBlock(uint64_t tag) {
    __atomic_store_n(&block_, tag, __ATOMIC_RELAXED);
  }

  // The block's address, tagged with a copy of its IPv4 layout (see
  // peer_set.cc); 0 when nothing is stored.
  uint64_t block_ = 0;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_SWARM_PEER_SET_H_
