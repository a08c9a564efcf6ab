#include "core/swarm/peer_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/udp/protocol.h"

namespace ringtrack {
namespace {

PeerEndpoint V4(uint32_t n, uint16_t port = 6881) {
  return PeerEndpoint::V4(0x0a000000 + n, port);
}
PeerEndpoint V6(uint32_t prefix, uint32_t host, uint16_t port = 6881) {
  uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8};
  ip[7] = static_cast<uint8_t>(prefix);
  ip[15] = static_cast<uint8_t>(host);
  ip[14] = static_cast<uint8_t>(host >> 8);
  return PeerEndpoint::V6(ip, port);
}

class PeerSetTest : public ::testing::Test {
 protected:
  PeerSetTest() : budget_(1 << 30) {
    ctx_.seed = 99;
    ctx_.budget = &budget_;
  }
  ~PeerSetTest() override {
    set_.Clear(&budget_);
    EXPECT_EQ(budget_.used(), 0u);
  }
  PeerChange Announce(const PeerEndpoint& p, bool seeder, bool completed = false,
                      uint32_t now = 1000) {
    PeerAnnounce a;
    a.peer = p;
    a.seeder = seeder;
    a.completed_event = completed;
    a.now = now;
    return set_.Announce(a, ctx_);
  }
  std::vector<PeerEndpoint> Select(const PeerEndpoint& self, bool seeder,
                                   uint32_t want, uint64_t random = 7) {
    std::vector<uint8_t> out(want * 18 + 18);
    const uint32_t n = set_.Select(self, seeder, want, random, out);
    protocol::AnnounceResponse r;
    r.family = self.family;
    r.peers = {out.data(), n * protocol::PeerEntrySize(self.family)};
    std::vector<PeerEndpoint> v;
    for (size_t i = 0; i < r.peer_count(); ++i) v.push_back(r.peer(i));
    return v;
  }
  void ExpectConsistent() {
    std::string why;
    EXPECT_TRUE(set_.Check(ctx_, &why)) << why;
    EXPECT_EQ(budget_.used(), set_.bytes());
  }

