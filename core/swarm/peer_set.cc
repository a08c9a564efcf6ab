#include "core/swarm/peer_set.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "core/base/hash.h"
#include "core/base/wire.h"

namespace ringtrack {
namespace {

// meta = [counted:1][last-seen tick:15]; one tick is 4 s, so ages up to
// 36 h are told apart (peer timeouts are at most 24 h).
constexpr uint32_t kTickSeconds = 4;
constexpr uint16_t kTickMask = 0x7fff;
constexpr uint16_t kCountedBit = 0x8000;

inline uint16_t TickOf(uint32_t now) {
  return static_cast<uint16_t>((now / kTickSeconds) & kTickMask);
}

// An entry starts with its BEP 15 form (address and port in network
// order), so a reply copies entries as they are stored.
struct PeerV4 {
  uint8_t ip[4];
  uint16_t port_be;  // network order; 0 marks an empty entry
  uint16_t meta;
  static constexpr size_t kIpLen = 4;
  static constexpr size_t kWireLen = kCompactPeerSizeV4;
};
struct PeerV6 {
  uint8_t ip[16];
  uint16_t port_be;
  uint16_t meta;
  static constexpr size_t kIpLen = 16;
  static constexpr size_t kWireLen = kCompactPeerSizeV6;
};
static_assert(sizeof(PeerV4) == 8, "compact IPv4 peer");
static_assert(sizeof(PeerV6) == 20, "compact IPv6 peer");
// Select stores whole entries where at least one more wire entry follows.
static_assert(sizeof(PeerV4) <= 2 * PeerV4::kWireLen &&
                  sizeof(PeerV6) <= 2 * PeerV6::kWireLen,
              "a whole-entry store stays inside the reply");

enum Region : int { kSeed4 = 0, kLeech4 = 1, kSeed6 = 2, kLeech6 = 3 };
constexpr int kRegions = 4;

// The source a per-source cap applies to: an IPv4 address, an IPv6 /64.
inline uint64_t SourceHash(const PeerV4& e, uint64_t seed) {
  uint32_t ip;
  std::memcpy(&ip, e.ip, 4);
  return Mix64(uint64_t{ip} ^ seed);
}
inline uint64_t SourceHash(const PeerV6& e, uint64_t seed) {
  uint64_t prefix;
  std::memcpy(&prefix, e.ip, 8);
  return Mix64(prefix ^ ~seed);
}
// The key PrefixShare counts an entry under.
inline PrefixKey ShareKey(const PrefixShare* share, const PeerV4& e) {
  return share->KeyOf(AddressFamily::kV4, e.ip);
}
inline PrefixKey ShareKey(const PrefixShare* share, const PeerV6& e) {
  return share->KeyOf(AddressFamily::kV6, e.ip);
}
inline bool SameSource(const PeerV4& a, const PeerV4& b) {
  return std::memcmp(a.ip, b.ip, 4) == 0;
}
inline bool SameSource(const PeerV6& a, const PeerV6& b) {
  return std::memcmp(a.ip, b.ip, 8) == 0;
}
inline bool SameEndpoint(const PeerV6& a, const PeerV6& b) {
  return a.port_be == b.port_be && std::memcmp(a.ip, b.ip, 16) == 0;
}
// IPv4: one 64-bit compare of (ip, port), ignoring meta.
inline bool SameEndpoint(const PeerV4& a, const PeerV4& b) {
  uint64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return ((x ^ y) & 0x0000ffffffffffffULL) == 0;
}

template <class E>
E MakeEntry(const PeerEndpoint& p) {
  E e{};
  std::memcpy(e.ip, p.ip.data(), E::kIpLen);
  wire::StoreBe16(reinterpret_cast<uint8_t*>(&e.port_be), p.port);
  return e;
}

// Most cache lines of a reply window PeerSet::Prefetch() fetches: 1 KiB,
// the window of numwant 100 at a typical load.
constexpr uint32_t kPrefetchLines = 16;

// Starts fetching the cache line holding `p`. An asm statement, because
// GCC 12 deletes a loop whose only statements are __builtin_prefetch
// (measured: the window loop below left no prefetch in the binary).
inline void PrefetchLine(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, %0" : : "Q"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// The peers a reply of `want` takes from the requester's network at most:
// ceil(s·want).
inline uint32_t LocalQuota(uint32_t want, uint32_t share_q16) {
  return static_cast<uint32_t>(
      std::min<uint64_t>(want, (uint64_t{want} * share_q16 + 65535) >> 16));
}

// Starts fetching every cache line of entries [p, p + n).
template <class E>
inline void PrefetchLines(const E* p, uint32_t n) {
  if (n == 0) return;
  const uintptr_t end = reinterpret_cast<uintptr_t>(p + n);
  for (uintptr_t at = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
       at < end; at += 64) {
    PrefetchLine(reinterpret_cast<const void*>(at));
  }
}

// Scales a hash to [0, cap) without a division.
inline uint32_t Scale(uint64_t h, uint32_t cap) {
  return static_cast<uint32_t>(((h >> 32) * uint64_t{cap}) >> 32);
}
inline uint32_t Next(uint32_t i, uint32_t cap) {
  return i + 1 == cap ? 0 : i + 1;
}
// Backward-shift deletion in a linear-probing array of `cap` slots: whether
// the occupant of slot j, whose home is `home`, moves into the hole at
// `hole` (it does unless its home lies after the hole).
inline bool ShiftsBack(uint32_t j, uint32_t home, uint32_t hole,
                       uint32_t cap) {
  return (j + cap - home) % cap >= (j + cap - hole) % cap;
}

// Region capacities come from a fixed ladder of 256 values, so a block's
// header stores each as one byte: every size up to 64, then steps of 7 %
// (up to ~26 M entries, past the largest --max-peers-per-swarm).
struct CapLadder {
  uint32_t v[256];
  constexpr CapLadder() : v() {
    for (uint32_t i = 0; i <= 64; ++i) v[i] = i;
    for (int i = 65; i < 256; ++i) v[i] = v[i - 1] + (v[i - 1] * 7 + 99) / 100;
  }
};
constexpr CapLadder kLadder;
static_assert(kLadder.v[255] > 20'000'000, "ladder covers the largest swarm");

// The smallest ladder capacity ≥ c.
inline uint8_t CodeOf(uint32_t c) {
  if (c <= 64) return static_cast<uint8_t>(c);
  int lo = 65, hi = 255;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (kLadder.v[mid] >= c) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return static_cast<uint8_t>(lo);
}
inline uint32_t LadderCap(uint32_t c) { return kLadder.v[CodeOf(c)]; }

// Regions of up to kSmallCap entries may be completely full, and a block
// whose regions are all that small stores no counts (see Block).
constexpr uint32_t kSmallCap = 16;

// Most entries a region of `cap` may hold: small regions may be full.
inline uint32_t MaxLoad(uint32_t cap) {
  return cap <= kSmallCap ? cap : cap - cap / 8;
}
// Small regions grow one entry at a time, so a small swarm's block holds
// no empty entries (10 IPv4 peers: 8 + 80 bytes, glibc's 96-byte chunk);
// rebuilding a block of at most 16 entries per new peer is cheap.
inline uint32_t GrownCap(uint32_t cap) {
  if (cap < kSmallCap) return cap + 1;
  return LadderCap(cap + cap / 4);
}
// Smallest capacity that holds n entries.
inline uint32_t FitCap(uint32_t n) {
  if (n <= kSmallCap) return n;
  uint32_t c = LadderCap(n + n / 7);
  while (MaxLoad(c) < n) c = kLadder.v[CodeOf(c) + 1];
  return c;
}
inline bool ShouldShrink(uint32_t count, uint32_t cap) {
  return count == 0 ? cap > 0 : cap > 2 * FitCap(count) + 2;
}

// One region of a block: an open-addressing array and its count.
// A network id as the 16-bit tag a wide block stores per entry: 0 for
// outside the map; ids past 65535 share tags (a libloc map holds ~75 000
// AS groups, so two of them may count as one network in a wide swarm).
inline uint16_t NetworkTag(NetworkId id) {
  return id == kOutsideMap ? 0 : static_cast<uint16_t>(1 + (id - 1) % 65535);
}

// A tagged block's per-network index (see peer_set.h, "Locality"). Every
// entry with a network tag other than 0 is a member of exactly one of:
//   * its network's run: a segment of the region's run array, which holds
//     copies of the members' entries grouped by network (built by a
//     counting sort; an entry's endpoint never changes while it is stored,
//     so a copy stays true, and a reply reads a network's peers as one
//     contiguous read); then its Link is {kInRun, its run slot};
//   * its network's list: a circular, doubly linked list of the members
//     that joined since the last sort; then `prev`/`next` are entry
//     indices within the region.
// An entry without a tag (tag 0, or an empty entry) has no meaningful link.
struct Link {
  uint32_t prev;
  uint32_t next;
};
static_assert(sizeof(Link) == 8);
constexpr uint32_t kInRun = 0xffffffffu;   // Link::prev of a run member
constexpr uint32_t kNoHead = 0xffffffffu;  // a network with no list
// A run slot whose member left is an empty entry (port 0).
// A network's directory entry: its list's head (the member the next reply
// walking the list starts at, or kNoHead), its run segment
// run[start, start + len) (dead slots included), the live members in it,
// and the cursor: where the next reply to the network starts in its cycle
// (the run's slots in order, then the list from its head; replies go round
// it). The cursor is a run offset, or kListCursor | a list member's entry
// index, which Leave() and Moved() keep pointing at a member.
struct DirEntry {
  uint32_t tag;  // the network's tag (0: an empty slot)
  uint32_t head;
  uint32_t start;
  uint32_t len;
  uint32_t live;
  uint32_t next;
};
static_assert(sizeof(DirEntry) == 24);
constexpr uint32_t kListCursor = 0x80000000u;
// A region's index header: list members plus dead run slots (what the next
// sort would tidy), run slots used, and list members replies have read
// since the last sort (each a dependent read a sort would spare).
enum RunHeader : int {
  kUnsorted = 0,
  kRunUsed = 1,
  kListReads = 2,
  kRunHeaderWords = 3
};

// A region's directory: an open-addressing table of DirCap(cap) slots from
// network tag (0 marks an empty slot) to its DirEntry, the tag inside the
// entry, so a reply's probe usually reads one line. A wide region holds
// at most 7/8 of `cap` entries, so the table is at most 7/8 full (when
// every entry is of another network) and always has an empty slot.
inline uint32_t DirCap(uint32_t cap) { return cap == 0 ? 0 : cap + 1; }
inline uint32_t DirHome(uint16_t t, uint32_t dcap) {
  return Scale(Mix64(uint64_t{t} * 0x9e3779b97f4a7c15ULL), dcap);
}

template <class E>
struct RegionRef {
  E* arr;
  uint32_t cap;
  // The region's network tags, parallel to arr; nullptr in an untagged
  // block (and from FamilyOps::Region()'s tag-word fast path, which only
  // lookups and replies use). With tags come the rest of the index: links
  // parallel to arr, the run array (cap slots), the header, and the
  // directory (dent: dcap slots).
  uint16_t* tags = nullptr;
  Link* links = nullptr;
  E* run = nullptr;
  uint32_t* hdr = nullptr;
  DirEntry* dent = nullptr;
  uint32_t dcap = 0;

  // Returns the entry equal to `key`, or nullptr; then *hole is the empty
  // entry ending the probe run (nullptr if the region is full) and
  // *same_source has been increased by the entries of key's source.
  E* Find(const E& key, uint64_t seed, E** hole, uint32_t* same_source) const {
    *hole = nullptr;
    if (cap == 0) return nullptr;
    uint32_t i = Scale(SourceHash(key, seed), cap);
    for (uint32_t k = 0; k < cap; ++k, i = Next(i, cap)) {
      if (arr[i].port_be == 0) {
        *hole = &arr[i];
        return nullptr;
      }
      if (SameEndpoint(arr[i], key)) return &arr[i];
      *same_source += SameSource(arr[i], key);
    }
    return nullptr;
  }

  // The directory slot of tag t (t != 0): the one holding it, or the empty
  // slot where it would go.
  uint32_t DirSlot(uint16_t t) const {
    uint32_t d = DirHome(t, dcap);
    while (dent[d].tag != 0 && dent[d].tag != t) d = Next(d, dcap);
    return d;
  }
  // Tag t's directory entry, or nullptr when the region holds none.
  DirEntry* Dir(uint16_t t) const {
    if (dcap == 0 || t == 0) return nullptr;
    const uint32_t d = DirSlot(t);
    return dent[d].tag == t ? &dent[d] : nullptr;
  }
  // Backward-shift deletion of directory slot d.
  void DirErase(uint32_t d) {
    dent[d].tag = 0;
    uint32_t hole = d, j = d;
    for (uint32_t k = 1; k < dcap; ++k) {
      j = Next(j, dcap);
      if (dent[j].tag == 0) break;
      const uint32_t home = DirHome(dent[j].tag, dcap);
      if (ShiftsBack(j, home, hole, dcap)) {
        dent[hole] = dent[j];
        dent[j].tag = 0;
        hole = j;
      }
    }
  }

  // Gives entry i tag t and makes it a member of t's list, right after the
  // head (so the next reply that walks that list hands it out second).
  // REQUIRES: entry i is in no list and no run.
  void Join(uint32_t i, uint16_t t) {
    if (tags == nullptr) return;
    tags[i] = t;
    if (t == 0) return;
    const uint32_t d = DirSlot(t);
    DirEntry& de = dent[d];
    if (de.tag == 0) de = {t, kNoHead, 0, 0, 0, 0};
    ++hdr[kUnsorted];
    if (de.head == kNoHead) {
      de.head = i;
      links[i] = {i, i};
      return;
    }
    const uint32_t h = de.head, n = links[h].next;
    links[h].next = i;
    links[n].prev = i;
    links[i] = {h, n};
  }
  // Takes entry i out of its run or list; its tag becomes 0.
  void Leave(uint32_t i) {
    if (tags == nullptr) return;
    const uint16_t t = tags[i];
    tags[i] = 0;
    if (t == 0) return;
    const Link l = links[i];
    const uint32_t d = DirSlot(t);
    DirEntry& de = dent[d];
    if (l.prev == kInRun) {
      run[l.next] = E{};
      --de.live;
      ++hdr[kUnsorted];
    } else {
      --hdr[kUnsorted];
      // A cursor at i moves to the member after it (past the list's end:
      // the run's start).
      if (de.next == (kListCursor | i)) {
        de.next = l.next == de.head ? 0 : kListCursor | l.next;
      }
      if (l.next == i) {
        de.head = kNoHead;
      } else {
        links[l.prev].next = l.next;
        links[l.next].prev = l.prev;
        if (de.head == i) de.head = l.next;
      }
    }
    if (de.head == kNoHead && de.live == 0) DirErase(d);
  }
  // Entry `from` moved to the empty entry `to`: so do its tag and link.
  void Moved(uint32_t from, uint32_t to) {
    if (tags == nullptr) return;
    const uint16_t t = tags[from];
    tags[to] = t;
    tags[from] = 0;
    if (t == 0) return;
    const Link l = links[from];
    if (l.prev == kInRun) {  // its copy in the run stays as it is
      links[to] = l;
      return;
    }
    if (l.next == from) {
      links[to] = {to, to};
    } else {
      links[to] = l;
      links[l.prev].next = to;
      links[l.next].prev = to;
    }
    DirEntry& de = dent[DirSlot(t)];
    if (de.head == from) de.head = to;
    if (de.next == (kListCursor | from)) de.next = kListCursor | to;
  }

  // Puts every tagged entry in its network's run, grouped by network (a
  // counting sort over the directory), and empties every list. Moves no
  // entry. Each network's cursor stays on the member the next reply to it
  // would have started at (so a sort does not send replies back to the
  // run's first members). O(cap + dcap).
  void SortRuns() {
    if (tags == nullptr) return;
    // 1. The member each cursor points at, as an entry index, in `head`
    // (kNoHead: the run's first). A list cursor names it; a run cursor
    // names a run offset: its member is the live slot at or after it
    // (found below, in `live`), else the list's head.
    for (uint32_t d = 0; d < dcap; ++d) {
      DirEntry& de = dent[d];
      if (de.tag == 0) continue;
      if ((de.next & kListCursor) != 0) {
        de.head = de.next & ~kListCursor;
      } else if (de.next < de.len) {
        de.live = kNoHead;  // the best run member so far
        continue;
      }
      de.next = kListCursor;  // resolved
    }
    for (uint32_t i = 0; i < cap; ++i) {
      if (tags[i] == 0 || links[i].prev != kInRun) continue;
      DirEntry& de = dent[DirSlot(tags[i])];
      if ((de.next & kListCursor) != 0) continue;
      const uint32_t off = links[i].next - de.start;
      if (off >= de.next &&
          (de.live == kNoHead || off < links[de.live].next - de.start)) {
        de.live = i;
      }
    }
    for (uint32_t d = 0; d < dcap; ++d) {
      DirEntry& de = dent[d];
      if (de.tag == 0) continue;
      uint32_t target = de.head;
      if ((de.next & kListCursor) == 0 && de.live != kNoHead) target = de.live;
      de = {de.tag, target, 0, 0, 0, 0};
    }
    // 2. The sort. Each member's directory slot waits in its link's `next`.
    for (uint32_t i = 0; i < cap; ++i) {
      if (tags[i] == 0) continue;
      const uint32_t d = DirSlot(tags[i]);
      links[i].next = d;
      ++dent[d].len;
    }
    uint32_t at = 0;
    for (uint32_t d = 0; d < dcap; ++d) {
      if (dent[d].tag == 0) continue;
      dent[d].start = at;
      at += dent[d].len;
    }
    for (uint32_t i = 0; i < cap; ++i) {
      if (tags[i] == 0) continue;
      DirEntry& de = dent[links[i].next];
      if (i == de.head) de.next = de.live;
      const uint32_t slot = de.start + de.live++;
      run[slot] = arr[i];
      links[i] = {kInRun, slot};
    }
    for (uint32_t d = 0; d < dcap; ++d) {
      if (dent[d].tag != 0) dent[d].head = kNoHead;
    }
    hdr[kUnsorted] = 0;
    hdr[kRunUsed] = at;
    hdr[kListReads] = 0;
  }
  // Each network's cursor as the member the next reply to it starts at
  // (a run cursor's first live slot at or after it, else the list's
  // head), appended to *out as {tag, a copy of the member's entry}, so
  // RestoreCursors() can carry the round robin over a rebuild. O(cap).
  void CursorMembers(std::vector<std::pair<uint16_t, E>>* out) const {
    if (tags == nullptr) return;
    for (uint32_t d = 0; d < dcap; ++d) {
      const DirEntry& de = dent[d];
      if (de.tag == 0) continue;
      const E* at = nullptr;
      if ((de.next & kListCursor) != 0) {
        at = &arr[de.next & ~kListCursor];
      } else {
        for (uint32_t o = de.next; o < de.len && at == nullptr; ++o) {
          if (run[de.start + o].port_be != 0) at = &run[de.start + o];
        }
        if (at == nullptr && de.head != kNoHead) at = &arr[de.head];
      }
      if (at != nullptr) out->emplace_back(de.tag, *at);
    }
  }
  // After a rebuild's SortRuns(): points each network's cursor at its
  // member from CursorMembers() if the rebuild kept it with the same tag
  // (else the cursor stays at the run's start).
  void RestoreCursors(const std::vector<std::pair<uint16_t, E>>& members,
                      uint64_t seed) {
    for (const auto& [t, member] : members) {
      E* hole;
      uint32_t same_source = 0;
      const E* at = Find(member, seed, &hole, &same_source);
      if (at == nullptr) continue;
      const uint32_t i = static_cast<uint32_t>(at - arr);
      if (tags[i] != t || links[i].prev != kInRun) continue;
      DirEntry* de = Dir(t);
      de->next = links[i].next - de->start;
    }
  }
  // Sorts once list members and dead run slots reach an eighth of the
  // region (amortized: at most 8 entries sorted per change).
  void MaybeSortRuns() {
    if (tags != nullptr && hdr[kUnsorted] > cap / 8) SortRuns();
  }
  // Counts `reads` list members a reply read, and sorts once replies have
  // read an eighth of the region's worth since the last sort while any
  // member waits in a list (amortized: at most 8 entries sorted per list
  // member read). Without it, a swarm whose peers only re-announce keeps
  // the lists its last joins left, and every reply to their networks pays
  // a dependent read per listed member.
  void CountListReads(uint32_t reads) {
    if (reads == 0) return;
    hdr[kListReads] += reads;
    if (hdr[kListReads] > cap / 8 && hdr[kUnsorted] != 0) SortRuns();
  }

  // REQUIRES: `e` absent and an empty entry exists.
  void Place(const E& e, uint16_t tag, uint64_t seed) {
    uint32_t i = Scale(SourceHash(e, seed), cap);
    while (arr[i].port_be != 0) i = Next(i, cap);
    arr[i] = e;
    Join(i, tag);
  }

  // Backward-shift deletion, so regions never hold tombstones.
  void Erase(E* at, uint64_t seed) {
    uint32_t hole = static_cast<uint32_t>(at - arr);
    arr[hole] = E{};
    Leave(hole);
    uint32_t j = hole;
    for (uint32_t k = 1; k < cap; ++k) {
      j = Next(j, cap);
      if (arr[j].port_be == 0) break;
      const uint32_t home = Scale(SourceHash(arr[j], seed), cap);
      if (ShiftsBack(j, home, hole, cap)) {
        arr[hole] = arr[j];
        arr[j] = E{};
        Moved(j, hole);
        hole = j;
      }
    }
  }
};

}  // namespace

// The block header. A compact block (every region of at most kSmallCap
// entries: 10-peer swarms, most of any tracker) stores no counts: a
// region's count is its non-empty entries, counted when asked (at most
// 4 × 16 entries, the cache lines a lookup reads anyway). With 8 header
// bytes, 10 IPv4 peers fit glibc's 96-byte chunk instead of 112. A wide
// block (some region larger) follows the header with uint32_t count[4].
struct PeerSet::Block {
  uint32_t completed;
  uint8_t cap_code[kRegions];  // capacity = kLadder.v[code]
};

namespace {

using Block = PeerSet::Block;
static_assert(sizeof(Block) == 8, "header of a compact peer block");
static_assert(kLadder.v[kSmallCap] == kSmallCap, "codes up to 64 are caps");

inline uint32_t CapOf(const Block* b, int r) {
  return kLadder.v[b->cap_code[r]];
}
inline bool IsWide(const uint32_t cap[kRegions]) {
  return std::max({cap[0], cap[1], cap[2], cap[3]}) > kSmallCap;
}
// Whether any of the four codes exceeds kSmallCap, on all four bytes at
// once: per byte, the low 7 bits + (128 - 17) carry into bit 7 iff they are
// at least 17 (and never into the next byte); codes of 128+ have bit 7.
inline bool IsWide(const Block* b) {
  static_assert(kSmallCap == 16);
  uint32_t w;
  std::memcpy(&w, b->cap_code, 4);
  return (((w & 0x7f7f7f7fu) + 0x6f6f6f6fu) | w) & 0x80808080u;
}
inline size_t HeaderBytes(bool wide) {
  return sizeof(Block) + (wide ? sizeof(uint32_t) * kRegions : 0);
}
// REQUIRES: IsWide(b).
inline uint32_t* WideCounts(Block* b) {
  return reinterpret_cast<uint32_t*>(b + 1);
}
inline const uint32_t* WideCounts(const Block* b) {
  return reinterpret_cast<const uint32_t*>(b + 1);
}
// A wide block made while a network map was loaded is tagged: after each
// family's entries it holds that family's index (IndexLayout: per entry
// a uint16_t network tag, a Link and a run slot; per region a header and
// a directory). Bit 31 of its first count says so, and the top bytes of
// its other three counts hold the low 24 bits of the generation of the
// map its tags came from (counts stay below 2^24: --max-peers-per-swarm
// is at most 10 M, and SwarmTableConfig requires less than 2^24).
constexpr uint32_t kTaggedBit = 0x80000000u;
constexpr uint32_t kCountMask = 0x00ffffffu;
inline bool IsTagged(const Block* b) {
  return IsWide(b) && (WideCounts(b)[0] & kTaggedBit) != 0;
}
// REQUIRES: IsTagged(b).
inline uint32_t GenerationOf(const Block* b) {
  const uint32_t* c = WideCounts(b);
  return (c[1] >> 24) | (c[2] >> 24) << 8 | (c[3] >> 24) << 16;
}
inline void SetGeneration(Block* b, uint32_t g) {
  uint32_t* c = WideCounts(b);
  for (int r = 1; r < kRegions; ++r) {
    c[r] = (c[r] & kCountMask) | ((g >> (8 * (r - 1))) & 0xffu) << 24;
  }
}
// No map's: NetworkMap generations start at 1 (and wrap past 2^24 only
// after 16.7 M builds).
constexpr uint32_t kNoGeneration = 0;
inline uint32_t GenerationOf(const NetworkMap* m) {
  return m->generation() & kCountMask;
}
// Whether b's network tags are m's: a tagged block whose generation is m's.
inline bool TaggedFrom(const Block* b, const NetworkMap* m) {
  return IsTagged(b) && GenerationOf(b) == GenerationOf(m);
}
// A tagged block holds each family's index right after that family's
// entries (IPv4 entries, IPv4 index, IPv6 entries, IPv6 index), so where
// an IPv4 region's index lies follows from the IPv4 capacities alone (the
// set's tag word: PeerSet::Prefetch() fetches the directory without
// reading the header). A family's index, in bytes from its start: both
// regions' tags, then (4-byte aligned) their links, runs, headers,
// directory entries; `end` is its size (a multiple of 4). The one layout
// BlockBytes() sizes and IndexOf() reads. `cs` and `cl` are the family's
// seeder and leecher capacities, `entry` its entry size.
struct IndexLayout {
  size_t links, runs, hdrs, dents, end;
  IndexLayout(uint32_t cs, uint32_t cl, size_t entry) {
    const size_t entries = size_t{cs} + cl;
    const size_t dirs = size_t{DirCap(cs)} + DirCap(cl);
    links = (sizeof(uint16_t) * entries + 3) / 4 * 4;
    runs = links + sizeof(Link) * entries;
    hdrs = (runs + entry * entries + 3) / 4 * 4;
    dents = hdrs + sizeof(uint32_t) * kRunHeaderWords * 2;
    end = dents + sizeof(DirEntry) * dirs;
  }
};
size_t IndexBytes4(const uint32_t cap[kRegions], bool tagged) {
  return tagged ? IndexLayout(cap[kSeed4], cap[kLeech4], sizeof(PeerV4)).end
                : 0;
}
size_t IndexBytes6(const uint32_t cap[kRegions], bool tagged) {
  return tagged ? IndexLayout(cap[kSeed6], cap[kLeech6], sizeof(PeerV6)).end
                : 0;
}
size_t BlockBytes(const uint32_t cap[kRegions], bool tagged) {
  return HeaderBytes(IsWide(cap)) +
         sizeof(PeerV4) * (size_t{cap[0]} + cap[1]) + IndexBytes4(cap, tagged) +
         sizeof(PeerV6) * (size_t{cap[2]} + cap[3]) + IndexBytes6(cap, tagged);
}
size_t BlockBytesOf(const Block* b) {
  const uint32_t caps[kRegions] = {CapOf(b, 0), CapOf(b, 1), CapOf(b, 2),
                                   CapOf(b, 3)};
  return BlockBytes(caps, IsTagged(b));
}
void CopyCaps(const Block* b, uint32_t caps[kRegions]) {
  for (int r = 0; r < kRegions; ++r) caps[r] = b ? CapOf(b, r) : 0;
}

// PeerSet::block_, the tag: the block's address with a copy of what an
// IPv4 announce needs to find its entries, so the home entry and the reply
// window are fetched together with the header instead of after it (one
// dependent cache miss less per announce to a swarm that is out of the
// cache). Bit 0 is set for a wide block, bit 1 for a tagged one; bits
// 48-55 and 56-63 hold the IPv4 seeder and leecher capacity codes. A block never changes its
// capacities (Rebuild makes a new one), so the tag is rewritten only when
// the block is. It needs heap addresses below 2^48 and 16-byte aligned,
// as glibc gives on x86-64 and arm64 Linux; Rebuild refuses any other
// address as an allocation failure.
constexpr uint64_t kTagAddress = 0x0000fffffffffff0ULL;
inline Block* BlockOf(uint64_t tag) {
  return reinterpret_cast<Block*>(tag & kTagAddress);
}
inline bool Taggable(const Block* b) {
  return (reinterpret_cast<uintptr_t>(b) & ~kTagAddress) == 0;
}
inline uint64_t TagOf(const Block* b) {
  if (b == nullptr) return 0;
  return reinterpret_cast<uintptr_t>(b) | (IsWide(b) ? 1u : 0u) |
         (IsTagged(b) ? 2u : 0u) | uint64_t{b->cap_code[kSeed4]} << 48 |
         uint64_t{b->cap_code[kLeech4]} << 56;
}

inline char* Entries(Block* b) {
  return reinterpret_cast<char*>(b) + HeaderBytes(IsWide(b));
}
inline PeerV4* V4Base(Block* b) { return reinterpret_cast<PeerV4*>(Entries(b)); }
inline PeerV6* V6Base(Block* b) {
  uint32_t caps[kRegions];
  CopyCaps(b, caps);
  return reinterpret_cast<PeerV6*>(Entries(b) +
                                   sizeof(PeerV4) * (caps[0] + caps[1]) +
                                   IndexBytes4(caps, IsTagged(b)));
}
template <class E>
E* FamilyBase(Block* b);
template <>
PeerV4* FamilyBase<PeerV4>(Block* b) {
  return V4Base(b);
}
template <>
PeerV6* FamilyBase<PeerV6>(Block* b) {
  return V6Base(b);
}
template <class E>
constexpr int SeederRegion() {
  return std::is_same_v<E, PeerV4> ? kSeed4 : kSeed6;
}

// Region r's index pointers in a family index at `index` laid out as `at`,
// given the family's seeder capacity `cs` (k: 0 seeders, 1 leechers).
template <class E>
void IndexAt(char* index, const IndexLayout& at, uint32_t cs, uint32_t cap,
             int k, RegionRef<E>* reg) {
  const uint32_t before = k == 0 ? 0 : cs;
  const uint32_t dir_before = k == 0 ? 0 : DirCap(cs);
  reg->tags = reinterpret_cast<uint16_t*>(index) + before;
  reg->links = reinterpret_cast<Link*>(index + at.links) + before;
  reg->run = reinterpret_cast<E*>(index + at.runs) + before;
  reg->hdr = reinterpret_cast<uint32_t*>(index + at.hdrs) + k * kRunHeaderWords;
  reg->dent = reinterpret_cast<DirEntry*>(index + at.dents) + dir_before;
  reg->dcap = DirCap(cap);
}
// Where region r's index is. REQUIRES: IsTagged(b).
template <class E>
void IndexOf(Block* b, int r, RegionRef<E>* reg) {
  const int rs = SeederRegion<E>();
  const uint32_t cs = CapOf(b, rs), cl = CapOf(b, rs + 1);
  char* index = reinterpret_cast<char*>(FamilyBase<E>(b) + cs + cl);
  IndexAt<E>(index, IndexLayout(cs, cl, sizeof(E)), cs, CapOf(b, r), r - rs,
             reg);
}

template <class E>
RegionRef<E> RegionOf(Block* b, int r) {
  E* base = FamilyBase<E>(b);
  const int rs = SeederRegion<E>();
  RegionRef<E> reg{r == rs ? base : base + CapOf(b, rs), CapOf(b, r)};
  if (IsTagged(b)) IndexOf(b, r, &reg);
  return reg;
}

// Entries stored in each region, in one pass over a compact block (whose
// codes are its capacities and whose entries follow the 8-byte header).
void CensusOf(Block* b, uint32_t n[kRegions]) {
  n[0] = n[1] = n[2] = n[3] = 0;
  if (b == nullptr) return;
  if (IsWide(b)) {
    std::memcpy(n, WideCounts(b), sizeof(uint32_t) * kRegions);
    for (int r = 0; r < kRegions; ++r) n[r] &= kCountMask;
    return;
  }
  const PeerV4* v4 = reinterpret_cast<const PeerV4*>(b + 1);
  const uint32_t c0 = b->cap_code[kSeed4], c1 = b->cap_code[kLeech4];
  for (uint32_t i = 0; i < c0; ++i) n[kSeed4] += v4[i].port_be != 0;
  for (uint32_t i = c0; i < c0 + c1; ++i) n[kLeech4] += v4[i].port_be != 0;
  const uint32_t c2 = b->cap_code[kSeed6], c3 = b->cap_code[kLeech6];
  if (c2 + c3 == 0) return;
  const PeerV6* v6 = reinterpret_cast<const PeerV6*>(v4 + c0 + c1);
  for (uint32_t i = 0; i < c2; ++i) n[kSeed6] += v6[i].port_be != 0;
  for (uint32_t i = c2; i < c2 + c3; ++i) n[kLeech6] += v6[i].port_be != 0;
}
// Entries stored in region r.
uint32_t CountOf(Block* b, int r) {
  uint32_t n[kRegions];
  CensusOf(b, n);
  return n[r];
}
uint32_t TotalOf(Block* b) {
  uint32_t n[kRegions];
  CensusOf(b, n);
  return n[0] + n[1] + n[2] + n[3];
}
// Whether the swarm already holds ctx.max_per_swarm peers (a compact
// block holds at most 4 × kSmallCap, so it is counted only under a cap
// that low).
bool SwarmFull(Block* b, const PeerSetContext& ctx) {
  if (b == nullptr) return false;
  if (ctx.max_per_swarm > 4 * kSmallCap && !IsWide(b)) return false;
  return TotalOf(b) >= ctx.max_per_swarm;
}
// Records one entry more (+1) or fewer (-1) in region r.
inline void AddCount(Block* b, int r, int delta) {
  if (IsWide(b)) WideCounts(b)[r] += delta;
}

// Rebuilds *pb with capacities `caps`, keeping the entries for which
// keep(entry) is true. Frees the block when nothing remains to store
// (no capacity and no completed count). Returns false, leaving *pb as it
// was, if the budget or the allocator refuses.
template <class Keep>
bool Rebuild(Block** pb, const uint32_t caps[kRegions], Keep keep,
             const PeerSetContext& ctx, bool force) {
  Block* old = *pb;
  const uint32_t completed = old ? old->completed : 0;
  const size_t old_bytes = old ? MallocChunkBytes(BlockBytesOf(old)) : 0;
  // Wide blocks are tagged while a map is loaded, and stay tagged. Tags
  // are looked up again when the old block has none or has another map's.
  const bool old_tagged = old != nullptr && IsTagged(old);
  const bool tagged = IsWide(caps) && (ctx.map != nullptr || old_tagged);
  const uint32_t generation = ctx.map != nullptr ? GenerationOf(ctx.map)
                              : old_tagged       ? GenerationOf(old)
                                                 : 0;
  const bool relook = tagged && ctx.map != nullptr &&
                      !(old_tagged && GenerationOf(old) == generation);
  Block* fresh = nullptr;
  if (caps[0] + caps[1] + caps[2] + caps[3] != 0 || completed != 0) {
    const size_t bytes = BlockBytes(caps, tagged);
    if (!ctx.budget->TryCharge(MallocChunkBytes(bytes), force)) return false;
    fresh = static_cast<Block*>(std::calloc(1, bytes));
    if (fresh == nullptr || !Taggable(fresh)) {
      std::free(fresh);
      ctx.budget->Release(MallocChunkBytes(bytes));
      return false;
    }
    fresh->completed = completed;
    for (int r = 0; r < kRegions; ++r) {
      fresh->cap_code[r] = CodeOf(caps[r]);
      assert(kLadder.v[fresh->cap_code[r]] == caps[r]);
    }
    if (tagged) {
      WideCounts(fresh)[0] = kTaggedBit;
      SetGeneration(fresh, generation);
    }
  }
  if (old != nullptr) {
    auto move_family = [&](auto tag) {
      using E = decltype(tag);
      constexpr AddressFamily kFamily = std::is_same_v<E, PeerV4>
                                            ? AddressFamily::kV4
                                            : AddressFamily::kV6;
      const int rs = SeederRegion<E>();
      for (int r = rs; r < rs + 2; ++r) {
        const RegionRef<E> from = RegionOf<E>(old, r);
        RegionRef<E> to{nullptr, 0};
        if (fresh != nullptr) to = RegionOf<E>(fresh, r);
        // Each network's cursor member, carried over when the tags are (a
        // re-tag starts every cursor afresh).
        std::vector<std::pair<uint16_t, E>> cursors;
        if (!relook && to.tags != nullptr) from.CursorMembers(&cursors);
        uint32_t placed = 0;
        for (uint32_t i = 0; i < from.cap; ++i) {
          const E& e = from.arr[i];
          if (e.port_be == 0 || !keep(e)) continue;
          assert(fresh != nullptr && placed < MaxLoad(to.cap));
          uint16_t t = 0;
          if (relook) {
            t = NetworkTag(ctx.map->Lookup(kFamily, e.ip));
          } else if (from.tags != nullptr) {
            t = from.tags[i];
          }
          to.Place(e, t, ctx.seed);
          ++placed;
        }
        if (placed != 0) AddCount(fresh, r, static_cast<int>(placed));
        if (to.tags != nullptr) {  // the fresh block is tagged
          to.SortRuns();
          to.RestoreCursors(cursors, ctx.seed);
        }
      }
    };
    move_family(PeerV4{});
    move_family(PeerV6{});
    std::free(old);
    ctx.budget->Release(old_bytes);
  }
  *pb = fresh;
  return true;
}

constexpr auto kKeepAll = [](const auto&) { return true; };

}  // namespace

namespace {

// The family-generic half of PeerSet, with the block pointer it works on.
template <class E>
struct FamilyOps {
  Block*& block;
  const PeerSetContext& ctx;
  const uint64_t tag = 0;  // describes `block` until rebuilt
  bool rebuilt = false;    // `block` was replaced (or freed)
  static constexpr int rs = SeederRegion<E>();
  static constexpr int rl = rs + 1;

