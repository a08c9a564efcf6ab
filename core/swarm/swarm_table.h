// SwarmTable: info hash → swarm of peers, the tracker's only shared state.
//
// Slots. Each swarm is one 32-byte slot (half a cache line): a 32-bit
// state word (state, lock bit, version), the 20-byte info hash, and the
// PeerSet (core/swarm/peer_set.h: its block pointer, tagged with where the IPv4
// entries start, so an announce reads its entries without first waiting
// for the block's header). Probing is linear from a home picked by
// SipHash-2-4 keyed with a random seed, so crafted info hashes cannot build
// long probe chains. Finding or inserting a swarm takes no lock: a slot
// changes state only by CAS on its word. A swarm's peer set is guarded by
// the lock bit in that same word (critical sections are a few hundred
// nanoseconds, longer when a peer set grows, shrinks or re-sorts its
// locality index, O(its capacity), amortized over many announces), and
// acquiring the lock also validates that the slot still holds the same
// swarm (same version), which is what makes reclamation safe.
//
// Growth (folly AtomicHashMap's scheme). The table is a list of up to
// kMaxSubTables sub-tables. The first holds kInitialSlots slots (1 MiB);
// when no sub-table has room for a new swarm, one thread maps another
// sub-table of half the total so far (the table grows ×1.5, so it is never
// much emptier than 3/4 × 2/3 = 1/2) and publishes it. Nothing ever moves:
// a swarm stays in the slot it was created in, so lookups and the slot
// protocol are exactly those of a fixed table, run over each sub-table in
// turn (oldest first: the oldest swarms, created while the table was
// small, are the popular ones). We chose this over cooperative migration
// (Click's NonBlockingHashMap, junction's Leapfrog) because migrating a
// slot would mean moving a locked swarm and its peer pointer between
// tables while other threads hold its version; chaining keeps every
// invariant of the fixed table and costs one more probe run per sub-table
// on a miss (announces for new torrents and scrapes of unknown ones).
// Worst delay one request sees during a resize: the growing thread makes
// one mmap() call (the pages are zero and faulted in later by whoever
// touches them); an inserter that needs the new sub-table meanwhile spins
// for that one syscall (a few microseconds). Lookups never wait.
// The table never shrinks: at most `budget` bytes of slots exist, and
// tombstones left by a flood are reused or cleared by the sweep.
//
// Memory. Every slot array and every peer block is charged to one
// MemoryBudget. At the budget a new swarm is refused (kTableFull, or
// kNoMemory when its first peer does not fit: the tracker answers "tracker
// is full"); a newcomer to a swarm that holds peers is answered with peers
// but not stored, as at the per-swarm cap; stored peers keep announcing,
// expiring and changing role.
//
// Eviction. At the budget fresh peers win over stale ones: a peer not
// heard from for EvictAge() (an eighth of an interval past its re-announce)
// is removed before its timeout, by the sweep while less than 1/32 of the
// budget is free, and in a newcomer's own swarm before the newcomer is
// refused. A peer that re-announces every interval is
// never that old, so a flood can take only memory that stale entries held,
// and a flood that stops has aged out EvictAge() after its last announce
// instead of after the whole timeout.
//
// Fairness. With a SourceLimiter, one source (IPv4 address, IPv6 /64) and
// its wider prefixes may create new swarms only at their rates; PeerSet
// caps one source's entries per swarm and the size of a swarm; with a
// budget, PrefixShare caps the entries one IPv4 /24 or IPv6 /48 holds in
// the whole table (such peers get peers back, but are not stored).
//
// Thread safety: every public method may be called from any thread
// concurrently. Sweep() is meant for one housekeeping thread at a time.
//
// Slot life cycle (state in the low 3 bits of the word):
//   EMPTY --claim(CAS)--> CLAIMING --key written--> PENDING --rescan ok--> LIVE
//   PENDING --duplicate found--> TOMB      LIVE --swept while empty--> TOMB
//   TOMB --claim(CAS)--> CLAIMING
//   TOMB --Sweep, no probe path runs through it--> EMPTY
// Slots are ordered by (sub-table, distance from home); an inserter's rescan
// covers every sub-table, gives way to an earlier PENDING or any LIVE copy
// of its key and waits for a later PENDING one.
// Invariants:
//   * At most one LIVE slot holds a given info hash, across all sub-tables.
//   * A LIVE slot is reachable: no EMPTY slot lies between its home and it
//     in its sub-table (except for the atomic steps in which Sweep()
//     re-checks and reverts a tombstone it cleared; a lookup racing exactly
//     then may miss the swarm, so a scrape answers zeros once or a stopped
//     event is ignored and the peer expires instead).
//   * Tombstones do not pile up: the sweep clears any tombstone no probe
//     path runs through (it hashes the keys of the run after it), so probe
//     runs stay those of a table at its live load.
//   * Counts equal what the peer sets hold; budget used = slot arrays +
//     peer blocks.
//   * The version (upper 28 bits) changes whenever the slot changes swarm.
#ifndef RINGTRACK_CORE_SWARM_SWARM_TABLE_H_
#define RINGTRACK_CORE_SWARM_SWARM_TABLE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/base/memory_budget.h"
#include "core/swarm/peer_set.h"
#include "core/swarm/prefix_share.h"
#include "core/swarm/source_limiter.h"
#include "core/base/types.h"

