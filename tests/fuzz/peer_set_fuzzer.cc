// libFuzzer target: one PeerSet driven through sequences of announces,
// removals, bulk adds and removals (wide blocks whose networks' runs are
// sorted and then churned, windows past kLocalityScanLimit), expiry,
// snapshot-and-restore,
// and switches among three network maps (reloads that renumber networks)
// and none, under a memory budget and caps taken from the input. A model
// of what is stored follows every PeerChange. After every step that may
// change the set: Check() holds; after every step: the budget holds
// exactly the set's bytes and the counts (and, at expiry and snapshots,
// the stored peers, roles and ages) agree with the model.
// Every reply, random or with locality: only stored peers of the
// requester's family, never the requester, never one twice, no seeder for
// a seeder, min(want, eligible) of them; with locality, the tally counts
// the local peers written, and within kLocalityScanLimit the reply holds
// exactly the share rule's number of locals (peer_set.h, "Locality").
//
// Input: 4 setup bytes (budget, hash seed, per-source cap, per-swarm cap),
// then operations, each an opcode byte and its arguments, read from the
// front (bytes past the end read as 0).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/memory_budget.h"
#include "core/base/wire.h"
#include "core/netmap/network_map.h"
#include "core/swarm/peer_set.h"

using namespace ringtrack;

namespace {

// The peer pool. IPv4: 16 /24s (10.0.0-11.x inside the maps, 11.0.12-15.x
// outside) of 256 hosts, each host on two ports. IPv6: four /48s
// (2001:db8:0-2::, and 2a00:0:3:: outside most maps) of 128 /64s with 4
// hosts each (a source's entries share a probe run: short runs keep
// Check() cheap; the per-source cap still bites when the input sets it
// below 4).
constexpr uint32_t kV4Pool = 8192;
constexpr uint32_t kV6Pool = 2048;
constexpr uint32_t kPool = kV4Pool + kV6Pool;
constexpr uint16_t kPort = 6881;

PeerEndpoint PoolPeer(uint32_t i) {
  if (i < kV4Pool) {
    const uint32_t net = (i >> 8) & 15;
    const uint32_t base = net < 12 ? 0x0a000000u : 0x0b000000u;
    return PeerEndpoint::V4(base | net << 8 | (i & 255),
                            static_cast<uint16_t>(kPort + (i >> 12)));
  }
  const uint32_t j = i - kV4Pool;
  const uint8_t p48 = static_cast<uint8_t>(j >> 9);
  uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, p48, 0,
                    static_cast<uint8_t>((j >> 2) & 127)};
  if (p48 == 3) ip[0] = 0x2a, ip[1] = ip[2] = ip[3] = 0;
  ip[15] = static_cast<uint8_t>(1 + (j & 3));
  return PeerEndpoint::V6(ip, kPort);
}

void Fail(const std::string& why) {
  std::fprintf(stderr, "peer_set_fuzzer: %s\n", why.c_str());
  std::abort();
}

// The pool index of peer p, or -1 when it is no pool peer.
int PoolIndexOf(const PeerEndpoint& p) {
  const AddressFamily f = p.family;
  int32_t i;
  if (f == AddressFamily::kV4) {
    if (p.port != kPort && p.port != kPort + 1) return -1;
    i = (p.port - kPort) << 12 | p.ip[2] << 8 | p.ip[3];
  } else {
    i = static_cast<int32_t>(kV4Pool + (p.ip[5] << 9 | p.ip[7] << 2) +
                             p.ip[15] - 1);
  }
  const uint32_t lo = f == AddressFamily::kV4 ? 0 : kV4Pool;
  const uint32_t hi = f == AddressFamily::kV4 ? kV4Pool : kPool;
  if (i < static_cast<int32_t>(lo) || i >= static_cast<int32_t>(hi)) return -1;
  return PoolPeer(static_cast<uint32_t>(i)) == p ? i : -1;
}
// The same for a BEP 15 entry of family f.
int PoolIndexOf(AddressFamily f, const uint8_t* entry) {
  PeerEndpoint p;
  p.family = f;
  const size_t len = f == AddressFamily::kV4 ? 4 : 16;
  std::memcpy(p.ip.data(), entry, len);
  p.port = wire::LoadBe16(entry + len);
  return PoolIndexOf(p);
}

