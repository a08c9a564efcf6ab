// The tracker core, below both front ends: refusals, caps and counts on
// typed requests (the protocols' own tests are tests/core/udp/ and
// tests/core/http/).
#include "core/tracker/tracker.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace ringtrack {
namespace {

constexpr uint32_t kNow = 1'800'000'000;

AnnounceRequest Req(uint8_t torrent, const PeerEndpoint& peer, uint64_t left,
                    int32_t numwant = -1) {
  AnnounceRequest r;
  r.info_hash.bytes.fill(torrent);
  r.peer = peer;
  r.left = left;
  r.numwant = numwant;
  r.event = Event::kStarted;
  return r;
}

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest()
      : table_(SwarmTableConfig{.initial_slots = 1024, .seed0 = 1, .seed1 = 2}),
        tracker_(TrackerConfig{}, &table_) {}
  AnnounceReply Announce(const AnnounceRequest& r) {
    return tracker_.Announce(r, kNow, 1, peers_, &stats_);
  }

  SwarmTable table_;
  Tracker tracker_;
  TrackerStats stats_;
  std::array<uint8_t, kMaxPeersOutBytes> peers_{};
};

TEST_F(TrackerTest, AnswersWithCountsIntervalsAndPeersOfTheFamily) {
  const PeerEndpoint seeder = PeerEndpoint::V4(0x0a000001, 7000);
  AnnounceReply r = Announce(Req(1, seeder, 0));
  ASSERT_EQ(r.refusal, Refusal::kNone);
  EXPECT_EQ(r.complete, 1u);
  EXPECT_EQ(r.peer_count, 0u);  // never itself
  r = Announce(Req(1, PeerEndpoint::V4(0x0a000002, 7001), 10));
  ASSERT_EQ(r.refusal, Refusal::kNone);
  EXPECT_EQ(r.interval, 1800u);
  EXPECT_EQ(r.min_interval, 1800u);
  EXPECT_EQ(r.complete, 1u);
  EXPECT_EQ(r.incomplete, 1u);
  ASSERT_EQ(r.peer_count, 1u);
  EXPECT_EQ(r.family, AddressFamily::kV4);
  EXPECT_EQ(r.peer_bytes(), 6u);
  const uint8_t want[6] = {10, 0, 0, 1, 0x1b, 0x58};
  EXPECT_TRUE(std::equal(std::begin(want), std::end(want), peers_.begin()));
  // An IPv6 leecher sees no IPv4 peers, but the counts.
  const uint8_t v6[16] = {0xfd};
  r = Announce(Req(1, PeerEndpoint::V6(v6, 7002), 10));
  EXPECT_EQ(r.peer_count, 0u);
  EXPECT_EQ(r.family, AddressFamily::kV6);
  EXPECT_EQ(r.incomplete, 2u);
  EXPECT_EQ(stats_.announces.value(), 3u);
}

TEST_F(TrackerTest, RefusalsAreTypedAndCounted) {
  AnnounceReply r = Announce(Req(1, PeerEndpoint::V4(0x0a000001, 0), 1));
  EXPECT_EQ(r.refusal, Refusal::kInvalidPort);
  EXPECT_EQ(RefusalMessage(r.refusal), "invalid port");
  std::string hex;
  for (int i = 0; i < 20; ++i) hex += "01";
  auto list = AccessList::Parse(hex, AccessList::Mode::kAllow, "test");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(tracker_.SetAccessList(std::move(*list)), nullptr);
  r = Announce(Req(2, PeerEndpoint::V4(0x0a000001, 1), 1));
  EXPECT_EQ(r.refusal, Refusal::kNotAllowed);
  EXPECT_EQ(table_.stats().torrents, 0u);
  std::array<SwarmCounts, 2> counts;
  std::vector<uint8_t> hashes(40, 1);
  EXPECT_EQ(tracker_.Scrape(hashes, counts, &stats_), Refusal::kNone);
  hashes[39] = 2;
  EXPECT_EQ(tracker_.Scrape(hashes, counts, &stats_), Refusal::kNotAllowed);
  EXPECT_EQ(stats_.refused[static_cast<size_t>(Refusal::kNotAllowed)].value(),
            2u);
  EXPECT_EQ(stats_.refused[static_cast<size_t>(Refusal::kInvalidPort)].value(),
            1u);
  EXPECT_EQ(stats_.refused_total(), 3u);
  EXPECT_EQ(stats_.scrapes.value(), 1u);
  EXPECT_EQ(stats_.scraped_hashes.value(), 2u);
}

TEST_F(TrackerTest, NumwantIsCappedPerFamilyAndClamped) {
  for (uint32_t i = 0; i < 300; ++i) {
    Announce(Req(3, PeerEndpoint::V4(0x0b000000 + i * 256, 7000), 0));
  }
  AnnounceReply r = Announce(Req(3, PeerEndpoint::V4(0x0c000001, 1), 1, 1000));
  EXPECT_EQ(r.peer_count, 200u);
  r = Announce(Req(3, PeerEndpoint::V4(0x0c000002, 1), 1));
  EXPECT_EQ(r.peer_count, 50u);  // the default
  // A configuration past the reply's room is clamped to kMaxPeersOut.
  tracker_.SetConfig(TrackerConfig{.max_numwant_v4 = 5000});
  r = Announce(Req(3, PeerEndpoint::V4(0x0c000003, 1), 1, 1000));
  EXPECT_EQ(r.peer_count, kMaxPeersOut);
}

// The table evicts at the budget only peers older than the interval the
// tracker tells clients, and an eighth more; a reload moves it along.
TEST(TrackerConfigTest, TheEvictionAgeFollowsTheInterval) {
  SwarmTable table(
      SwarmTableConfig{.initial_slots = 64, .peer_timeout_s = 3600});
  Tracker tracker(TrackerConfig{.interval_s = 1200}, &table);
  EXPECT_EQ(table.EvictAge(), 1350u);
  tracker.SetConfig(TrackerConfig{.interval_s = 1800});
  EXPECT_EQ(table.EvictAge(), 2025u);
  tracker.SetConfig(TrackerConfig{.interval_s = 3600});
  EXPECT_EQ(table.EvictAge(), 3600u);  // never past the timeout
}

}  // namespace
}  // namespace ringtrack