  // Region r of this family. An IPv4 region comes from the tag, without
  // reading the header, while the block is the one the tag describes.
  RegionRef<E> Region(int r) const {
    if constexpr (std::is_same_v<E, PeerV4>) {
      if (!rebuilt) {
        E* base = reinterpret_cast<E*>(reinterpret_cast<char*>(block) +
                                       HeaderBytes(tag & 1));
        const uint32_t seeders = kLadder.v[(tag >> 48) & 0xff];
        if (r == rs) return {base, seeders};
        return {base + seeders, kLadder.v[tag >> 56]};
      }
    }
    return RegionOf<E>(block, r);
  }

  struct Lookup {
    E* at = nullptr;
    int region = -1;
    E* hole[2] = {nullptr, nullptr};  // [seeders, leechers]
    uint32_t same_source = 0;
  };
  // Probes region `first` (where the caller expects the key) before the
  // other: a stored peer keeps its role on almost every announce, and the
  // other region's probe would be a miss, the longest kind (up to a whole
  // run at 7/8 load). `same_source` is complete only when nothing is found.
  Lookup Find(const E& key, int first = rs) const {
    Lookup l;
    if (block == nullptr) return l;
    for (int r : {first, first == rs ? rl : rs}) {
      l.at = Region(r).Find(key, ctx.seed, &l.hole[r - rs], &l.same_source);
      if (l.at != nullptr) {
        l.region = r;
        return l;
      }
    }
    return l;
  }

