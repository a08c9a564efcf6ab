// Concurrency stress for SwarmTable: 2–8 threads announce, stop and scrape
// over overlapping torrents and peers in a table that starts at 16 slots
// and grows while they run (so inserts race sub-table publication, and
// swarms are reclaimed and slots reused all the time) while a sweeper
// expires peers.
// CI also runs this under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/swarm/swarm_table.h"

namespace ringtrack {
namespace {


InfoHash Hash(uint32_t n) {
  InfoHash h;
  h.bytes.fill(static_cast<uint8_t>(n * 37));
  h.bytes[0] = static_cast<uint8_t>(n);
  h.bytes[1] = static_cast<uint8_t>(n >> 8);
  return h;
}

class StressTest : public ::testing::TestWithParam<int> {};

// `threads` workers churn `table` (and a sweeper sweeps it), then every
// peer stops; checks the invariants after each.
void ChurnAndCheck(SwarmTable& table, int threads) {
  constexpr uint32_t kTorrents = 400;
  constexpr uint32_t kPeers = 64;
  constexpr int kOpsPerThread = 60000;
  std::atomic<uint32_t> clock{1000};
  std::atomic<bool> done{false};

  std::thread sweeper([&] {
    while (!done.load()) {
      table.Sweep(clock.load(), 16);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> workers;
  std::atomic<uint64_t> full{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(t + 1);
      uint8_t out[200 * 18];
      for (int i = 0; i < kOpsPerThread; ++i) {
        if (t == 0 && i % 500 == 0) clock.fetch_add(1);
        const uint32_t torrent = rng() % kTorrents;
        const uint32_t r = rng() % 100;
        if (r < 10) {
          const SwarmCounts c = table.Scrape(Hash(torrent));
          ASSERT_LT(c.seeders + c.leechers, 2 * kPeers + 1);
          continue;
        }
        AnnounceParams p;
        p.info_hash = Hash(torrent);
        const uint32_t peer = rng() % kPeers;
        if (peer % 4 == 0) {
          uint8_t ip[16] = {0xfd};
          ip[15] = static_cast<uint8_t>(peer);
          p.peer = PeerEndpoint::V6(ip, 6881);
        } else {
          p.peer = PeerEndpoint::V4(0x0a000000 + peer, 6881);
        }
        p.event = r < 30   ? Event::kStopped
                  : r < 35 ? Event::kCompleted
                           : Event::kStarted;
        p.seeder = (rng() % 3) == 0;
        p.numwant = 50;
        p.now = clock.load();
        p.random = rng();
        // Half go through a lookahead (read without locks while the other
        // workers and the sweeper change the swarms).
        const bool ahead = rng() % 2 == 0;
        SwarmTable::Lookahead la;
        if (ahead) {
          table.StartLookup(p.info_hash, &la);
          table.ContinueLookup(p, &la);
        }
        const AnnounceResult res =
            ahead ? table.Announce(p, out, la) : table.Announce(p, out);
        if (res.status != AnnounceStatus::kOk &&
            res.status != AnnounceStatus::kRateLimited) {
          full.fetch_add(1);
          continue;
        }
        // A peer list never holds the requester.
        const size_t esz = (p.peer.family == AddressFamily::kV4 ? 6u : 18u);
        for (uint32_t k = 0; k < res.peers_written; ++k) {
          const bool self =
              memcmp(out + k * esz, p.peer.ip.data(), esz - 2) == 0;
          ASSERT_FALSE(self);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  sweeper.join();

  std::string why;
  ASSERT_TRUE(table.CheckInvariants(&why)) << why;

  // Stop every peer everywhere: nothing may remain (a peer stranded in an
  // unreachable or duplicate swarm would).
  uint8_t out[16];
  for (uint32_t torrent = 0; torrent < kTorrents; ++torrent) {
    for (uint32_t peer = 0; peer < kPeers; ++peer) {
      AnnounceParams p;
      p.info_hash = Hash(torrent);
      if (peer % 4 == 0) {
        uint8_t ip[16] = {0xfd};
        ip[15] = static_cast<uint8_t>(peer);
        p.peer = PeerEndpoint::V6(ip, 6881);
      } else {
        p.peer = PeerEndpoint::V4(0x0a000000 + peer, 6881);
      }
      p.event = Event::kStopped;
      table.Announce(p, out);
    }
  }
  EXPECT_EQ(table.stats().peers_v4, 0u);
  EXPECT_EQ(table.stats().peers_v6, 0u);
  EXPECT_GT(table.sub_tables(), 3u);
  table.Sweep(clock.load(), table.capacity());
  EXPECT_EQ(table.stats().torrents, 0u);
  ASSERT_TRUE(table.CheckInvariants(&why)) << why;
}

SwarmTableConfig StressConfig() {
  SwarmTableConfig config;
  config.initial_slots = 16;
  config.seed0 = 5;
  config.seed1 = 6;
  config.peer_timeout_s = 8;
  config.announce_interval_s = 4;
  return config;
}

TEST_P(StressTest, InvariantsHoldAfterConcurrentChurn) {
  SwarmTable table(StressConfig());
  ChurnAndCheck(table, GetParam());
}

// Under a budget the churn runs at it: newcomers answered but not stored,
// stale peers evicted by announces and the sweep (EvictAge() is 4 s of the
// test's clock), and every peer of 10.0.0.0/24 and fd00::/48 counted against
// its prefix's share (CheckInvariants recounts the counters).
TEST_P(StressTest, InvariantsHoldAtTheBudget) {
  MemoryBudget budget(48 << 10);
  SwarmTableConfig config = StressConfig();
  config.budget = &budget;
  SwarmTable table(config);
  ChurnAndCheck(table, GetParam());
  const SwarmTableStats s = table.stats();
  EXPECT_GT(s.refused.peer_memory_unstored, 0u);
  EXPECT_GT(s.evicted_stale, 0u);
  EXPECT_LE(budget.used(), budget.limit());
}

INSTANTIATE_TEST_SUITE_P(Threads, StressTest, ::testing::Values(2, 4, 8));

}  // namespace
}  // namespace ringtrack
