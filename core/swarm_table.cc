#include "core/swarm_table.h"

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "core/hash.h"
#include "core/siphash.h"
#include "core/wire.h"

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

// ---- Peers: meta = [seeder:1][last-seen tick:15], one tick = 4 s, so ages
// up to 36 h are told apart; Sweep() removes peers long before that.
constexpr uint32_t kTickSeconds = 4;
constexpr uint16_t kTickMask = 0x7fff;
constexpr uint16_t kSeederBit = 0x8000;

inline uint16_t TickOf(uint32_t now) {
  return static_cast<uint16_t>((now / kTickSeconds) & kTickMask);
}

struct PeerV4 {
  uint8_t ip[4];  // network order
  uint16_t port;  // host order; 0 marks an empty entry
  uint16_t meta;
  static constexpr size_t kIpLen = 4;
};
struct PeerV6 {
  uint8_t ip[16];
  uint16_t port;
  uint16_t meta;
  static constexpr size_t kIpLen = 16;
};
static_assert(sizeof(PeerV4) == 8, "compact IPv4 peer");
static_assert(sizeof(PeerV6) == 20, "compact IPv6 peer");

template <class E>
inline bool SameEndpoint(const E& a, const E& b) {
  return a.port == b.port && std::memcmp(a.ip, b.ip, E::kIpLen) == 0;
}
// IPv4: one 64-bit compare of (ip, port), ignoring meta.
inline bool SameEndpoint(const PeerV4& a, const PeerV4& b) {
  uint64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return ((x ^ y) & 0x0000ffffffffffffULL) == 0;
}

inline uint64_t PeerHash(const PeerV4& e, uint64_t seed) {
  uint32_t ip;
  std::memcpy(&ip, e.ip, 4);
  return Mix64(((uint64_t{ip} << 16) | e.port) ^ seed);
}
inline uint64_t PeerHash(const PeerV6& e, uint64_t seed) {
  uint64_t a, b;
  std::memcpy(&a, e.ip, 8);
  std::memcpy(&b, e.ip + 8, 8);
  return Mix64(Mix64(a ^ seed) ^ b ^ (uint64_t{e.port} << 48));
}

template <class E>
E MakeEntry(const PeerEndpoint& p) {
  E e{};
  std::memcpy(e.ip, p.ip.data(), E::kIpLen);
  e.port = p.port;
  return e;
}

// An open-addressing (linear probing) set of peers, stored in a swarm slot.
// REQUIRES for all members: the slot's lock is held.
template <class E>
struct PeerSet {
  E*& arr;
  uint32_t& count;
  uint32_t& cap;
  uint64_t seed;
  std::atomic<uint64_t>& bytes;

  // Returns the entry for `key`, or nullptr; *hole (if given) is then the
  // empty entry where `key` would be placed without growing.
  E* Find(const E& key, E** hole = nullptr) const {
    if (hole) *hole = nullptr;
    if (cap == 0) return nullptr;
    const uint32_t mask = cap - 1;
    for (uint32_t i = PeerHash(key, seed) & mask;; i = (i + 1) & mask) {
      if (arr[i].port == 0) {
        if (hole) *hole = &arr[i];
        return nullptr;
      }
      if (SameEndpoint(arr[i], key)) return &arr[i];
    }
  }

  // Places `e` without growing. REQUIRES: absent, and a free entry exists.
  static E* Place(E* a, uint32_t c, const E& e, uint64_t seed) {
    const uint32_t mask = c - 1;
    uint32_t i = PeerHash(e, seed) & mask;
    while (a[i].port != 0) i = (i + 1) & mask;
    a[i] = e;
    return &a[i];
  }