// Three map texts grouping the pool's prefixes differently (and naming
// them in another order), so switching is a reload that renumbers
// networks; each pool peer's network under each is looked up once. As in
// ringtrackd, where a replaced map is freed, a run never goes back to a
// map it left: each text is built kCopies times (each copy its own
// generation), and a run takes the next unused copy.
struct Maps {
  static constexpr int kCount = 3;
  static constexpr int kCopies = 6;
  std::unique_ptr<const NetworkMap> map[kCount][kCopies];
  std::vector<NetworkId> net[kCount];  // [pool index]
};

const Maps& TheMaps() {
  static const Maps* maps = [] {
    std::string a;
    for (int k = 0; k < 12; ++k) absl::StrAppend(&a, "10.0.", k, ".0/24 a", k, "\n");
    a += "2001:db8::/48 v0\n2001:db8:1::/48 v1\n2001:db8:2::/48 v2\n";
    const std::string b =
        "2001:db8:2::/48 g4\n10.0.0.0/23 g1\n10.0.2.0/23 g0\n"
        "10.0.4.0/23 g0\n10.0.6.0/23 g2\n10.0.9.0/24 g3\n10.0.10.0/23 g3\n"
        "2001:db8::/47 g1\n2001:db8:2:5::/64 g5\n";
    const std::string c =
        "10.0.3.0/24 three\n10.0.0.0/20 wide\n10.0.7.0/24 seven\n"
        "2000::/3 wide6\n2001:db8:1::/48 one6\n";
    auto* m = new Maps;
    const std::string* texts[Maps::kCount] = {&a, &b, &c};
    for (int k = 0; k < Maps::kCount; ++k) {
      for (int c = 0; c < Maps::kCopies; ++c) {
        auto parsed = NetworkMap::Parse(*texts[k], "fuzz");
        if (!parsed.ok()) Fail(std::string(parsed.status().message()));
        m->map[k][c] = std::move(*parsed);
      }
      for (uint32_t i = 0; i < kPool; ++i) {
        m->net[k].push_back(m->map[k][0]->Lookup(PoolPeer(i)));
      }
    }
    return m;
  }();
  return *maps;
}

// Reads the input from the front; past its end every value is 0.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  uint8_t U8() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | U8() << 8); }
  uint64_t U64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= uint64_t{U8()} << (8 * k);
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

constexpr uint32_t kShares[] = {1, 32768, 49152, 58982, 65536, 0};
// Stored peers of one family up to which a reply's window (both regions,
// slack included: a region holds at most ~2.5× its count before it
// shrinks) stays within kLocalityScanLimit, where counts are exact.
constexpr uint32_t kExactPeers = 800;

// Bounds on one input's work, so libFuzzer runs many of them a second: a
// run stops after kMaxOps operations, or once kWorkLimit peers were
// announced or restored in bulk or walked by Check() (a bulk add of a
// thousand peers and a few steps on it).
constexpr int kMaxOps = 128;
constexpr uint64_t kWorkLimit = 10000;

class Harness {
 public:
  Harness(size_t limit, uint64_t seed, uint32_t per_source, uint32_t per_swarm)
      : budget_(limit) {
    ctx_.seed = seed;
    ctx_.max_per_source = per_source;
    ctx_.max_per_swarm = per_swarm;
    ctx_.budget = &budget_;
  }
  ~Harness() {
    DropAll();
    set_->Clear(&budget_);
    if (budget_.used() != 0) Fail("bytes left charged after Clear()");
  }