  // Stores `e` (absent) in region r; `hole` as Find left it, if unchanged.
  bool Insert(int r, const E& e, uint16_t tag, E* hole, bool force) {
    const uint32_t count = CountOf(block, r);
    if (block == nullptr || count + 1 > MaxLoad(CapOf(block, r))) {
      uint32_t caps[kRegions];
      CopyCaps(block, caps);
      const uint32_t need = count + 1;
      while (MaxLoad(caps[r]) < need) caps[r] = GrownCap(caps[r]);
      if (!Rebuild(&block, caps, kKeepAll, ctx, force)) return false;
      rebuilt = true;
      hole = nullptr;
    }
    RegionRef<E> reg = RegionOf<E>(block, r);
    if (hole != nullptr) {
      *hole = e;
      reg.Join(static_cast<uint32_t>(hole - reg.arr), tag);
    } else {
      reg.Place(e, tag, ctx.seed);
    }
    reg.MaybeSortRuns();
    AddCount(block, r, +1);
    // An entry stored without a map has no network tag, and one stored
    // with another map than the block's (a re-tag the budget refused, a
    // restore) has that map's: either way the block's tags no longer all
    // come from its map, so none is trusted until a re-tag (a reply with
    // the block's map, which races an unload or a reload, looks entries
    // up).
    if (IsTagged(block) &&
        (ctx.map == nullptr || !TaggedFrom(block, ctx.map))) {
      SetGeneration(block, kNoGeneration);
    }
    return true;
  }

