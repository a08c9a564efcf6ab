#include "core/swarm_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/protocol.h"

namespace ringtrack {
namespace {

using protocol::Event;

InfoHash Hash(uint32_t n) {
  InfoHash h;
  h.bytes[0] = static_cast<uint8_t>(n);
  h.bytes[1] = static_cast<uint8_t>(n >> 8);
  h.bytes[2] = static_cast<uint8_t>(n >> 16);
  h.bytes[19] = 0xaa;
  return h;
}

PeerEndpoint V4(uint32_t n, uint16_t port = 6881) {
  return PeerEndpoint::V4(0x0a000000 + n, port);
}
PeerEndpoint V6(uint32_t n, uint16_t port = 6881) {
  uint8_t ip[16] = {0xfd, 0x00};
  ip[14] = static_cast<uint8_t>(n >> 8);
  ip[15] = static_cast<uint8_t>(n);
  return PeerEndpoint::V6(ip, port);
}

class SwarmTableTest : public ::testing::Test {
 protected:
  SwarmTableTest() : table_(Config()) {}
  static SwarmTableConfig Config(size_t capacity = 1024) {
    SwarmTableConfig c;
    c.capacity = capacity;
    c.seed0 = 11;
    c.seed1 = 22;
    c.peer_timeout_s = 100;
    return c;
  }

  // Announces and returns the peers received.
  std::vector<PeerEndpoint> Announce(SwarmTable& t, uint32_t torrent,
                                     const PeerEndpoint& who, Event ev,
                                     bool seeder, uint32_t numwant = 50,
                                     uint32_t now = 1000,
                                     AnnounceResult* res = nullptr) {
    AnnounceParams p;
    p.info_hash = Hash(torrent);
    p.peer = who;
    p.event = ev;
    p.seeder = seeder;
    p.numwant = numwant;
    p.now = now;
    p.random = rng_++ * 0x9e3779b97f4a7c15ULL;
    uint8_t out[4000];
    const AnnounceResult r = t.Announce(p, out);
    if (res) *res = r;
    last_ = r;
    std::vector<PeerEndpoint> peers;
    protocol::AnnounceResponse ar;
    ar.family = who.family;
    ar.peers = {out, r.peers_written * protocol::PeerEntrySize(who.family)};
    for (size_t i = 0; i < ar.peer_count(); ++i) peers.push_back(ar.peer(i));
    return peers;
  }
  std::vector<PeerEndpoint> Announce(uint32_t torrent, const PeerEndpoint& who,
                                     Event ev = Event::kStarted,
                                     bool seeder = false,
                                     uint32_t numwant = 50) {
    return Announce(table_, torrent, who, ev, seeder, numwant);
  }
  void ExpectConsistent(SwarmTable& t) {
    std::string why;
    EXPECT_TRUE(t.CheckInvariants(&why)) << why;
  }