  void Run(Reader& in) {
    for (int ops = 0; ops < kMaxOps && !in.done(); ++ops) {
      const uint8_t op = in.U8();
      switch (op % 12) {
        case 0:
        case 1:
        case 2: {
          const uint32_t i = in.U16() % kPool;
          const uint8_t f = in.U8();
          now_ += f >> 2;
          Announce(i, f & 1, f & 2);
          break;
        }
        case 3:
          Remove(in.U16() % kPool);
          break;
        case 4:
          BulkAdd(in);
          break;
        case 5:
          BulkRemove(in);
          break;
        case 6:
          Expire(in.U8(), in.U16() % 1024);
          break;
        case 7:
          SnapshotAndRestore(in.U8() & 1);
          break;
        case 8:
          SwitchMap(in.U8() % (Maps::kCount + 1));
          break;
        default:
          // 9, 10: a reply under the current map; 11: under a map no
          // announce brought yet, or none (a reply before the announce
          // that re-tags the block, or after the budget refused it).
          if (op % 12 == 11) {
            const int t = in.U8() % (Maps::kCount + 1);
            Select(in, t, t == 0 ? nullptr : NextMap(t));
          } else {
            Select(in, map_, ctx_.map);
          }
      }
      // A reply reads the set and a switch changes only the context:
      // Check() (O(peers)) follows only what may have changed the set.
      const bool wrote = op % 12 < 8;
      CheckStep(op, wrote);
      if (wrote) work_ += stored_.size();
      if (work_ > kWorkLimit) break;
    }
  }

 private:
  static bool IsV4(uint32_t i) { return i < kV4Pool; }

  // The next unused copy of text t (1..3), or nullptr when all are used.
  const NetworkMap* NextMap(int t) const {
    const int c = copies_used_[t - 1];
    return c < Maps::kCopies ? TheMaps().map[t - 1][c].get() : nullptr;
  }
  // A reload to text t, or an unload (t = 0, or no copy left).
  void SwitchMap(int t) {
    const NetworkMap* m = t == 0 ? nullptr : NextMap(t);
    if (m != nullptr) ++copies_used_[t - 1];
    map_ = m ? t : 0;
    ctx_.map = m;
  }

  void Store(uint32_t i, bool seeder, uint32_t seen) {
    if (role_[i] < 0) {
      pos_[i] = static_cast<int32_t>(stored_.size());
      stored_.push_back(i);
    }
    role_[i] = seeder;
    last_[i] = seen;
  }
  void Drop(uint32_t i) {
    const int32_t p = pos_[i];
    stored_[p] = stored_.back();
    pos_[stored_[p]] = p;
    stored_.pop_back();
    pos_[i] = -1;
    role_[i] = -1;
  }
  void DropAll() {
    for (uint32_t i : stored_) role_[i] = -1, pos_[i] = -1;
    stored_.clear();
  }

  void Announce(uint32_t i, bool seeder, bool completed) {
    PeerAnnounce a;
    a.peer = PoolPeer(i);
    a.seeder = seeder;
    a.completed_event = completed;
    a.now = now_;
    a.network = ctx_.map ? ctx_.map->Lookup(a.peer) : kOutsideMap;
    CountChange ch;
    const PeerChange c = set_->Announce(a, ctx_, &ch);
    const int was = role_[i];
    switch (c) {
      case PeerChange::kUpdated:
        if (was < 0) Fail("kUpdated for a peer not stored");
        Store(i, seeder, now_);
        break;
      case PeerChange::kAdded:
        if (was >= 0) Fail("kAdded for a stored peer");
        Store(i, seeder, now_);
        break;
      case PeerChange::kSourceCapped:
      case PeerChange::kSwarmFull:
      case PeerChange::kNoMemory:
        if (was >= 0) Fail(absl::StrCat("stored peer refused: ", int(c)));
        break;
      default:
        Fail(absl::StrCat("Announce returned ", int(c)));
    }
    const int is = role_[i];
    const int ds = (is == 1) - (was == 1), dl = (is == 0) - (was == 0);
    if (ch.seeders != ds || ch.leechers != dl ||
        ch.v4 != (IsV4(i) ? ds + dl : 0) ||
        ch.seeders_v4 != (IsV4(i) ? ds : 0) || ch.downloads < 0 ||
        ch.downloads > 1) {
      Fail(absl::StrCat("CountChange ", ch.seeders, "/", ch.leechers, "/",
                        ch.v4, "/", ch.seeders_v4, " for ", was, " -> ", is));
    }
  }

  void Remove(uint32_t i) {
    const PeerChange c = set_->Remove(PoolPeer(i), ctx_);
    if (c != (role_[i] >= 0 ? PeerChange::kRemoved : PeerChange::kAbsent)) {
      Fail(absl::StrCat("Remove returned ", int(c), " for role ", role_[i]));
    }
    if (role_[i] >= 0) Drop(i);
  }