  // A wide block made before the map was loaded (or restored without it),
  // or tagged from another map (before a reload), is tagged from this one
  // at the first announce that brings it: one lookup per entry, once per
  // block and map (a failed rebuild leaves it as it was: the next announce
  // retries).
  void RetagIfStale() {
    if (ctx.map == nullptr || block == nullptr || !IsWide(block)) return;
    if (TaggedFrom(block, ctx.map)) return;
    uint32_t caps[kRegions];
    CopyCaps(block, caps);
    rebuilt |= Rebuild(&block, caps, kKeepAll, ctx, /*force=*/false);
  }

  void Erase(int r, E* at) {
    RegionRef<E> reg = RegionOf<E>(block, r);
    reg.Erase(at, ctx.seed);
    reg.MaybeSortRuns();
    AddCount(block, r, -1);
  }

  // Gives region r back its slack when it has far more than it needs
  // (a failed shrink is harmless: the next one retries).
  void MaybeShrink(int r) {
    const uint32_t count = CountOf(block, r);
    if (!ShouldShrink(count, CapOf(block, r))) return;
    uint32_t caps[kRegions];
    CopyCaps(block, caps);
    caps[r] = FitCap(count);
    rebuilt |= Rebuild(&block, caps, kKeepAll, ctx, /*force=*/true);
  }