  // Rebuilds with `new_cap` entries (0 frees), keeping entries that `keep`
  // accepts. Returns false iff allocation failed (the set is unchanged).
  template <class Keep>
  bool Rebuild(uint32_t new_cap, Keep keep) {
    E* fresh = nullptr;
    if (new_cap > 0) {
      fresh = static_cast<E*>(std::calloc(new_cap, sizeof(E)));
      if (fresh == nullptr) return false;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cap; ++i) {
      if (arr[i].port != 0 && keep(arr[i])) {
        assert(fresh != nullptr);
        Place(fresh, new_cap, arr[i], seed);
        ++kept;
      }
    }
    bytes.fetch_add(uint64_t{new_cap} * sizeof(E), std::memory_order_relaxed);
    bytes.fetch_sub(uint64_t{cap} * sizeof(E), std::memory_order_relaxed);
    std::free(arr);
    arr = fresh;
    cap = new_cap;
    count = kept;
    return true;
  }

  // Small sets (most swarms) run fuller to save memory; probe runs in them
  // stay within one or two cache lines anyway.
  static bool Overfull(uint32_t n, uint32_t c) {
    return c <= 64 ? n * 8 > c * 7 : n * 4 > c * 3;
  }

  // REQUIRES: `e` absent; `hole` is what Find(e, &hole) returned. Returns
  // the stored entry, or nullptr when out of memory.
  E* Insert(const E& e, E* hole) {
    if (Overfull(count + 1, cap)) {
      const uint32_t new_cap = cap == 0 ? 2 : cap * 2;
      if (new_cap < cap || !Rebuild(new_cap, [](const E&) { return true; })) {
        return nullptr;
      }
      hole = nullptr;  // the array moved
    }
    ++count;
    if (hole != nullptr) {
      *hole = e;
      return hole;
    }
    return Place(arr, cap, e, seed);
  }

  // Backward-shift deletion: no tombstones inside peer sets.
  void Erase(E* at) {
    const uint32_t mask = cap - 1;
    uint32_t i = static_cast<uint32_t>(at - arr);
    arr[i] = E{};
    for (uint32_t j = (i + 1) & mask; arr[j].port != 0; j = (j + 1) & mask) {
      const uint32_t home = PeerHash(arr[j], seed) & mask;
      // Move arr[j] back to the hole at i unless its home lies in (i, j].
      const bool home_between =
          i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!home_between) {
        arr[i] = arr[j];
        arr[j] = E{};
        i = j;
      }
    }
    --count;
    if (count == 0) {
      Rebuild(0, [](const E&) { return false; });
    } else if (cap > 8 && count * 8 < cap) {
      Rebuild(cap / 2, [](const E&) { return true; });  // may fail: harmless
    }
  }

  // Writes up to `want` entries starting at a random position, skipping
  // `self` and, if only_leechers, seeders. Returns entries written. Entries
  // sit in hash order, so a contiguous window from a random start is a
  // random sample that reads whole cache lines, not `want` scattered ones.
  uint32_t Select(const E& self, bool only_leechers, uint32_t want,
                  uint64_t random, uint8_t* out) const {
    // Locals: stores through `out` (uint8_t*) may alias anything, which
    // would otherwise make the compiler reload arr and cap every entry.
    const E* const a = arr;
    const uint32_t c = cap;
    if (c == 0 || want == 0) return 0;
    const uint32_t mask = c - 1;
    const uint32_t start = static_cast<uint32_t>(random) & mask;
    uint32_t n = 0;
    for (uint32_t k = 0, i = start; k < c && n < want;
         ++k, i = (i + 1) & mask) {
      // Stay a few cache lines ahead of the walk.
      if ((i & 7) == 0) __builtin_prefetch(&a[(i + 32) & mask]);
      const E& e = a[i];
      // Branch-free: entries are a random mix of empty, seeder and leecher,
      // so branches here would mispredict about every other entry. Every
      // entry is written at `out`, which only advances for the kept ones.
      // (Writing at n < want stays inside the caller's span.)
      const bool keep = (e.port != 0) & !SameEndpoint(e, self) &
                        !(only_leechers & ((e.meta & kSeederBit) != 0));
      std::memcpy(out, e.ip, E::kIpLen);
      wire::StoreBe16(out + E::kIpLen, e.port);
      out += keep ? E::kIpLen + 2 : 0;
      n += keep;
    }
    return n;
  }
};

}  // namespace