  // Up to 1536 peers of one family in one go, from an odd stride over the
  // family's pool (distinct peers), a share of them seeders.
  void BulkAdd(Reader& in) {
    const bool v6 = in.U8() & 1;
    const uint32_t start = in.U16(), stride = in.U16() | 1u;
    const uint32_t count = 1 + in.U16() % 1536;
    const uint8_t pct = in.U8();
    const uint32_t pool = v6 ? kV6Pool : kV4Pool;
    const uint32_t base = v6 ? kV4Pool : 0;
    work_ += count;
    for (uint32_t k = 0; k < count && k < pool; ++k) {
      const uint32_t h = (k + start) * 0x9e3779b1u;
      Announce(base + (start + k * stride) % pool, (h >> 24) < pct, false);
    }
  }

  void BulkRemove(Reader& in) {
    const uint32_t start = in.U16(), stride = in.U16() | 1u;
    const uint32_t count = in.U16() % 2048;
    for (uint32_t k = 0; k < count && !stored_.empty(); ++k) {
      Remove(stored_[(start + k * stride) % stored_.size()]);
    }
  }

  // The stored peers as Snapshot() reports them, checked against the
  // model: the same peers in the same roles, seeders counted.
  std::vector<PeerRecord> SnapshotMatchingModel(const char* when) {
    std::vector<PeerRecord> recs;
    set_->Snapshot(now_, &recs);
    if (recs.size() != stored_.size()) {
      Fail(absl::StrCat(when, ": snapshot holds ", recs.size(), " peers, ",
                        stored_.size(), " stored"));
    }
    ++stamp_;
    for (const PeerRecord& r : recs) {
      const int i = PoolIndexOf(r.peer);
      if (i < 0 || role_[i] < 0 || mark_[i] == stamp_) {
        Fail(absl::StrCat(when, ": snapshot holds a peer not stored, or twice"));
      }
      mark_[i] = stamp_;
      if (role_[i] != r.seeder || (r.seeder && !r.counted)) {
        Fail(absl::StrCat(when, ": snapshot role differs"));
      }
    }
    return recs;
  }

  // A peer seen within timeout_s stays; one seen more than timeout_s and
  // two ticks (8 s) before goes; between, the 4 s resolution decides.
  void Expire(uint32_t advance, uint32_t timeout_s) {
    now_ += advance;
    const PeerSet::Expired ex = set_->Expire(now_, timeout_s, ctx_);
    std::vector<PeerRecord> recs;
    set_->Snapshot(now_, &recs);
    ++stamp_;
    for (const PeerRecord& r : recs) {
      const int i = PoolIndexOf(r.peer);
      if (i < 0 || role_[i] != r.seeder) Fail("Expire kept a peer not stored");
      mark_[i] = stamp_;
    }
    uint32_t gone4 = 0, gone6 = 0;
    for (size_t k = 0; k < stored_.size();) {
      const uint32_t i = stored_[k];
      const uint32_t age = now_ - last_[i];
      const bool kept = mark_[i] == stamp_;
      if (kept && age > timeout_s + 8) {
        Fail(absl::StrCat("Expire kept a peer ", age, " s old (timeout ",
                          timeout_s, ")"));
      }
      if (!kept && age <= timeout_s) {
        Fail(absl::StrCat("Expire dropped a peer ", age, " s old (timeout ",
                          timeout_s, ")"));
      }
      if (kept) {
        ++k;
      } else {
        (IsV4(i) ? gone4 : gone6)++;
        Drop(i);
      }
    }
    if (ex.v4 != gone4 || ex.v6 != gone6) {
      Fail(absl::StrCat("Expire reported ", ex.v4, "+", ex.v6, ", dropped ",
                        gone4, "+", gone6));
    }
  }