  // Counts a new entry against its prefix's share; false when the prefix
  // holds its share already.
  bool TakeShare(const E& e) const {
    return ctx.share == nullptr || ctx.share->TryAdd(ShareKey(ctx.share, e));
  }
  // Gives back what TakeShare() took for an entry that is not stored.
  void GiveShare(const E& e) const {
    if (ctx.share != nullptr) ctx.share->Remove(ShareKey(ctx.share, e));
  }

  // Records one entry more (+1) or fewer (-1) in region r in *change.
  static void Count(int r, int32_t d, CountChange* change) {
    (r == rs ? change->seeders : change->leechers) += d;
    if constexpr (std::is_same_v<E, PeerV4>) {
      change->v4 += d;
      if (r == rs) change->seeders_v4 += d;
    }
  }

  PeerChange Announce(const PeerAnnounce& a, CountChange* change) {
    const E key = MakeEntry<E>(a.peer);
    const int want = a.seeder ? rs : rl;
    const uint16_t tick = TickOf(a.now);
    // Only with a map: the tag-word wide bit keeps the mapless path as is.
    if (ctx.map != nullptr && (tag & 1)) RetagIfStale();
    const uint16_t net = NetworkTag(a.network);
    Lookup l = Find(key, want);
    if (l.at != nullptr) {
      uint16_t counted = l.at->meta & kCountedBit;
      if (l.region == want) {
        l.at->meta = counted | tick;
        return PeerChange::kUpdated;
      }
      // Role change: move the entry. It is already stored, so it may
      // overshoot the budget rather than be lost.
      Erase(l.region, l.at);
      Count(l.region, -1, change);
      if (want == rs && counted == 0) {
        ++block->completed;
        ++change->downloads;
        counted = kCountedBit;
      }
      E moved = key;
      moved.meta = counted | tick;
      if (!Insert(want, moved, net, nullptr, /*force=*/true)) {
        GiveShare(key);
        return PeerChange::kNoMemory;  // the allocator failed: dropped
      }
      Count(want, +1, change);
      MaybeShrink(l.region);
      return PeerChange::kUpdated;
    }
    if (SwarmFull(block, ctx)) return PeerChange::kSwarmFull;
    if (l.same_source >= ctx.max_per_source) return PeerChange::kSourceCapped;
    if (!TakeShare(key)) return PeerChange::kPrefixCapped;
    E fresh = key;
    fresh.meta = tick | (a.seeder ? kCountedBit : 0);
    if (!Insert(want, fresh, net, l.hole[want - rs], /*force=*/false)) {
      GiveShare(key);
      return PeerChange::kNoMemory;
    }
    Count(want, +1, change);
    if (a.seeder && a.completed_event) {
      ++block->completed;
      ++change->downloads;
    }
    return PeerChange::kAdded;
  }

  PeerChange Restore(const PeerRecord& rec) {
    E key = MakeEntry<E>(rec.peer);
    const Lookup l = Find(key);
    if (l.at != nullptr) return PeerChange::kUpdated;
    if (SwarmFull(block, ctx)) return PeerChange::kSwarmFull;
    if (l.same_source >= ctx.max_per_source) return PeerChange::kSourceCapped;
    if (!TakeShare(key)) return PeerChange::kPrefixCapped;
    // A seeder is always counted (the invariant Check() tests).
    key.meta = TickOf(rec.last_seen) |
               (rec.seeder || rec.counted ? kCountedBit : 0);
    const int want = rec.seeder ? rs : rl;
    const uint16_t net =
        ctx.map != nullptr ? NetworkTag(ctx.map->Lookup(rec.peer)) : 0;
    if (!Insert(want, key, net, l.hole[want - rs], /*force=*/false)) {
      GiveShare(key);
      return PeerChange::kNoMemory;
    }
    return PeerChange::kAdded;
  }

  void Snapshot(uint32_t now, std::vector<PeerRecord>* out) const {
    if (block == nullptr) return;
    const uint16_t now_tick = TickOf(now);
    for (int r = rs; r <= rl; ++r) {
      const RegionRef<E> reg = RegionOf<E>(block, r);
      for (uint32_t i = 0; i < reg.cap; ++i) {
        const E& e = reg.arr[i];
        if (e.port_be == 0) continue;
        PeerRecord rec;
        rec.peer.family =
            std::is_same_v<E, PeerV4> ? AddressFamily::kV4 : AddressFamily::kV6;
        std::memcpy(rec.peer.ip.data(), e.ip, E::kIpLen);
        rec.peer.port =
            wire::LoadBe16(reinterpret_cast<const uint8_t*>(&e.port_be));
        const uint32_t age = (now_tick - (e.meta & kTickMask)) & kTickMask;
        rec.last_seen = now - std::min(now, age * kTickSeconds);
        rec.seeder = r == rs;
        rec.counted = (e.meta & kCountedBit) != 0;
        out->push_back(rec);
      }
    }
  }

  PeerChange Remove(const PeerEndpoint& peer) {
    Lookup l = Find(MakeEntry<E>(peer));
    if (l.at == nullptr) return PeerChange::kAbsent;
    GiveShare(*l.at);
    Erase(l.region, l.at);
    MaybeShrink(l.region);
    return PeerChange::kRemoved;
  }

  uint32_t Select(const PeerEndpoint& self, bool seeder, uint32_t want,
                  uint64_t random, uint8_t* out) const {
    if (block == nullptr || want == 0) return 0;
    // The leecher region directly follows the seeder region.
    const RegionRef<E> seeders = Region(rs), leechers = Region(rl);
    const E* const a = seeder ? leechers.arr : seeders.arr;
    const uint32_t c = leechers.cap + (seeder ? 0 : seeders.cap);
    if (c == 0) return 0;
    const E me = MakeEntry<E>(self);
    uint32_t n = 0;
    uint32_t i = Scale(random, c);  // the window's start
    uint32_t left = c;              // entries not yet visited
    // Branch-free: every entry is copied to `out`, but `out` advances only
    // past the kept ones. While at least one more entry may follow, the
    // copy is the whole entry (a fixed-size store; the bytes past the
    // BEP 15 form land where the next entry goes, inside the caller's
    // span); the last one is copied at its wire length.
    while (left > 0 && n + 1 < want) {
      const E* p = a + i;
      const uint32_t run = std::min(c - i, left);  // up to the wrap
      uint32_t k = 0;
      for (; k < run && n + 1 < want; ++k) {
        // Stay a few cache lines ahead of the walk.
        if ((k & 7) == 0) {
          __builtin_prefetch(reinterpret_cast<const void*>(
              reinterpret_cast<uintptr_t>(p + k) + 256));
        }
        const bool keep = (p[k].port_be != 0) & !SameEndpoint(p[k], me);
        std::memcpy(out, &p[k], sizeof(E));
        out += keep ? E::kWireLen : 0;
        n += keep;
      }
      left -= k;
      i = i + k == c ? 0 : i + k;
    }
    for (; left > 0 && n < want; --left, i = Next(i, c)) {
      const E& e = a[i];
      if (e.port_be == 0 || SameEndpoint(e, me)) continue;
      std::memcpy(out, &e, E::kWireLen);
      out += E::kWireLen;
      ++n;
    }
    return n;
  }

