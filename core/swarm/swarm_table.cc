#include "core/swarm/swarm_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/siphash.h"

namespace ringtrack {
namespace {

// ---- Slot state word: [version:28][lock:1][state:3]
constexpr uint32_t kStateMask = 7;
constexpr uint32_t kEmpty = 0;
constexpr uint32_t kClaiming = 1;
constexpr uint32_t kPending = 2;
constexpr uint32_t kLive = 3;
constexpr uint32_t kTomb = 4;
constexpr uint32_t kLockBit = 8;
constexpr uint32_t kVersionMask = ~uint32_t{15};
constexpr uint32_t kVersionUnit = 16;

inline uint32_t StateOf(uint32_t w) { return w & kStateMask; }
inline uint32_t WithState(uint32_t w, uint32_t st) {
  return (w & kVersionMask) | st;
}
inline uint32_t NextVersion(uint32_t w, uint32_t st) {
  return ((w & kVersionMask) + kVersionUnit) | st;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Smallest sub-table grown when the budget is nearly spent.
constexpr size_t kMinGrowSlots = 1024;

}  // namespace

struct alignas(32) SwarmTable::Slot {
  std::atomic<uint32_t> word;
  std::atomic<uint32_t> key2;  // info hash bytes 16..19
  std::atomic<uint64_t> key0;  // bytes 0..7
  std::atomic<uint64_t> key1;  // bytes 8..15
  // Guarded by the lock bit (owned by the claimer while CLAIMING/PENDING).
  PeerSet peers;
};
static_assert(sizeof(SwarmTable::Slot) == 32, "two swarms per cache line");
// Sub-tables are fresh anonymous mappings and are used without running
// constructors: all-zero bytes are an EMPTY slot (word 0, no peer block),
// and every member is a lock-free atomic or a plain pointer.
static_assert(std::is_standard_layout_v<SwarmTable::Slot>);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

struct SwarmTable::SubTable {
  Slot* slots = nullptr;  // mmap'd, `cap` entries
  size_t cap = 0;
  size_t max_live = 0;          // 3/4 of cap: probe runs stay short
  size_t bytes = 0;             // mapped bytes, charged to the budget
  std::atomic<uint64_t> live{0};  // CLAIMING + PENDING + LIVE slots
};

namespace {

using SubTable = SwarmTable::SubTable;
using Slot = SwarmTable::Slot;

inline size_t HomeOf(uint64_t hash, size_t cap) {
  return static_cast<size_t>(
      (static_cast<unsigned __int128>(hash) * cap) >> 64);
}
inline size_t NextIndex(size_t i, size_t cap) {
  return i + 1 == cap ? 0 : i + 1;
}
inline size_t PrevIndex(size_t i, size_t cap) {
  return i == 0 ? cap - 1 : i - 1;
}

struct KeyWords {
  uint64_t k0, k1;
  uint32_t k2;
};
inline KeyWords KeyOf(const InfoHash& h) {
  KeyWords k;
  std::memcpy(&k.k0, h.bytes.data(), 8);
  std::memcpy(&k.k1, h.bytes.data() + 8, 8);
  std::memcpy(&k.k2, h.bytes.data() + 16, 4);
  return k;
}

enum class KeyCheck { kMatch, kNoMatch, kChanged };

// Seqlock read of a slot's key, validated against the word `w` it was read
// under: the acquire fence orders the key loads before the re-check, and
// pairs with the release fence a claimer issues before rewriting the key.
inline KeyCheck CheckKey(const Slot& s, uint32_t w, const KeyWords& k) {
  const bool eq = s.key0.load(std::memory_order_relaxed) == k.k0 &&
                  s.key1.load(std::memory_order_relaxed) == k.k1 &&
                  s.key2.load(std::memory_order_relaxed) == k.k2;
  std::atomic_thread_fence(std::memory_order_acquire);
  const uint32_t w2 = s.word.load(std::memory_order_relaxed);
  if ((w2 ^ w) & ~kLockBit) return KeyCheck::kChanged;
  return eq ? KeyCheck::kMatch : KeyCheck::kNoMatch;
}

// Spins until slot `s` leaves word `w` (modulo the lock bit).
inline void WaitForChange(const Slot& s, uint32_t w) {
  while (((s.word.load(std::memory_order_acquire) ^ w) & ~kLockBit) == 0) {
    CpuRelax();
  }
}

size_t PageRound(size_t n) { return (n + 4095) & ~size_t{4095}; }

// A lookup visits every sub-table's probe run for its key; fetching all
// their home slots at once turns up to kMaxSubTables dependent cache misses
// into parallel ones.
inline void PrefetchHomes(const std::atomic<SubTable*>* subs, uint32_t n,
                          uint64_t hash) {
  for (uint32_t k = 0; k < n; ++k) {
    const SubTable* t = subs[k].load(std::memory_order_acquire);
    __builtin_prefetch(&t->slots[HomeOf(hash, t->cap)]);
  }
}

}  // namespace

SwarmTable::SwarmTable(const SwarmTableConfig& config)
    : config_(config),
      own_budget_(config.budget ? nullptr
                                : std::make_unique<MemoryBudget>(SIZE_MAX)),
      budget_(config.budget ? config.budget : own_budget_.get()),
      max_torrents_(config.max_torrents),
      max_per_source_(config.max_peers_per_source),
      max_per_swarm_(std::min(config.max_peers_per_swarm, kMaxPeersPerSwarm)),
      peer_timeout_s_(config.peer_timeout_s),
      interval_s_(config.announce_interval_s) {
  assert(config.initial_slots >= 8);
  if (budget_->limit() != SIZE_MAX) {
    const size_t share = std::clamp<size_t>(
        budget_->limit() / kBudgetBytesPerPrefixEntry, kMinPrefixShare,
        UINT32_MAX);
    // 64 Ki counter pairs (256 KiB): two prefixes' counters both collide
    // with probability ~ (F / 65536)^2 for F prefixes at their share.
    share_ = std::make_unique<PrefixShare>(
        size_t{1} << 16, static_cast<uint32_t>(share),
        config.seed0 * 0x9e3779b97f4a7c15ULL ^ config.seed1);
  }
  Grow(0);  // the first sub-table; a budget too small for it leaves none
}

SwarmTable::~SwarmTable() {
  const uint32_t n = nsubs_.load();
  for (uint32_t k = 0; k < n; ++k) {
    SubTable* t = subs_[k].load();
    for (size_t i = 0; i < t->cap; ++i) t->slots[i].peers.Clear(budget_);
    munmap(t->slots, t->bytes);
    budget_->Release(t->bytes);
    delete t;
  }
}

uint64_t SwarmTable::HashOf(const InfoHash& h) const {
  const uint32_t tail = uint32_t{h.bytes[16]} | (uint32_t{h.bytes[17]} << 8) |
                        (uint32_t{h.bytes[18]} << 16) |
                        (uint32_t{h.bytes[19]} << 24);
  return rt_siphash24_conn(config_.seed0, config_.seed1, h.bytes.data(), tail);
}

PeerSetContext SwarmTable::PeerContext() const {
  PeerSetContext c;
  c.seed = config_.seed0 ^ config_.seed1;
  c.max_per_source = max_per_source_.load(std::memory_order_relaxed);
  c.max_per_swarm = max_per_swarm_.load(std::memory_order_relaxed);
  c.budget = budget_;
  c.share = share_.get();
  return c;
}

uint32_t SwarmTable::EvictAge() const {
  const uint32_t interval = interval_s_.load(std::memory_order_relaxed);
  const uint32_t timeout = peer_timeout_s_.load(std::memory_order_relaxed);
  return std::min(interval + interval / 8, timeout);
}

bool SwarmTable::UnderPressure() const {
  return budget_->limit() != SIZE_MAX &&
         budget_->available() < budget_->limit() / 32;
}

bool SwarmTable::EvictStale(PeerSet& peers, uint32_t now, uint32_t age,
                            const PeerSetContext& ctx) {
  const SwarmCounts before = peers.counts();
  const PeerSet::Expired ex = peers.Expire(now, age, ctx);
  if (ex.v4 + ex.v6 == 0) return false;
  CountDelta(before, peers.counts());
  evicted_stale_.fetch_add(ex.v4 + ex.v6, std::memory_order_relaxed);
  return true;
}

bool SwarmTable::Grow(uint32_t seen) {
  if (growing_.exchange(true, std::memory_order_acquire)) {
    // Another thread is mapping a sub-table: wait for that one syscall.
    while (growing_.load(std::memory_order_acquire)) CpuRelax();
    return nsubs_.load(std::memory_order_acquire) != seen;
  }
  bool grew = true;
  const uint32_t n = nsubs_.load(std::memory_order_acquire);
  if (n == seen) {
    size_t want = std::max(config_.initial_slots, capacity() / 2);
    // Near the budget, a smaller sub-table still helps (not a tiny one).
    const size_t fits = budget_->available() / sizeof(Slot);
    bool worth_it = true;
    if (n > 0 && want > fits) {
      want = fits & ~size_t{63};
      worth_it = want >= kMinGrowSlots;
    }
    grew = false;
    if (n < kMaxSubTables && worth_it) {
      const size_t bytes = PageRound(want * sizeof(Slot));
      if (budget_->TryCharge(bytes)) {
        void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
          budget_->Release(bytes);
        } else {
          auto* t = new SubTable;
          t->slots = static_cast<Slot*>(mem);
          t->cap = want;
          t->max_live = want - want / 4;
          t->bytes = bytes;
          subs_[n].store(t, std::memory_order_release);
          capacity_.fetch_add(want, std::memory_order_release);
          // seq_cst: an inserter whose rescan loads the count after this
          // store sees the new sub-table (see ConfirmUnique).
          nsubs_.store(n + 1, std::memory_order_seq_cst);
          grew = true;
        }
      }
    }
  }
  growing_.store(false, std::memory_order_release);
  return grew;
}

bool SwarmTable::Find(const InfoHash& h, uint64_t hash, SlotRef* at) const {
  const KeyWords key = KeyOf(h);
  const uint32_t n = nsubs_.load(std::memory_order_acquire);
  if (n > 1) PrefetchHomes(subs_.data(), n, hash);
  for (uint32_t k = 0; k < n; ++k) {
    SubTable* t = subs_[k].load(std::memory_order_acquire);
    size_t i = HomeOf(hash, t->cap);
    for (size_t d = 0; d < t->cap; ++d, i = NextIndex(i, t->cap)) {
      const Slot& s = t->slots[i];
      const uint32_t w = s.word.load(std::memory_order_acquire);
      const uint32_t st = StateOf(w);
      if (st == kEmpty) break;
      if (st != kLive) continue;  // a PENDING insert has not happened yet
      const KeyCheck c = CheckKey(s, w, key);
      if (c == KeyCheck::kChanged) {
        // Look at this slot again.
        i = PrevIndex(i, t->cap);
        --d;
        continue;
      }
      if (c == KeyCheck::kMatch) {
        *at = {t, k, i, w};
        return true;
      }
    }
  }
  return false;
}

bool SwarmTable::ScanForInsert(const InfoHash& h, uint64_t hash,
                               SlotRef* found, SlotRef* free) const {
  const KeyWords key = KeyOf(h);
  const uint32_t n = nsubs_.load(std::memory_order_acquire);
  if (n > 1) PrefetchHomes(subs_.data(), n, hash);
  for (uint32_t k = 0; k < n; ++k) {
    SubTable* t = subs_[k].load(std::memory_order_acquire);
    const bool room =
        free->sub == nullptr &&
        t->live.load(std::memory_order_relaxed) < t->max_live;
    size_t i = HomeOf(hash, t->cap);
    for (size_t d = 0; d < t->cap; ++d, i = NextIndex(i, t->cap)) {
      Slot& s = t->slots[i];
      const uint32_t w = s.word.load(std::memory_order_acquire);
      const uint32_t st = StateOf(w);
      if (st == kEmpty || st == kTomb) {
        if (room && free->sub == nullptr) *free = {t, k, i, w};
        if (st == kEmpty) break;
        continue;
      }
      if (st == kClaiming) continue;
      const KeyCheck c = CheckKey(s, w, key);
      if (c == KeyCheck::kChanged) return false;
      if (c == KeyCheck::kNoMatch) continue;
      if (st == kLive) {
        *found = {t, k, i, w};
        return true;
      }
      WaitForChange(s, w);  // someone is inserting this very swarm
      return false;
    }
  }
  return true;
}

bool SwarmTable::ConfirmUnique(const InfoHash& h, uint64_t hash,
                               const SlotRef& own) {
  // Abandon our slot if an EMPTY precedes it in its sub-table (Sweep
  // cleared a tombstone: our slot would be unreachable), if the key is
  // LIVE elsewhere, or if an earlier slot is PENDING with it; wait for a
  // later PENDING one to resolve (it will see us and give way, or go LIVE
  // first, and then we give way).
  const KeyWords key = KeyOf(h);
  const uint32_t n = nsubs_.load(std::memory_order_seq_cst);
  for (uint32_t k = 0; k < n; ++k) {
    SubTable* t = subs_[k].load(std::memory_order_acquire);
    bool passed_own = k > own.k;  // later sub-tables come after us
    size_t i = HomeOf(hash, t->cap);
    for (size_t d = 0; d < t->cap; ++d, i = NextIndex(i, t->cap)) {
      if (t == own.sub && i == own.i) {
        passed_own = true;
        continue;
      }
      Slot& s = t->slots[i];
      const uint32_t w = s.word.load(std::memory_order_seq_cst);
      const uint32_t st = StateOf(w);
      if (st == kEmpty) {
        if (t == own.sub && !passed_own) return false;
        break;
      }
      if (st == kTomb || st == kClaiming) continue;
      const KeyCheck c = CheckKey(s, w, key);
      if (c == KeyCheck::kNoMatch) continue;
      if (c == KeyCheck::kMatch && (st == kLive || !passed_own)) return false;
      if (c == KeyCheck::kMatch) WaitForChange(s, w);
      // Look at this slot again (changed, or waited for).
      i = PrevIndex(i, t->cap);
      --d;
    }
  }
  return true;
}

bool SwarmTable::FindOrInsert(const InfoHash& h, uint64_t hash,
                              const PeerEndpoint* src, uint32_t now,
                              SlotRef* at, AnnounceStatus* why) {
  const KeyWords key = KeyOf(h);
  bool allowed = false;  // the limiter is asked once per new swarm
  for (;;) {
    SlotRef found, free;
    const uint32_t seen = nsubs_.load(std::memory_order_acquire);
    if (!ScanForInsert(h, hash, &found, &free)) continue;
    if (found.sub != nullptr) {
      *at = found;
      return true;
    }
    if (!allowed) {
      if (src && config_.limiter && !config_.limiter->Allow(*src, now)) {
        refused_torrent_rate_.fetch_add(1, std::memory_order_relaxed);
        *why = AnnounceStatus::kRateLimited;
        return false;
      }
      allowed = true;
    }
    const size_t max_torrents = max_torrents_.load(std::memory_order_relaxed);
    const bool capped = max_torrents != 0 &&
                        live_.load(std::memory_order_relaxed) >= max_torrents;
    if (free.sub == nullptr || capped) {
      if (!capped && Grow(seen)) continue;
      refused_torrent_memory_.fetch_add(1, std::memory_order_relaxed);
      *why = AnnounceStatus::kTableFull;
      return false;
    }
    SubTable& t = *free.sub;
    if (t.live.fetch_add(1, std::memory_order_relaxed) >= t.max_live) {
      t.live.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    // Claim the slot and publish our key as PENDING.
    Slot& s = t.slots[free.i];
    uint32_t expect = free.word;
    const uint32_t claimed = NextVersion(expect, kClaiming);
    if (!s.word.compare_exchange_strong(expect, claimed,
                                        std::memory_order_acq_rel)) {
      t.live.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    // Release fence: a reader that sees any of the key stores below also
    // sees the new version when it re-checks the word (see CheckKey).
    std::atomic_thread_fence(std::memory_order_release);
    s.key0.store(key.k0, std::memory_order_relaxed);
    s.key1.store(key.k1, std::memory_order_relaxed);
    s.key2.store(key.k2, std::memory_order_relaxed);
    const uint32_t pending = WithState(claimed, kPending);
    // seq_cst: with the seq_cst loads of ConfirmUnique, of two inserters
    // of the same key at least one sees the other (store-load ordering).
    s.word.store(pending, std::memory_order_seq_cst);
    free.word = pending;
    if (!ConfirmUnique(h, hash, free)) {
      s.word.store(NextVersion(pending, kTomb), std::memory_order_release);
      t.live.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    live_.fetch_add(1, std::memory_order_relaxed);
    const uint32_t live = WithState(pending, kLive);
    // Release: a thread that locks this slot sees the initialized fields.
    s.word.store(live, std::memory_order_release);
    free.word = live;
    *at = free;
    return true;
  }
}

bool SwarmTable::TryLock(const SlotRef& at) {
  std::atomic<uint32_t>& w = at.sub->slots[at.i].word;
  const uint32_t unlocked = at.word & ~kLockBit;
  uint32_t cur = w.load(std::memory_order_relaxed);
  for (;;) {
    if ((cur & ~kLockBit) != unlocked) return false;  // swarm gone
    if (cur & kLockBit) {
      CpuRelax();
      cur = w.load(std::memory_order_relaxed);
      continue;
    }
    // Acquire: pairs with the release in Unlock()/FindOrInsert().
    if (w.compare_exchange_weak(cur, unlocked | kLockBit,
                                std::memory_order_acquire,
                                std::memory_order_relaxed)) {
      return true;
    }
  }
}

void SwarmTable::Unlock(const SlotRef& at) {
  std::atomic<uint32_t>& w = at.sub->slots[at.i].word;
  // Only the holder changes a locked word, so a plain release store works.
  w.store(w.load(std::memory_order_relaxed) & ~kLockBit,
          std::memory_order_release);
}

void SwarmTable::CountDelta(const SwarmCounts& before,
                            const SwarmCounts& after) {
  // A swarm's counts stay far below 2^31 (a region holds at most ~26 M
  // entries), so each difference fits.
  auto diff = [](uint32_t a, uint32_t b) {
    return static_cast<int32_t>(int64_t{a} - int64_t{b});
  };
  CountChanged({diff(after.seeders, before.seeders),
                diff(after.leechers, before.leechers),
                diff(after.v4, before.v4),
                diff(after.seeders_v4, before.seeders_v4)});
}

void SwarmTable::CountChanged(const CountChange& c) {
  // Most announces refresh a stored peer and change nothing: skip the
  // shared counters' cache lines then.
  if (c.v4 != 0) {
    peers_v4_.fetch_add(static_cast<uint64_t>(int64_t{c.v4}),
                        std::memory_order_relaxed);
  }
  const int32_t v6 = c.seeders + c.leechers - c.v4;
  if (v6 != 0) {
    peers_v6_.fetch_add(static_cast<uint64_t>(int64_t{v6}),
                        std::memory_order_relaxed);
  }
  if (c.seeders != 0) {
    seeders_.fetch_add(static_cast<uint64_t>(int64_t{c.seeders}),
                       std::memory_order_relaxed);
  }
  if (c.seeders_v4 != 0) {
    seeders_v4_.fetch_add(static_cast<uint64_t>(int64_t{c.seeders_v4}),
                          std::memory_order_relaxed);
  }
  if (c.downloads != 0) {
    downloads_.fetch_add(static_cast<uint64_t>(int64_t{c.downloads}),
                         std::memory_order_relaxed);
  }
}

void SwarmTable::StartLookup(const InfoHash& h, Lookahead* la) const {
  la->hash = HashOf(h);
  la->started = true;
  la->found = false;
  PrefetchHomes(subs_.data(), nsubs_.load(std::memory_order_acquire),
                la->hash);
}

void SwarmTable::ContinueLookup(const AnnounceParams& p,
                                Lookahead* la) const {
  SlotRef at;
  if (!Find(p.info_hash, la->hash, &at)) return;
  la->found = true;
  la->k = at.k;
  la->i = at.i;
  la->word = at.word;
  at.sub->slots[at.i].peers.Prefetch(p.peer, p.seeder, p.numwant, p.random,
                                     PeerContext(), p.locality);
}

AnnounceResult SwarmTable::Announce(const AnnounceParams& p,
                                    std::span<uint8_t> peers_out) {
  Lookahead la;
  la.hash = HashOf(p.info_hash);
  la.started = true;
  return Announce(p, peers_out, la);
}

AnnounceResult SwarmTable::Announce(const AnnounceParams& p,
                                    std::span<uint8_t> peers_out,
                                    const Lookahead& la) {
  AnnounceResult r;
  const uint64_t hash = la.started ? la.hash : HashOf(p.info_hash);
  const bool stopped = p.event == Event::kStopped;
  SlotRef at;
  // What the lookahead found, if it is still that swarm (TryLock checks the
  // slot's version); otherwise the lookup again.
  bool hinted = la.found;
  if (hinted) {
    at = {subs_[la.k].load(std::memory_order_acquire), la.k, la.i, la.word};
  }
  for (;;) {
    if (hinted) {
      hinted = false;
      if (TryLock(at)) break;
    }
    if (stopped) {
      if (!Find(p.info_hash, hash, &at)) return r;
    } else if (!FindOrInsert(p.info_hash, hash, &p.peer, p.now, &at,
                             &r.status)) {
      return r;
    }
    if (TryLock(at)) break;
  }
  Slot& s = at.sub->slots[at.i];
  PeerSetContext ctx = PeerContext();
  ctx.map = p.locality.map;
  if (stopped) {
    const SwarmCounts before = s.peers.counts();
    s.peers.Remove(p.peer, ctx);
    r.counts = s.peers.counts();
    CountDelta(before, r.counts);
    Unlock(at);
    return r;
  }
  if (p.locality.active()) {
    s.peers.PrefetchRuns(p.peer, p.seeder, p.numwant, p.locality);
  }
  PeerAnnounce a;
  a.peer = p.peer;
  a.network = p.locality.network;
  a.seeder = p.seeder;
  a.completed_event = p.event == Event::kCompleted;
  a.now = p.now;
  CountChange change;
  PeerChange done = s.peers.Announce(a, ctx, &change);
  if (done == PeerChange::kNoMemory &&
      EvictStale(s.peers, p.now, EvictAge(), ctx)) {
    done = s.peers.Announce(a, ctx, &change);
  }
  switch (done) {
    case PeerChange::kNoMemory:
      if (s.peers.empty()) {
        // A swarm without peers is a new torrent to its newcomer.
        refused_peer_memory_.fetch_add(1, std::memory_order_relaxed);
        r.status = AnnounceStatus::kNoMemory;
      } else {
        unstored_memory_.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    case PeerChange::kPrefixCapped:
      unstored_prefix_cap_.fetch_add(1, std::memory_order_relaxed);
      break;
    case PeerChange::kSourceCapped:
      refused_source_cap_.fetch_add(1, std::memory_order_relaxed);
      break;
    case PeerChange::kSwarmFull:
      refused_swarm_cap_.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      break;
  }
  if (r.status == AnnounceStatus::kOk) {
    r.peers_written =
        p.locality.active()
            ? s.peers.Select(p.peer, p.seeder, p.numwant, p.random, peers_out,
                             p.locality, &r.locality)
            : s.peers.Select(p.peer, p.seeder, p.numwant, p.random,
                             peers_out);
  }
  r.counts = s.peers.counts();
  CountChanged(change);
  Unlock(at);
  return r;
}

SwarmCounts SwarmTable::Scrape(const InfoHash& h) {
  const uint64_t hash = HashOf(h);
  for (;;) {
    SlotRef at;
    if (!Find(h, hash, &at)) return {};
    if (!TryLock(at)) continue;
    const SwarmCounts c = at.sub->slots[at.i].peers.counts();
    Unlock(at);
    return c;
  }
}

size_t SwarmTable::ForEachSwarm(
    uint32_t now, absl::FunctionRef<void(const SwarmRecord&)> visit) {
  SwarmRecord rec;
  size_t visited = 0;
  const uint32_t n = nsubs_.load(std::memory_order_acquire);
  for (uint32_t k = 0; k < n; ++k) {
    SubTable& t = *subs_[k].load(std::memory_order_acquire);
    for (size_t i = 0; i < t.cap; ++i) {
      Slot& s = t.slots[i];
      const uint32_t w = s.word.load(std::memory_order_acquire);
      if (StateOf(w) != kLive) continue;
      // TryLock fails only if the swarm left the slot: then it is gone.
      if (!TryLock(SlotRef{&t, k, i, w})) continue;
      const uint64_t k0 = s.key0.load(std::memory_order_relaxed);
      const uint64_t k1 = s.key1.load(std::memory_order_relaxed);
      const uint32_t k2 = s.key2.load(std::memory_order_relaxed);
      std::memcpy(rec.info_hash.bytes.data(), &k0, 8);
      std::memcpy(rec.info_hash.bytes.data() + 8, &k1, 8);
      std::memcpy(rec.info_hash.bytes.data() + 16, &k2, 4);
      rec.completed = s.peers.counts().completed;
      rec.peers.clear();
      s.peers.Snapshot(now, &rec.peers);
      Unlock(SlotRef{&t, k, i, w});
      if (rec.peers.empty()) continue;  // about to be reclaimed
      visit(rec);
      ++visited;
    }
  }
  return visited;
}

void SwarmTable::Restore(const SwarmRecord& record, uint32_t now,
                         RestoreCounts* counts) {
  const uint32_t timeout = peer_timeout_s_.load(std::memory_order_relaxed);
  size_t alive = 0;
  for (const PeerRecord& p : record.peers) {
    // A time after `now` (the clock went back) counts as seen now.
    alive += p.last_seen > now || now - p.last_seen <= timeout;
  }
  counts->expired += record.peers.size() - alive;
  if (alive == 0) return;
  const uint64_t hash = HashOf(record.info_hash);
  SlotRef at;
  for (;;) {
    AnnounceStatus why;
    if (!FindOrInsert(record.info_hash, hash, nullptr, now, &at, &why)) {
      counts->refused += alive;
      return;
    }
    if (TryLock(at)) break;
  }
  Slot& s = at.sub->slots[at.i];
  const PeerSetContext ctx = PeerContext();
  const SwarmCounts before = s.peers.counts();
  uint64_t stored = 0;
  for (PeerRecord p : record.peers) {
    if (p.last_seen <= now && now - p.last_seen > timeout) continue;
    p.last_seen = std::min(p.last_seen, now);
    const PeerChange c = s.peers.Restore(p, ctx);
    stored += c == PeerChange::kAdded;
    counts->refused += c != PeerChange::kAdded && c != PeerChange::kUpdated;
  }
  if (!s.peers.empty()) {
    s.peers.SetCompleted(std::max(before.completed, record.completed));
  }
  counts->peers += stored;
  counts->swarms += stored != 0;
  CountDelta(before, s.peers.counts());
  // A swarm left without peers is reclaimed by the sweep, as after a
  // stopped event.
  Unlock(at);
}

void SwarmTable::SweepSlot(SubTable& t, size_t i, uint32_t now,
                           uint32_t evict_age) {
  Slot& s = t.slots[i];
  const uint32_t w = s.word.load(std::memory_order_acquire);
  if (StateOf(w) != kLive || (w & kLockBit)) return;  // busy: next round
  const SlotRef at{&t, 0, i, w};
  if (!TryLock(at)) return;
  const PeerSetContext ctx = PeerContext();
  const SwarmCounts before = s.peers.counts();
  s.peers.Expire(now, peer_timeout_s_.load(std::memory_order_relaxed), ctx);
  CountDelta(before, s.peers.counts());
  if (evict_age != 0) EvictStale(s.peers, now, evict_age, ctx);
  if (s.peers.empty()) s.peers.Clear(budget_);
  if (s.peers.empty()) {
    // Release: the next claimer of this tombstone sees the cleared set.
    s.word.store(NextVersion(w, kTomb), std::memory_order_release);
    live_.fetch_sub(1, std::memory_order_relaxed);
    t.live.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  Unlock(at);
}

bool SwarmTable::ClearTombstone(SubTable& t, size_t i) {
  // A tombstone may become EMPTY iff no swarm's probe path runs through it:
  // for every slot j after it up to the run's end (the next EMPTY), j's
  // home lies after i. A slot being claimed (key not yet known) or whose
  // key changes while we read it counts as a path through i.
  uint32_t w = t.slots[i].word.load(std::memory_order_seq_cst);
  if (StateOf(w) != kTomb) return false;
  struct Seen {
    size_t j;
    uint32_t word;
  };
  std::vector<Seen> run;
  size_t j = i;
  for (size_t steps = 1; steps < t.cap; ++steps) {
    j = NextIndex(j, t.cap);
    const Slot& s = t.slots[j];
    const uint32_t wj = s.word.load(std::memory_order_seq_cst);
    run.push_back({j, wj});
    const uint32_t st = StateOf(wj);
    if (st == kEmpty) break;
    if (st == kTomb) continue;
    if (st == kClaiming) return false;
    InfoHash h;
    const uint64_t k0 = s.key0.load(std::memory_order_relaxed);
    const uint64_t k1 = s.key1.load(std::memory_order_relaxed);
    const uint32_t k2 = s.key2.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (((s.word.load(std::memory_order_relaxed) ^ wj) & ~kLockBit) != 0) {
      return false;  // the slot changed under us
    }
    std::memcpy(h.bytes.data(), &k0, 8);
    std::memcpy(h.bytes.data() + 8, &k1, 8);
    std::memcpy(h.bytes.data() + 16, &k2, 4);
    const size_t home = HomeOf(HashOf(h), t.cap);
    const size_t from_home = (j + t.cap - home) % t.cap;
    const size_t from_tomb = (j + t.cap - i) % t.cap;
    if (from_home >= from_tomb) return false;  // its path runs through i
  }
  if (run.empty() || StateOf(run.back().word) != kEmpty) return false;
  const uint32_t emptied = NextVersion(w, kEmpty);
  if (!t.slots[i].word.compare_exchange_strong(w, emptied,
                                               std::memory_order_seq_cst)) {
    return false;
  }
  // seq_cst re-check: an inserter that claimed a slot of the run (or the
  // EMPTY ending it) meanwhile either sees our EMPTY in its own rescan and
  // gives way, or changed a word we read here, and we put the tombstone
  // back (store-load ordering on both sides, as in ConfirmUnique).
  for (const Seen& seen : run) {
    const uint32_t now = t.slots[seen.j].word.load(std::memory_order_seq_cst);
    if (((now ^ seen.word) & ~kLockBit) != 0) {
      uint32_t e = emptied;
      t.slots[i].word.compare_exchange_strong(e, NextVersion(emptied, kTomb),
                                              std::memory_order_seq_cst);
      return false;
    }
  }
  return true;
}

size_t SwarmTable::Sweep(uint32_t now, size_t max_slots) {
  const uint64_t before = peers_v4_.load(std::memory_order_relaxed) +
                          peers_v6_.load(std::memory_order_relaxed);
  const size_t total = capacity();
  // Checked once per call: a sweep call is a small share of a pass.
  const uint32_t evict_age = UnderPressure() ? EvictAge() : 0;
  for (size_t n = 0; n < max_slots && n < total; ++n) {
    const uint32_t subs = nsubs_.load(std::memory_order_acquire);
    if (sweep_sub_ >= subs) sweep_sub_ = 0;
    SubTable& t = *subs_[sweep_sub_].load(std::memory_order_acquire);
    const size_t i = sweep_index_;
    SweepSlot(t, i, now, evict_age);
    if (StateOf(t.slots[i].word.load(std::memory_order_acquire)) == kTomb) {
      ClearTombstone(t, i);
    }
    // Probe statistics for the soak test: runs of non-EMPTY slots.
    const uint32_t st2 =
        StateOf(t.slots[i].word.load(std::memory_order_relaxed));
    pass_run_ = st2 == kEmpty ? 0 : pass_run_ + 1;
    pass_probe_ = std::max(pass_probe_, pass_run_);
    pass_tombs_ += st2 == kTomb;
    if (++sweep_index_ >= t.cap) {
      sweep_index_ = 0;
      pass_run_ = 0;
      if (++sweep_sub_ >= subs) {
        sweep_sub_ = 0;
        max_probe_.store(pass_probe_, std::memory_order_relaxed);
        tombstones_.store(pass_tombs_, std::memory_order_relaxed);
        pass_probe_ = pass_tombs_ = 0;
      }
    }
  }
  const uint64_t after = peers_v4_.load(std::memory_order_relaxed) +
                         peers_v6_.load(std::memory_order_relaxed);
  return before > after ? before - after : 0;
}

void SwarmTable::SetLimits(size_t max_torrents, uint32_t max_peers_per_source,
                           uint32_t max_peers_per_swarm) {
  max_torrents_.store(max_torrents, std::memory_order_relaxed);
  max_per_source_.store(max_peers_per_source, std::memory_order_relaxed);
  max_per_swarm_.store(std::min(max_peers_per_swarm, kMaxPeersPerSwarm),
                       std::memory_order_relaxed);
}

SwarmTableStats SwarmTable::stats() const {
  SwarmTableStats s;
  s.torrents = live_.load(std::memory_order_relaxed);
  s.peers_v4 = peers_v4_.load(std::memory_order_relaxed);
  s.peers_v6 = peers_v6_.load(std::memory_order_relaxed);
  s.seeders = seeders_.load(std::memory_order_relaxed);
  s.seeders_v4 = seeders_v4_.load(std::memory_order_relaxed);
  s.downloads = downloads_.load(std::memory_order_relaxed);
  s.refused.torrent_memory =
      refused_torrent_memory_.load(std::memory_order_relaxed);
  s.refused.torrent_rate = refused_torrent_rate_.load(std::memory_order_relaxed);
  s.refused.peer_memory = refused_peer_memory_.load(std::memory_order_relaxed);
  s.refused.peer_source_cap =
      refused_source_cap_.load(std::memory_order_relaxed);
  s.refused.peer_swarm_cap = refused_swarm_cap_.load(std::memory_order_relaxed);
  s.refused.peer_memory_unstored =
      unstored_memory_.load(std::memory_order_relaxed);
  s.refused.peer_prefix_cap =
      unstored_prefix_cap_.load(std::memory_order_relaxed);
  s.evicted_stale = evicted_stale_.load(std::memory_order_relaxed);
  return s;
}

bool SwarmTable::CheckInvariants(std::string* why) {
  uint64_t v4 = 0, v6 = 0, live = 0, seeders = 0, seeders_v4 = 0;
  size_t bytes = 0;
  // What each prefix counter should hold, from the entries themselves.
  std::vector<uint32_t> share(share_ ? share_->counters() : 0);
  std::vector<PeerRecord> records;
  const PeerSetContext ctx = PeerContext();
  const uint32_t n = nsubs_.load();
  for (uint32_t k = 0; k < n; ++k) {
    SubTable& t = *subs_[k].load();
    bytes += t.bytes;
    uint64_t sub_live = 0;
    for (size_t i = 0; i < t.cap; ++i) {
      Slot& s = t.slots[i];
      const uint32_t w = s.word.load(std::memory_order_acquire);
      bytes += s.peers.bytes();
      if (StateOf(w) != kLive) {
        if (StateOf(w) != kEmpty && StateOf(w) != kTomb) {
          *why = absl::StrCat("slot ", k, "/", i, " left in transient state ",
                              StateOf(w));
          return false;
        }
        if (s.peers.bytes() != 0) {
          *why = absl::StrCat("slot ", k, "/", i, " is free but holds peers");
          return false;
        }
        continue;
      }
      ++live;
      ++sub_live;
      if (!s.peers.Check(ctx, why)) {
        *why = absl::StrCat("slot ", k, "/", i, ": ", *why);
        return false;
      }
      if (share_) {
        records.clear();
        s.peers.Snapshot(UINT32_MAX, &records);
        for (const PeerRecord& r : records) {
          const PrefixKey key = share_->KeyOf(r.peer.family, r.peer.ip.data());
          ++share[share_->first(key)];
          ++share[share_->second(key)];
        }
      }
      const SwarmCounts c = s.peers.counts();
      v4 += c.v4;
      v6 += c.seeders + c.leechers - c.v4;
      seeders += c.seeders;
      seeders_v4 += c.seeders_v4;
      InfoHash h;
      const uint64_t k0 = s.key0.load(std::memory_order_relaxed);
      const uint64_t k1 = s.key1.load(std::memory_order_relaxed);
      const uint32_t k2 = s.key2.load(std::memory_order_relaxed);
      std::memcpy(h.bytes.data(), &k0, 8);
      std::memcpy(h.bytes.data() + 8, &k1, 8);
      std::memcpy(h.bytes.data() + 16, &k2, 4);
      SlotRef at;
      if (!Find(h, HashOf(h), &at) || at.sub != &t || at.i != i) {
        *why = absl::StrCat("slot ", k, "/", i,
                            " is unreachable or duplicated");
        return false;
      }
    }
    if (sub_live != t.live.load()) {
      *why = absl::StrCat("sub-table ", k, " counts ", t.live.load(),
                          " live but holds ", sub_live);
      return false;
    }
  }
  if (v4 != peers_v4_.load() || v6 != peers_v6_.load() ||
      live != live_.load() || seeders != seeders_.load() ||
      seeders_v4 != seeders_v4_.load()) {
    *why = absl::StrCat("table totals ", peers_v4_.load(), "/",
                        peers_v6_.load(), "/", live_.load(), "/",
                        seeders_.load(), "/", seeders_v4_.load(), " but found ",
                        v4, "/", v6, "/", live, "/", seeders, "/", seeders_v4);
    return false;
  }
  for (size_t i = 0; i < share.size(); ++i) {
    if (share[i] != share_->counter(i)) {
      *why = absl::StrCat("prefix counter ", i, " is ", share_->counter(i),
                          " but its prefixes hold ", share[i], " entries");
      return false;
    }
  }
  if (own_budget_ && bytes != budget_->used()) {
    *why = absl::StrCat("budget counts ", budget_->used(), " bytes, table holds ",
                        bytes);
    return false;
  }
  return true;
}

}  // namespace ringtrack