struct alignas(64) SwarmTable::Slot {
  std::atomic<uint32_t> word{0};
  std::atomic<uint32_t> key2{0};  // info hash bytes 16..19
  std::atomic<uint64_t> key0{0};  // bytes 0..7
  std::atomic<uint64_t> key1{0};  // bytes 8..15
  // Guarded by the lock bit (owned by the claimer while CLAIMING/PENDING).
  uint32_t completed = 0;
  uint32_t seeders = 0;
  uint32_t count4 = 0;
  uint32_t cap4 = 0;
  uint32_t count6 = 0;
  uint32_t cap6 = 0;
  PeerV4* set4 = nullptr;
  PeerV6* set6 = nullptr;
};
static_assert(sizeof(SwarmTable::Slot) == 64, "one cache line per swarm");

namespace {

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
inline KeyCheck CheckKey(const SwarmTable::Slot& s, uint32_t w,
                         const KeyWords& k) {
  const bool eq = s.key0.load(std::memory_order_relaxed) == k.k0 &&
                  s.key1.load(std::memory_order_relaxed) == k.k1 &&
                  s.key2.load(std::memory_order_relaxed) == k.k2;
  std::atomic_thread_fence(std::memory_order_acquire);
  const uint32_t w2 = s.word.load(std::memory_order_relaxed);
  if ((w2 ^ w) & ~kLockBit) return KeyCheck::kChanged;
  return eq ? KeyCheck::kMatch : KeyCheck::kNoMatch;
}

// Spins until slot `s` leaves word `w` (modulo the lock bit).
inline void WaitForChange(const SwarmTable::Slot& s, uint32_t w) {
  while (((s.word.load(std::memory_order_acquire) ^ w) & ~kLockBit) == 0) {
    CpuRelax();
  }
}

}  // namespace

SwarmTable::SwarmTable(const SwarmTableConfig& config)
    : config_(config),
      mask_(config.capacity - 1),
      max_live_(config.capacity - config.capacity / 8) {
  assert(config.capacity >= 8 && (config.capacity & mask_) == 0);
  slots_ = new Slot[config.capacity];
}

SwarmTable::~SwarmTable() {
  for (size_t i = 0; i <= mask_; ++i) {
    std::free(slots_[i].set4);
    std::free(slots_[i].set6);
  }
  delete[] slots_;
}

uint64_t SwarmTable::HashOf(const InfoHash& h) const {
  const uint32_t tail = uint32_t{h.bytes[16]} | (uint32_t{h.bytes[17]} << 8) |
                        (uint32_t{h.bytes[18]} << 16) |
                        (uint32_t{h.bytes[19]} << 24);
  return rt_siphash24_conn(config_.seed0, config_.seed1, h.bytes.data(), tail);
}