  // A restart: the snapshot restored into a fresh set, under the current
  // map (or none), caps and budget applying as to new peers.
  void SnapshotAndRestore(bool reverse) {
    std::vector<PeerRecord> recs = SnapshotMatchingModel("restart");
    if (reverse) std::reverse(recs.begin(), recs.end());
    set_->Clear(&budget_);
    if (budget_.used() != 0) Fail("bytes left charged after Clear()");
    set_ = std::make_unique<PeerSet>();
    DropAll();
    work_ += recs.size();
    for (const PeerRecord& r : recs) {
      const PeerChange c = set_->Restore(r, ctx_);
      const int i = PoolIndexOf(r.peer);
      if (c == PeerChange::kAdded) {
        Store(static_cast<uint32_t>(i), r.seeder, r.last_seen);
      } else if (c == PeerChange::kUpdated || c == PeerChange::kRemoved ||
                 c == PeerChange::kAbsent) {
        Fail(absl::StrCat("Restore returned ", int(c)));
      }
    }
  }

  // Checks one reply of n entries against the model; returns how many of
  // them are in network `me` under map `m` (1..3; 0: none).
  uint32_t CheckReply(const std::vector<uint8_t>& out, uint32_t n,
                      uint32_t self, bool seeder, int m, NetworkId me,
                      const char* kind) {
    const AddressFamily f = IsV4(self) ? AddressFamily::kV4 : AddressFamily::kV6;
    const size_t size = IsV4(self) ? 6 : 18;
    ++stamp_;
    uint32_t local = 0;
    for (uint32_t k = 0; k < n; ++k) {
      const int i = PoolIndexOf(f, out.data() + k * size);
      if (i < 0 || role_[i] < 0) Fail(absl::StrCat(kind, ": a peer not stored"));
      if (static_cast<uint32_t>(i) == self) Fail(absl::StrCat(kind, ": self"));
      if (mark_[i] == stamp_) Fail(absl::StrCat(kind, ": a peer twice"));
      mark_[i] = stamp_;
      if (seeder && role_[i] == 1) Fail(absl::StrCat(kind, ": seeder to a seeder"));
      local += m != 0 && TheMaps().net[m - 1][i] == me;
    }
    return local;
  }

  // A reply under map `map` (text m; nullptr: none).
  void Select(Reader& in, int m, const NetworkMap* map) {
    const uint32_t self = in.U16() % kPool;
    const uint8_t f = in.U8();
    const bool seeder = role_[self] >= 0 && (f & 2) ? role_[self] == 1 : f & 1;
    const uint32_t want = 1 + in.U8() % 80;
    const uint32_t share = kShares[(f >> 2) % std::size(kShares)];
    const uint64_t random = in.U64();
    const PeerEndpoint me_peer = PoolPeer(self);
    const size_t size = IsV4(self) ? 6 : 18;
    if (map == nullptr) m = 0;
    const NetworkId me = map ? TheMaps().net[m - 1][self] : kOutsideMap;
    // The eligible peers: in the requester's network, and the others.
    uint32_t el = 0, eo = 0;
    for (uint32_t i : stored_) {
      if (IsV4(i) != IsV4(self) || i == self || (seeder && role_[i] == 1)) {
        continue;
      }
      (map && TheMaps().net[m - 1][i] == me ? el : eo)++;
    }
    const uint32_t expect = std::min(want, el + eo);
    // Exactly sized, so ASan sees a write past the reply.
    std::vector<uint8_t> plain(want * size), out(want * size);
    const uint32_t np = set_->Select(me_peer, seeder, want, random, plain);
    if (np != expect) {
      Fail(absl::StrCat("random reply of ", np, ", expected ", expect));
    }
    CheckReply(plain, np, self, seeder, 0, me, "random reply");
    Locality loc;
    if (map) loc = {map, map->Lookup(me_peer), share};
    LocalityTally tally{7, 7};
    const uint32_t n =
        set_->Select(me_peer, seeder, want, random, out, loc, &tally);
    const std::string at = absl::StrCat(
        "locality reply (map ", m, " net ", me, " seeder ", seeder, " want ",
        want, " share ", share, " el ", el, " eo ", eo, " n ", n, " local ",
        tally.local, " ranked ", tally.ranked, " peers ",
        set_->peers(me_peer.family), ")");
    if (n != expect) Fail(absl::StrCat(at, ": count differs from random"));
    const uint32_t local = CheckReply(out, n, self, seeder, m, me, at.c_str());
    const bool same = std::equal(out.begin(), out.begin() + n * size,
                                 plain.begin());
    if (!loc.active() || tally.ranked == 0) {
      if (tally.local != 0 || tally.ranked != 0 || !same) {
        Fail(absl::StrCat(at, ": an unranked reply is not the random one"));
      }
      if (!loc.active()) return;
    } else if (tally.ranked != n || tally.local != local) {
      Fail(absl::StrCat(at, ": tally does not count what was written (",
                        local, " local)"));
    }
    if (set_->peers(me_peer.family) > kExactPeers) return;
    const uint32_t quota =
        static_cast<uint32_t>((uint64_t{want} * share + 65535) >> 16);
    const uint32_t q = std::min(el, quota);
    const uint32_t o = std::min(eo, want - q);
    const uint32_t x = std::min(el - q, want - q - o);
    if (local != q + x) {
      Fail(absl::StrCat(at, ": ", local, " local, the share rule says ", q + x));
    }
  }