  SwarmTable table_;
  AnnounceResult last_;
  uint64_t rng_ = 1;
};

TEST_F(SwarmTableTest, CountsSeedersAndLeechers) {
  Announce(1, V4(1), Event::kStarted, true);
  Announce(1, V4(2));
  Announce(1, V4(3));
  EXPECT_EQ(last_.counts.seeders, 1u);
  EXPECT_EQ(last_.counts.leechers, 2u);
  const SwarmCounts c = table_.Scrape(Hash(1));
  EXPECT_EQ(c.seeders, 1u);
  EXPECT_EQ(c.leechers, 2u);
  EXPECT_EQ(c.completed, 0u);
  EXPECT_EQ(table_.Scrape(Hash(2)).leechers, 0u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, PeerListExcludesRequesterAndIsRandom) {
  for (uint32_t i = 1; i <= 10; ++i) Announce(1, V4(i));
  std::set<uint32_t> firsts;
  for (int k = 0; k < 20; ++k) {
    const auto peers = Announce(1, V4(5), Event::kNone);
    EXPECT_EQ(peers.size(), 9u);
    std::set<uint8_t> distinct;  // peers differ in the last IPv4 byte
    for (const auto& p : peers) {
      EXPECT_NE(p, V4(5));
      distinct.insert(p.ip[3]);
    }
    EXPECT_EQ(distinct.size(), peers.size());
    firsts.insert(peers[0].ip[3]);
  }
  EXPECT_GT(firsts.size(), 1u);  // not always the same order
}

TEST_F(SwarmTableTest, NumwantLimitsPeers) {
  for (uint32_t i = 1; i <= 30; ++i) Announce(1, V4(i));
  EXPECT_EQ(Announce(1, V4(1), Event::kNone, false, 5).size(), 5u);
  EXPECT_EQ(Announce(1, V4(1), Event::kNone, false, 0).size(), 0u);
  EXPECT_EQ(Announce(1, V4(1), Event::kNone, false, 200).size(), 29u);
}

TEST_F(SwarmTableTest, PeersKeyedByIpAndPort) {
  Announce(1, V4(1, 1000));
  Announce(1, V4(1, 1001));
  Announce(1, V4(1, 1000));  // re-announce, no duplicate
  EXPECT_EQ(last_.counts.leechers, 2u);
  EXPECT_EQ(table_.stats().peers_v4, 2u);
}

TEST_F(SwarmTableTest, StoppedRemovesPeer) {
  Announce(1, V4(1), Event::kStarted, true);
  Announce(1, V4(2));
  const auto peers = Announce(1, V4(2), Event::kStopped);
  EXPECT_TRUE(peers.empty());
  EXPECT_EQ(last_.counts.leechers, 0u);
  EXPECT_EQ(last_.counts.seeders, 1u);
  Announce(1, V4(1), Event::kStopped, true);
  EXPECT_EQ(last_.counts.seeders, 0u);
  EXPECT_EQ(table_.stats().peers_v4, 0u);
  // Stopping an unknown peer or torrent is harmless.
  Announce(1, V4(9), Event::kStopped);
  Announce(77, V4(9), Event::kStopped);
  EXPECT_EQ(table_.Scrape(Hash(77)).leechers, 0u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, CompletedCountsOnce) {
  Announce(1, V4(1));
  Announce(1, V4(1), Event::kCompleted, true);
  Announce(1, V4(1), Event::kCompleted, true);  // client repeats itself
  Announce(1, V4(1), Event::kNone, true);
  EXPECT_EQ(table_.Scrape(Hash(1)).completed, 1u);
  // A leecher reaching left = 0 without the event also counts once.
  Announce(1, V4(2));
  Announce(1, V4(2), Event::kNone, true);
  Announce(1, V4(2), Event::kNone, true);
  // A seeder that starts as a seeder is not a download.
  Announce(1, V4(3), Event::kStarted, true);
  const SwarmCounts c = table_.Scrape(Hash(1));
  EXPECT_EQ(c.completed, 2u);
  EXPECT_EQ(c.seeders, 3u);
  EXPECT_EQ(c.leechers, 0u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, SeederGetsOnlyLeechers) {
  Announce(1, V4(1), Event::kStarted, true);
  Announce(1, V4(2), Event::kStarted, true);
  Announce(1, V4(3));
  const auto peers = Announce(1, V4(1), Event::kNone, true);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0], V4(3));
  EXPECT_EQ(Announce(1, V4(3), Event::kNone).size(), 2u);
}

TEST_F(SwarmTableTest, FamiliesKeptApart) {
  Announce(1, V4(1));
  Announce(1, V4(2));
  Announce(1, V6(1));
  Announce(1, V6(2));
  const auto v6 = Announce(1, V6(3));
  ASSERT_EQ(v6.size(), 2u);
  for (const auto& p : v6) EXPECT_EQ(p.family, AddressFamily::kV6);
  const auto v4 = Announce(1, V4(3));
  ASSERT_EQ(v4.size(), 2u);
  for (const auto& p : v4) EXPECT_EQ(p.family, AddressFamily::kV4);
  EXPECT_EQ(last_.counts.leechers, 6u);  // counts cover both families
  EXPECT_EQ(table_.stats().peers_v6, 3u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, OutputSpanBoundsPeers) {
  for (uint32_t i = 1; i <= 10; ++i) Announce(1, V4(i));
  AnnounceParams p;
  p.info_hash = Hash(1);
  p.peer = V4(99);
  p.numwant = 50;
  uint8_t out[6 * 3 + 5];
  EXPECT_EQ(table_.Announce(p, out).peers_written, 3u);
}

TEST_F(SwarmTableTest, SweepExpiresPeersAndReclaimsSwarms) {
  Announce(table_, 1, V4(1), Event::kStarted, true, 50, 1000);
  Announce(table_, 1, V4(2), Event::kStarted, false, 50, 1000);
  Announce(table_, 1, V4(3), Event::kStarted, false, 50, 1080);
  Announce(table_, 2, V6(1), Event::kStarted, false, 50, 1000);
  EXPECT_EQ(table_.Sweep(1090, table_.capacity()), 0u);
  EXPECT_EQ(table_.Sweep(1120, table_.capacity()), 3u);
  const SwarmCounts c = table_.Scrape(Hash(1));
  EXPECT_EQ(c.seeders, 0u);
  EXPECT_EQ(c.leechers, 1u);
  EXPECT_EQ(table_.stats().torrents, 1u);  // torrent 2 reclaimed
  EXPECT_EQ(table_.Sweep(1300, table_.capacity()), 1u);
  EXPECT_EQ(table_.stats().torrents, 0u);
  EXPECT_EQ(table_.stats().peers_v4 + table_.stats().peers_v6, 0u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, SweepIsIncremental) {
  for (uint32_t t = 0; t < 100; ++t) {
    Announce(table_, t, V4(1), Event::kStarted, false, 50, 1000);
  }
  size_t removed = 0;
  for (size_t step = 0; step < table_.capacity(); step += 64) {
    removed += table_.Sweep(5000, 64);
    EXPECT_LE(removed, 100u);
  }
  EXPECT_EQ(removed, 100u);
}

TEST_F(SwarmTableTest, FullTableRefusesNewTorrentsButServesOld) {
  SwarmTable small(Config(16));  // at most 14 swarms
  AnnounceResult r;
  for (uint32_t t = 0; t < 14; ++t) {
    Announce(small, t, V4(1), Event::kStarted, false, 50, 1000, &r);
    ASSERT_EQ(r.status, AnnounceStatus::kOk) << t;
  }
  Announce(small, 100, V4(1), Event::kStarted, false, 50, 1000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kTableFull);
  EXPECT_EQ(small.stats().refused_full, 1u);
  Announce(small, 3, V4(2), Event::kStarted, false, 50, 1000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  EXPECT_EQ(r.counts.leechers, 2u);
  ExpectConsistent(small);
}

TEST_F(SwarmTableTest, ReclaimedSlotsAreReused) {
  SwarmTable small(Config(16));
  AnnounceResult r;
  // Many generations of torrents through a 16-slot table.
  for (uint32_t gen = 0; gen < 50; ++gen) {
    const uint32_t now = 1000 + gen * 1000;
    for (uint32_t t = 0; t < 10; ++t) {
      Announce(small, gen * 100 + t, V4(t), Event::kStarted, false, 50, now,
               &r);
      ASSERT_EQ(r.status, AnnounceStatus::kOk) << gen << "/" << t;
    }
    for (uint32_t t = 0; t < 10; ++t) {
      EXPECT_EQ(small.Scrape(Hash(gen * 100 + t)).leechers, 1u);
    }
    small.Sweep(now + 500, 64);  // everything expires
    EXPECT_EQ(small.stats().torrents, 0u);
    ExpectConsistent(small);
  }
}

TEST_F(SwarmTableTest, GrowsAndShrinksLargeSwarm) {
  for (uint32_t i = 0; i < 5000; ++i) Announce(1, V4(i), Event::kStarted);
  EXPECT_EQ(last_.counts.leechers, 5000u);
  EXPECT_EQ(Announce(1, V4(0), Event::kNone, false, 200).size(), 200u);
  ExpectConsistent(table_);
  const size_t big = table_.MemoryBytes();
  for (uint32_t i = 0; i < 4990; ++i) Announce(1, V4(i), Event::kStopped);
  EXPECT_EQ(table_.Scrape(Hash(1)).leechers, 10u);
  EXPECT_LT(table_.MemoryBytes(), big);
  for (uint32_t i = 4990; i < 5000; ++i) {
    const auto peers = Announce(1, V4(i), Event::kNone);
    EXPECT_EQ(peers.size(), 9u);
  }
  ExpectConsistent(table_);
}

}  // namespace
}  // namespace ringtrack
