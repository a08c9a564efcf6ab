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
// Locality (Select() with a Locality). Design: a network's peers are
// found through a per-network index beside the entries, not by placement
// (entries stay placed by source, so the per-source cap and lookups are
// untouched):
//   * A wide block (some region above 16 entries) made while a map is
//     loaded is tagged: each family's entries are followed by its index.
//     Per entry: a uint16_t network tag (the network id folded to 16
//     bits; 0 outside the map) and a link. Per region: a run array, a
//     directory from tag to the network's entry, and a small header.
//     Every tagged entry is a member of exactly one of its network's run
//     (a segment of the run array holding copies of the members' entries,
//     grouped by network by a counting sort) or its list (a circular,
//     doubly linked list of the members that joined since that sort). A
//     member that leaves the run leaves an empty copy (a dead slot).
//     Tags and links move with their entries (placement, backward-shift
//     erase, rebuilds); a run's copies never move, as an endpoint never
//     changes while it is stored. So keeping the index costs O(1) per
//     stored, moved or removed entry, nothing on a refresh, and a sort of
//     the region, O(cap), once list members and dead slots reach an
//     eighth of it (and at every rebuild): at most 8 entries sorted per
//     change. A reply also sorts a region once replies have read an
//     eighth of its worth of list members since the last sort (each is a
//     dependent read; at most 8 entries sorted per member read), so a
//     swarm whose peers only re-announce does not keep its lists. Memory
//     per entry slot of a wide block while a map is loaded: 2 (tag) + 8
//     (link) + 8 or 20 (the run's copy) + 24 (the directory: a slot per
//     entry slot, as every entry may be of another network) = 42 bytes
//     for IPv4, 54 for IPv6, charged to the budget like the rest.
//   * The block records the generation of the map its tags came from
//     (NetworkMap::generation(), low 24 bits). The first announce that
//     brings another map (a reload, or a map loaded after the block was
//     made) rebuilds the block with every entry looked up again, so after
//     a reload no peer keeps its old network until it re-announces. Until
//     that rebuild succeeds (the budget may refuse it), a reply with the
//     other map looks entries up as on an untagged wide block. An entry
//     stored while no map is loaded has no tag, and one stored with
//     another map than the block's (its re-tag refused) has that map's
//     tag, so either marks the block as from no map (generation 0) until
//     an announce with a map re-tags it.
//   * A compact block (every region up to 16 entries: 10-peer swarms, most
//     of any tracker) holds no index: 10 IPv4 peers fill glibc's 96-byte
//     chunk exactly and any per-entry byte would cost 16 per swarm, so
//     memory per peer is unchanged there. Its entries (at most 32 per
//     reply window) are looked up in the map when a reply is shaped.
//   * Nothing about networks is in the state file: ids are derived.
// A locality reply on a tagged block reads O(numwant), never the swarm
// (beside, now and then, the amortized sort above):
// one directory probe per region, then its network's run from a cursor
// (one contiguous read of copies) and list, half the quota from the
// seeders' and half from the leechers' (which first is random; more from
// one when the other runs out), each cursor then moving past what was
// taken (a sort or a rebuild keeps it on the same member; a re-tag
// starts it afresh), so replies to one network go round all its peers
// (run and list as one cycle); the others come from the random window,
// skipping local tags. The IPv4 index lies right after the IPv4 entries,
// so a batch's lookahead fetches a reply's directory slots from the set's
// tag word, before the swarm's lock is taken.
// Invariants of a locality reply:
//   * it holds the same number of peers as a random one would, never self,
//     never a peer twice, only entries the role rules allow;
//   * it holds min(L, ceil(s·n)) local peers, L the eligible local ones,
//     and more only when the others run out (an untagged wide block is
//     walked for at most kLocalityScanLimit entries, so there L counts
//     only the entries walked; the others are sought among at most
//     kLocalityScanLimit entries of the window);
//   * a reply that holds every eligible peer anyway (the window holds at
//     most n entries: with default numwant every compact swarm) looks
//     nothing up and costs what a random one does.
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
#include "core/base/types.h"
#include "core/netmap/network_map.h"
#include "core/swarm/prefix_share.h"