namespace ringtrack {

struct SwarmTableConfig {
  // Slots of the first sub-table (32 bytes each); later ones grow the total
  // by half. Tests use tiny tables; the daemon uses the default (1 MiB).
  size_t initial_slots = 32768;
  // Optional extra cap on torrents (0 = only the budget limits them).
  size_t max_torrents = 0;
  // Keys the probe hash and the peer-set hashes.
  uint64_t seed0 = 0;
  uint64_t seed1 = 0;
  // A peer not seen for this long is removed by Sweep(). At most 86400 s.
  uint32_t peer_timeout_s = 3600;
  // The announce interval clients are told; sets EvictAge().
  uint32_t announce_interval_s = 1800;
  uint32_t max_peers_per_source = kDefaultMaxPeersPerSource;
  // At most kMaxPeersPerSwarm; a larger value is taken as that.
  uint32_t max_peers_per_swarm = kDefaultMaxPeersPerSwarm;
  // REQUIRES: outlives the table. nullptr: the table owns an unlimited one.
  MemoryBudget* budget = nullptr;
  // nullptr: new swarms are not rate limited per source.
  SourceLimiter* limiter = nullptr;
};

struct AnnounceParams {
  InfoHash info_hash;
  PeerEndpoint peer;  // the requester; its family selects the peer set
  Event event = Event::kNone;
  bool seeder = false;    // left == 0
  uint32_t numwant = 50;  // already capped by the caller
  uint32_t now = 0;       // seconds, Unix time
  uint64_t random = 0;    // randomizes peer selection
  // The requester's network and the share of the reply taken from it
  // (default: none, the random selection). REQUIRES: locality.map outlives
  // the call.
  Locality locality;
};

enum class AnnounceStatus : uint8_t {
  kOk,           // answered (the peer may still be unstored: see counters)
  kTableFull,    // new swarm refused: budget or --max-torrents
  kRateLimited,  // new swarm refused: its source creates swarms too fast
  kNoMemory,     // first peer of a swarm holding none refused: budget
};

struct AnnounceResult {
  AnnounceStatus status = AnnounceStatus::kOk;
  SwarmCounts counts;          // after this announce
  uint32_t peers_written = 0;  // entries written to the output span
  // What locality did to the reply (zeros unless p.locality.active()).
  LocalityTally locality;
};

// Why announces were refused or left unstored, by kind.
struct RefusalCounts {
  uint64_t torrent_memory = 0;  // new swarm, budget (or --max-torrents)
  uint64_t torrent_rate = 0;    // new swarm, source over its rate
  uint64_t peer_memory = 0;     // first peer of an empty swarm, budget
  uint64_t peer_source_cap = 0; // new peer not stored: per-source cap
  uint64_t peer_swarm_cap = 0;  // new peer not stored: swarm full
  uint64_t peer_memory_unstored = 0;  // new peer not stored: budget
  uint64_t peer_prefix_cap = 0;  // new peer not stored: its prefix's share
};

// One swarm as a snapshot (the state file) holds it.
struct SwarmRecord {
  InfoHash info_hash;
  uint32_t completed = 0;
  std::vector<PeerRecord> peers;
};

// What Restore() did with one swarm's peers.
struct RestoreCounts {
  uint64_t swarms = 0;   // swarms holding at least one restored peer
  uint64_t peers = 0;    // peers stored
  uint64_t expired = 0;  // peers skipped: their timeout had passed
  uint64_t refused = 0;  // peers or swarms refused: budget or caps
};

struct SwarmTableStats {
  uint64_t torrents = 0;
  uint64_t peers_v4 = 0;
  uint64_t peers_v6 = 0;
  uint64_t seeders = 0;
  uint64_t seeders_v4 = 0;  // of seeders, those on IPv4
  // Downloads announced (event=completed, or a stored leecher turning
  // seeder), once per stored entry, since start: what the swarms'
  // `completed` counts gained while serving (restored counts excluded).
  uint64_t downloads = 0;
  RefusalCounts refused;
  uint64_t evicted_stale = 0;  // peers removed at the budget before timeout
};

class SwarmTable {
 public:
  static constexpr size_t kMaxSubTables = 48;