  // Select() with locality over a tagged block, in O(numwant) (plus, now
  // and then, a sort of a region whose lists replies keep reading: O(cap),
  // amortized to at most 8 entries per list member read):
  //   1. the quota comes from the requester's network in the leechers'
  //      and, for a leecher, the seeders' region, half from each (the
  //      first at random; more from one when the other runs out), each
  //      going round the network's run (copies of its entries, read
  //      in order) and its list (members since the last sort) as one
  //      cycle from where the last reply stopped (round robin: replies to
  //      one network go round all its peers, the newly joined included);
  //   2. the others come from Select()'s random window, skipping local
  //      tags, for at most kLocalityScanLimit entries;
  //   3. locals past the quota fill what the others leave.
  // No map lookup: an entry's network is its tag.
  uint32_t SelectTagged(const PeerEndpoint& self, bool seeder, uint32_t want,
                        uint64_t random, uint8_t* out, const Locality& loc,
                        LocalityTally* tally) const {
    const RegionRef<E> seeders = RegionOf<E>(block, rs);
    const RegionRef<E> leechers = RegionOf<E>(block, rl);
    const uint16_t t = NetworkTag(loc.network);
    // The requester's network in one region: its cycle (the run's slots,
    // then the list from its head), read at most once round from the
    // cursor. A position is a run offset or a list member's entry index.
    struct Source {
      const RegionRef<E>* reg = nullptr;
      DirEntry* de = nullptr;
      bool in_list = false;  // the next position to visit
      uint32_t at = 0;
      bool start_in_list = false;  // where the reply began
      uint32_t start = 0;
      bool done = false;
      uint32_t list_reads = 0;  // list members read
    };
    Source src[2];
    uint32_t sources = 0;
    for (const RegionRef<E>* reg : {&leechers, &seeders}) {
      if (seeder && reg == &seeders) break;
      DirEntry* de = reg->Dir(t);
      if (de == nullptr) continue;
      Source& so = src[sources++];
      so.reg = reg;
      so.de = de;
      so.in_list = (de->next & kListCursor) != 0;
      so.at = de->next & ~kListCursor;
      if (!so.in_list && so.at >= de->len) {  // the run's end: the list
        so.in_list = de->head != kNoHead;
        so.at = so.in_list ? de->head : 0;
      }
      so.start_in_list = so.in_list;
      so.start = so.at;
    }
    if (sources == 0) {
      // No peer of the requester's network is eligible: the random reply.
      const uint32_t n = Select(self, seeder, want, random, out);
      tally->ranked = n;
      return n;
    }
    const E* const a = seeder ? leechers.arr : seeders.arr;
    const uint16_t* const ta = seeder ? leechers.tags : seeders.tags;
    const uint32_t c = leechers.cap + (seeder ? 0 : seeders.cap);
    const E me = MakeEntry<E>(self);
    const uint32_t quota = LocalQuota(want, loc.share_q16);
    uint32_t n = 0;
    auto put = [&](const E& e) {
      std::memcpy(out + n * E::kWireLen, &e, E::kWireLen);
      ++n;
    };
    // Takes up to k members of so's cycle other than the requester into
    // the reply, going on from where so stopped and never past one round;
    // returns how many. The run is read in order (its entries' cache lines
    // stream in); the list one member at a time.
    auto take_from = [&](Source& so, uint32_t k) -> uint32_t {
      const DirEntry& de = *so.de;
      bool in_list = so.in_list;
      uint32_t at = so.at;
      bool done = so.done;
      uint32_t taken = 0;
      while (taken < k && !done) {
        if (!in_list) {
          // The run from `at` to its end, or to where the round began.
          const uint32_t end =
              !so.start_in_list && so.start > at ? so.start : de.len;
          const E* const run = so.reg->run + de.start;
          for (; at < end && taken < k; ++at) {
            const E& e = run[at];
            if (e.port_be != 0 && !SameEndpoint(e, me)) {
              put(e);
              ++taken;
            }
          }
          if (at < end) break;  // k taken
          if (end == de.len) {  // the run's end: the list, or the run again
            in_list = de.head != kNoHead;
            at = in_list ? de.head : 0;
          }
        } else {
          while (taken < k) {
            const uint32_t m = at;
            ++so.list_reads;
            at = so.reg->links[m].next;
            if (!SameEndpoint(so.reg->arr[m], me)) {
              put(so.reg->arr[m]);
              ++taken;
            }
            if (at == de.head && de.len != 0) {  // the list's end: the run
              in_list = false;
              at = 0;
              break;
            }
            if (at == so.start && so.start_in_list) break;
          }
        }
        done = in_list == so.start_in_list && at == so.start;
      }
      so.in_list = in_list;
      so.at = at;
      so.done = done;
      return taken;
    };
    // Up to `take` locals, half from each source (the first picked at
    // random), more from one when the other runs out.
    const uint32_t first = sources == 2 ? static_cast<uint32_t>(random >> 63) : 0;
    auto take_locals = [&](uint32_t take) {
      if (sources == 1) return take_from(src[0], take);
      uint32_t got = take_from(src[first], (take + 1) / 2);
      got += take_from(src[first ^ 1], take - got);
      if (got < take) got += take_from(src[first], take - got);
      return got;
    };
    take_locals(quota);
    const uint32_t nl = n;
    // 2. The others, in Select()'s window order. Branch-free, as
    // Select()'s copy: every entry is written where the next goes, and
    // counts only if it is another network's peer (an empty entry has
    // port 0; n < want, so the write stays inside the reply).
    uint32_t i = Scale(random, c);
    for (uint32_t left = std::min(c, kLocalityScanLimit); left > 0 && n < want;
         --left, i = Next(i, c)) {
      const bool keep =
          (ta[i] != t) & (a[i].port_be != 0) & !SameEndpoint(a[i], me);
      std::memcpy(out + n * E::kWireLen, &a[i], E::kWireLen);
      n += keep;
    }
    // 3. More locals if the others ran out.
    const uint32_t more = n < want ? take_locals(want - n) : 0;
    // The next reply to this network goes on where this one stopped; a
    // region whose lists replies keep reading is sorted (the swarm's lock
    // is held: see PeerSet::Select).
    for (uint32_t k = 0; k < sources; ++k) {
      src[k].de->next = src[k].in_list ? kListCursor | src[k].at : src[k].at;
      RegionRef<E> reg = *src[k].reg;
      reg.CountListReads(src[k].list_reads);
    }
    tally->local = nl + more;
    tally->ranked = n;
    return n;
  }

  // Select() with locality: one walk from the same random start over the
  // same eligible entries, looking up each one's network, writes local
  // ones to `out` up to the quota and keeps others (and locals past the
  // quota) aside; then the reply is the locals, the others in walk order,
  // and, if those run out, the locals past the quota. The walk stops once
  // the quota and the fill are met, or after kLocalityScanLimit entries.
  uint32_t SelectLocal(const PeerEndpoint& self, bool seeder, uint32_t want,
                       uint64_t random, uint8_t* out, const Locality& loc,
                       LocalityTally* tally) const {
    if (block == nullptr || want == 0) return 0;
    // Tags from another map (a re-tag the budget refused) would rank
    // peers by that map's networks: such a block is looked up instead.
    if (TaggedFrom(block, loc.map)) {
      return SelectTagged(self, seeder, want, random, out, loc, tally);
    }
    const RegionRef<E> seeders = Region(rs), leechers = Region(rl);
    const E* const a = seeder ? leechers.arr : seeders.arr;
    const uint32_t c = leechers.cap + (seeder ? 0 : seeders.cap);
    if (c == 0) return 0;
    constexpr AddressFamily kFamily = std::is_same_v<E, PeerV4>
                                          ? AddressFamily::kV4
                                          : AddressFamily::kV6;
    const E me = MakeEntry<E>(self);
    const uint32_t quota = LocalQuota(want, loc.share_q16);
    E others[kMaxLocalityReply];
    E extra[kMaxLocalityReply];
    uint32_t nl = 0, no = 0, nx = 0;
    uint32_t i = Scale(random, c);  // the window's start, as Select's
    for (uint32_t left = std::min(c, kLocalityScanLimit); left > 0;
         --left, i = Next(i, c)) {
      const E& e = a[i];
      if (e.port_be == 0 || SameEndpoint(e, me)) continue;
      if (loc.map->Lookup(kFamily, e.ip) == loc.network) {
        if (nl < quota) {
          std::memcpy(out + nl * E::kWireLen, &e, E::kWireLen);
          ++nl;
        } else if (nx < want) {
          extra[nx++] = e;
        }
      } else if (no < want) {
        others[no++] = e;
      }
      if (nl == quota && no >= want - quota) break;
    }
    uint32_t n = nl;
    for (uint32_t k = 0; k < no && n < want; ++k, ++n) {
      std::memcpy(out + n * E::kWireLen, &others[k], E::kWireLen);
    }
    uint32_t more = 0;
    for (; more < nx && n < want; ++more, ++n) {
      std::memcpy(out + n * E::kWireLen, &extra[more], E::kWireLen);
    }
    tally->local = nl + more;
    tally->ranked = n;
    return n;
  }