namespace ringtrack {

struct SwarmCounts {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;
  uint32_t v4 = 0;  // of seeders + leechers, those on IPv4
  uint32_t seeders_v4 = 0;  // of seeders, those on IPv4
};

// How one Announce changed a set's counts (each field -1, 0 or +1).
struct CountChange {
  int32_t seeders = 0;
  int32_t leechers = 0;
  int32_t v4 = 0;  // of seeders + leechers, those on IPv4
  int32_t seeders_v4 = 0;  // of seeders, those on IPv4
  // Downloads counted in `completed` by this announce (0 or 1).
  int32_t downloads = 0;
};

// What every PeerSet call needs from its table. Immutable during a call.
// The default caps (SwarmTableConfig's, and so ringtrackd's), written once.
inline constexpr uint32_t kDefaultMaxPeersPerSource = 8;
inline constexpr uint32_t kDefaultMaxPeersPerSwarm = 100000;
// The most peers one set may hold: a wide block keeps its counts in the
// low 24 bits of 32-bit words (the top bytes hold a map generation).
inline constexpr uint32_t kMaxPeersPerSwarm = (1u << 24) - 1;

struct PeerSetContext {
  uint64_t seed = 0;  // keys the source hash
  uint32_t max_per_source = kDefaultMaxPeersPerSource;
  uint32_t max_per_swarm = kDefaultMaxPeersPerSwarm;
  MemoryBudget* budget = nullptr;  // REQUIRES: non-null
  // Counts every stored entry by its wide prefix and caps new ones
  // (nullptr: no prefix cap).
  PrefixShare* share = nullptr;
  // The network map of the announce being served (nullptr: none). With
  // one, a wide block carries network tags (see "Locality" above).
  const NetworkMap* map = nullptr;
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

// s = 3/4 in 1/65536ths: the default share of a reply taken from the
// requester's own network.
inline constexpr uint32_t kDefaultLocalityShareQ16 = 49152;
// Most entries one locality reply walks (see PeerSet), and the largest
// reply it shapes (a larger numwant gets the random selection; the
// tracker's caps are 200 and 66).
inline constexpr uint32_t kLocalityScanLimit = 2048;
inline constexpr uint32_t kMaxLocalityReply = 256;

// Locality for one Select(): with a map and a requester inside it, a reply
// of n peers takes up to ceil(s·n) of them from the requester's network and
// the rest at random from the others (all of the network's, then the
// others, when it holds fewer; more of its own when the others run out).
// Without a map, or for a requester outside it, the selection is the
// random one.
struct Locality {
  const NetworkMap* map = nullptr;  // nullptr: random selection
  NetworkId network = kOutsideMap;  // the requester's
  uint32_t share_q16 = kDefaultLocalityShareQ16;  // s·65536, at most 65536
  // s = 0 is the random selection, not "none from one's own network".
  bool active() const {
    return map != nullptr && network != kOutsideMap && share_q16 != 0;
  }
};

// What locality did to one reply: of the peers written, `ranked` were
// placed by network (0 when the reply holds every eligible peer anyway, so
// no entry was looked up), and `local` of those are in the requester's
// network.
struct LocalityTally {
  uint32_t local = 0;
  uint32_t ranked = 0;
};

struct PeerAnnounce {
  PeerEndpoint peer;
  bool seeder = false;          // left == 0
  bool completed_event = false; // event=completed
  uint32_t now = 0;             // seconds
  NetworkId network = kOutsideMap;  // the peer's, when ctx.map is set
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
  // Select() with locality (see Locality): the same peers are eligible and
  // the same count is written, local ones first. *tally (if not null)
  // receives what locality did. It writes the index (the networks'
  // cursors; a sort now and then) but no entry, under the swarm's lock as
  // every method.
  uint32_t Select(const PeerEndpoint& self, bool seeder, uint32_t want,
                  uint64_t random, std::span<uint8_t> out,
                  const Locality& loc, LocalityTally* tally) const;

  // Starts fetching what Announce() and then Select(self, seeder, want,
  // random) will read: the block header and, for IPv4, the entry's home in
  // the region of its role and the first entries of the reply window.
  // With an active `loc` and an IPv4 requester, also what a locality reply
  // reads first: its network's directory slots and the window's tags.
  // Reads only the set's own word, and may run without the swarm's lock
  // (a hint: a set changed meanwhile costs only a wasted prefetch).
  void Prefetch(const PeerEndpoint& self, bool seeder, uint32_t want,
                uint64_t random, const PeerSetContext& ctx,
                const Locality& loc = {}) const;

  // With the swarm's lock, before Announce() and then a Select() with
  // `loc`: starts fetching the first local entries that reply reads (where
  // they are is in the directory, which Prefetch() fetched), so that cache
  // miss overlaps the announce's own work.
  void PrefetchRuns(const PeerEndpoint& self, bool seeder, uint32_t want,
                    const Locality& loc) const;

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
  // List members plus dead run slots in family f's regions: what the next
  // sorts tidy (see "Locality"); 0 for a block without an index.
  uint32_t unsorted(AddressFamily f) const;

  // For tests: checks counts against entries, reachability of every entry
  // from its home, that no endpoint is stored twice, and a tagged block's
  // index (every tagged entry in exactly one of its network's run or list,
  // run copies equal to their entries, directory counts and cursors).
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
