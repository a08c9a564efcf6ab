// SwarmTable: info hash → swarm of peers, the tracker's only shared state.
//
// A fixed-capacity open-addressing table (capacity a power of two chosen at
// start). Probing is linear from a home slot picked by SipHash-2-4 keyed with
// a random seed, so crafted info hashes cannot build long probe chains.
// Finding or inserting a swarm takes no lock: each slot has one 32-bit state
// word (state, lock bit, version) changed only by CAS. A swarm's peer set is
// guarded by the lock bit in that same word: critical sections are a few
// hundred nanoseconds (find/insert/erase one peer, copy up to numwant
// entries), and acquiring the lock also validates that the slot still holds
// the same swarm (same version), which is what makes reclamation safe.
// bench/core/swarm_table_bench.cc shows two threads on the same popular
// torrents against a sharded-mutex table.
//
// Peers are keyed by (IP, port), never by peer_id, so nobody can replace
// another's entry. IPv4 and IPv6 peers live in separate sets; a requester only
// gets peers of its own family. Peer sets are small open-addressing arrays
// (8 bytes per IPv4 peer, 20 per IPv6 peer, load ≤ 3/4).
//
// Thread safety: every public method may be called from any thread
// concurrently. Sweep() is meant for one housekeeping thread at a time.
//
// Slot life cycle (state in the low 3 bits of the word):
//   EMPTY --claim(CAS)--> CLAIMING --key written--> PENDING --rescan ok--> LIVE
//   PENDING --duplicate found--> TOMB      LIVE --swept while empty--> TOMB
//   TOMB --claim(CAS)--> CLAIMING          TOMB --Sweep, next is EMPTY--> EMPTY
// Invariants:
//   * At most one LIVE slot holds a given info hash.
//   * A LIVE slot is reachable: no EMPTY slot lies between its home and it
//     (except for the two atomic steps in which Sweep() checks and reverts a
//     tombstone it cleared; a lookup racing exactly then may miss the swarm,
//     so a scrape answers zeros once or a stopped event is ignored and the
//     peer expires instead).
//   * seeders ≤ count4 + count6, and both equal what the peer sets hold.
//   * The version (upper 28 bits) changes whenever the slot changes swarm.
#ifndef RINGTRACK_CORE_SWARM_TABLE_H_
#define RINGTRACK_CORE_SWARM_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/protocol.h"
#include "core/types.h"

namespace ringtrack {

struct SwarmTableConfig {
  // Number of slots; a power of two. At most 7/8 of them hold swarms.
  size_t capacity = size_t{1} << 20;
  // Keys the probe hash and the peer-set hashes.
  uint64_t seed0 = 0;
  uint64_t seed1 = 0;
  // A peer not seen for this long is removed by Sweep(). At most 86400 s.
  uint32_t peer_timeout_s = 3600;
};

struct SwarmCounts {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;
};

struct AnnounceParams {
  InfoHash info_hash;
  PeerEndpoint peer;  // the requester; its family selects the peer set
  protocol::Event event = protocol::Event::kNone;
  bool seeder = false;    // left == 0
  uint32_t numwant = 50;  // already capped by the caller
  uint32_t now = 0;       // seconds, any monotonic origin
  uint64_t random = 0;    // randomizes peer selection
};

enum class AnnounceStatus : uint8_t { kOk, kTableFull };

struct AnnounceResult {
  AnnounceStatus status = AnnounceStatus::kOk;
  SwarmCounts counts;          // after this announce
  uint32_t peers_written = 0;  // entries written to the output span
};

struct SwarmTableStats {
  uint64_t torrents = 0;
  uint64_t peers_v4 = 0;
  uint64_t peers_v6 = 0;
  uint64_t refused_full = 0;
};

class SwarmTable {
 public:
  // REQUIRES: config.capacity is a power of two ≥ 8.
  explicit SwarmTable(const SwarmTableConfig& config);
  ~SwarmTable();
  SwarmTable(const SwarmTable&) = delete;
  SwarmTable& operator=(const SwarmTable&) = delete;

  // Records the announce and writes up to p.numwant random peers of the
  // requester's family (never the requester; a seeder gets only leechers)
  // as BEP 15 peer entries into `peers_out`, as many as whole entries fit.
  // `stopped` removes the peer and writes no peers. `completed`, or a
  // leecher turning seeder, counts one download once.
  AnnounceResult Announce(const AnnounceParams& p,
                          std::span<uint8_t> peers_out);

  // Counts of one swarm; zeros for an unknown info hash.
  SwarmCounts Scrape(const InfoHash& h);

  // Visits the next `max_slots` slots (wrapping around): removes peers
  // not seen for peer_timeout_s before `now`, reclaims swarms with no peers,
  // and clears tombstones where that keeps every chain intact. Each slot is
  // locked only while it is visited. Returns the number of peers removed.
  size_t Sweep(uint32_t now, size_t max_slots);

  SwarmTableStats stats() const;
  size_t capacity() const { return mask_ + 1; }
  // Bytes the table owns: slots plus peer arrays (malloc overhead excluded).
  size_t MemoryBytes() const;

  // For tests: walks every slot under its lock and returns false (with a
  // message in *why) if a swarm's counts disagree with its peers or two
  // LIVE slots hold the same info hash. Not for concurrent use.
  bool CheckInvariants(std::string* why);

  struct Slot;  // defined in swarm_table.cc

 private:
  uint64_t HashOf(const InfoHash& h) const;
  // Returns the index of the LIVE slot holding `h` and its word, or -1.
  int64_t Find(const InfoHash& h, uint64_t hash, uint32_t* word) const;
  // As Find, but inserts an empty swarm if there is none. -1 when full.
  int64_t FindOrInsert(const InfoHash& h, uint64_t hash, uint32_t* word);
  // Locks slot `i` iff it still has word `word` (modulo the lock bit).
  bool TryLock(size_t i, uint32_t word);
  void Unlock(size_t i);
  void SweepSlot(size_t i, uint32_t now_tick);
  void ClearTombstone(size_t i);

  const SwarmTableConfig config_;
  const size_t mask_;
  const size_t max_live_;
  Slot* slots_;  // owned; capacity() entries, 64-byte aligned
  std::atomic<uint64_t> live_{0};
  std::atomic<uint64_t> peers_v4_{0};
  std::atomic<uint64_t> peers_v6_{0};
  std::atomic<uint64_t> refused_full_{0};
  std::atomic<uint64_t> peer_bytes_{0};
  size_t sweep_cursor_ = 0;  // modified only by Sweep()
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_SWARM_TABLE_H_