  // Fetches the entry Find(key, role's region) probes first and the
  // entries Select(self, seeder, want, random) reads first: `want` and a
  // quarter more for empty entries, at most kPrefetchLines cache lines
  // (Select's own read-ahead covers the rest of a larger window).
  void Prefetch(const PeerEndpoint& self, bool seeder, uint32_t want,
                uint64_t random) const {
    const RegionRef<E> seeders = Region(rs), leechers = Region(rl);
    const RegionRef<E>& own = seeder ? seeders : leechers;
    if (own.cap > 0) {
      __builtin_prefetch(
          own.arr + Scale(SourceHash(MakeEntry<E>(self), ctx.seed), own.cap));
    }
    const uint32_t c = leechers.cap + (seeder ? 0 : seeders.cap);
    if (c == 0 || want == 0) return;
    const E* const a = seeder ? leechers.arr : seeders.arr;
    const uint32_t i = Scale(random, c);  // as Select picks it
    const uint32_t n = std::min<uint32_t>(
        {c, want + want / 4 + 1, kPrefetchLines * 64 / sizeof(E)});
    const uint32_t first = std::min(c - i, n);  // up to the wrap
    PrefetchLines(a + i, first);
    PrefetchLines(a, n - first);
  }

  // Fetches the first entries of tag t that SelectTagged() reads for a
  // quota of `quota` locals: from a cursor in the run, the slots of the
  // region's part of the quota (half each when both regions the reply
  // reads hold the network), up to the segment's end; from a cursor in
  // the list (or at the run's end), the list member it starts at. No
  // more: every line fetched holds a fill buffer the batch's other
  // lookups wait for.
  void PrefetchRuns(bool seeder, uint32_t quota, uint16_t t) const {
    RegionRef<E> regs[2];
    const DirEntry* des[2];
    int sources = 0;
    for (int r = rl; r >= rs; --r) {
      if (seeder && r == rs) break;
      regs[sources] = RegionOf<E>(block, r);
      des[sources] = regs[sources].Dir(t);
      if (des[sources] != nullptr) ++sources;
    }
    const uint32_t part = sources == 2 ? (quota + 1) / 2 : quota;
    for (int k = 0; k < sources; ++k) {
      const RegionRef<E>& reg = regs[k];
      const DirEntry* de = des[k];
      if ((de->next & kListCursor) == 0 && de->next < de->len) {
        PrefetchLines(reg.run + de->start + de->next,
                      std::min(part, de->len - de->next));
        continue;
      }
      const uint32_t m =
          (de->next & kListCursor) != 0 ? de->next & ~kListCursor : de->head;
      if (m != kNoHead) {
        PrefetchLine(reg.arr + m);
      } else {  // the run's end and no list: the run again
        PrefetchLines(reg.run + de->start, std::min(part, de->len));
      }
    }
  }

  // Fetches what SelectTagged() reads first: tag t's directory home (its
  // entry's line(s)) in the regions the reply reads, and
  // the tags at the start of its window. IPv4 only, from the tag word
  // alone (an IPv4 index lies right after the IPv4 entries).
  // REQUIRES: the tag word says the block is tagged.
  void PrefetchIndex(bool seeder, uint64_t random, uint16_t t) const
    requires std::is_same_v<E, PeerV4>
  {
    // Region() reads the IPv4 regions from the tag word; the index
    // follows the leechers'.
    RegionRef<E> reg[2] = {Region(rs), Region(rl)};
    const uint32_t cs = reg[0].cap, cl = reg[1].cap;
    char* index = reinterpret_cast<char*>(reg[1].arr + cl);
    const IndexLayout at(cs, cl, sizeof(E));
    for (int k = 0; k < 2; ++k) IndexAt<E>(index, at, cs, reg[k].cap, k, &reg[k]);
    for (int k = seeder ? 1 : 0; k < 2; ++k) {
      if (reg[k].dcap == 0) continue;
      const uint32_t d = DirHome(t, reg[k].dcap);
      // The home entry's line(s) only: a probe that runs on reads a line
      // more under the lock, rarer than the fill buffer another prefetch
      // here would hold up.
      PrefetchLines(reg[k].dent + d, 1);
    }
    // The window is the seeders then the leechers (a leecher's), or the
    // leechers alone (a seeder's), as Select() picks it.
    const uint32_t c = cl + (seeder ? 0 : cs);
    if (c != 0) PrefetchLine(reg[seeder ? 1 : 0].tags + Scale(random, c));
  }

  bool Check(std::string* why) const {
    for (int r = rs; r <= rl; ++r) {
      const RegionRef<E> reg = RegionOf<E>(block, r);
      uint32_t n = 0;
      for (uint32_t i = 0; i < reg.cap; ++i) {
        const E& e = reg.arr[i];
        if (e.port_be == 0) continue;
        ++n;
        if (r == rs && (e.meta & kCountedBit) == 0) {
          *why = absl::StrCat("region ", r, ": uncounted seeder");
          return false;
        }
        const Lookup l = Find(e);
        if (l.at != &reg.arr[i]) {
          *why = absl::StrCat("region ", r, " entry ", i,
                              " unreachable or stored twice");
          return false;
        }
      }
      if (n != CountOf(block, r) || n > MaxLoad(reg.cap)) {
        *why = absl::StrCat("region ", r, ": count ", CountOf(block, r),
                            " cap ", reg.cap, " but ", n, " entries");
        return false;
      }
      if (reg.tags != nullptr && !CheckLists(r, reg, why)) return false;
      // A block whose tags claim to be ctx.map's holds that map's tags.
      if (reg.tags != nullptr && ctx.map != nullptr &&
          TaggedFrom(block, ctx.map)) {
        constexpr AddressFamily kFamily = std::is_same_v<E, PeerV4>
                                              ? AddressFamily::kV4
                                              : AddressFamily::kV6;
        for (uint32_t i = 0; i < reg.cap; ++i) {
          if (reg.arr[i].port_be == 0) continue;
          const uint16_t want =
              NetworkTag(ctx.map->Lookup(kFamily, reg.arr[i].ip));
          if (reg.tags[i] != want) {
            *why = absl::StrCat("region ", r, " entry ", i, ": tag ",
                                reg.tags[i], " but the map says ", want);
            return false;
          }
        }
      }
    }
    return true;
  }

