// Locality-aware selection (PeerSet::Select with a Locality): the share
// rule at its boundaries, the role, family and self rules kept, no peer
// twice, and the random selection unchanged without a map or for a
// requester outside it.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/netmap/network_map.h"
#include "core/swarm/peer_set.h"
#include "core/swarm/swarm_table.h"
#include "core/udp/protocol.h"

namespace ringtrack {
namespace {

// Network k (0..63) is 10.0.k.0/24 and 2001:db8:k::/48; 11/8 is outside.
std::unique_ptr<const NetworkMap> TestMap() {
  std::string text;
  for (int k = 0; k < 64; ++k) {
    text += "10.0." + std::to_string(k) + ".0/24 n" + std::to_string(k) + "\n";
    char v6[64];
    snprintf(v6, sizeof(v6), "2001:db8:%x::/48 n%d\n", k, k);
    text += v6;
  }
  auto m = NetworkMap::Parse(text, "test");
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}

PeerEndpoint In(int net, int host, uint16_t port = 6881) {
  return PeerEndpoint::V4(0x0a000000u | uint32_t(net) << 8 | uint32_t(host),
                          port);
}
PeerEndpoint Outside(int host) { return PeerEndpoint::V4(0x0b000000u + host, 6881); }
PeerEndpoint In6(int net, int host) {
  // One /64 per host: the per-source cap counts IPv6 by /64.
  uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, uint8_t(net)};
  ip[6] = uint8_t(host >> 8);
  ip[7] = uint8_t(host);
  ip[15] = 1;
  return PeerEndpoint::V6(ip, 6881);
}

// The test map after a reload that makes 10.0.9/24 part of network n1.
std::unique_ptr<const NetworkMap> ReloadedMap() {
  auto m = NetworkMap::Parse("10.0.1.0/24 n1\n10.0.9.0/24 n1\n", "r");
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}
// The IPv4 address of the k-th compact peer in a reply.
uint32_t IpAt(const std::vector<uint8_t>& out, uint32_t k) {
  return uint32_t{out[6 * k]} << 24 | uint32_t{out[6 * k + 1]} << 16 |
         uint32_t{out[6 * k + 2]} << 8 | out[6 * k + 3];
}

// The parameter: whether the announces that stored the peers carried the
// map (so wide blocks hold network tags) or not (every entry is looked up).
class LocalityTest : public ::testing::TestWithParam<bool> {
 protected:
  LocalityTest() : budget_(1 << 30), map_(TestMap()) {
    ctx_.seed = 5;
    ctx_.budget = &budget_;
  }
  ~LocalityTest() override {
    std::string why;
    EXPECT_TRUE(set_.Check(ctx_, &why)) << why;
    EXPECT_EQ(budget_.used(), set_.bytes());
    set_.Clear(&budget_);
  }

  void Add(const PeerEndpoint& p, bool seeder) {
    PeerAnnounce a;
    a.peer = p;
    a.seeder = seeder;
    a.now = 1000;
    if (GetParam()) {
      ctx_.map = map_.get();
      a.network = map_->Lookup(p);
    }
    ASSERT_EQ(set_.Announce(a, ctx_), PeerChange::kAdded);
  }
  struct Reply {
    std::vector<PeerEndpoint> peers;
    uint32_t local = 0;
  };
  Reply Select(const PeerEndpoint& self, bool seeder, uint32_t want,
               uint64_t random, uint32_t share_q16 = kDefaultLocalityShareQ16,
               bool with_map = true) {
    std::vector<uint8_t> out(want * 18 + 18);
    Locality loc;
    if (with_map) {
      loc.map = map_.get();
      loc.network = map_->Lookup(self);
    }
    loc.share_q16 = share_q16;
    Reply r;
    LocalityTally tally;
    const uint32_t n = set_.Select(self, seeder, want, random, out, loc, &tally);
    r.local = tally.local;
    // A reply holding every eligible peer is not ranked; count it here.
    if (tally.ranked == 0 && loc.active()) r.local = 0xffffffff;
    const size_t size = protocol::PeerEntrySize(self.family);
    protocol::AnnounceResponse resp;
    resp.family = self.family;
    resp.peers = {out.data(), n * size};
    for (size_t i = 0; i < resp.peer_count(); ++i) r.peers.push_back(resp.peer(i));
    return r;
  }
  uint32_t LocalIn(const Reply& r, const PeerEndpoint& self) const {
    uint32_t n = 0;
    for (const PeerEndpoint& p : r.peers) n += map_->Lookup(p) == map_->Lookup(self);
    return n;
  }
  static bool Unique(const Reply& r) {
    std::set<std::tuple<std::array<uint8_t, 16>, uint16_t>> seen;
    for (const PeerEndpoint& p : r.peers) {
      if (!seen.insert({p.ip, p.port}).second) return false;
    }
    return true;
  }