  MemoryBudget budget_;
  PeerSetContext ctx_;
  PeerSet set_;
};

TEST_F(PeerSetTest, EmptySetHoldsNoMemory) {
  EXPECT_TRUE(set_.empty());
  EXPECT_EQ(set_.bytes(), 0u);
  EXPECT_EQ(Select(V4(1), false, 50).size(), 0u);
  EXPECT_EQ(set_.Remove(V4(1), ctx_), PeerChange::kAbsent);
}

TEST_F(PeerSetTest, SmallSwarmIsSizedToFit) {
  for (uint32_t i = 1; i <= 10; ++i) {
    EXPECT_EQ(Announce(V4(i), i <= 3), PeerChange::kAdded);
  }
  // 8-byte header + 10 entries of 8 bytes, one malloc chunk: no slack.
  EXPECT_EQ(set_.bytes(), MallocChunkBytes(8 + 10 * 8));
  EXPECT_EQ(set_.bytes(), 96u);
  EXPECT_EQ(set_.counts().seeders, 3u);
  EXPECT_EQ(set_.counts().leechers, 7u);
  ExpectConsistent();
}

TEST_F(PeerSetTest, ARegionPastSixteenEntriesKeepsCountsInTheHeader) {
  for (uint32_t i = 1; i <= 16; ++i) Announce(V4(i), false);
  EXPECT_EQ(set_.bytes(), MallocChunkBytes(8 + 16 * 8));  // compact, full
  Announce(V4(17), false);
  // Wide: 16 bytes of counts after the header; the region grew to 20.
  EXPECT_EQ(set_.bytes(), MallocChunkBytes(8 + 16 + 20 * 8));
  Announce(V4(100), true);
  EXPECT_EQ(set_.counts().leechers, 17u);
  EXPECT_EQ(set_.counts().seeders, 1u);
  ExpectConsistent();
  // Stopping peers shrinks the region back to a compact block.
  for (uint32_t i = 1; i <= 14; ++i) {
    EXPECT_EQ(set_.Remove(V4(i), ctx_), PeerChange::kRemoved);
    ExpectConsistent();
  }
  EXPECT_EQ(set_.counts().leechers, 3u);
  // At most 2·3 + 2 leecher entries (the shrink rule) and the seeder.
  EXPECT_LE(set_.bytes(), MallocChunkBytes(8 + 9 * 8));
  for (uint32_t i = 15; i <= 17; ++i) set_.Remove(V4(i), ctx_);
  EXPECT_EQ(set_.counts().leechers, 0u);
  EXPECT_FALSE(set_.empty());
  set_.Remove(V4(100), ctx_);
  EXPECT_TRUE(set_.empty());
  ExpectConsistent();
}

TEST_F(PeerSetTest, SeedersGetOnlyLeechersAndNobodyGetsThemselves) {
  for (uint32_t i = 1; i <= 20; ++i) Announce(V4(i), i <= 15);
  for (uint64_t r = 0; r < 50; ++r) {
    const auto to_seeder = Select(V4(1), true, 50, r * 0x9e3779b97f4a7c15ULL);
    EXPECT_EQ(to_seeder.size(), 5u);
    for (const auto& p : to_seeder) EXPECT_GT(p.ip[3], 15);
    const auto to_leecher = Select(V4(16), false, 50, r);
    EXPECT_EQ(to_leecher.size(), 19u);
    for (const auto& p : to_leecher) EXPECT_NE(p, V4(16));
  }
  EXPECT_EQ(Select(V4(16), false, 4).size(), 4u);
}

// Select writes into a reply buffer of exactly `want` entries (a heap
// vector, so an overrun shows under ASan), whatever the window's start and
// wrap, and every entry written is a stored peer with its port intact.
TEST_F(PeerSetTest, SelectFillsAnExactlySizedReplyWithStoredPeers) {
  std::vector<PeerEndpoint> stored;
  auto has = [](const std::vector<PeerEndpoint>& v, const PeerEndpoint& p) {
    return std::find(v.begin(), v.end(), p) != v.end();
  };
  for (uint32_t i = 1; i <= 40; ++i) {
    const PeerEndpoint v4 = V4(i, static_cast<uint16_t>(0x1200 + i));
    const PeerEndpoint v6 = V6(i, i, static_cast<uint16_t>(0xab00 + i));
    Announce(v4, i % 3 == 0);
    Announce(v6, i % 3 == 0);
    stored.push_back(v4);
    stored.push_back(v6);
  }
  for (const PeerEndpoint& self : {V4(5, 0x1205), V6(5, 5, 0xab05)}) {
    const size_t entry = protocol::PeerEntrySize(self.family);
    for (uint32_t want : {1u, 2u, 7u, 39u, 40u, 50u}) {
      for (uint64_t r = 0; r < 64; ++r) {
        std::vector<uint8_t> out(want * entry);
        const uint64_t random = r * 0x9e3779b97f4a7c15ULL;
        const uint32_t n = set_.Select(self, false, want, random, out);
        ASSERT_EQ(n, std::min(want, 39u)) << want << " " << r;
        protocol::AnnounceResponse resp;
        resp.family = self.family;
        resp.peers = {out.data(), n * entry};
        std::vector<PeerEndpoint> seen;
        for (size_t k = 0; k < resp.peer_count(); ++k) {
          const PeerEndpoint p = resp.peer(k);
          EXPECT_NE(p, self);
          EXPECT_TRUE(has(stored, p)) << "not stored";
          EXPECT_FALSE(has(seen, p)) << "written twice";
          seen.push_back(p);
        }
      }
    }
  }
}

TEST_F(PeerSetTest, RoleChangesMoveEntriesAndCountCompletedOnce) {
  Announce(V4(1), false);
  EXPECT_EQ(Announce(V4(1), true), PeerChange::kUpdated);
  EXPECT_EQ(set_.counts().completed, 1u);
  EXPECT_EQ(set_.counts().seeders, 1u);
  for (int k = 0; k < 10; ++k) {
    Announce(V4(1), false);
    Announce(V4(1), true, true);
  }
  EXPECT_EQ(set_.counts().completed, 1u);
  // A new seeder with event=completed counts; one without does not.
  Announce(V4(2), true, true);
  Announce(V4(3), true, false);
  EXPECT_EQ(set_.counts().completed, 2u);
  ExpectConsistent();
}

TEST_F(PeerSetTest, CapsRefuseNewPeersOnly) {
  ctx_.max_per_source = 3;
  ctx_.max_per_swarm = 6;
  for (uint16_t port = 1; port <= 3; ++port) {
    EXPECT_EQ(Announce(V4(1, port), false), PeerChange::kAdded);
  }
  EXPECT_EQ(Announce(V4(1, 4), true), PeerChange::kSourceCapped);
  EXPECT_EQ(Announce(V4(1, 2), true), PeerChange::kUpdated);  // stored: fine
  EXPECT_EQ(Announce(V4(2), false), PeerChange::kAdded);
  EXPECT_EQ(Announce(V6(1, 1), false), PeerChange::kAdded);
  EXPECT_EQ(Announce(V6(1, 2), false), PeerChange::kAdded);
  EXPECT_EQ(Announce(V6(2, 1), false), PeerChange::kSwarmFull);
  EXPECT_EQ(set_.peers(AddressFamily::kV4), 4u);
  EXPECT_EQ(set_.peers(AddressFamily::kV6), 2u);
  ExpectConsistent();
}

TEST_F(PeerSetTest, BudgetRefusesGrowthButNotStoredPeers) {
  // Growing from 3 to 4 entries holds both blocks for a moment; the budget
  // allows exactly that, so the fifth peer does not fit.
  MemoryBudget tight(MallocChunkBytes(8 + 4 * 8) + MallocChunkBytes(8 + 3 * 8));
  PeerSetContext c = ctx_;
  c.budget = &tight;
  PeerAnnounce a;
  a.now = 1000;
  for (uint32_t i = 1; i <= 4; ++i) {
    a.peer = V4(i);
    ASSERT_EQ(set_.Announce(a, c), PeerChange::kAdded);
  }
  a.peer = V4(5);
  EXPECT_EQ(set_.Announce(a, c), PeerChange::kNoMemory);
  a.peer = V4(2);
  a.seeder = true;  // a role change may overshoot: it must not be lost
  EXPECT_EQ(set_.Announce(a, c), PeerChange::kUpdated);
  EXPECT_EQ(set_.counts().seeders, 1u);
  EXPECT_EQ(set_.counts().leechers, 3u);
  EXPECT_EQ(tight.used(), set_.bytes());
  set_.Clear(&tight);
  EXPECT_EQ(tight.used(), 0u);
}

TEST_F(PeerSetTest, ExpireRemovesSilentPeersAndShrinks) {
  for (uint32_t i = 1; i <= 400; ++i) Announce(V4(i), i % 2, false, 1000);
  for (uint32_t i = 1; i <= 10; ++i) Announce(V6(i, 1), false, false, 1000);
  for (uint32_t i = 1; i <= 20; ++i) Announce(V4(i), false, false, 1500);
  const size_t big = set_.bytes();
  const PeerSet::Expired ex = set_.Expire(1700, 600, ctx_);
  EXPECT_EQ(ex.v4, 380u);
  EXPECT_EQ(ex.v6, 10u);
  EXPECT_EQ(set_.peers(AddressFamily::kV4), 20u);
  EXPECT_LT(set_.bytes(), big / 4);
  ExpectConsistent();
  set_.Expire(5000, 600, ctx_);
  EXPECT_TRUE(set_.empty());
  ExpectConsistent();
}

// Random operations against a plain model, checking every invariant as
// the regions grow, shrink and change role; few sources, so the
// per-source cap and same-source probe runs are exercised too.
TEST_F(PeerSetTest, MatchesAModelUnderRandomChurn) {
  ctx_.max_per_source = 5;
  std::mt19937_64 rng(3);
  using Key = std::tuple<int, uint32_t, uint16_t>;  // family, source, port
  std::map<Key, std::pair<bool, bool>> model;       // seeder, counted
  uint32_t completed = 0;
  for (int step = 0; step < 20000; ++step) {
    const bool v6 = rng() % 4 == 0;
    const uint32_t source = static_cast<uint32_t>(rng() % 60);
    const uint16_t port = static_cast<uint16_t>(1 + rng() % 9);
    const Key key{v6, source, port};
    const PeerEndpoint p =
        v6 ? V6(source, 1 + port % 3, port) : V4(source, port);
    const uint32_t op = static_cast<uint32_t>(rng() % 10);
    if (op < 3) {
      const bool had = model.erase(key) > 0;
      ASSERT_EQ(set_.Remove(p, ctx_),
                had ? PeerChange::kRemoved : PeerChange::kAbsent);
    } else {
      const bool seeder = op >= 7;
      const bool completed_event = op == 9;
      auto it = model.find(key);
      uint32_t same_source = 0;
      for (const auto& [k, v] : model) {
        same_source += std::get<0>(k) == v6 && std::get<1>(k) == source;
      }
      const PeerChange c = Announce(p, seeder, completed_event);
      if (it != model.end()) {
        ASSERT_EQ(c, PeerChange::kUpdated);
        if (seeder && !it->second.second) {
          ++completed;
          it->second.second = true;
        }
        it->second.first = seeder;
      } else if (same_source >= 5) {
        ASSERT_EQ(c, PeerChange::kSourceCapped);
      } else {
        ASSERT_EQ(c, PeerChange::kAdded);
        model[key] = {seeder, seeder};
        completed += seeder && completed_event;
      }
    }
    uint32_t seeders = 0;
    for (const auto& [k, v] : model) seeders += v.first;
    ASSERT_EQ(set_.counts().seeders, seeders) << step;
    ASSERT_EQ(set_.counts().seeders + set_.counts().leechers, model.size());
    ASSERT_EQ(set_.counts().completed, completed);
    if (step % 97 == 0) {
      std::string why;
      ASSERT_TRUE(set_.Check(ctx_, &why)) << step << ": " << why;
      ASSERT_EQ(budget_.used(), set_.bytes());
    }
  }
}

}  // namespace
}  // namespace ringtrack