  // REQUIRES: config.initial_slots ≥ 8.
  explicit SwarmTable(const SwarmTableConfig& config);
  ~SwarmTable();
  SwarmTable(const SwarmTable&) = delete;
  SwarmTable& operator=(const SwarmTable&) = delete;

  // Records the announce and writes up to p.numwant random peers of the
  // requester's family (never the requester; a seeder gets only leechers)
  // as BEP 15 peer entries into `peers_out`, as many as whole entries fit.
  // `stopped` removes the peer and writes no peers. `completed`, or a
  // leecher turning seeder, counts one download once per stored entry.
  AnnounceResult Announce(const AnnounceParams& p,
                          std::span<uint8_t> peers_out);

  // An announce's lookup begun ahead of the announce, so that the cache
  // misses of several announces overlap (Tracker::HandleBatch pipelines
  // them): StartLookup() starts fetching the swarm's slots; some time
  // later ContinueLookup() finds the swarm and starts fetching its peers;
  // some time later Announce(p, out, lookahead) does the announce. Both
  // steps only read and prefetch, without locks; the announce re-checks
  // under the swarm's lock that the slot still holds that swarm (its
  // version), so a swarm that changed in between costs only the lookup
  // done again, never a wrong result.
  class Lookahead {
   public:
    Lookahead() = default;

   private:
    friend class SwarmTable;
    uint64_t hash = 0;
    bool started = false;
    bool found = false;
    uint32_t k = 0;  // the slot's sub-table, index and word, when found
    size_t i = 0;
    uint32_t word = 0;
  };
  // Hashes the info hash and starts fetching its home slots.
  void StartLookup(const InfoHash& h, Lookahead* la) const;
  // Finds the swarm (REQUIRES: StartLookup(p.info_hash, la) ran) and starts
  // fetching the requester's entry and its reply window (and, with
  // p.locality active, what a shaped reply reads first).
  void ContinueLookup(const AnnounceParams& p, Lookahead* la) const;
  // Announce() that uses what a lookahead for p.info_hash found.
  AnnounceResult Announce(const AnnounceParams& p,
                          std::span<uint8_t> peers_out,
                          const Lookahead& la);

  // Counts of one swarm; zeros for an unknown info hash.
  SwarmCounts Scrape(const InfoHash& h);