  MemoryBudget budget_;
  PeerSetContext ctx_;
  PeerSet set_;
  std::unique_ptr<const NetworkMap> map_;
};

TEST_P(LocalityTest, NoLocalPeersGivesAFullRandomReply) {  // L = 0
  for (int h = 0; h < 100; ++h) Add(In(1 + h % 5, h), false);
  const Reply r = Select(In(9, 1), false, 20, 3);
  EXPECT_EQ(r.peers.size(), 20u);
  EXPECT_EQ(r.local, 0u);
  EXPECT_EQ(LocalIn(r, In(9, 1)), 0u);
  EXPECT_TRUE(Unique(r));
}

TEST_P(LocalityTest, FewerLocalThanTheShareGivesAllOfThem) {  // L < s·n
  for (int h = 0; h < 5; ++h) Add(In(9, h), false);
  for (int h = 0; h < 300; ++h) Add(In(1 + h % 5, h), false);
  for (uint64_t random = 0; random < 50; ++random) {
    const Reply r = Select(In(9, 200), false, 20, random * 0x9e3779b97f4a7c15);
    EXPECT_EQ(r.peers.size(), 20u);
    EXPECT_EQ(r.local, 5u);
    EXPECT_EQ(LocalIn(r, In(9, 200)), 5u);
    EXPECT_TRUE(Unique(r));
  }
}

TEST_P(LocalityTest, MoreLocalThanTheReplyTakesTheShare) {  // L ≥ n
  for (int h = 0; h < 40; ++h) Add(In(9, h), false);
  for (int h = 0; h < 300; ++h) Add(In(1 + h % 5, h), false);
  for (uint64_t random = 0; random < 50; ++random) {
    const Reply r = Select(In(9, 200), false, 20, random * 0x9e3779b97f4a7c15);
    EXPECT_EQ(r.peers.size(), 20u);
    EXPECT_EQ(r.local, 15u);  // ceil(0.75 · 20)
    EXPECT_EQ(LocalIn(r, In(9, 200)), 15u);
    EXPECT_TRUE(Unique(r));
  }
  // s = 1: all local; s = 0: the random selection, ranking nothing.
  EXPECT_EQ(Select(In(9, 200), false, 20, 1, 0).local, 0u);
  EXPECT_EQ(Select(In(9, 200), false, 20, 1, 65536).local, 20u);
  EXPECT_EQ(Select(In(9, 200), false, 20, 1, 32768).local, 10u);
}

TEST_P(LocalityTest, LocalsFillInWhenOthersRunOut) {
  for (int h = 0; h < 40; ++h) Add(In(9, h), false);
  for (int h = 0; h < 2; ++h) Add(In(1, h), false);
  const Reply r = Select(In(9, 200), false, 20, 11);
  EXPECT_EQ(r.peers.size(), 20u);
  EXPECT_EQ(r.local, 18u);
  EXPECT_TRUE(Unique(r));
}

TEST_P(LocalityTest, SeederGetsOnlyLeechersAndNeverItself) {
  // Local seeders must not be handed to a seeder, however local.
  for (int h = 0; h < 30; ++h) Add(In(9, h), /*seeder=*/true);
  for (int h = 30; h < 34; ++h) Add(In(9, h), false);
  for (int h = 0; h < 40; ++h) Add(In(2, h), false);
  Add(In(9, 200), true);
  const Reply r = Select(In(9, 200), /*seeder=*/true, 20, 99);
  EXPECT_EQ(r.peers.size(), 20u);
  EXPECT_EQ(r.local, 4u);
  for (const PeerEndpoint& p : r.peers) {
    EXPECT_NE(p, In(9, 200));
    const bool local_seeder = map_->Lookup(p) == map_->Lookup(In(9, 0)) &&
                              (p.ip[3] < 30 || p.ip[3] == 200);
    EXPECT_FALSE(local_seeder) << int(p.ip[3]);
  }
  // A leecher's reply never holds itself either.
  Add(In(9, 201), false);
  const Reply l = Select(In(9, 201), false, 200, 5);
  EXPECT_EQ(l.peers.size(), 30u + 4u + 40u + 1u);
  for (const PeerEndpoint& p : l.peers) EXPECT_NE(p, In(9, 201));
  EXPECT_TRUE(Unique(l));
}

TEST_P(LocalityTest, OutsideTheMapOrWithoutOneIsTheRandomSelection) {
  for (int h = 0; h < 60; ++h) Add(In(h % 3, h), h % 4 == 0);
  for (int h = 0; h < 60; ++h) Add(Outside(h), h % 4 == 0);
  for (uint64_t random : {1ull, 77ull, 0xdeadbeefull << 30}) {
    std::vector<uint8_t> plain(20 * 6), with(20 * 6);
    const uint32_t n = set_.Select(Outside(500), false, 20, random, plain);
    Locality loc{map_.get(), map_->Lookup(Outside(500))};
    LocalityTally tally{7, 7};
    EXPECT_EQ(set_.Select(Outside(500), false, 20, random, with, loc, &tally), n);
    EXPECT_EQ(plain, with);
    EXPECT_EQ(tally.local, 0u);
    EXPECT_EQ(tally.ranked, 0u);
    Locality none;  // no map
    none.network = 3;
    EXPECT_EQ(set_.Select(In(1, 1), false, 20, random, with, none, &tally), n);
  }
}

TEST_P(LocalityTest, IPv6SelectsByItsOwnPrefixes) {
  for (int h = 0; h < 10; ++h) Add(In6(4, h), false);
  for (int h = 0; h < 100; ++h) Add(In6(5 + h % 3, h), false);
  for (int h = 0; h < 50; ++h) Add(In(4, h), false);  // IPv4: never in a v6 reply
  const Reply r = Select(In6(4, 999), false, 8, 42);
  EXPECT_EQ(r.peers.size(), 8u);
  EXPECT_EQ(r.local, 6u);  // ceil(0.75 · 8)
  for (const PeerEndpoint& p : r.peers) EXPECT_EQ(p.family, AddressFamily::kV6);
}

// Random swarms: the share rule's exact count, against the set's contents.
TEST_P(LocalityTest, ShareRuleHoldsOnRandomSwarms) {
  std::mt19937_64 rng(2024);
  for (int round = 0; round < 300; ++round) {
    set_.Clear(&budget_);
    const int L = int(rng() % 60), O = int(rng() % 200);
    const int me_net = 9;
    std::vector<std::pair<PeerEndpoint, bool>> stored;
    for (int h = 0; h < L; ++h) stored.push_back({In(me_net, h), rng() % 3 == 0});
    for (int h = 0; h < O; ++h) stored.push_back({In(int(rng() % 8), h), rng() % 3 == 0});
    for (auto& [p, s] : stored) Add(p, s);
    const bool seeder = rng() % 2;
    const PeerEndpoint self = L > 0 && rng() % 2 ? stored[0].first : In(me_net, 250);
    const bool self_seeder = self == stored[0].first ? stored[0].second : seeder;
    const uint32_t want = 1 + rng() % 80;
    const uint32_t share = std::vector<uint32_t>{1, 32768, 49152, 58982, 65536}[rng() % 5];
    // Eligible local and other peers.
    int el = 0, eo = 0;
    for (auto& [p, s] : stored) {
      if (p == self || (self_seeder && s)) continue;
      (map_->Lookup(p) == map_->Lookup(self) ? el : eo)++;
    }
    const Reply r = Select(self, self_seeder, want, rng(), share);
    const int quota = int((uint64_t{want} * share + 65535) >> 16);
    const int q = std::min(el, quota);
    const int o = std::min(eo, int(want) - q);
    const int x = std::min(el - q, int(want) - q - o);
    ASSERT_EQ(int(r.peers.size()), std::min<int>(want, el + eo)) << round;
    if (r.local != 0xffffffff) {
      ASSERT_EQ(int(r.local), q + x) << round;
    }
    ASSERT_EQ(int(LocalIn(r, self)), q + x) << round;
    ASSERT_TRUE(Unique(r)) << round;
    for (const PeerEndpoint& p : r.peers) {
      ASSERT_NE(p, self);
      if (self_seeder) {
        for (auto& [sp, s] : stored) ASSERT_FALSE(sp == p && s) << round;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TaggedOrLookedUp, LocalityTest, ::testing::Bool());

// A map changes nothing in a small swarm's block: 10 IPv4 peers take the
// same 96 bytes with and without one (no tags below 17 per region), and a
// wide one grows only with a map, by at most 42 bytes per 8-byte entry
// slot (a 2-byte tag, an 8-byte link, an 8-byte run copy, a 24-byte
// directory slot).
TEST(LocalityMemoryTest, TagsOnlyInWideBlocksWithAMap) {
  auto map = TestMap();
  for (int peers : {10, 200}) {
    size_t bytes[2];
    for (int with : {0, 1}) {
      MemoryBudget budget(1 << 30);
      PeerSetContext ctx;
      ctx.budget = &budget;
      ctx.map = with ? map.get() : nullptr;
      PeerSet set;
      for (int h = 0; h < peers; ++h) {
        PeerAnnounce a;
        a.peer = In(h % 7, h);
        a.seeder = h % 4 == 0;
        a.now = 1000;
        a.network = with ? map->Lookup(a.peer) : kOutsideMap;
        ASSERT_EQ(set.Announce(a, ctx), PeerChange::kAdded);
      }
      std::string why;
      EXPECT_TRUE(set.Check(ctx, &why)) << why;
      bytes[with] = set.bytes();
      set.Clear(&budget);
    }
    if (peers == 10) {
      EXPECT_EQ(bytes[0], 96u);
      EXPECT_EQ(bytes[1], bytes[0]);
    } else {
      EXPECT_GT(bytes[1], bytes[0]);
      EXPECT_LE(bytes[1], bytes[0] + 42 * (bytes[0] / 8) + 96);
    }
  }
}

// Peers stored before the map was loaded, then removed and re-added, a
// reloaded map: the tags follow, and replies keep the share rule.
TEST(LocalityTagTest, TagsFollowLoadsReloadsAndChurn) {
  auto map = TestMap();
  MemoryBudget budget(1 << 30);
  PeerSetContext ctx;
  ctx.budget = &budget;
  PeerSet set;
  auto announce = [&](const PeerEndpoint& p, bool seeder, const NetworkMap* m) {
    PeerAnnounce a;
    a.peer = p;
    a.seeder = seeder;
    a.now = 1000;
    ctx.map = m;
    a.network = m ? m->Lookup(p) : kOutsideMap;
    return set.Announce(a, ctx);
  };
  for (int h = 0; h < 30; ++h) announce(In(9, h), false, nullptr);
  for (int h = 0; h < 100; ++h) announce(In(1 + h % 4, h), false, nullptr);
  const size_t untagged = set.bytes();
  // The first announce carrying the map tags the block.
  announce(In(9, 0), false, map.get());
  EXPECT_GT(set.bytes(), untagged);
  auto local_of = [&](const PeerEndpoint& self, const NetworkMap& m) {
    std::vector<uint8_t> out(20 * 6);
    LocalityTally tally;
    Locality loc{&m, m.Lookup(self)};
    EXPECT_EQ(set.Select(self, false, 20, 77, out, loc, &tally), 20u);
    uint32_t seen = 0;
    for (uint32_t k = 0; k < 20; ++k) {
      const PeerEndpoint p = PeerEndpoint::V4(IpAt(out, k), 1);
      seen += m.Lookup(p) == m.Lookup(self);
    }
    EXPECT_EQ(seen, tally.local);
    return tally.local;
  };
  EXPECT_EQ(local_of(In(9, 200), *map), 15u);
  // Churn: remove half the locals, add them back; tags move with entries.
  for (int h = 0; h < 30; h += 2) set.Remove(In(9, h), ctx);
  EXPECT_EQ(local_of(In(9, 200), *map), 15u);
  for (int h = 0; h < 30; h += 2) announce(In(9, h), false, map.get());
  EXPECT_EQ(local_of(In(9, 200), *map), 15u);
  // A reloaded map where 10.0.9/24 is part of network n1: the block is
  // re-tagged at the first announce that brings it.
  auto reloaded = ReloadedMap();
  for (int h = 0; h < 30; ++h) announce(In(9, h), false, reloaded.get());
  for (int h = 0; h < 100; ++h) announce(In(1 + h % 4, h), false, reloaded.get());
  // 30 in 10.0.9/24 and 25 in 10.0.1/24 are one network now.
  EXPECT_EQ(local_of(In(9, 200), *reloaded), 15u);
  EXPECT_EQ(local_of(In(1, 200), *reloaded), 15u);
  std::string why;
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
  EXPECT_EQ(budget.used(), set.bytes());
  set.Clear(&budget);
}

// After a reload, the first announce to a wide block re-tags all of it
// from the new map: no stored peer keeps its old network until it
// re-announces itself.
TEST(LocalityTagTest, OneAnnounceAfterAReloadRetagsTheWholeBlock) {
  auto first = TestMap();
  auto reloaded = ReloadedMap();
  MemoryBudget budget(1 << 30);
  PeerSetContext ctx;
  ctx.budget = &budget;
  ctx.map = first.get();
  PeerSet set;
  auto announce = [&](const PeerEndpoint& p, const NetworkMap& m) {
    PeerAnnounce a;
    a.peer = p;
    a.now = 1000;
    ctx.map = &m;
    a.network = m.Lookup(p);
    return set.Announce(a, ctx);
  };
  for (int h = 0; h < 30; ++h) announce(In(9, h), *first);
  for (int h = 0; h < 100; ++h) announce(In(1 + h % 4, h), *first);
  // Under the first map 10.0.1/24 holds 25 peers and 10.0.9/24 is another
  // network; under the reloaded one both are n1 (55 peers).
  auto locals = [&](const PeerEndpoint& self, const NetworkMap& m) {
    std::vector<uint8_t> out(60 * 6);
    LocalityTally tally;
    const Locality loc{&m, m.Lookup(self), 65536};
    set.Select(self, false, 60, 3, out, loc, &tally);
    return tally.local;
  };
  EXPECT_EQ(locals(In(1, 200), *first), 25u);
  announce(In(2, 0), *reloaded);  // one peer of another network
  EXPECT_EQ(locals(In(1, 200), *reloaded), 55u);
  std::string why;
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
  set.Clear(&budget);
}

// A re-tag the budget refuses leaves the block with the old map's tags
// until an announce can pay for it; meanwhile replies must not rank peers
// by those tags (a reload renumbers networks: n1 was tag 2, is tag 1).
TEST(LocalityTagTest, RepliesNeverUseAnotherMapsTags) {
  auto first = TestMap();
  auto reloaded = ReloadedMap();
  MemoryBudget budget(1 << 20);
  PeerSetContext ctx;
  ctx.budget = &budget;
  PeerSet set;
  auto announce = [&](const PeerEndpoint& p, const NetworkMap& m) {
    PeerAnnounce a;
    a.peer = p;
    a.now = 1000;
    ctx.map = &m;
    a.network = m.Lookup(p);
    return set.Announce(a, ctx);
  };
  for (int h = 0; h < 30; ++h) announce(In(9, h), *first);
  for (int h = 0; h < 100; ++h) announce(In(1 + h % 4, h), *first);
  // The budget is full: the reload's re-tag cannot be charged.
  const size_t filler = budget.limit() - budget.used();
  ASSERT_TRUE(budget.TryCharge(filler, /*force=*/true));
  const size_t before = set.bytes();
  EXPECT_EQ(announce(In(9, 0), *reloaded), PeerChange::kUpdated);
  EXPECT_EQ(set.bytes(), before);  // not re-tagged
  // Under the reloaded map 10.0.9/24 and 10.0.1/24 are n1: 55 peers.
  const PeerEndpoint self = In(1, 200);
  std::vector<uint8_t> out(60 * 6);
  LocalityTally tally;
  const Locality loc{reloaded.get(), reloaded->Lookup(self), 65536};
  ASSERT_EQ(set.Select(self, false, 60, 3, out, loc, &tally), 60u);
  uint32_t local = 0;
  for (uint32_t k = 0; k < 60; ++k) {
    local += reloaded->Lookup(PeerEndpoint::V4(IpAt(out, k), 1)) == loc.network;
  }
  EXPECT_EQ(local, 55u);
  EXPECT_EQ(tally.local, 55u);
  std::string why;
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
  budget.Release(filler);
  set.Clear(&budget);
  EXPECT_EQ(budget.used(), 0u);
}

// A map unloaded, peers stored without it, then a reply that still holds
// the map (a request that read it before the unload): the new peers have
// no tags, so the block's tags are not trusted and the reply looks its
// entries up; the next announce with a map re-tags the block.
TEST(LocalityTagTest, PeersStoredWithoutTheMapAreNeverRankedByTag) {
  auto map = TestMap();
  MemoryBudget budget(1 << 30);
  PeerSetContext ctx;
  ctx.budget = &budget;
  PeerSet set;
  auto announce = [&](const PeerEndpoint& p, const NetworkMap* m) {
    PeerAnnounce a;
    a.peer = p;
    a.now = 1000;
    ctx.map = m;
    a.network = m ? m->Lookup(p) : kOutsideMap;
    return set.Announce(a, ctx);
  };
  for (int h = 0; h < 100; ++h) announce(In(1 + h % 4, h), map.get());
  for (int h = 0; h < 30; ++h) announce(In(9, h), nullptr);  // map unloaded
  const PeerEndpoint self = In(9, 200);
  std::vector<uint8_t> out(40 * 6);
  LocalityTally tally;
  const Locality loc{map.get(), map->Lookup(self)};
  ASSERT_EQ(set.Select(self, false, 40, 7, out, loc, &tally), 40u);
  EXPECT_EQ(tally.local, 30u);  // all of 10.0.9/24, found by lookups
  announce(In(2, 0), map.get());  // re-tags
  ASSERT_EQ(set.Select(self, false, 40, 7, out, loc, &tally), 40u);
  EXPECT_EQ(tally.local, 30u);
  std::string why;
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
  set.Clear(&budget);
}

// Replies to one network go round its peers: in a wide swarm, whose locals
// come from the network's runs and lists, every local is handed out
// within a few replies whatever the random draws (a random choice would
// need about L·ln L / quota of them).
TEST(LocalityListTest, RepliesToOneNetworkGoRoundItsPeers) {
  auto map = TestMap();
  MemoryBudget budget(1 << 30);
  PeerSetContext ctx;
  ctx.budget = &budget;
  ctx.map = map.get();
  PeerSet set;
  // 40 locals (half seeders) among 12 000 others, outside the map.
  constexpr int kOthers = 12000;
  for (int h = 0; h < 40 + kOthers; ++h) {
    PeerAnnounce a;
    a.peer = h < 40 ? In(9, h) : Outside(h);
    a.seeder = h % 2 == 0;
    a.now = 1000;
    a.network = map->Lookup(a.peer);
    ASSERT_EQ(set.Announce(a, ctx), PeerChange::kAdded);
  }
  const PeerEndpoint self = In(9, 200);
  const Locality loc{map.get(), map->Lookup(self)};
  std::set<uint32_t> seen;
  std::mt19937_64 rng(5);
  // quota 15 of 20 from the 20 seeders and 20 leechers, one of each in
  // turn, each cursor moving on: 4 replies go round 40.
  for (int reply = 0; reply < 4; ++reply) {
    std::vector<uint8_t> out(20 * 6);
    LocalityTally tally;
    ASSERT_EQ(set.Select(self, false, 20, rng(), out, loc, &tally), 20u);
    EXPECT_EQ(tally.local, 15u);
    for (uint32_t k = 0; k < 20; ++k) {
      const uint32_t ip = IpAt(out, k);
      if (map->Lookup(PeerEndpoint::V4(ip, 1)) == loc.network) seen.insert(ip);
    }
  }
  EXPECT_EQ(seen.size(), 40u);
  std::string why;
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
  set.Clear(&budget);
}

// A wide block without seeders: a leecher's reply finds its network in
// the leechers' lists only, never twice (the empty seeder region has no
// directory to look in). 1 300 networks of one peer each fill the
// leechers' directory, its first slot included.
TEST(LocalityListTest, NoSeedersNoDuplicates) {
  std::string text;
  for (int i = 0; i < 1300; ++i) {
    text += absl::StrCat("10.", i / 256, ".", i % 256, ".0/24 n", i, "\n");
  }
  auto map = NetworkMap::Parse(text, "many");
  ASSERT_TRUE(map.ok());
  MemoryBudget budget(1 << 30);
  PeerSetContext ctx;
  ctx.budget = &budget;
  ctx.map = map->get();
  PeerSet set;
  auto at = [](int i, int host) {
    return PeerEndpoint::V4(0x0a000000u | uint32_t(i) << 8 | uint32_t(host),
                            6881);
  };
  for (int i = 0; i < 1300; ++i) {
    PeerAnnounce a;
    a.peer = at(i, 1);
    a.now = 1000;
    a.network = (*map)->Lookup(a.peer);
    ASSERT_EQ(set.Announce(a, ctx), PeerChange::kAdded);
  }
  for (int i = 0; i < 1300; ++i) {
    const PeerEndpoint self = at(i, 250);
    const Locality loc{map->get(), (*map)->Lookup(self)};
    std::vector<uint8_t> out(30 * 6);
    LocalityTally tally;
    ASSERT_EQ(set.Select(self, false, 30, i, out, loc, &tally), 30u);
    EXPECT_EQ(tally.local, 1u) << i;
    std::set<uint32_t> ips;
    for (uint32_t k = 0; k < 30; ++k) ips.insert(IpAt(out, k));
    EXPECT_EQ(ips.size(), 30u) << i;
  }
  set.Clear(&budget);
}

// A PeerSet with a budget and `map` in its context, whose announces are
// leechers at a fixed time; cleared at the end of the test.
struct MappedSet {
  explicit MappedSet(const NetworkMap* m) {
    ctx.budget = &budget;
    ctx.map = m;
  }
  ~MappedSet() { set.Clear(&budget); }
  PeerChange Announce(const PeerEndpoint& peer, bool seeder = false) {
    PeerAnnounce a;
    a.peer = peer;
    a.seeder = seeder;
    a.now = 1000;
    a.network = ctx.map->Lookup(peer);
    return set.Announce(a, ctx);
  }
  // A leecher's reply of `want` for `self` with locality: expects `want`
  // peers, `local` of them local, and returns their IPv4 addresses.
  std::vector<uint32_t> Reply(const PeerEndpoint& self, uint32_t want,
                              uint64_t random, uint32_t local) {
    const Locality loc{ctx.map, ctx.map->Lookup(self)};
    std::vector<uint8_t> out(want * 6);
    LocalityTally tally;
    EXPECT_EQ(set.Select(self, false, want, random, out, loc, &tally), want);
    EXPECT_EQ(tally.local, local);
    std::vector<uint32_t> ips(want);
    for (uint32_t k = 0; k < want; ++k) ips[k] = IpAt(out, k);
    return ips;
  }
  MemoryBudget budget{size_t{1} << 30};
  PeerSetContext ctx;
  PeerSet set;
};

// A network's run keeps the slots of members that left (dead) and its list
// the members that joined, until a sort: replies skip the first, take the
// second, and still go round every member.
TEST(LocalityListTest, RunsSkipWhoLeftAndListsGiveWhoJoined) {
  auto map = TestMap();
  MappedSet m(map.get());
  PeerSet& set = m.set;
  const PeerSetContext& ctx = m.ctx;
  auto announce = [&](const PeerEndpoint& peer) { return m.Announce(peer); };
  // 100 leechers of network 5, then 3 000 outside the map (the block's
  // growth sorts the 100 into their run); fewer changes than an eighth of
  // the region follow, so no sort tidies them away.
  for (int h = 0; h < 100; ++h) ASSERT_EQ(announce(In(5, h)), PeerChange::kAdded);
  for (int h = 0; h < 3000; ++h) ASSERT_EQ(announce(Outside(h)), PeerChange::kAdded);
  for (int h = 0; h < 30; ++h) {
    ASSERT_EQ(set.Remove(In(5, h), ctx), PeerChange::kRemoved);
  }
  for (int h = 100; h < 120; ++h) ASSERT_EQ(announce(In(5, h)), PeerChange::kAdded);
  std::string why;
  ASSERT_TRUE(set.Check(ctx, &why)) << why;
  const PeerEndpoint self = In(5, 200);
  std::set<uint32_t> seen;
  std::mt19937_64 rng(3);
  // 90 members, 38 a reply: 3 replies go round them.
  for (int reply = 0; reply < 3; ++reply) {
    uint32_t locals = 0;
    for (const uint32_t ip : m.Reply(self, 50, rng(), 38)) {
      if ((ip >> 8) != 0x0a0005u) continue;  // 10.0.5/24
      ++locals;
      EXPECT_GE(ip & 0xff, 30u) << "a member that left";
      seen.insert(ip);
    }
    EXPECT_EQ(locals, 38u);
  }
  EXPECT_EQ(seen.size(), 90u);
}

// A swarm whose peers only re-announce makes no change that would sort
// it: replies that keep reading its lists sort it instead (after an
// eighth of the region's worth of list reads), and go on handing out
// every member.
TEST(LocalityListTest, RepliesThatKeepReadingListsSortThem) {
  auto map = TestMap();
  MappedSet m(map.get());
  PeerSet& set = m.set;
  const PeerSetContext& ctx = m.ctx;
  // As above: 100 members of network 5 sorted into their run by the
  // growth, 30 of them gone (dead slots), 20 joined since (listed).
  for (int h = 0; h < 100; ++h) {
    ASSERT_EQ(m.Announce(In(5, h)), PeerChange::kAdded);
  }
  for (int h = 0; h < 3000; ++h) {
    ASSERT_EQ(m.Announce(Outside(h)), PeerChange::kAdded);
  }
  for (int h = 0; h < 30; ++h) {
    ASSERT_EQ(set.Remove(In(5, h), ctx), PeerChange::kRemoved);
  }
  for (int h = 100; h < 120; ++h) {
    ASSERT_EQ(m.Announce(In(5, h)), PeerChange::kAdded);
  }
  ASSERT_EQ(set.unsorted(AddressFamily::kV4), 50u);
  const PeerEndpoint self = In(5, 200);
  std::mt19937_64 rng(5);
  std::map<uint32_t, int> hits;
  int replies = 0;
  auto reply = [&] {
    for (const uint32_t ip : m.Reply(self, 50, rng(), 38)) {
      if ((ip >> 8) == 0x0a0005u) ++hits[ip];
    }
    ++replies;
  };
  // Each round of 90 members reads the 20 listed: an eighth of the region
  // (over 3 100 entries: more than 380 reads) takes more than 19 rounds,
  // over 45 replies.
  while (set.unsorted(AddressFamily::kV4) != 0 && replies < 200) reply();
  EXPECT_EQ(set.unsorted(AddressFamily::kV4), 0u) << replies << " replies";
  EXPECT_GT(replies, 20) << "sorted before the reads paid for it";
  std::string why;
  ASSERT_TRUE(set.Check(ctx, &why)) << why;
  // The sort kept the round robin going: 90 more replies give every
  // member 38 times (±1: where the count started).
  hits.clear();
  for (int k = 0; k < 90; ++k) reply();
  ASSERT_EQ(hits.size(), 90u);
  for (const auto& [ip, n] : hits) {
    EXPECT_GE(ip & 0xff, 30u) << "a member that left";
    EXPECT_NEAR(n, 38, 1) << "member " << (ip & 0xff);
  }
}

// The same with the network in both regions a leecher's reply reads: each
// region is sorted by the reads of its own list, and the index stays
// whole.
TEST(LocalityListTest, ReadsSortEachRegionTheyRead) {
  auto map = TestMap();
  MappedSet m(map.get());
  PeerSet& set = m.set;
  const PeerSetContext& ctx = m.ctx;
  auto announce = [&](const PeerEndpoint& peer, bool seeder) {
    return m.Announce(peer, seeder);
  };
  // Per region: 100 of network 5, 1 000 outside the map (the growth sorts
  // them), then 20 more of network 5 (listed).
  for (const bool seeder : {false, true}) {
    const int base = seeder ? 0 : 128;
    for (int h = 0; h < 100; ++h) {
      ASSERT_EQ(announce(In(5, h, 6881 + base), seeder), PeerChange::kAdded);
    }
    for (int h = 0; h < 1000; ++h) {
      ASSERT_EQ(announce(Outside(h + base * 100), seeder), PeerChange::kAdded);
    }
  }
  for (const bool seeder : {false, true}) {
    const int base = seeder ? 0 : 128;
    for (int h = 100; h < 120; ++h) {
      ASSERT_EQ(announce(In(5, h, 6881 + base), seeder), PeerChange::kAdded);
    }
  }
  ASSERT_EQ(set.unsorted(AddressFamily::kV4), 40u);
  const PeerEndpoint self = In(5, 200);
  std::mt19937_64 rng(9);
  int replies = 0;
  std::string why;
  while (set.unsorted(AddressFamily::kV4) != 0 && replies < 400) {
    m.Reply(self, 50, rng(), 38);
    ++replies;
    ASSERT_TRUE(set.Check(ctx, &why)) << why << " after " << replies;
  }
  EXPECT_EQ(set.unsorted(AddressFamily::kV4), 0u) << replies << " replies";
  EXPECT_GT(replies, 5) << "sorted before the reads paid for it";
}

// A rebuild (here an expiry sweep that drops other peers) keeps each
// network's cursor on the member the next reply would have started at, so
// replies go on round the network instead of starting again at its run's
// first members.
TEST(LocalityListTest, ARebuildKeepsTheRoundRobinGoing) {
  auto map = TestMap();
  MappedSet m(map.get());
  PeerSet& set = m.set;
  const PeerSetContext& ctx = m.ctx;
  for (int h = 0; h < 90; ++h) {
    ASSERT_EQ(m.Announce(In(5, h)), PeerChange::kAdded);
  }
  for (int h = 0; h < 3000; ++h) {
    ASSERT_EQ(m.Announce(Outside(h)), PeerChange::kAdded);
  }
  // 100 more outside the map, last seen long before the others.
  for (int h = 3000; h < 3100; ++h) {
    PeerAnnounce a;
    a.peer = Outside(h);
    a.now = 100;
    ASSERT_EQ(set.Announce(a, ctx), PeerChange::kAdded);
  }
  const size_t bytes = set.bytes();
  const PeerEndpoint self = In(5, 200);
  std::mt19937_64 rng(13);
  std::set<uint32_t> seen;
  auto reply = [&] {
    for (const uint32_t ip : m.Reply(self, 50, rng(), 38)) {
      if ((ip >> 8) == 0x0a0005u) seen.insert(ip);
    }
  };
  reply();
  ASSERT_EQ(seen.size(), 38u);
  const PeerSet::Expired ex = set.Expire(1000, 600, ctx);
  ASSERT_EQ(ex.v4, 100u);
  ASSERT_EQ(set.bytes(), bytes) << "the sweep was to keep the capacity";
  std::string why;
  ASSERT_TRUE(set.Check(ctx, &why)) << why;
  // 90 members, 38 a reply: the next two replies give the 52 not yet seen.
  reply();
  reply();
  EXPECT_EQ(seen.size(), 90u);
}

// Round robin is fair however the members are split between run and
// list: with more list members than a reply's quota, the run still gets
// its turn, and every member is handed out about as often as the others.
TEST(LocalityListTest, RepliesHandOutEveryMemberEvenly) {
  auto parsed = NetworkMap::Parse("10.5.0.0/16 big\n10.6.0.0/16 small\n", "t");
  ASSERT_TRUE(parsed.ok());
  const NetworkMap* map = parsed->get();
  MappedSet m(map);
  PeerSet& set = m.set;
  const PeerSetContext& ctx = m.ctx;
  // 2 000 leechers of one network and 100 of another, in random order: the
  // last ones to join (up to an eighth of the region) wait in the list.
  constexpr int kBig = 2000;
  std::vector<PeerEndpoint> peers;
  for (int h = 0; h < kBig; ++h) peers.push_back(PeerEndpoint::V4(0x0a050000u + h, 6881));
  for (int h = 0; h < 100; ++h) peers.push_back(PeerEndpoint::V4(0x0a060000u + h, 6881));
  std::mt19937_64 rng(11);
  std::shuffle(peers.begin(), peers.end(), rng);
  for (const PeerEndpoint& p : peers) {
    ASSERT_EQ(m.Announce(p), PeerChange::kAdded);
  }
  std::string why;
  ASSERT_TRUE(set.Check(ctx, &why)) << why;
  // Seeders of the big network (not stored) get leechers only: 45 of 50
  // from the big network, so 2 000 replies hand out each member ~45 times.
  std::vector<int> hits(kBig, 0);
  const PeerEndpoint self = PeerEndpoint::V4(0x0a05ff00u, 6881);
  const Locality loc{map, map->Lookup(self), 58982};  // s = 0.9
  for (int reply = 0; reply < kBig; ++reply) {
    std::vector<uint8_t> out(50 * 6);
    LocalityTally tally;
    ASSERT_EQ(set.Select(self, true, 50, rng(), out, loc, &tally), 50u);
    ASSERT_EQ(tally.local, 45u);
    for (uint32_t k = 0; k < 50; ++k) {
      const uint32_t ip = IpAt(out, k);
      if ((ip >> 16) == 0x0a05) ++hits[ip & 0xffff];
    }
  }
  const auto [lo, hi] = std::minmax_element(hits.begin(), hits.end());
  EXPECT_GE(*lo, 44) << "member " << (lo - hits.begin()) << " starved";
  EXPECT_LE(*hi, 46);
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
}

// A sort of the region (once an eighth of it changed) keeps where replies
// to a network stopped in its run: with a sort between every two replies,
// the replies still go round all the network's members instead of
// starting over at the run's first ones each time.
TEST(LocalityListTest, ASortKeepsTheRoundRobinGoing) {
  auto map = TestMap();
  MappedSet m(map.get());
  PeerSet& set = m.set;
  const PeerSetContext& ctx = m.ctx;
  auto announce = [&](const PeerEndpoint& peer) { return m.Announce(peer); };
  // 200 leechers of network 5 among 3 000 outside the map, in a region
  // grown for 4 900 (so the churn below neither grows nor shrinks it).
  for (int h = 0; h < 200; ++h) ASSERT_EQ(announce(In(5, h)), PeerChange::kAdded);
  for (int h = 0; h < 4700; ++h) ASSERT_EQ(announce(Outside(h)), PeerChange::kAdded);
  for (int h = 3000; h < 4700; ++h) {
    ASSERT_EQ(set.Remove(Outside(h), ctx), PeerChange::kRemoved);
  }
  const size_t bytes = set.bytes();
  const PeerEndpoint self = In(5, 250);
  const Locality loc{map.get(), map->Lookup(self)};
  std::set<uint32_t> seen;
  std::mt19937_64 rng(5);
  // 38 locals a reply: 6 replies go round the 200.
  for (int reply = 0; reply < 6; ++reply) {
    std::vector<uint8_t> out(50 * 6);
    LocalityTally tally;
    ASSERT_EQ(set.Select(self, true, 50, rng(), out, loc, &tally), 50u);
    ASSERT_EQ(tally.local, 38u);
    for (uint32_t k = 0; k < 50; ++k) {
      const uint32_t ip = IpAt(out, k);
      if ((ip >> 8) == 0x0a0005u) seen.insert(ip);
    }
    // 900 peers of network 6 join (past an eighth of the region: a sort),
    // or leave again (dead run slots: another sort).
    for (int h = 0; h < 900; ++h) {
      const PeerEndpoint p = In(6, h % 256, uint16_t(7000 + h / 256));
      if (reply % 2 == 0) {
        ASSERT_EQ(announce(p), PeerChange::kAdded);
      } else {
        ASSERT_EQ(set.Remove(p, ctx), PeerChange::kRemoved);
      }
    }
    ASSERT_EQ(set.bytes(), bytes) << "the block was rebuilt";
  }
  EXPECT_EQ(seen.size(), 200u);
  std::string why;
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
}

// Random churn on a tagged block (adds, removals, role changes, expiry,
// reloads): after every step the lists hold exactly the tagged entries
// (Check) and every reply keeps the share rule.
TEST(LocalityListTest, ListsSurviveChurn) {
  auto map = TestMap();
  auto reloaded = ReloadedMap();
  MemoryBudget budget(1 << 30);
  PeerSetContext ctx;
  ctx.budget = &budget;
  PeerSet set;
  std::mt19937 rng(12);
  const NetworkMap* m = map.get();
  for (int step = 0; step < 20000; ++step) {
    if (step == 10000) m = reloaded.get();
    ctx.map = m;
    const PeerEndpoint p = In(1 + rng() % 9, rng() % 120);
    switch (rng() % 8) {
      case 0:
        set.Remove(p, ctx);
        break;
      case 1:
        if (step % 500 == 1) set.Expire(1000 + step / 10, 300, ctx);
        break;
      default: {
        PeerAnnounce a;
        a.peer = p;
        a.seeder = rng() % 3 == 0;
        a.now = 1000 + step / 10;
        a.network = m->Lookup(p);
        set.Announce(a, ctx);
      }
    }
    if (step % 97 == 0) {
      std::string why;
      ASSERT_TRUE(set.Check(ctx, &why)) << "step " << step << ": " << why;
      std::vector<uint8_t> out(30 * 6);
      LocalityTally tally;
      const PeerEndpoint self = In(1 + rng() % 9, 250);
      const Locality loc{m, m->Lookup(self)};
      const uint32_t n = set.Select(self, false, 30, rng(), out, loc, &tally);
      EXPECT_LE(tally.local, n);
    }
  }
  set.Clear(&budget);
  EXPECT_EQ(budget.used(), 0u);
}

// Random wide swarms of both families (over 1 024 entries per region) and
// past the scan limit, with churn before each batch of replies: the runs
// and lists stay consistent (Check), and every reply to a seeder
// or a leecher, stored or not, keeps the role, self and share rules, with a
// tally that counts what it wrote.
TEST(LocalityListTest, RandomWideSwarmsOfBothFamilies) {
  auto map = TestMap();
  MemoryBudget budget(size_t{1} << 32);
  PeerSetContext ctx;
  ctx.seed = 17;
  ctx.budget = &budget;
  ctx.map = map.get();
  std::mt19937_64 rng(77);
  using Key = std::tuple<AddressFamily, std::array<uint8_t, 16>, uint16_t>;
  auto key = [](const PeerEndpoint& p) { return Key{p.family, p.ip, p.port}; };
  constexpr int kMe = 9;
  // Locals of network kMe, others in the map, or outside it; v4 or v6.
  auto peer = [&](bool v6, int kind, uint32_t h) {
    const int net = kind == 0 ? kMe : 1 + int(h % 8);
    if (!v6) {
      if (kind == 2) return PeerEndpoint::V4(0x0b000000u + h, 6881);
      return In(net, int(h % 256), uint16_t(1000 + h / 256 % 8));
    }
    if (kind == 2) {
      uint8_t ip[16] = {0x2a, 0x00, 0, 0, 0, 0, uint8_t(h >> 8), uint8_t(h)};
      ip[15] = 1;
      return PeerEndpoint::V6(ip, 6881);
    }
    return In6(net, int(h % 60000));
  };
  for (int round = 0; round < 24; ++round) {
    PeerSet set;
    std::map<Key, std::pair<PeerEndpoint, bool>> stored;
    const uint32_t locals = uint32_t(rng() % (round % 3 == 0 ? 1800 : 200));
    const uint32_t others = uint32_t(rng() % (round % 2 == 0 ? 6000 : 1500));
    const uint32_t seeder_pct = uint32_t(rng() % 101);
    auto announce = [&](const PeerEndpoint& p, bool seeder) {
      PeerAnnounce a;
      a.peer = p;
      a.seeder = seeder;
      a.now = 1000;
      a.network = map->Lookup(p);
      const PeerChange c = set.Announce(a, ctx);
      ASSERT_TRUE(c == PeerChange::kAdded || c == PeerChange::kUpdated)
          << int(c);
      stored[key(p)] = {p, seeder};
    };
    for (uint32_t h = 0; h < locals + others; ++h) {
      const bool v6 = rng() % 2;
      const int kind = h < locals ? 0 : 1 + int(rng() % 2);
      announce(peer(v6, kind, h), rng() % 100 < seeder_pct);
    }
    for (int batch = 0; batch < 3; ++batch) {
      // Churn: removals and role changes move entries (backward shift).
      for (int k = 0; k < 300 && !stored.empty(); ++k) {
        auto it = std::next(stored.begin(), rng() % stored.size());
        const PeerEndpoint p = it->second.first;
        if (rng() % 2) {
          ASSERT_EQ(set.Remove(p, ctx), PeerChange::kRemoved);
          stored.erase(it);
        } else {
          announce(p, !it->second.second);
        }
      }
      std::string why;
      ASSERT_TRUE(set.Check(ctx, &why)) << round << ": " << why;
      for (int q = 0; q < 20; ++q) {
        const bool v6 = rng() % 2;
        // Self: a stored peer (often a local), or a newcomer of kMe.
        PeerEndpoint self = peer(v6, 0, 70000 + uint32_t(rng() % 1000));
        bool seeder = rng() % 2;
        if (rng() % 2 && !stored.empty()) {
          auto it = std::next(stored.begin(), rng() % stored.size());
          if (it->second.first.family == self.family &&
              map->Lookup(it->second.first) != kOutsideMap) {
            self = it->second.first;
            seeder = it->second.second;
          }
        }
        const uint32_t want = 1 + uint32_t(rng() % 200);
        const uint32_t share =
            std::vector<uint32_t>{1, 32768, 49152, 65536}[rng() % 4];
        const NetworkId me = map->Lookup(self);
        uint32_t el = 0, eo = 0;
        for (auto& [k, v] : stored) {
          const PeerEndpoint& p = v.first;
          if (p.family != self.family || p == self || (seeder && v.second)) {
            continue;
          }
          (map->Lookup(p) == me ? el : eo)++;
        }
        std::vector<uint8_t> out(want * 18);
        LocalityTally tally;
        const Locality loc{map.get(), me, share};
        const uint64_t random = rng();
        const uint32_t n = set.Select(self, seeder, want, random, out, loc,
                                      &tally);
        protocol::AnnounceResponse resp;
        resp.family = self.family;
        resp.peers = {out.data(), n * protocol::PeerEntrySize(self.family)};
        std::set<Key> seen;
        uint32_t local = 0;
        for (size_t i = 0; i < resp.peer_count(); ++i) {
          const PeerEndpoint p = resp.peer(i);
          ASSERT_NE(p, self) << round;
          ASSERT_TRUE(seen.insert(key(p)).second) << round << ": twice";
          auto it = stored.find(key(p));
          ASSERT_NE(it, stored.end()) << round << ": not stored";
          ASSERT_FALSE(seeder && it->second.second) << round << ": seeder";
          local += map->Lookup(p) == me;
        }
        const std::string at = absl::StrCat(
            "round ", round, " batch ", batch, " q ", q, " v6 ", v6,
            " seeder ", seeder, " want ", want, " share ", share, " el ", el,
            " eo ", eo, " n ", n, " local ", local);
        const uint32_t quota =
            uint32_t((uint64_t{want} * share + 65535) >> 16);
        if (tally.ranked == 0) {  // the window went out whole
          ASSERT_EQ(n, std::min(want, el + eo)) << at;
          continue;
        }
        ASSERT_EQ(tally.ranked, n) << at;
        ASSERT_EQ(tally.local, local) << at;
        // Every eligible local up to the quota.
        ASSERT_EQ(std::min(local, quota), std::min(el, quota)) << at;
        // Locals past the quota only fill what the others leave.
        if (local > quota) {
          ASSERT_TRUE(n == want || local == el) << at;
        }
        // With a window within the scan limit (regions of at most ~1 000
        // entries each, slack included) the counts are exact.
        if (set.peers(self.family) <= 800) {
          const uint32_t q = std::min(el, quota);
          const uint32_t o = std::min(eo, want - q);
          const uint32_t x = std::min(el - q, want - q - o);
          ASSERT_EQ(n, std::min(want, el + eo)) << at;
          ASSERT_EQ(local, q + x) << at;
        }
      }
      ASSERT_TRUE(set.Check(ctx, &why)) << round << ": " << why;
    }
    set.Clear(&budget);
  }
  EXPECT_EQ(budget.used(), 0u);
}

// A reload whose re-tag the budget refuses: the announce that brought the
// new map still stores its peer, tagged from the new map, in a block whose
// tags claim to be the old map's. A reply with the old map (one a batch
// began before the reload) must not trust those tags: 10.0.9.7 is n9 in
// the old map but carries the new map's n1 tag, which is the old map's
// n0 (both id 1).
TEST(LocalityListTest, AnEntryTaggedFromAnotherMapUntrustsTheBlock) {
  auto map = TestMap();
  auto reloaded = ReloadedMap();
  MemoryBudget budget(size_t{1} << 30);
  PeerSetContext ctx;
  ctx.budget = &budget;
  ctx.map = map.get();
  PeerSet set;
  auto announce = [&](const NetworkMap* m, const PeerEndpoint& peer) {
    ctx.map = m;
    PeerAnnounce a;
    a.peer = peer;
    a.now = 1000;
    a.network = m->Lookup(peer);
    return set.Announce(a, ctx);
  };
  for (int h = 0; h < 40; ++h) {
    ASSERT_EQ(announce(map.get(), In(1 + h % 4, h)), PeerChange::kAdded);
  }
  ASSERT_EQ(map->Lookup(In(0, 1)), reloaded->Lookup(In(9, 7)));
  ASSERT_NE(map->Lookup(In(9, 7)), map->Lookup(In(0, 1)));
  // Fill the budget: the re-tag (not forced) is refused, the new peer
  // still fits the region's slack.
  const size_t fill = budget.limit() - budget.used();
  ASSERT_TRUE(budget.TryCharge(fill, /*force=*/true));
  ASSERT_EQ(announce(reloaded.get(), In(9, 7)), PeerChange::kAdded);
  budget.Release(fill);
  ctx.map = map.get();
  std::string why;
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
  // A requester of the old map's n0: it has no peer in the swarm.
  const PeerEndpoint self = In(0, 1);
  const Locality loc{map.get(), map->Lookup(self)};
  for (uint64_t random = 0; random < 8; ++random) {
    std::vector<uint8_t> out(20 * 6);
    LocalityTally tally;
    ASSERT_EQ(set.Select(self, false, 20, random, out, loc, &tally), 20u);
    EXPECT_EQ(tally.local, 0u) << random;
  }
  ctx.map = reloaded.get();
  EXPECT_TRUE(set.Check(ctx, &why)) << why;
  set.Clear(&budget);
}

// Through the swarm table: the result counts the local peers it wrote.
TEST(LocalitySwarmTableTest, AnnounceReportsLocalPeers) {
  auto map = TestMap();
  SwarmTableConfig c;
  c.initial_slots = 64;
  SwarmTable table(c);
  std::vector<uint8_t> out(200 * 6);
  AnnounceParams p;
  p.info_hash.bytes[0] = 1;
  p.now = 1000;
  for (int h = 0; h < 40; ++h) {
    p.peer = In(h < 10 ? 3 : 4 + h % 3, h);
    ASSERT_EQ(table.Announce(p, out).status, AnnounceStatus::kOk);
  }
  p.peer = In(3, 100);
  p.numwant = 8;
  p.locality = {map.get(), map->Lookup(p.peer)};
  const AnnounceResult r = table.Announce(p, out);
  EXPECT_EQ(r.peers_written, 8u);
  EXPECT_EQ(r.locality.local, 6u);
  EXPECT_EQ(r.locality.ranked, 8u);
  p.locality = {};
  p.random = 1;
  EXPECT_EQ(table.Announce(p, out).locality.local, 0u);
}

}  // namespace
}  // namespace ringtrack