int64_t SwarmTable::Find(const InfoHash& h, uint64_t hash,
                         uint32_t* word) const {
  const KeyWords k = KeyOf(h);
  const size_t home = hash & mask_;
  for (size_t d = 0; d <= mask_; ++d) {
    const size_t i = (home + d) & mask_;
    const Slot& s = slots_[i];
    const uint32_t w = s.word.load(std::memory_order_acquire);
    const uint32_t st = StateOf(w);
    if (st == kEmpty) return -1;
    if (st != kLive) continue;  // a PENDING insert has not happened yet
    const KeyCheck c = CheckKey(s, w, k);
    if (c == KeyCheck::kChanged) {
      --d;  // look at this slot again
      continue;
    }
    if (c == KeyCheck::kMatch) {
      *word = w;
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

int64_t SwarmTable::FindOrInsert(const InfoHash& h, uint64_t hash,
                                 uint32_t* word) {
  const KeyWords k = KeyOf(h);
  const size_t home = hash & mask_;
  for (;;) {
    // 1. Look for the swarm; remember the first tombstone and the EMPTY end.
    int64_t target = -1;
    uint32_t target_word = 0;
    bool rescan = false;
    for (size_t d = 0; d <= mask_; ++d) {
      const size_t i = (home + d) & mask_;
      Slot& s = slots_[i];
      const uint32_t w = s.word.load(std::memory_order_acquire);
      const uint32_t st = StateOf(w);
      if (st == kEmpty) {
        if (target < 0) {
          target = static_cast<int64_t>(i);
          target_word = w;
        }
        break;
      }
      if (st == kTomb) {
        if (target < 0) {
          target = static_cast<int64_t>(i);
          target_word = w;
        }
        continue;
      }
      if (st == kClaiming) continue;
      const KeyCheck c = CheckKey(s, w, k);
      if (c == KeyCheck::kChanged) {
        rescan = true;
        break;
      }
      if (c == KeyCheck::kNoMatch) continue;
      if (st == kLive) {
        *word = w;
        return static_cast<int64_t>(i);
      }
      WaitForChange(s, w);  // someone is inserting this very swarm
      rescan = true;
      break;
    }
    if (rescan) continue;
    if (target < 0) {
      refused_full_.fetch_add(1, std::memory_order_relaxed);
      return -1;
    }
    if (live_.fetch_add(1, std::memory_order_relaxed) >= max_live_) {
      live_.fetch_sub(1, std::memory_order_relaxed);
      refused_full_.fetch_add(1, std::memory_order_relaxed);
      return -1;
    }

    // 2. Claim the slot and publish our key as PENDING.
    Slot& t = slots_[target];
    const uint32_t claimed = NextVersion(target_word, kClaiming);
    if (!t.word.compare_exchange_strong(target_word, claimed,
                                        std::memory_order_acq_rel)) {
      live_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    // Release fence: a reader that sees any of the key stores below also
    // sees the new version when it re-checks the word (see CheckKey).
    std::atomic_thread_fence(std::memory_order_release);
    t.key0.store(k.k0, std::memory_order_relaxed);
    t.key1.store(k.k1, std::memory_order_relaxed);
    t.key2.store(k.k2, std::memory_order_relaxed);
    t.completed = t.seeders = 0;
    t.count4 = t.cap4 = t.count6 = t.cap6 = 0;
    t.set4 = nullptr;
    t.set6 = nullptr;
    const uint32_t pending = WithState(claimed, kPending);
    // seq_cst: with the seq_cst loads of the rescan below, of two inserters
    // of the same key at least one sees the other (store-load ordering).
    t.word.store(pending, std::memory_order_seq_cst);

    // 3. Rescan the whole chain. Abandon our slot if an EMPTY precedes it
    // (Sweep cleared a tombstone: our slot would be unreachable), if the
    // key is LIVE elsewhere, or if an earlier slot is PENDING with it; wait
    // for a later PENDING one to resolve (it will see us and give way, or
    // go LIVE first, and then we give way).
    bool abandon = false;
    bool passed_own = false;
    for (size_t d = 0; d <= mask_ && !abandon; ++d) {
      const size_t i = (home + d) & mask_;
      if (i == static_cast<size_t>(target)) {
        passed_own = true;
        continue;
      }
      Slot& s = slots_[i];
      const uint32_t w = s.word.load(std::memory_order_seq_cst);
      const uint32_t st = StateOf(w);
      if (st == kEmpty) {
        abandon = !passed_own;
        break;
      }
      if (st == kTomb || st == kClaiming) continue;
      const KeyCheck c = CheckKey(s, w, k);
      if (c == KeyCheck::kChanged) {
        --d;
        continue;
      }
      if (c == KeyCheck::kNoMatch) continue;
      if (st == kLive || !passed_own) {
        abandon = true;
      } else {
        WaitForChange(s, w);
        --d;
      }
    }
    if (abandon) {
      t.word.store(NextVersion(pending, kTomb), std::memory_order_release);
      live_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    const uint32_t live = WithState(pending, kLive);
    // Release: a thread that locks this slot sees the initialized fields.
    t.word.store(live, std::memory_order_release);
    *word = live;
    return target;
  }
}

bool SwarmTable::TryLock(size_t i, uint32_t word) {
  std::atomic<uint32_t>& w = slots_[i].word;
  const uint32_t unlocked = word & ~kLockBit;
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

void SwarmTable::Unlock(size_t i) {
  std::atomic<uint32_t>& w = slots_[i].word;
  // Only the holder changes a locked word, so a plain release store works.
  w.store(w.load(std::memory_order_relaxed) & ~kLockBit,
          std::memory_order_release);
}

AnnounceResult SwarmTable::Announce(const AnnounceParams& p,
                                    std::span<uint8_t> peers_out) {
  AnnounceResult r;
  const uint64_t hash = HashOf(p.info_hash);
  const bool stopped = p.event == protocol::Event::kStopped;
  int64_t idx;
  for (;;) {
    uint32_t w = 0;
    idx = stopped ? Find(p.info_hash, hash, &w)
                  : FindOrInsert(p.info_hash, hash, &w);
    if (idx < 0) {
      if (!stopped) r.status = AnnounceStatus::kTableFull;
      return r;
    }
    if (TryLock(static_cast<size_t>(idx), w)) break;
  }
  Slot& s = slots_[idx];
  const uint16_t meta =
      static_cast<uint16_t>(TickOf(p.now) | (p.seeder ? kSeederBit : 0));

  auto apply = [&](auto set, auto key, std::atomic<uint64_t>& family_peers) {
    using E = decltype(key);
    E* hole = nullptr;
    E* e = set.Find(key, &hole);
    if (stopped) {
      if (e != nullptr) {
        if (e->meta & kSeederBit) --s.seeders;
        set.Erase(e);
        family_peers.fetch_sub(1, std::memory_order_relaxed);
      }
      return;
    }
    if (e == nullptr) {
      e = set.Insert(key, hole);
      if (e == nullptr) return;  // out of memory: answer without storing
      family_peers.fetch_add(1, std::memory_order_relaxed);
      if (p.seeder) {
        ++s.seeders;
        if (p.event == protocol::Event::kCompleted) ++s.completed;
      }
    } else {
      const bool was_seeder = e->meta & kSeederBit;
      if (!was_seeder && p.seeder) {
        ++s.seeders;
        ++s.completed;
      } else if (was_seeder && !p.seeder) {
        --s.seeders;
      }
    }
    e->meta = meta;
    const size_t entry = E::kIpLen + 2;
    const uint32_t want = static_cast<uint32_t>(
        std::min<size_t>(p.numwant, peers_out.size() / entry));
    r.peers_written =
        set.Select(key, p.seeder, want, p.random, peers_out.data());
  };
  if (p.peer.family == AddressFamily::kV4) {
    apply(PeerSet<PeerV4>{s.set4, s.count4, s.cap4, config_.seed0, peer_bytes_},
          MakeEntry<PeerV4>(p.peer), peers_v4_);
  } else {
    apply(PeerSet<PeerV6>{s.set6, s.count6, s.cap6, config_.seed1, peer_bytes_},
          MakeEntry<PeerV6>(p.peer), peers_v6_);
  }
  r.counts.seeders = s.seeders;
  r.counts.leechers = s.count4 + s.count6 - s.seeders;
  r.counts.completed = s.completed;
  Unlock(static_cast<size_t>(idx));
  return r;
}

SwarmCounts SwarmTable::Scrape(const InfoHash& h) {
  const uint64_t hash = HashOf(h);
  for (;;) {
    uint32_t w = 0;
    const int64_t idx = Find(h, hash, &w);
    if (idx < 0) return {};
    if (!TryLock(static_cast<size_t>(idx), w)) continue;
    const Slot& s = slots_[idx];
    SwarmCounts c{s.seeders, s.count4 + s.count6 - s.seeders, s.completed};
    Unlock(static_cast<size_t>(idx));
    return c;
  }
}

void SwarmTable::SweepSlot(size_t i, uint32_t now) {
  Slot& s = slots_[i];
  const uint32_t w = s.word.load(std::memory_order_acquire);
  if (StateOf(w) != kLive || (w & kLockBit)) return;  // busy: next round
  if (!TryLock(i, w)) return;
  const uint16_t now_tick = TickOf(now);
  const uint32_t timeout_ticks =
      (config_.peer_timeout_s + kTickSeconds - 1) / kTickSeconds;
  auto expire = [&](auto set, std::atomic<uint64_t>& family_peers) {
    uint32_t expired = 0, expired_seeders = 0;
    auto alive = [&](const auto& e) {
      const uint32_t age = (now_tick - (e.meta & kTickMask)) & kTickMask;
      return age <= timeout_ticks;
    };
    for (uint32_t j = 0; j < set.cap; ++j) {
      const auto& e = set.arr[j];
      if (e.port != 0 && !alive(e)) {
        ++expired;
        if (e.meta & kSeederBit) ++expired_seeders;
      }
    }
    if (expired == 0) return 0u;
    const uint32_t left = set.count - expired;
    uint32_t cap = 0;
    if (left > 0) {
      cap = 2;
      while (PeerSet<std::remove_cvref_t<decltype(set.arr[0])>>::Overfull(
          left, cap)) {
        cap *= 2;
      }
    }
    if (!set.Rebuild(cap, alive)) return 0u;
    s.seeders -= expired_seeders;
    family_peers.fetch_sub(expired, std::memory_order_relaxed);
    return expired;
  };
  expire(PeerSet<PeerV4>{s.set4, s.count4, s.cap4, config_.seed0, peer_bytes_},
         peers_v4_);
  expire(PeerSet<PeerV6>{s.set6, s.count6, s.cap6, config_.seed1, peer_bytes_},
         peers_v6_);
  if (s.count4 + s.count6 == 0) {
    std::free(s.set4);
    std::free(s.set6);
    peer_bytes_.fetch_sub(
        uint64_t{s.cap4} * sizeof(PeerV4) + uint64_t{s.cap6} * sizeof(PeerV6),
        std::memory_order_relaxed);
    s.set4 = nullptr;
    s.set6 = nullptr;
    s.cap4 = s.cap6 = 0;
    // Release: the next claimer of this tombstone sees the freed fields.
    s.word.store(NextVersion(w, kTomb), std::memory_order_release);
    live_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  Unlock(i);
}

void SwarmTable::ClearTombstone(size_t i) {
  // Turns a run of tombstones that ends at an EMPTY slot into EMPTY slots,
  // last one first. Clearing slot i is safe only while i+1 is EMPTY; the
  // check after the CAS catches an inserter that claimed i+1 meanwhile (its
  // own rescan may have missed our EMPTY), and puts the tombstone back.
  for (size_t steps = 0; steps <= mask_; ++steps, i = (i - 1) & mask_) {
    Slot& s = slots_[i];
    uint32_t w = s.word.load(std::memory_order_seq_cst);
    if (StateOf(w) != kTomb) return;
    const Slot& next = slots_[(i + 1) & mask_];
    if (StateOf(next.word.load(std::memory_order_seq_cst)) != kEmpty) return;
    const uint32_t emptied = NextVersion(w, kEmpty);
    if (!s.word.compare_exchange_strong(w, emptied,
                                        std::memory_order_seq_cst)) {
      return;
    }
    if (StateOf(next.word.load(std::memory_order_seq_cst)) != kEmpty) {
      uint32_t e = emptied;
      s.word.compare_exchange_strong(e, NextVersion(emptied, kTomb),
                                     std::memory_order_seq_cst);
      return;
    }
  }
}

size_t SwarmTable::Sweep(uint32_t now, size_t max_slots) {
  const uint64_t before = peers_v4_.load(std::memory_order_relaxed) +
                          peers_v6_.load(std::memory_order_relaxed);
  for (size_t n = 0; n < max_slots && n <= mask_; ++n) {
    const size_t i = sweep_cursor_;
    sweep_cursor_ = (sweep_cursor_ + 1) & mask_;
    SweepSlot(i, now);
    if (StateOf(slots_[i].word.load(std::memory_order_acquire)) == kTomb) {
      ClearTombstone(i);
    } else if (StateOf(slots_[i].word.load(std::memory_order_acquire)) ==
               kEmpty) {
      ClearTombstone((i - 1) & mask_);
    }
  }
  const uint64_t after = peers_v4_.load(std::memory_order_relaxed) +
                         peers_v6_.load(std::memory_order_relaxed);
  return before > after ? before - after : 0;
}

SwarmTableStats SwarmTable::stats() const {
  return {live_.load(std::memory_order_relaxed),
          peers_v4_.load(std::memory_order_relaxed),
          peers_v6_.load(std::memory_order_relaxed),
          refused_full_.load(std::memory_order_relaxed)};
}

size_t SwarmTable::MemoryBytes() const {
  return capacity() * sizeof(Slot) +
         peer_bytes_.load(std::memory_order_relaxed);
}

bool SwarmTable::CheckInvariants(std::string* why) {
  uint64_t v4 = 0, v6 = 0, live = 0;
  std::vector<InfoHash> seen;
  for (size_t i = 0; i <= mask_; ++i) {
    Slot& s = slots_[i];
    const uint32_t w = s.word.load(std::memory_order_acquire);
    if (StateOf(w) != kLive) {
      if (StateOf(w) != kEmpty && StateOf(w) != kTomb) {
        *why =
            absl::StrCat("slot ", i, " left in transient state ", StateOf(w));
        return false;
      }
      continue;
    }
    ++live;
    uint32_t c4 = 0, c6 = 0, seeders = 0;
    for (uint32_t j = 0; j < s.cap4; ++j) {
      if (s.set4[j].port == 0) continue;
      ++c4;
      if (s.set4[j].meta & kSeederBit) ++seeders;
    }
    for (uint32_t j = 0; j < s.cap6; ++j) {
      if (s.set6[j].port == 0) continue;
      ++c6;
      if (s.set6[j].meta & kSeederBit) ++seeders;
    }
    if (c4 != s.count4 || c6 != s.count6 || seeders != s.seeders) {
      *why = absl::StrCat("slot ", i, ": counts ", s.count4, "/", s.count6, "/",
                          s.seeders, " but peers ", c4, "/", c6, "/", seeders);
      return false;
    }
    v4 += c4;
    v6 += c6;
    InfoHash h;
    const uint64_t k0 = s.key0.load(std::memory_order_relaxed);
    const uint64_t k1 = s.key1.load(std::memory_order_relaxed);
    const uint32_t k2 = s.key2.load(std::memory_order_relaxed);
    std::memcpy(h.bytes.data(), &k0, 8);
    std::memcpy(h.bytes.data() + 8, &k1, 8);
    std::memcpy(h.bytes.data() + 16, &k2, 4);
    uint32_t w2 = 0;
    if (Find(h, HashOf(h), &w2) != static_cast<int64_t>(i)) {
      *why = absl::StrCat("slot ", i, " is unreachable or duplicated");
      return false;
    }
  }
  if (v4 != peers_v4_.load() || v6 != peers_v6_.load() ||
      live != live_.load()) {
    *why =
        absl::StrCat("table totals ", peers_v4_.load(), "/", peers_v6_.load(),
                     "/", live_.load(), " but found ", v4, "/", v6, "/", live);
    return false;
  }
  return true;
}

}  // namespace ringtrack