  // Visits the next `max_slots` slots (wrapping around all sub-tables):
  // removes peers not seen for peer_timeout_s before `now`, reclaims swarms
  // with no peers, and clears tombstones where that keeps every chain
  // intact. Each slot is locked only while it is visited. Returns the
  // number of peers removed.
  size_t Sweep(uint32_t now, size_t max_slots);

  // Calls visit(record) for every swarm. Each swarm is copied under its
  // lock (held for the copy only) and visited with no lock held, so the
  // workers keep serving; a swarm changed meanwhile is seen before or
  // after the change. Last-seen times are read against `now`. Returns the
  // number of swarms visited.
  size_t ForEachSwarm(uint32_t now,
                      absl::FunctionRef<void(const SwarmRecord&)> visit);

  // Stores a swarm from a snapshot, as at start-up: peers whose timeout
  // has passed at `now` are skipped, the budget and the caps apply (not
  // the per-source rate of new swarms), peers already stored stay, and
  // `completed` becomes the record's when any peer is stored. Adds what it
  // did to *counts.
  void Restore(const SwarmRecord& record, uint32_t now, RestoreCounts* counts);

  // Changes the caps for the announces that follow (a reload).
  void SetLimits(size_t max_torrents, uint32_t max_peers_per_source,
                 uint32_t max_peers_per_swarm);
  // Changes the peer timeout for the sweeps and restores that follow.
  // REQUIRES: timeout_s <= 86400.
  void SetPeerTimeout(uint32_t timeout_s) {
    peer_timeout_s_.store(timeout_s, std::memory_order_relaxed);
  }
  // Changes the announce interval EvictAge() follows (a reload).
  void SetAnnounceInterval(uint32_t interval_s) {
    interval_s_.store(interval_s, std::memory_order_relaxed);
  }
  // Age past which a peer may be evicted at the budget: the interval and an
  // eighth of it (the peer has missed its re-announce), at most the
  // timeout. A peer that re-announces every interval never reaches it.
  uint32_t EvictAge() const;

  // Entries one IPv4 /24 or IPv6 /48 may hold in the whole table: 1/64 of
  // the peers the budget holds at 16 bytes each (budget / 1 KiB, at least
  // kMinPrefixShare); no cap without a budget.
  static constexpr size_t kBudgetBytesPerPrefixEntry = 1024;
  static constexpr uint32_t kMinPrefixShare = 1024;
  uint32_t max_peers_per_prefix() const {
    return share_ ? share_->max_entries() : UINT32_MAX;
  }

  SwarmTableStats stats() const;
  // Slots in all sub-tables.
  size_t capacity() const { return capacity_.load(std::memory_order_acquire); }
  size_t sub_tables() const { return nsubs_.load(std::memory_order_acquire); }
  // Bytes charged to the budget by this table: slot arrays plus peer
  // blocks, as the allocator holds them.
  size_t MemoryBytes() const { return budget_->used(); }
  // Longest probe run (slots from home to the first EMPTY) seen by the
  // sweep's last full pass, and tombstones it counted. For the soak test.
  size_t max_probe() const { return max_probe_.load(std::memory_order_relaxed); }
  size_t tombstones() const {
    return tombstones_.load(std::memory_order_relaxed);
  }

  // For tests: walks every slot under its lock and returns false (with a
  // message in *why) if a swarm's counts disagree with its peers, two
  // LIVE slots hold the same info hash, or the byte count is off. Not for
  // concurrent use.
  bool CheckInvariants(std::string* why);

  struct Slot;      // defined in swarm_table.cc
  struct SubTable;  // a slot array and its live count

  // A slot's address: which sub-table, which index.
  struct SlotRef {
    SubTable* sub = nullptr;
    uint32_t k = 0;  // sub-table index
    size_t i = 0;    // slot index
    uint32_t word = 0;
  };