  void CheckStep(uint8_t op, bool full) {
    std::string why;
    if (full && !set_->Check(ctx_, &why)) {
      Fail(absl::StrCat("op ", op, ": ", why));
    }
    if (budget_.used() != set_->bytes()) {
      Fail(absl::StrCat("op ", op, ": budget holds ", budget_.used(),
                        " bytes, the set ", set_->bytes()));
    }
    uint32_t s = 0, l = 0, v4 = 0, s4 = 0;
    for (uint32_t i : stored_) {
      s += role_[i] == 1;
      l += role_[i] == 0;
      v4 += IsV4(i);
      s4 += IsV4(i) && role_[i] == 1;
    }
    const SwarmCounts c = set_->counts();
    if (c.seeders != s || c.leechers != l || c.v4 != v4 ||
        c.seeders_v4 != s4 || set_->peers(AddressFamily::kV4) != v4 ||
        set_->peers(AddressFamily::kV6) != s + l - v4 ||
        set_->empty() != stored_.empty()) {
      Fail(absl::StrCat("op ", op, ": counts ", c.seeders, "/", c.leechers,
                        "/", c.v4, "/", c.seeders_v4, ", model ", s, "/", l,
                        "/", v4, "/", s4));
    }
  }

  MemoryBudget budget_;
  PeerSetContext ctx_;
  std::unique_ptr<PeerSet> set_ = std::make_unique<PeerSet>();
  int map_ = 0;  // the current map's text (0: none)
  int copies_used_[Maps::kCount] = {};
  uint32_t now_ = 1'000'000;
  // The model, by pool index: role (-1 not stored, 0 leecher, 1 seeder),
  // last announce, position in stored_. Allocated once and left empty by
  // each run (fresh pages for every input would cost more than the run).
  static inline std::vector<int8_t> role_ = std::vector<int8_t>(kPool, -1);
  static inline std::vector<uint32_t> last_ = std::vector<uint32_t>(kPool);
  static inline std::vector<int32_t> pos_ = std::vector<int32_t>(kPool, -1);
  std::vector<uint32_t> stored_;
  // mark_[i] == stamp_: seen in the reply being checked.
  static inline std::vector<uint32_t> mark_ = std::vector<uint32_t>(kPool);
  static inline uint32_t stamp_ = 0;
  uint64_t work_ = 0;  // peers in the sets Check() walked
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  // Budget: unlimited, or 128 B .. ~10 MB, so growth is sometimes refused.
  const uint8_t b = in.U8();
  const size_t limit =
      b < 16 ? SIZE_MAX : size_t{64 + 16 * (b & 15u)} << (b >> 4);
  const uint64_t seed = in.U8() * 0x9e3779b97f4a7c15ULL;
  const uint8_t cs = in.U8(), cw = in.U8();
  const uint32_t per_source =
      (cs & 7) == 0 ? 1 + (cs >> 3) % 12 : kDefaultMaxPeersPerSource;
  const uint32_t per_swarm = cw < 32 ? 1 + cw * 8u : kDefaultMaxPeersPerSwarm;
  Harness h(limit, seed, per_source, per_swarm);
  h.Run(in);
  return 0;
}
