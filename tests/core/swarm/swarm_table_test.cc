#include "core/swarm/swarm_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/udp/protocol.h"

namespace ringtrack {
namespace {


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
  static SwarmTableConfig Config(size_t initial_slots = 1024) {
    SwarmTableConfig c;
    c.initial_slots = initial_slots;
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

// A lookahead is a hint: an announce that uses one does what a plain
// announce does, also when the swarm it found has gone and its slot holds
// another swarm by then, and when it found no swarm.
TEST_F(SwarmTableTest, AnnounceWithStaleLookaheadDoesWhatAPlainOneDoes) {
  SwarmTable t(Config(8));  // 8 slots: a freed slot is soon reused
  AnnounceParams p;
  p.info_hash = Hash(1);
  p.peer = V4(1);
  p.numwant = 50;
  p.now = 1000;
  uint8_t out[4000];
  ASSERT_EQ(t.Announce(p, out).status, AnnounceStatus::kOk);
  SwarmTable::Lookahead la;
  t.StartLookup(p.info_hash, &la);
  t.ContinueLookup(p, &la);
  // Torrent 1 goes away (its only peer stops, the sweep reclaims the
  // slot), and other torrents take the free slots.
  Announce(t, 1, V4(1), Event::kStopped, false);
  t.Sweep(1000, 64);
  EXPECT_EQ(t.stats().torrents, 0u);
  for (uint32_t n = 2; n <= 6; ++n) Announce(t, n, V4(n), Event::kStarted, true);
  ASSERT_EQ(t.stats().torrents, 5u);
  // The stale lookahead stores the peer in a new swarm for torrent 1.
  p.peer = V4(7);
  const AnnounceResult r = t.Announce(p, out, la);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  EXPECT_EQ(r.counts.leechers, 1u);
  EXPECT_EQ(r.counts.seeders, 0u);
  EXPECT_EQ(t.Scrape(Hash(1)).leechers, 1u);
  for (uint32_t n = 2; n <= 6; ++n) {
    const SwarmCounts c = t.Scrape(Hash(n));
    EXPECT_EQ(c.seeders, 1u) << n;
    EXPECT_EQ(c.leechers, 0u) << n;
  }
  EXPECT_EQ(t.stats().torrents, 6u);
  ExpectConsistent(t);

  // A lookahead that found no swarm: the announce makes it.
  SwarmTable::Lookahead none;
  p.info_hash = Hash(9);
  t.StartLookup(p.info_hash, &none);
  t.ContinueLookup(p, &none);
  EXPECT_EQ(t.Announce(p, out, none).counts.leechers, 1u);
  EXPECT_EQ(t.Scrape(Hash(9)).leechers, 1u);
  ExpectConsistent(t);
}

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
  EXPECT_EQ(table_.stats().downloads, 2u);  // the table-wide count agrees
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

TEST_F(SwarmTableTest, SeedersCountedByFamily) {
  Announce(1, V4(1), Event::kStarted, true);
  Announce(1, V4(2));
  Announce(1, V6(1), Event::kStarted, true);
  Announce(1, V6(2), Event::kStarted, true);
  Announce(2, V6(3));
  EXPECT_EQ(table_.stats().seeders, 3u);
  EXPECT_EQ(table_.stats().seeders_v4, 1u);
  // A role change moves the entry between the counts; leaving removes it.
  Announce(1, V4(2), Event::kCompleted, true);
  Announce(1, V6(1), Event::kStopped, true);
  EXPECT_EQ(table_.stats().seeders, 3u);
  EXPECT_EQ(table_.stats().seeders_v4, 2u);
  Announce(1, V4(1), Event::kNone, false);
  EXPECT_EQ(table_.stats().seeders_v4, 1u);
  ExpectConsistent(table_);
  // Expiry takes them out of the counts too.
  table_.Sweep(100000, table_.capacity());
  EXPECT_EQ(table_.stats().seeders, 0u);
  EXPECT_EQ(table_.stats().seeders_v4, 0u);
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

// A reload changes the peer timeout for the sweeps that follow.
TEST_F(SwarmTableTest, PeerTimeoutChangesLive) {
  Announce(table_, 1, V4(1), Event::kStarted, false, 50, 1000);
  Announce(table_, 1, V4(2), Event::kStarted, false, 50, 1040);
  EXPECT_EQ(table_.Sweep(1060, table_.capacity()), 0u);  // 100 s timeout
  table_.SetPeerTimeout(40);
  EXPECT_EQ(table_.Sweep(1060, table_.capacity()), 1u);  // seen 60 s ago
  EXPECT_EQ(table_.Scrape(Hash(1)).leechers, 1u);
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

TEST_F(SwarmTableTest, TorrentCapRefusesNewTorrentsButServesOld) {
  SwarmTableConfig config = Config(16);
  config.max_torrents = 14;
  SwarmTable small(config);
  AnnounceResult r;
  for (uint32_t t = 0; t < 14; ++t) {
    Announce(small, t, V4(1), Event::kStarted, false, 50, 1000, &r);
    ASSERT_EQ(r.status, AnnounceStatus::kOk) << t;
  }
  Announce(small, 100, V4(1), Event::kStarted, false, 50, 1000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kTableFull);
  EXPECT_EQ(small.stats().refused.torrent_memory, 1u);
  Announce(small, 3, V4(2), Event::kStarted, false, 50, 1000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  EXPECT_EQ(r.counts.leechers, 2u);
  ExpectConsistent(small);
}

TEST_F(SwarmTableTest, GrowsOnlineFromATinyStart) {
  SwarmTable t(Config(16));
  EXPECT_EQ(t.capacity(), 16u);
  AnnounceResult r;
  for (uint32_t n = 0; n < 5000; ++n) {
    Announce(t, n, V4(n % 200 + 1), Event::kStarted, n % 4 == 0, 5, 1000, &r);
    ASSERT_EQ(r.status, AnnounceStatus::kOk) << n;
  }
  EXPECT_EQ(t.stats().torrents, 5000u);
  EXPECT_GT(t.sub_tables(), 5u);
  // Each sub-table adds half the total: never less than half full at 3/4.
  EXPECT_LE(t.capacity(), 5000u * 4 / 3 * 3 / 2 + 64);
  for (uint32_t n = 0; n < 5000; ++n) {
    const SwarmCounts c = t.Scrape(Hash(n));
    ASSERT_EQ(c.seeders + c.leechers, 1u) << n;
  }
  ExpectConsistent(t);
  // Swarms in every sub-table are reclaimed and their slots reused.
  t.Sweep(1000 + 500, t.capacity());
  EXPECT_EQ(t.stats().torrents, 0u);
  const size_t cap = t.capacity();
  for (uint32_t n = 0; n < 5000; ++n) {
    Announce(t, n + 10000, V4(n % 200 + 1), Event::kStarted, false, 5, 2000,
             &r);
    ASSERT_EQ(r.status, AnnounceStatus::kOk) << n;
  }
  EXPECT_EQ(t.capacity(), cap);
  ExpectConsistent(t);
}

// A budget test's table: the first sub-table (64 slots, one page) plus room
// for a few blocks; interval 60 s, timeout 100 s, so EvictAge() is 67 s.
SwarmTableConfig BudgetConfig(MemoryBudget* budget) {
  SwarmTableConfig c;
  c.initial_slots = 64;
  c.seed0 = 11;
  c.seed1 = 22;
  c.peer_timeout_s = 100;
  c.announce_interval_s = 60;
  c.budget = budget;
  return c;
}

class BudgetTest : public SwarmTableTest {
 protected:
  BudgetTest() : budget_(4096 + 4000), t_(BudgetConfig(&budget_)) {}
  // Fills t_ with swarms of 10 IPv4 peers (peer n in swarm n / 10, every
  // fourth a seeder) at `now`, until a peer is not stored. Returns n: peers
  // 0 .. n-1 are stored.
  uint32_t Fill(uint32_t now) {
    AnnounceResult r;
    for (uint32_t n = 0; n < 1000; ++n) {
      Announce(t_, n / 10, V4(n + 1), Event::kStarted, n % 4 == 0, 50, now,
               &r);
      if (t_.stats().peers_v4 == n) {
        if (r.status != AnnounceStatus::kOk) {
          EXPECT_EQ(n % 10, 0u) << "only a new torrent is refused";
          EXPECT_TRUE(r.status == AnnounceStatus::kTableFull ||
                      r.status == AnnounceStatus::kNoMemory);
          EXPECT_EQ(r.peers_written, 0u);
        }
        return n;
      }
    }
    ADD_FAILURE() << "the budget was never reached";
    return 0;
  }
  // Announces newcomers (new addresses) to swarm `torrent` at `now` until
  // one is not stored; returns how many were stored before it. Each is
  // answered with peers.
  uint32_t NewcomersUntilUnstored(uint32_t torrent, uint32_t now,
                                  uint32_t first_address) {
    AnnounceResult r;
    for (uint32_t k = 0; k < 1000; ++k) {
      const uint64_t before = t_.stats().peers_v4;
      const auto peers = Announce(t_, torrent, V4(first_address + k),
                                  Event::kStarted, false, 50, now, &r);
      EXPECT_EQ(r.status, AnnounceStatus::kOk) << k;
      EXPECT_FALSE(peers.empty()) << k;
      if (t_.stats().peers_v4 == before) return k;
    }
    ADD_FAILURE() << "every newcomer was stored";
    return 0;
  }
  MemoryBudget budget_;
  SwarmTable t_;
};

TEST_F(BudgetTest, ANewcomerToAnExistingSwarmGetsPeersOnlyANewTorrentIsFull) {
  const uint32_t stored = Fill(1000);
  ASSERT_GT(stored, 20u);
  EXPECT_LE(budget_.used(), budget_.limit());
  // A newcomer to swarm 0 (10 peers) is answered with peers, but once the
  // budget has no room for it, it is not stored and is counted.
  const uint64_t unstored = t_.stats().refused.peer_memory_unstored;
  NewcomersUntilUnstored(0, 1000, 5000);
  SwarmTableStats s = t_.stats();
  EXPECT_EQ(s.refused.peer_memory_unstored, unstored + 1);
  EXPECT_EQ(last_.counts.seeders + last_.counts.leechers,
            t_.Scrape(Hash(0)).seeders + t_.Scrape(Hash(0)).leechers);
  // A new torrent is stored while its first peer fits, and then gets
  // "tracker is full" (never an answer without its peer stored), counted.
  AnnounceResult r;
  const uint64_t refused = s.refused.torrent_memory + s.refused.peer_memory;
  for (uint32_t torrent = 900;; ++torrent) {
    ASSERT_LT(torrent, 1000u);
    const uint64_t before = t_.stats().peers_v4;
    Announce(t_, torrent, V4(9000 + torrent), Event::kStarted, false, 50,
             1000, &r);
    if (r.status == AnnounceStatus::kOk) {
      ASSERT_EQ(t_.stats().peers_v4, before + 1);
      continue;
    }
    EXPECT_TRUE(r.status == AnnounceStatus::kTableFull ||
                r.status == AnnounceStatus::kNoMemory);
    EXPECT_EQ(r.peers_written, 0u);
    break;
  }
  s = t_.stats();
  EXPECT_EQ(s.refused.torrent_memory + s.refused.peer_memory, refused + 1);
  // Every stored peer keeps announcing, and may even change role.
  const uint64_t now_stored = t_.stats().peers_v4;
  for (uint32_t n = 0; n < stored; ++n) {
    Announce(t_, n / 10, V4(n + 1), Event::kNone, n % 4 != 0, 50, 1010, &r);
    EXPECT_EQ(r.status, AnnounceStatus::kOk) << n;
  }
  EXPECT_EQ(t_.stats().peers_v4, now_stored);
  // Once peers expire, the memory is back and new torrents are welcome.
  t_.Sweep(5000, t_.capacity());
  EXPECT_EQ(budget_.used(), 4096u);
  Announce(t_, 999, V4(1), Event::kStarted, false, 50, 5000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  ExpectConsistent(t_);
}

// Peers' last-seen times have a 4 s resolution: at 1060 the peers filled
// at 1000 are 60 s old (the interval: on time), at 1080 80 s (past
// EvictAge()'s 67 s, rounded up to 68).
TEST_F(BudgetTest, AtTheBudgetANewcomerTakesTheRoomOfStalePeersInItsSwarm) {
  const uint32_t stored = Fill(1000);
  ASSERT_GT(stored, 20u);
  ASSERT_EQ(t_.EvictAge(), 67u);
  // Swarm 0's peers re-announce on time; swarm 1's do not.
  AnnounceResult r;
  for (uint32_t n = 0; n < 10; ++n) {
    Announce(t_, 0, V4(n + 1), Event::kNone, n % 4 == 0, 50, 1060, &r);
  }
  const auto peers =
      Announce(t_, 1, V4(6000), Event::kStarted, false, 50, 1080, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  EXPECT_TRUE(peers.empty());  // its swarm's stale peers are gone
  EXPECT_EQ(t_.Scrape(Hash(1)).leechers, 1u);  // and the newcomer is stored
  EXPECT_EQ(t_.stats().evicted_stale, 10u);
  EXPECT_EQ(t_.Scrape(Hash(0)).seeders + t_.Scrape(Hash(0)).leechers, 10u);
  ExpectConsistent(t_);
}

TEST_F(BudgetTest, AtTheBudgetPeersNoOlderThanTheIntervalAreNeverEvicted) {
  const uint32_t stored = Fill(1000);
  ASSERT_GT(stored, 20u);
  ASSERT_LT(budget_.available(), budget_.limit() / 32);  // under pressure
  // At 1060 every stored peer is exactly one interval old: newcomers to
  // every swarm are answered, none evicts anyone, nor does the sweep.
  for (uint32_t torrent = 0; torrent < stored / 10; ++torrent) {
    NewcomersUntilUnstored(torrent, 1060, 10000 + torrent * 100);
  }
  t_.Sweep(1060, t_.capacity());
  EXPECT_EQ(t_.stats().evicted_stale, 0u);
  EXPECT_GE(t_.stats().peers_v4, stored);
  for (uint32_t n = 0; n < stored; ++n) {
    const SwarmCounts c = t_.Scrape(Hash(n / 10));
    ASSERT_GE(c.seeders + c.leechers, std::min(10u, stored - n / 10 * 10))
        << n;
  }
  ExpectConsistent(t_);
}

TEST_F(BudgetTest, TheSweepEvictsStalePeersOnlyUnderPressure) {
  // Not at the budget: a peer past EvictAge() stays until its timeout.
  SwarmTable roomy(Config());
  Announce(roomy, 1, V4(1), Event::kStarted, false, 50, 1000);
  roomy.Sweep(1080, roomy.capacity());
  EXPECT_EQ(roomy.stats().peers_v4, 1u);
  EXPECT_EQ(roomy.stats().evicted_stale, 0u);
  // At the budget the sweep removes them, and new torrents fit again.
  const uint32_t stored = Fill(1000);
  ASSERT_LT(budget_.available(), budget_.limit() / 32);
  t_.Sweep(1080, t_.capacity());
  EXPECT_EQ(t_.stats().peers_v4, 0u);
  EXPECT_EQ(t_.stats().evicted_stale, stored);
  AnnounceResult r;
  Announce(t_, 999, V4(1), Event::kStarted, false, 50, 1080, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  ExpectConsistent(t_);
}

// With a budget, one IPv4 /24 or IPv6 /48 holds at most its share of the
// table's entries, however many addresses, /64s and swarms it uses; its
// further peers are answered but not stored, and other prefixes are not
// affected.
TEST_F(SwarmTableTest, AWidePrefixHoldsAtMostItsShareOfTheTable) {
  MemoryBudget budget(64 << 20);
  SwarmTableConfig config = Config();
  config.budget = &budget;
  SwarmTable t(config);
  const uint32_t share = t.max_peers_per_prefix();
  ASSERT_EQ(share, (64u << 20) / 1024);
  AnnounceResult r;
  // 10.1.2.0/24: 256 addresses × 8 entries per swarm, over many swarms.
  uint32_t sent = 0;
  for (uint32_t torrent = 0; sent < share + 100; ++torrent) {
    for (uint32_t a = 0; a < 256; ++a, ++sent) {
      Announce(t, torrent, PeerEndpoint::V4(0x0a010200 + a, 7000),
               Event::kStarted, false, 50, 1000, &r);
      ASSERT_EQ(r.status, AnnounceStatus::kOk);
    }
  }
  EXPECT_EQ(t.stats().peers_v4, share);
  EXPECT_EQ(t.stats().refused.peer_prefix_cap, sent - share);
  // Answered with peers all the same.
  EXPECT_FALSE(Announce(t, 0, PeerEndpoint::V4(0x0a0102ff, 7001),
                        Event::kStarted, false, 50, 1000, &r)
                   .empty());
  // The neighbouring /24 is not affected.
  Announce(t, 0, PeerEndpoint::V4(0x0a010300, 7000), Event::kStarted, false,
           50, 1000, &r);
  EXPECT_EQ(t.stats().peers_v4, share + 1);
  // One entry leaving makes room for one more.
  Announce(t, 0, PeerEndpoint::V4(0x0a010200, 7000), Event::kStopped, false);
  Announce(t, 0, PeerEndpoint::V4(0x0a0102fe, 7001), Event::kStarted, false,
           50, 1000, &r);
  EXPECT_EQ(t.stats().peers_v4, share + 1);
  // 2001:db8:7::/48: a different /64 for every peer.
  uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x07};
  for (uint32_t n = 0; n < share + 50; ++n) {
    ip[6] = static_cast<uint8_t>(n >> 8);
    ip[7] = static_cast<uint8_t>(n);
    Announce(t, n % 100, PeerEndpoint::V6(ip, 7000), Event::kStarted, false,
             50, 1000, &r);
  }
  EXPECT_EQ(t.stats().peers_v6, share);
  ip[5] = 0x08;  // 2001:db8:8::/48
  Announce(t, 0, PeerEndpoint::V6(ip, 7000), Event::kStarted, false, 50, 1000,
           &r);
  EXPECT_EQ(t.stats().peers_v6, share + 1);
  // Expiry gives the share back.
  t.Sweep(1000 + 200, t.capacity());
  EXPECT_EQ(t.stats().peers_v4 + t.stats().peers_v6, 0u);
  Announce(t, 0, PeerEndpoint::V4(0x0a010201, 7000), Event::kStarted, false,
           50, 1300, &r);
  EXPECT_EQ(t.stats().peers_v4, 1u);
  ExpectConsistent(t);
}

TEST_F(SwarmTableTest, OneSourceHoldsAtMostItsCapPerSwarm) {
  for (uint16_t port = 1; port <= 20; ++port) {
    Announce(1, V4(7, port));
  }
  EXPECT_EQ(table_.Scrape(Hash(1)).leechers, 8u);  // the default cap
  EXPECT_EQ(table_.stats().refused.peer_source_cap, 12u);
  // An unstored peer still gets the swarm's peers.
  const auto peers = Announce(1, V4(7, 999));
  EXPECT_EQ(peers.size(), 8u);
  // Another source is unaffected; so is the same source in another swarm.
  Announce(1, V4(8, 1));
  Announce(2, V4(7, 1));
  EXPECT_EQ(table_.Scrape(Hash(1)).leechers, 9u);
  EXPECT_EQ(table_.Scrape(Hash(2)).leechers, 1u);
  // IPv6: a /64 is one source, whatever the interface ID.
  for (uint32_t host = 1; host <= 20; ++host) {
    uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1};
    ip[15] = static_cast<uint8_t>(host);
    Announce(3, PeerEndpoint::V6(ip, 6881));
  }
  EXPECT_EQ(table_.Scrape(Hash(3)).leechers, 8u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, FullSwarmServesNewcomersWithoutStoringThem) {
  SwarmTableConfig config = Config();
  config.max_peers_per_swarm = 5;
  SwarmTable t(config);
  for (uint32_t i = 1; i <= 5; ++i) Announce(t, 1, V4(i), Event::kStarted, false);
  const auto peers = Announce(t, 1, V4(6), Event::kStarted, false);
  EXPECT_EQ(peers.size(), 5u);
  EXPECT_EQ(last_.status, AnnounceStatus::kOk);
  EXPECT_EQ(t.Scrape(Hash(1)).leechers, 5u);
  EXPECT_EQ(t.stats().refused.peer_swarm_cap, 1u);
  // A stored peer leaving makes room again.
  Announce(t, 1, V4(1), Event::kStopped, false);
  Announce(t, 1, V4(6), Event::kStarted, false);
  EXPECT_EQ(t.Scrape(Hash(1)).leechers, 5u);
  ExpectConsistent(t);
}

TEST_F(SwarmTableTest, NewTorrentsAreRateLimitedPerSource) {
  SourceLimiter limiter({.rate_per_s = 1, .burst = 3, .buckets = 64});
  SwarmTableConfig config = Config();
  config.limiter = &limiter;
  SwarmTable t(config);
  AnnounceResult r;
  for (uint32_t n = 0; n < 3; ++n) {
    Announce(t, n, V4(1), Event::kStarted, false, 50, 1000, &r);
    EXPECT_EQ(r.status, AnnounceStatus::kOk);
  }
  Announce(t, 3, V4(1), Event::kStarted, false, 50, 1000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kRateLimited);
  EXPECT_EQ(t.stats().refused.torrent_rate, 1u);
  // Existing torrents are not limited; other sources are not affected.
  Announce(t, 0, V4(1, 2), Event::kStarted, false, 50, 1000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  Announce(t, 3, V4(2), Event::kStarted, false, 50, 1000, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  // The bucket refills at the rate.
  Announce(t, 4, V4(1), Event::kStarted, false, 50, 1001, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kOk);
  Announce(t, 5, V4(1), Event::kStarted, false, 50, 1001, &r);
  EXPECT_EQ(r.status, AnnounceStatus::kRateLimited);
  ExpectConsistent(t);
}

TEST_F(SwarmTableTest, SeederAmongManySeedersGetsTheFewLeechers) {
  for (uint32_t i = 1; i <= 3000; ++i) {
    Announce(1, V4(i), Event::kStarted, true, 0);
  }
  for (uint32_t i = 5001; i <= 5003; ++i) Announce(1, V4(i));
  const auto peers = Announce(1, V4(1), Event::kNone, true, 50);
  ASSERT_EQ(peers.size(), 3u);
  for (const auto& p : peers) EXPECT_GT(p.ip[2] * 256 + p.ip[3], 5000);
  // A leecher gets both, up to numwant.
  EXPECT_EQ(Announce(1, V4(5001), Event::kNone, false, 200).size(), 200u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, CompletedCannotBeInflatedByFlipping) {
  for (int k = 0; k < 50; ++k) {
    Announce(1, V4(1), Event::kNone, false);                  // left = 1
    Announce(1, V4(1), Event::kCompleted, true);              // left = 0
  }
  EXPECT_EQ(table_.Scrape(Hash(1)).completed, 1u);
  EXPECT_EQ(table_.stats().downloads, 1u);
  // A peer that left and came back is a new entry: it may count again.
  Announce(1, V4(1), Event::kStopped, true);
  Announce(1, V4(2), Event::kStarted, false);  // keeps the swarm alive
  Announce(1, V4(1), Event::kStarted, false);
  Announce(1, V4(1), Event::kCompleted, true);
  EXPECT_EQ(table_.Scrape(Hash(1)).completed, 2u);
  EXPECT_EQ(table_.stats().downloads, 2u);
  ExpectConsistent(table_);
}

TEST_F(SwarmTableTest, ReclaimedSlotsAreReused) {
  SwarmTableConfig config = Config(16);
  config.max_torrents = 10;  // no growth: reuse is the only way
  SwarmTable small(config);
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

TEST_F(SwarmTableTest, TombstonesDoNotPileUpUnderChurn) {
  SwarmTable t(Config(1024));  // 768 swarms before it would grow
  uint32_t now = 1000;
  uint32_t next_torrent = 1000;
  for (int gen = 0; gen < 60; ++gen) {
    // 300 long-lived swarms stay, 400 short-lived ones come and go.
    for (uint32_t k = 0; k < 300; ++k) {
      Announce(t, k, V4(1), Event::kNone, false, 0, now);
    }
    for (uint32_t k = 0; k < 400; ++k) {
      Announce(t, next_torrent++, V4(2), Event::kStarted, false, 0, now);
    }
    ASSERT_EQ(t.stats().torrents, 700u) << gen;
    // The short-lived ones' peers stop; two full passes reclaim and clean.
    for (uint32_t k = next_torrent - 400; k < next_torrent; ++k) {
      Announce(t, k, V4(2), Event::kStopped, false, 0, now);
    }
    t.Sweep(now, 2 * t.capacity());
    now += 10;
  }
  t.Sweep(now, t.capacity());
  EXPECT_EQ(t.sub_tables(), 1u) << "churn alone must not grow the table";
  EXPECT_LT(t.tombstones(), 60u);
  EXPECT_LT(t.max_probe(), 200u);
  ExpectConsistent(t);
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