 private:
  uint64_t HashOf(const InfoHash& h) const;
  bool Find(const InfoHash& h, uint64_t hash, SlotRef* at) const;
  // As Find, but inserts an empty swarm if there is none; a new swarm
  // from `src` is subject to the source limiter (nullptr: not limited). On
  // refusal returns false with *why set.
  bool FindOrInsert(const InfoHash& h, uint64_t hash, const PeerEndpoint* src,
                    uint32_t now, SlotRef* at, AnnounceStatus* why);
  // Scans every sub-table for `h`: LIVE → *found; else the first free slot
  // in a sub-table with room → *free. Returns false to ask for a rescan.
  bool ScanForInsert(const InfoHash& h, uint64_t hash, SlotRef* found,
                     SlotRef* free) const;
  // The rescan after publishing PENDING at `own`. True: keep it.
  bool ConfirmUnique(const InfoHash& h, uint64_t hash, const SlotRef& own);
  // Maps another sub-table if none was added since `seen`. False when the
  // budget leaves no room for one.
  bool Grow(uint32_t seen);
  bool TryLock(const SlotRef& at);
  void Unlock(const SlotRef& at);
  // Expires slot i's stale peers; with `evict_age` (under pressure) also
  // those older than it.
  void SweepSlot(SubTable& t, size_t i, uint32_t now, uint32_t evict_age);
  // Removes the locked swarm's peers older than `age`, counting them as
  // evicted. Returns whether any went.
  bool EvictStale(PeerSet& peers, uint32_t now, uint32_t age,
                  const PeerSetContext& ctx);
  // Whether the budget is under pressure: under 1/32 of it free.
  bool UnderPressure() const;
  // Turns tombstone i into EMPTY when no swarm's probe path runs through
  // it. Returns whether it did.
  bool ClearTombstone(SubTable& t, size_t i);
  PeerSetContext PeerContext() const;
  // Adds what one locked change did to the swarm to the table's totals.
  void CountDelta(const SwarmCounts& before, const SwarmCounts& after);
  // The same, from what an announce reported.
  void CountChanged(const CountChange& c);

  const SwarmTableConfig config_;
  std::unique_ptr<MemoryBudget> own_budget_;  // when config has none
  MemoryBudget* const budget_;
  // Live caps (SetLimits), read relaxed per announce.
  std::atomic<size_t> max_torrents_;
  std::atomic<uint32_t> max_per_source_;
  std::atomic<uint32_t> max_per_swarm_;
  std::atomic<uint32_t> peer_timeout_s_;
  std::atomic<uint32_t> interval_s_;
  // Immutable after construction; nullptr without a budget.
  std::unique_ptr<PrefixShare> share_;
  std::array<std::atomic<SubTable*>, kMaxSubTables> subs_{};
  std::atomic<uint32_t> nsubs_{0};
  std::atomic<size_t> capacity_{0};
  std::atomic<bool> growing_{false};
  std::atomic<uint64_t> live_{0};
  std::atomic<uint64_t> peers_v4_{0};
  std::atomic<uint64_t> peers_v6_{0};
  std::atomic<uint64_t> seeders_{0};
  std::atomic<uint64_t> seeders_v4_{0};
  std::atomic<uint64_t> downloads_{0};
  std::atomic<uint64_t> refused_torrent_memory_{0};
  std::atomic<uint64_t> refused_torrent_rate_{0};
  std::atomic<uint64_t> refused_peer_memory_{0};
  std::atomic<uint64_t> refused_source_cap_{0};
  std::atomic<uint64_t> refused_swarm_cap_{0};
  std::atomic<uint64_t> unstored_memory_{0};
  std::atomic<uint64_t> unstored_prefix_cap_{0};
  std::atomic<uint64_t> evicted_stale_{0};
  // Modified only by Sweep().
  uint32_t sweep_sub_ = 0;
  size_t sweep_index_ = 0;
  size_t pass_probe_ = 0, pass_run_ = 0, pass_tombs_ = 0;
  std::atomic<size_t> max_probe_{0};
  std::atomic<size_t> tombstones_{0};
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_SWARM_SWARM_TABLE_H_