  // Every tagged entry is in exactly one of its tag's run (its slot there
  // holds its copy, and no other member's) and its tag's list; every list
  // is circular, its links agree both ways; every directory slot is
  // reachable from its home, has members, a cursor on its run or on a
  // member of its list, and live counts that match its run's slots; the
  // header counts list members plus dead slots.
  static bool CheckLists(int r, const RegionRef<E>& reg, std::string* why) {
    auto fail = [&](auto... what) {
      *why = absl::StrCat("region ", r, ": ", what...);
      return false;
    };
    uint32_t tagged = 0, in_runs = 0;
    if (reg.hdr[kRunUsed] > reg.cap) {
      return fail("run used ", reg.hdr[kRunUsed], " past its ", reg.cap,
                  " slots");
    }
    std::vector<bool> claimed(reg.hdr[kRunUsed]);
    for (uint32_t i = 0; i < reg.cap; ++i) {
      if (reg.arr[i].port_be == 0 && reg.tags[i] != 0) {
        return fail("entry ", i, " empty but tagged");
      }
      if (reg.tags[i] == 0) continue;
      ++tagged;
      if (reg.links[i].prev != kInRun) continue;
      // A run member: its slot, inside its network's segment, holds its
      // copy, and no other member's.
      ++in_runs;
      const uint32_t slot = reg.links[i].next;
      const DirEntry* de = reg.Dir(reg.tags[i]);
      if (de == nullptr || slot >= reg.hdr[kRunUsed] ||
          !SameEndpoint(reg.run[slot], reg.arr[i]) || slot < de->start ||
          slot - de->start >= de->len || claimed[slot]) {
        return fail("entry ", i, " not in its run");
      }
      claimed[slot] = true;
    }
    // Every live slot is a member's (so each segment holds its network's).
    uint32_t dead = 0;
    for (uint32_t slot = 0; slot < reg.hdr[kRunUsed]; ++slot) {
      if (reg.run[slot].port_be == 0) {
        ++dead;
      } else if (!claimed[slot]) {
        return fail("run slot ", slot, " holds no member");
      }
    }
    uint32_t listed = 0, live = 0;
    for (uint32_t d = 0; d < reg.dcap; ++d) {
      const uint16_t t = reg.dent[d].tag;
      if (t == 0) continue;
      const DirEntry& de = reg.dent[d];
      if (reg.DirSlot(t) != d) return fail("network ", t, " not reachable");
      if (de.head == kNoHead && de.live == 0) {
        return fail("network ", t, " listed without members");
      }
      if ((de.next & kListCursor) != 0) {
        const uint32_t k = de.next & ~kListCursor;
        if (k >= reg.cap || reg.tags[k] != t || reg.links[k].prev == kInRun) {
          return fail("network ", t, " cursor at ", k, " off its list");
        }
      } else if (de.next > de.len) {
        return fail("network ", t, " cursor past its run");
      }
      if (de.start + de.len > reg.hdr[kRunUsed]) {
        return fail("network ", t, " run out of bounds");
      }
      uint32_t alive = 0;
      for (uint32_t k = 0; k < de.len; ++k) {
        alive += reg.run[de.start + k].port_be != 0;
      }
      if (alive != de.live) return fail("network ", t, " live count");
      live += alive;
      if (de.head == kNoHead) continue;
      uint32_t k = de.head, steps = 0;
      do {
        if (k >= reg.cap || reg.tags[k] != t || reg.links[k].prev == kInRun ||
            reg.links[reg.links[k].next].prev != k || ++steps > reg.cap) {
          return fail("network ", t, " list broken at ", k);
        }
        k = reg.links[k].next;
      } while (k != de.head);
      listed += steps;
    }
    if (live != in_runs || listed + in_runs != tagged) {
      return fail(tagged, " tagged entries but ", in_runs, " in runs (",
                  live, " counted) and ", listed, " listed");
    }
    if (reg.hdr[kUnsorted] != listed + dead) {
      return fail("unsorted ", reg.hdr[kUnsorted], " but ", listed,
                  " listed and ", dead, " dead");
    }
    return true;
  }
};

}  // namespace

// Runs `op` on this set's FamilyOps for `family` and rewrites the tag if
// the block changed.
template <class Op>
auto PeerSet::WithBlock(AddressFamily family, const PeerSetContext& ctx,
                        Op op) {
  Block* b = BlockOf(block_);
  auto run = [&](auto ops) {
    const auto result = op(ops);
    if (ops.rebuilt) SetBlock(TagOf(b));
    return result;
  };
  if (family == AddressFamily::kV4) {
    return run(FamilyOps<PeerV4>{b, ctx, block_});
  }
  return run(FamilyOps<PeerV6>{b, ctx, block_});
}

PeerChange PeerSet::Announce(const PeerAnnounce& a, const PeerSetContext& ctx,
                             CountChange* change) {
  // counts() reads the header after the announce: start fetching it now,
  // alongside the entries.
  __builtin_prefetch(BlockOf(block_));
  return WithBlock(a.peer.family, ctx,
                   [&](auto& ops) { return ops.Announce(a, change); });
}

PeerChange PeerSet::Remove(const PeerEndpoint& peer,
                           const PeerSetContext& ctx) {
  return WithBlock(peer.family, ctx,
                   [&](auto& ops) { return ops.Remove(peer); });
}

uint32_t PeerSet::Select(const PeerEndpoint& self, bool seeder, uint32_t want,
                         uint64_t random, std::span<uint8_t> out) const {
  // Select reads only; the context's budget is not touched.
  static const PeerSetContext kNoContext;
  Block* b = BlockOf(block_);
  if (self.family == AddressFamily::kV4) {
    want = std::min<uint32_t>(want, out.size() / PeerV4::kWireLen);
    return FamilyOps<PeerV4>{b, kNoContext, block_}.Select(
        self, seeder, want, random, out.data());
  }
  want = std::min<uint32_t>(want, out.size() / PeerV6::kWireLen);
  return FamilyOps<PeerV6>{b, kNoContext, block_}.Select(self, seeder, want,
                                                         random, out.data());
}

void PeerSet::PrefetchRuns(const PeerEndpoint& self, bool seeder,
                           uint32_t want, const Locality& loc) const {
  static const PeerSetContext kNoContext;
  Block* b = BlockOf(block_);
  if (b == nullptr || !loc.active() || !TaggedFrom(b, loc.map)) return;
  const uint16_t t = NetworkTag(loc.network);
  const uint32_t quota = LocalQuota(want, loc.share_q16);
  if (self.family == AddressFamily::kV4) {
    FamilyOps<PeerV4>{b, kNoContext, block_}.PrefetchRuns(seeder, quota, t);
  } else {
    FamilyOps<PeerV6>{b, kNoContext, block_}.PrefetchRuns(seeder, quota, t);
  }
}

uint32_t PeerSet::Select(const PeerEndpoint& self, bool seeder, uint32_t want,
                         uint64_t random, std::span<uint8_t> out,
                         const Locality& loc, LocalityTally* tally) const {
  LocalityTally ignored;
  if (tally == nullptr) tally = &ignored;
  *tally = {};
  if (!loc.active() || want > kMaxLocalityReply) {
    return Select(self, seeder, want, random, out);
  }
  static const PeerSetContext kNoContext;
  Block* b = BlockOf(block_);
  // A window of at most `want` entries goes out whole: nothing to rank.
  {
    uint32_t caps[kRegions];
    CopyCaps(b, caps);
    const int rs = self.family == AddressFamily::kV4 ? kSeed4 : kSeed6;
    if (caps[rs + 1] + (seeder ? 0 : caps[rs]) <= want) {
      return Select(self, seeder, want, random, out);
    }
  }
  if (self.family == AddressFamily::kV4) {
    want = std::min<uint32_t>(want, out.size() / PeerV4::kWireLen);
    return FamilyOps<PeerV4>{b, kNoContext, block_}.SelectLocal(
        self, seeder, want, random, out.data(), loc, tally);
  }
  want = std::min<uint32_t>(want, out.size() / PeerV6::kWireLen);
  return FamilyOps<PeerV6>{b, kNoContext, block_}.SelectLocal(
      self, seeder, want, random, out.data(), loc, tally);
}

void PeerSet::Prefetch(const PeerEndpoint& self, bool seeder, uint32_t want,
                       uint64_t random, const PeerSetContext& ctx,
                       const Locality& loc) const {
  // May run without the swarm's lock: reads the word atomically (SetBlock
  // writes it so) and never dereferences the block, which may be freed
  // meanwhile; a prefetch of a stale address is only wasted.
  const uint64_t tag = __atomic_load_n(&block_, __ATOMIC_RELAXED);
  Block* b = BlockOf(tag);
  if (b == nullptr) return;
  __builtin_prefetch(b);  // counts() reads the header after the announce
  if (self.family == AddressFamily::kV4) {
    // The tag says where the entries are: no header read.
    const FamilyOps<PeerV4> ops{b, ctx, tag};
    ops.Prefetch(self, seeder, want, random);
    if (loc.active() && (tag & 2) != 0) {
      ops.PrefetchIndex(seeder, random, NetworkTag(loc.network));
    }
  }
}

PeerSet::Expired PeerSet::Expire(uint32_t now, uint32_t timeout_s,
                                 const PeerSetContext& ctx) {
  Expired ex;
  Block* block = BlockOf(block_);
  if (block == nullptr) return ex;
  const uint16_t now_tick = TickOf(now);
  const uint32_t timeout_ticks = (timeout_s + kTickSeconds - 1) / kTickSeconds;
  auto alive = [&](const auto& e) {
    const uint32_t age = (now_tick - (e.meta & kTickMask)) & kTickMask;
    return age <= timeout_ticks;
  };
  uint32_t dead[kRegions] = {0, 0, 0, 0};
  auto count_dead = [&](auto tag) {
    using E = decltype(tag);
    for (int r = SeederRegion<E>(); r < SeederRegion<E>() + 2; ++r) {
      const RegionRef<E> reg = RegionOf<E>(block, r);
      for (uint32_t i = 0; i < reg.cap; ++i) {
        dead[r] += reg.arr[i].port_be != 0 && !alive(reg.arr[i]);
      }
    }
  };
  count_dead(PeerV4{});
  count_dead(PeerV6{});
  if (dead[0] + dead[1] + dead[2] + dead[3] == 0) return ex;
  uint32_t caps[kRegions];
  uint32_t stored[kRegions];
  CensusOf(block, stored);
  for (int r = 0; r < kRegions; ++r) {
    const uint32_t left = stored[r] - dead[r];
    caps[r] = ShouldShrink(left, CapOf(block, r)) ? FitCap(left)
                                                   : CapOf(block, r);
  }
  // An entry leaves its prefix's share as the rebuild drops it (a rebuild
  // that fails drops nothing).
  auto keep = [&](const auto& e) {
    if (alive(e)) return true;
    if (ctx.share != nullptr) ctx.share->Remove(ShareKey(ctx.share, e));
    return false;
  };
  if (!Rebuild(&block, caps, keep, ctx, /*force=*/true)) return ex;
  SetBlock(TagOf(block));
  ex.v4 = dead[kSeed4] + dead[kLeech4];
  ex.v6 = dead[kSeed6] + dead[kLeech6];
  return ex;
}

void PeerSet::Snapshot(uint32_t now, std::vector<PeerRecord>* out) const {
  static const PeerSetContext kNoContext;
  Block* b = BlockOf(block_);
  FamilyOps<PeerV4>{b, kNoContext, block_}.Snapshot(now, out);
  FamilyOps<PeerV6>{b, kNoContext, block_}.Snapshot(now, out);
}

PeerChange PeerSet::Restore(const PeerRecord& r, const PeerSetContext& ctx) {
  return WithBlock(r.peer.family, ctx,
                   [&](auto& ops) { return ops.Restore(r); });
}

void PeerSet::SetCompleted(uint32_t completed) {
  if (Block* b = BlockOf(block_)) b->completed = completed;
}

void PeerSet::Clear(MemoryBudget* budget) {
  Block* b = BlockOf(block_);
  if (b == nullptr) return;
  budget->Release(MallocChunkBytes(BlockBytesOf(b)));
  std::free(b);
  SetBlock(0);
}

SwarmCounts PeerSet::counts() const {
  Block* b = BlockOf(block_);
  if (b == nullptr) return {};
  uint32_t n[kRegions];
  CensusOf(b, n);
  return {n[kSeed4] + n[kSeed6], n[kLeech4] + n[kLeech6], b->completed,
          n[kSeed4] + n[kLeech4], n[kSeed4]};
}

uint32_t PeerSet::peers(AddressFamily f) const {
  Block* b = BlockOf(block_);
  if (b == nullptr) return 0;
  uint32_t n[kRegions];
  CensusOf(b, n);
  return f == AddressFamily::kV4 ? n[kSeed4] + n[kLeech4] : n[kSeed6] + n[kLeech6];
}

bool PeerSet::empty() const { return TotalOf(BlockOf(block_)) == 0; }

uint32_t PeerSet::unsorted(AddressFamily f) const {
  Block* b = BlockOf(block_);
  if (b == nullptr || !IsTagged(b)) return 0;
  auto sum = [&](auto tag) {
    using E = decltype(tag);
    const int rs = SeederRegion<E>();
    return RegionOf<E>(b, rs).hdr[kUnsorted] +
           RegionOf<E>(b, rs + 1).hdr[kUnsorted];
  };
  return f == AddressFamily::kV4 ? sum(PeerV4{}) : sum(PeerV6{});
}

size_t PeerSet::bytes() const {
  Block* b = BlockOf(block_);
  return b ? MallocChunkBytes(BlockBytesOf(b)) : 0;
}

bool PeerSet::Check(const PeerSetContext& ctx, std::string* why) const {
  Block* b = BlockOf(block_);
  if (b == nullptr) return true;
  if (TagOf(b) != block_) {
    *why = "the tag does not describe the block";
    return false;
  }
  return FamilyOps<PeerV4>{b, ctx, block_}.Check(why) &&
         FamilyOps<PeerV6>{b, ctx, block_}.Check(why);
}

}  // namespace ringtrack
